"""Repair a header block whose folding is broken, before the email package parses it.

Some mailers and relays fold long header values without the leading blank that marks a
continuation line (a base64 tracker blob, a spam report, a `Received:` trace split over lines).
The email package then ends the header block at the first such line, and every field after it
(From, Subject, Content-Type...) lands in the body. A line inside the header block that is
neither a field nor a continuation, and is followed by more fields before the blank line, is
such a broken fold: it gets the blank it lacks. Works on bytes, line by line, bounded.
"""

from __future__ import annotations

import re

MAX_LINES = 500
"""Header lines looked at; a block longer than that is left as the email package reads it."""
MAX_BYTES = 256 * 1024
_FIELD = re.compile(rb"[!-9;-~]{1,76}[ \t]{0,8}:")


def repair_folding(raw: bytes) -> bytes:
    """`raw` with each broken fold in its header block turned into a continuation line.

    Returns `raw` itself (same object) when nothing needed repair, which is the common case.
    """
    lines = raw[:MAX_BYTES].split(b"\n", MAX_LINES)[:MAX_LINES]
    last_field = 0
    broken: list[int] = []
    for index, line in enumerate(lines):
        if not line.strip(b"\r"):
            break
        if index == 0 or line[:1] in (b" ", b"\t"):
            continue
        if _FIELD.match(line):
            last_field = index
        else:
            broken.append(index)
    else:
        return raw
    fixes = {index for index in broken if index < last_field}
    if not fixes:
        return raw
    cut = sum(len(line) + 1 for line in lines[: last_field + 1])
    head = [b" " + line if index in fixes else line for index, line in enumerate(lines)]
    return b"\n".join(head[: last_field + 1]) + b"\n" + raw[cut:]
