"""Files uuencoded inside a plain-text body (`begin 644 name` ... `end`), as old Outlook and
Unix `mail` still send them: taken out of the text and listed as attachments.

A block counts only when every line between `begin` and `end` decodes; otherwise the text is
left exactly as it was. One pass over the lines, no regular expression over the body.
"""

from __future__ import annotations

import binascii

from parsers.filenames import safe_filename
from parsers.message import Attachment

_MODE_DIGITS = frozenset("01234567")


def extract(text: str) -> tuple[str, tuple[Attachment, ...]]:
    """The text without its uuencoded blocks, and one attachment per block."""
    if not text.startswith("begin ") and "\nbegin " not in text:
        return text, ()
    lines = text.split("\n")
    kept: list[str] = []
    found: list[Attachment] = []
    index = 0
    while index < len(lines):
        name = _begin_name(lines[index])
        block = _block(lines, index + 1) if name is not None else None
        if block is None:
            kept.append(lines[index])
            index += 1
            continue
        data, index = block
        found.append(
            Attachment(
                filename=safe_filename(name),
                content_type="application/octet-stream",
                size=len(data),
                inline=False,
                content_id=None,
            )
        )
    return ("\n".join(kept), tuple(found)) if found else (text, ())


def _begin_name(line: str) -> str | None:
    """The file name of a `begin <octal mode> <name>` line, else None."""
    if not line.startswith("begin "):
        return None
    parts = line.rstrip("\r").split(" ", 2)
    if len(parts) != 3 or not 3 <= len(parts[1]) <= 4 or not set(parts[1]) <= _MODE_DIGITS:
        return None
    return parts[2].strip() or None


def _block(lines: list[str], start: int) -> tuple[bytes, int] | None:
    """The decoded bytes from `start` up to the `end` line, and the index after it; None when a
    line does not decode or `end` never comes."""
    data = bytearray()
    for index in range(start, len(lines)):
        line = lines[index].rstrip("\r")
        if line.strip() == "end":
            return bytes(data), index + 1
        decoded = _uu_line(line)
        if decoded is None:
            return None
        data += decoded
    return None


def _uu_line(line: str) -> bytes | None:
    """One uuencoded line; the length byte decides, as encoders pad or trim trailing spaces."""
    if not line.strip():
        return b""
    try:
        return binascii.a2b_uu(line)
    except (binascii.Error, ValueError):
        pass
    count = (((ord(line[0]) - 32) & 63) * 4 + 5) // 3
    try:
        return binascii.a2b_uu(line[:count])
    except (binascii.Error, ValueError):
        return None
