"""Pure functions from raw mail bytes to typed, frozen results. No I/O lives here.

The names below are loaded on first use (PEP 562), so a caller that needs only a light module
(`parsers.fingerprint`, `parsers.message_ids`, as `replydesk ingest` does) never pays for the
MIME parser.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from parsers.mail import parse, parse_head
    from parsers.message import (
        Address,
        Attachment,
        AutoVerdict,
        BouncedRecipient,
        Command,
        NotAMailError,
        ParsedMessage,
    )
    from parsers.subjects import format_tag

_WHERE = {
    "parse": "parsers.mail",
    "parse_head": "parsers.mail",
    "Address": "parsers.message",
    "Attachment": "parsers.message",
    "AutoVerdict": "parsers.message",
    "BouncedRecipient": "parsers.message",
    "Command": "parsers.message",
    "NotAMailError": "parsers.message",
    "ParsedMessage": "parsers.message",
    "format_tag": "parsers.subjects",
}

__all__ = [
    "Address",
    "Attachment",
    "AutoVerdict",
    "BouncedRecipient",
    "Command",
    "NotAMailError",
    "ParsedMessage",
    "format_tag",
    "parse",
    "parse_head",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'parsers' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
