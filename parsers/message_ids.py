"""Message-IDs, read one way everywhere: the parser, intake's duplicate check, threading.

A Message-ID is kept as `<left@right>` with its case as written (RFC 5322 makes them
case-sensitive). The grammar accepted, because real mailers write all of these:

- `<id@host>` tokens, any number, separated by anything (References, In-Reply-To);
- a lone id without angle brackets (`alice1@cust.example`), which is bracketed;
- anything else (no `@`, blanks inside, longer than 998 characters) is not an id.

`head_message_id(raw)` reads the Message-ID from a mail's header block without parsing the mail,
for `replydesk ingest`, which must start fast: it imports only `re`.
"""

from __future__ import annotations

import re

MAX_ID = 998
_TOKEN = re.compile(r"<([^<>\s]{1,998})>")
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_FIELD = re.compile(rb"^message-id[ \t]*:((?:[^\r\n]*)(?:\r?\n[ \t][^\r\n]*)*)", re.I | re.M)
_COMMENT = re.compile(r"\([^()]*\)")


def message_ids(value: str) -> tuple[str, ...]:
    """The ids in a header value, in order, without repeats."""
    found = [f"<{token}>" for token in _TOKEN.findall(value) if "@" in token]
    if not found:
        bare = _COMMENT.sub("", value).strip()
        if "@" in bare and len(bare) <= MAX_ID and not any(c.isspace() or c in "<>" for c in bare):
            found = [f"<{bare}>"]
    return tuple(dict.fromkeys(found))


def normalise_id(value: str) -> str | None:
    """The one id in `value` (the first, if several), or None."""
    found = message_ids(value)
    return found[0] if found else None


def head_message_id(raw: bytes) -> str | None:
    """The Message-ID of a raw mail, read from its header block only."""
    end = _HEADER_END.search(raw, 0, 262144)
    head = raw[: end.start()] if end else raw[:262144]
    field = _FIELD.search(head)
    if field is None:
        return None
    return normalise_id(field.group(1).decode("utf-8", "replace"))
