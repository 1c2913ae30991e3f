"""Make a value from a mail fit a column: pure functions, no SQLAlchemy (the pipe path uses them).

- `clean`: NUL removed, lone surrogates replaced, so every backend takes the text;
- `fit`: cleaned and cut to a length, marked with an ellipsis when cut (text people read);
- `fit_key`: cleaned; when too long, a prefix plus the SHA-256 of the whole, so two long values
  that differ anywhere still differ and the same long value always binds the same (text we match);
- `clean_json`: every string of a JSON value cleaned (and, with limits, cut and lists capped).
"""

from __future__ import annotations

import hashlib
from typing import Any

_DIGEST = 64


def clean(value: str) -> str:
    if "\x00" in value:
        value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def fit(value: str, length: int) -> str:
    value = clean(value)
    return value if len(value) <= length else value[: length - 1] + "…"


def fit_key(value: str, length: int) -> str:
    value = clean(value)
    if len(value) <= length:
        return value
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()
    return f"{value[: length - _DIGEST - 1]}#{digest}"


def clean_json(value: Any, *, text: int | None = None, items: int | None = None) -> Any:
    """`value` with every string (keys too) cleaned, cut to `text` characters and every list
    to `items` entries when those limits are given."""
    if isinstance(value, str):
        return clean(value) if text is None else fit(value, text)
    if isinstance(value, dict):
        return {
            clean_json(str(k), text=text): clean_json(v, text=text, items=items)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [clean_json(v, text=text, items=items) for v in value[:items]]
    return value
