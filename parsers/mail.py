"""Assemble a `ParsedMessage` from raw bytes: the one entry point of the parsers package."""

from __future__ import annotations

import email.parser
import email.policy
import re

from parsers import auto, commands, header_block, headers, quotes, structure, subjects
from parsers.message import NotAMailError, ParsedMessage

MAX_HEADER_LINES = 500
"""Header lines looked at to decide whether the input is a mail."""
_FIELD_NAME = re.compile(rb"([!-9;-~]{1,76})[ \t]{0,8}:")
_MAIL_FIELDS = frozenset(
    b"from to cc date subject message-id received return-path mime-version content-type "
    b"delivered-to sender reply-to in-reply-to references x-mailer".split()
)
_BOM = b"\xef\xbb\xbf"


def parse(raw: bytes, *, tag_prefix: str = "") -> ParsedMessage:
    """Parse one mail. Raises `NotAMailError` only for input that is not a mail at all."""
    start = header_start(raw)
    if start is None:
        raise NotAMailError("input has no header block: not a mail")
    msg = email.parser.BytesParser(policy=email.policy.default).parsebytes(
        header_block.repair_folding(raw[start:])
    )
    linesep = "\r\n" if b"\r\n" in raw[start : start + 4096] else "\n"
    body = structure.read_body(msg, linesep=linesep)
    head = headers.read_headers(msg, charset_hint=body.charset)
    subject = head.subject
    new_text = quotes.new_text(body.text, html=body.html)
    return ParsedMessage(
        subject=subject,
        clean_subject=subjects.clean_subject(subject, tag_prefix=tag_prefix),
        from_=head.from_,
        to=head.to,
        cc=head.cc,
        reply_to=head.reply_to,
        date=head.date,
        message_id=head.message_id,
        in_reply_to=head.in_reply_to,
        references=head.references,
        ticket_ref=subjects.ticket_ref(subject, tag_prefix=tag_prefix),
        body=new_text,
        full_text=body.text,
        html=body.html,
        attachments=body.attachments,
        auto=auto.classify(msg, head),
        commands=commands.find_commands(new_text),
        defects=_defects(raw, start, head.defects + body.defects),
        headers=head.all,
    )


def looks_like_mail(raw: bytes) -> bool:
    """True when the bytes hold a header block: a field or `From ` line near the top."""
    return header_start(raw) is not None


def header_start(raw: bytes) -> int | None:
    """Where the header block starts (after a BOM and blank lines), or None for no header block.

    A header block is a `From ` line or a field line first, and at least one field every mail
    has (From, To, Date, Received...) before the first blank line. Some archives put one
    separator line such as `---- Original email message ----` above the headers: it is skipped.
    """
    offset = len(raw) - len(raw.removeprefix(_BOM).lstrip(b"\r\n"))
    lines = raw[offset : offset + 65536].split(b"\n", MAX_HEADER_LINES)[:MAX_HEADER_LINES]
    if lines[0].startswith(b"-") and len(lines) > 2 and _FIELD_NAME.match(lines[1]):
        offset += len(lines[0]) + 1
        lines = lines[1:]
    first = lines[0]
    shaped = first.startswith((b"From ", b">From ")) or _FIELD_NAME.match(first)
    if b"\x00" in first or not shaped:
        return None
    for line in lines:
        if not line.strip(b"\r"):
            break
        match = _FIELD_NAME.match(line)
        if match and match.group(1).lower() in _MAIL_FIELDS:
            return offset
    return None


def _defects(raw: bytes, start: int, found: tuple[str, ...]) -> tuple[str, ...]:
    skipped = raw[:start].removeprefix(_BOM).strip(b"\r\n")
    prefix = ("junk lines before the headers skipped",) if skipped else ()
    return tuple(dict.fromkeys(prefix + found))
