"""MIME header parameters and attachment file names, read tolerantly from raw header text.

Parameters are parsed here rather than through the email package's header objects so that
every oddity seen in real mail has a defined result: RFC 2231 continuations (`name*0*=`,
`name*1=`) with a charset and percent-escapes (invalid escapes kept), RFC 2047 encoded-words in
a plain or quoted value (not allowed by the RFCs, written by many mailers), raw 8-bit names. A
file name never carries a path or control characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from parsers import charsets
from parsers.headers import decode_words, unfold

_PERCENT = re.compile(rb"%([0-9A-Fa-f]{2})")
_SECTION = re.compile(r"\A([^*]{1,100})\*(\d{1,3})(\*?)\Z")
_UNSAFE = {i: None for i in (*range(0x20), *range(0x7F, 0xA0))}


@dataclass(frozen=True, slots=True)
class Field:
    """A structured MIME field: lower-cased value (`text/plain`, `attachment`) and raw params."""

    value: str
    params: tuple[tuple[str, str], ...]

    def param(self, name: str) -> str | None:
        """A parameter's raw value (quotes removed, not decoded), by case-insensitive name."""
        wanted = name.lower()
        for key, value in self.params:
            if key == wanted:
                return value
        return None


def parse_field(raw: str | None) -> Field | None:
    """Split `value; a=1; b="x; y"` on semicolons outside quotes into the value and params."""
    if raw is None:
        return None
    pieces = _split_outside_quotes(unfold(raw))
    params: list[tuple[str, str]] = []
    for piece in pieces[1:]:
        key, equals, value = piece.partition("=")
        if equals and key.strip():
            params.append((key.strip().lower(), _unquote(value.strip())))
    return Field(pieces[0].strip().lower(), tuple(params))


def param_text(
    field: Field | None, name: str, *, hint: str | None, defects: list[str]
) -> str | None:
    """A parameter decoded: RFC 2231 (extended or continued) first, else plain with RFC 2047."""
    if field is None:
        return None
    extended = _rfc2231(field, name.lower(), hint=hint)
    if extended is not None:
        return extended
    value = field.param(name)
    if value is None:
        return None
    return header_text(value, hint=hint, defects=defects, field=f"{name} parameter")


def header_text(value: str, *, hint: str | None, defects: list[str], field: str) -> str:
    """Raw header text decoded: undeclared 8-bit bytes by the hint (or detection), then RFC 2047.

    The hint is the charset the part or its enclosing parts declare: a mailer that writes raw
    GB2312 names in a `charset=GB2312` multipart meant that charset, not a detector's guess.
    """
    if not value.isascii():
        value = charsets.decode_8bit(charsets.surrogates_to_bytes(value), hint=hint).text
    return decode_words(value, defects=defects, field=field)


def safe_filename(name: str | None) -> str | None:
    """The last path component without control characters or lone surrogates, or None if empty."""
    if name is None:
        return None
    if _has_surrogates(name):
        name = charsets.decode_8bit(charsets.surrogates_to_bytes(name)).text
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = base.translate(_UNSAFE).strip()
    return base if base not in ("", ".", "..") else None


def _has_surrogates(text: str) -> bool:
    return not text.isascii() and any("\ud800" <= char <= "\udfff" for char in text)


def _rfc2231(field: Field, name: str, *, hint: str | None) -> str | None:
    """Join `name*`, `name*0*`, `name*1`... sections into bytes and decode them once."""
    sections: dict[int, tuple[str, bool]] = {}
    for key, value in field.params:
        if key == name + "*":
            sections.setdefault(0, (value, True))
            continue
        match = _SECTION.match(key)
        if match and match.group(1) == name:
            sections.setdefault(int(match.group(2)), (value, match.group(3) == "*"))
    if not sections:
        return None
    label: str | None = None
    data = bytearray()
    for index in sorted(sections):
        value, encoded = sections[index]
        if index == sorted(sections)[0] and encoded and value.count("'") >= 2:
            label, _, value = value.split("'", 2)
        raw = charsets.surrogates_to_bytes(value)
        data += _PERCENT.sub(lambda m: bytes.fromhex(m.group(1).decode()), raw) if encoded else raw
    if label:
        return charsets.decode(bytes(data), label).text
    return charsets.decode_8bit(bytes(data), hint=hint).text


def _split_outside_quotes(text: str) -> list[str]:
    """Split on `;` outside double quotes (a backslash escapes inside quotes). A state machine."""
    pieces: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            pieces.append("".join(current))
            current = []
            continue
        current.append(char)
    pieces.append("".join(current))
    return pieces


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        inner = value[1:-1]
        return inner.replace('\\"', '"').replace("\\\\", "\\") if "\\" in inner else inner
    return value.strip('"')
