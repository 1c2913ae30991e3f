"""Facts a ticket must have (version, environment, steps...), and which ones the mail lacks.

The acknowledgement asks for what is missing, and the SLA clock waits on the customer until it
comes, so a fact counts only when the mail really supplies a value. The grammar, line by line:

- `Label: value` (also the full-width colon `：`) gives `value`. The label may sit in a list item
  (`- Label: value`), a markdown heading (`## Label: value`) or emphasis (`**Label**: value`,
  `**Label:** value`). Labels compare NFKC-casefolded, with runs of whitespace as one space.
- A line that is only a label (with or without a colon, or as a heading) gives the lines after
  it, up to a blank line or the next markdown heading, as the value.
- A spec's regular expression gives its `value` group when it has one, else the whole match.

An empty value does not count. When a fact is supplied more than once, the first in the text
wins; a value is trimmed and cut to 500 characters. Only the first 20,000 characters are read,
and no text makes these functions raise.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

LIMIT = 20_000
VALUE_LIMIT = 500
LABEL_LIMIT = 100

_PREFIX = re.compile(r"(?:[-*+•]\s+|\d{1,3}[.)]\s+|>\s*)*(?:#{1,6}\s*)?")
_HEADING = re.compile(r"\s*#{1,6}(?:\s|$)")
_UNDERLINE = re.compile(r"\s*(?:=+|-+)\s*")
_COLON = re.compile(r"[:：]")
_EMPHASIS = "*_` \t"
_NOTHING: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class FactSpec:
    name: str  # "environment"
    question: str  # what the acknowledgement asks for it
    labels: tuple[str, ...]  # section headers and field labels that supply it, any language
    patterns: tuple[re.Pattern[str], ...] = ()  # regexes that supply it (group "value" if any)


def found_facts(text: str, specs: Sequence[FactSpec]) -> dict[str, str]:
    """Name -> the value the text gives for it, for the specs it supplies, in spec order."""
    text = text[:LIMIT]
    by_label: dict[str, list[FactSpec]] = {}
    for spec in specs:
        for label in spec.labels:
            wanted = by_label.setdefault(_key(label), [])
            if spec not in wanted:
                wanted.append(spec)
    by_label.pop("", None)
    found = _labelled(text, by_label) if by_label else {}
    for spec in specs:
        for pattern in spec.patterns:
            hit = _matched(pattern, text)
            if hit is not None and (spec.name not in found or hit < found[spec.name]):
                found[spec.name] = hit
    return {spec.name: found[spec.name][1] for spec in specs if spec.name in found}


def missing_facts(
    text: str, specs: Sequence[FactSpec], *, known: Mapping[str, str] = _NOTHING
) -> tuple[FactSpec, ...]:
    """The specs neither already known (facts on the ticket) nor found in the text, in order."""
    wanted = [spec for spec in specs if not str(known.get(spec.name) or "").strip()]
    if not wanted:
        return ()
    found = found_facts(text, wanted)
    return tuple(spec for spec in wanted if spec.name not in found)


def _key(label: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", label).casefold().split())


def _trim(value: str) -> str:
    return value.strip()[:VALUE_LIMIT].strip()


def _labelled(text: str, by_label: Mapping[str, list[FactSpec]]) -> dict[str, tuple[int, str]]:
    """Name -> (offset, value) of the first label line that gives each fact a value."""
    found: dict[str, tuple[int, str]] = {}
    lines = text.splitlines(keepends=True)
    offset = 0
    for i, line in enumerate(lines):
        start, offset = offset, offset + len(line)
        parsed = _label_line(line)
        if parsed is None or parsed[0] not in by_label:
            continue
        label, value = parsed
        value = _trim(value) or _block(lines, i + 1)
        if not value:
            continue
        for spec in by_label[label]:
            found.setdefault(spec.name, (start, value))
    return found


def _label_line(line: str) -> tuple[str, str] | None:
    """The folded label a line starts with, and what follows its colon ("" for none)."""
    stripped = line.strip()
    if not stripped:
        return None
    prefix = _PREFIX.match(stripped)
    body = stripped[prefix.end() :] if prefix else stripped
    colon = _COLON.search(body, 0, LABEL_LIMIT + 10)
    head, rest = (body[: colon.start()], body[colon.end() :]) if colon else (body, "")
    head = head.strip(_EMPHASIS).rstrip("#").strip(_EMPHASIS)
    if not head or len(head) > LABEL_LIMIT:
        return None
    return _key(head), rest.strip().strip("*").strip()


def _block(lines: Sequence[str], first: int) -> str:
    """The lines from `first` up to a blank line or a heading, as one value."""
    taken: list[str] = []
    size = 0
    for i in range(first, len(lines)):
        line = lines[i].rstrip()
        if not line.strip() or _HEADING.match(line):
            break
        if i == first and _UNDERLINE.fullmatch(line):
            continue
        taken.append(line)
        size += len(line) + 1
        if size > VALUE_LIMIT:
            break
    return _trim("\n".join(taken))


def _matched(pattern: re.Pattern[str], text: str) -> tuple[int, str] | None:
    """(offset, value) of the first match of `pattern` with a non-empty value."""
    grouped = "value" in pattern.groupindex
    for match in pattern.finditer(text):
        value = _trim((match.group("value") if grouped else match.group(0)) or "")
        if value:
            return match.start(), value
    return None
