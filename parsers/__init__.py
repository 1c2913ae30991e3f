"""Pure functions from raw mail bytes to typed, frozen results. No I/O lives here."""

from parsers.mail import parse
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
]
