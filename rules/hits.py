"""A rule hit: which rule decided, on which field, what it matched, and why, in words.

Every decision in `rules/` carries its hits, so a decision can be counted, replayed and audited
(the daemon records them on the ticket's events), not only read.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Hit:
    rule: str
    field: str
    matched: str
    reason: str
