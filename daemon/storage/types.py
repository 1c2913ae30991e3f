"""Column types that make any value from a mail fit its column, on every backend.

SQLite stores whatever it is given; PostgreSQL refuses a string longer than its column, a NUL
byte, or a lone surrogate (which Python's mail parser can produce from broken bytes). A stranger
chooses these values, so they are made to fit where they are bound, in one place:

- `Clean(n)`, `CleanText`: text for people to read (names, subjects, bodies): NUL removed,
  unencodable characters replaced, cut to `n` characters with an ellipsis.
- `Key(n)`: text we match on (addresses, Message-IDs): cleaned the same way, and a value longer
  than `n` is kept whole in meaning as a prefix plus its SHA-256, so two long values that differ
  anywhere still differ, and a lookup with the same long value finds the row.
- `CleanJSON`: JSON whose strings (keys and values) are cleaned.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, String, Text, TypeDecorator
from sqlalchemy.engine import Dialect

from daemon.storage.bounded import clean, clean_json, fit, fit_key


class Clean(TypeDecorator[str]):
    """Readable text, cleaned and cut to the column."""

    impl = String
    cache_ok = True
    fitted = staticmethod(fit)

    def __init__(self, length: int) -> None:
        super().__init__(length)
        self.length = length

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.fitted(value, self.length)


class Key(Clean):
    """Matched text, cleaned; over-long values become prefix + digest, the same on every bind."""

    cache_ok = True
    fitted = staticmethod(fit_key)


class CleanText(TypeDecorator[str]):
    """Unbounded readable text (bodies, errors), cleaned."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else clean(value)


class CleanJSON(TypeDecorator[Any]):
    """JSON whose every string is cleaned (NUL and lone surrogates never reach PostgreSQL)."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return clean_json(value)
