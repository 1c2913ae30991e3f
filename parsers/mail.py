"""Assemble a `ParsedMessage` from raw bytes: the one entry point of the parsers package."""

from __future__ import annotations

import dataclasses
import email.parser
import email.policy
import re

from parsers import auto, commands, header_block, headers, quotes, structure, subjects
from parsers.message import NotAMailError, ParsedMessage

MAX_HEADER_LINES = 500
MAX_HEAD_BYTES = 1_048_576
"""The most of a header block `parse_head` reads."""
MAX_FALLBACK_TEXT = 1_048_576
MAX_PARTS = 1000
"""More part headers than this and the mail is read as headers plus raw text: the
standard library's parser takes about half a millisecond per part, and a stranger chooses."""
_MIME_LINE = re.compile(
    rb"(?m)^(?:--[^\r\n]*|Content-[A-Za-z-]+:[^\r\n]*|[ \t]+[^\r\n]*=[^\r\n]*)\r?$"
)
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_PART_HEADER = re.compile(rb"(?im)^content-type[ \t]*:")
"""Header lines looked at to decide whether the input is a mail."""
_FIELD_NAME = re.compile(rb"([!-9;-~]{1,76})[ \t]{0,8}:")
_MAIL_FIELDS = frozenset(
    b"from to cc date subject message-id received return-path mime-version content-type "
    b"delivered-to sender reply-to in-reply-to references x-mailer".split()
)
_BOM = b"\xef\xbb\xbf"
_STDLIB_CRASHES = (IndexError, KeyError, ValueError, TypeError, AttributeError, LookupError)
_MIME_FIELD = re.compile(rb"^content-[a-z-]*[ \t]*:.*(?:\r?\n[ \t].*)*(?:\r?\n|$)", re.I | re.M)


def parse(raw: bytes, *, tag_prefix: str = "") -> ParsedMessage:
    """Parse one mail. Raises `NotAMailError` only for input that is not a mail at all.

    A MIME tree nested deeper than the standard library's parser can follow (it recurses; a
    stranger can nest a thousand levels) is read as its headers and its raw text, with a defect.
    """
    start = header_start(raw)
    if start is None:
        raise NotAMailError("input has no header block: not a mail")
    if len(_PART_HEADER.findall(raw, start)) > MAX_PARTS:
        return _raw_text(raw, start, tag_prefix=tag_prefix, why=f"more than {MAX_PARTS} MIME parts")
    try:
        message = _parse(raw, start, tag_prefix=tag_prefix)
    except RecursionError:
        return _raw_text(raw, start, tag_prefix=tag_prefix, why="MIME nested too deeply")
    except _STDLIB_CRASHES as exc:
        # The standard library's header parser has crashes of its own on malformed MIME
        # parameters (`Content-Type: text/plain; charset*` raises IndexError in 3.11): read the
        # mail without its MIME headers rather than lose it.
        why = f"the MIME parser failed ({type(exc).__name__})"
        return _raw_text(raw, start, tag_prefix=tag_prefix, why=why, without_mime=True)
    too_deep = any(d.startswith("MIME nesting too deep") for d in message.defects)
    if too_deep and not message.full_text:
        return _raw_text(raw, start, tag_prefix=tag_prefix, why="MIME nested too deeply")
    return message


def parse_head(raw: bytes, *, tag_prefix: str = "") -> ParsedMessage:
    """Parse only the header block (for mail above the desk's size limit); the body is a note."""
    start = header_start(raw)
    if start is None:
        raise NotAMailError("input has no header block: not a mail")
    size = f"{len(raw) / 1_048_576:.1f} MB"
    return _head_only(
        raw,
        start,
        tag_prefix=tag_prefix,
        text=f"(too large to show: {size}; the whole mail is kept)",
        defect=f"too large: {size}, only the headers were parsed",
    )


def _raw_text(
    raw: bytes, start: int, *, tag_prefix: str, why: str, without_mime: bool = False
) -> ParsedMessage:
    """The headers and the body's lines as text, MIME delimiters and part headers left out
    (`without_mime`: the MIME fields of the head too, when they are what the parser fails on)."""
    end = _HEADER_END.search(raw, start)
    body = raw[end.end() : end.end() + MAX_FALLBACK_TEXT] if end else b""
    text = _MIME_LINE.sub(b"", body).decode("utf-8", "replace")
    text = "\n".join(line for line in text.splitlines() if line.strip())
    defect = f"{why}: only the headers and the raw text were read"
    return _head_only(
        raw, start, tag_prefix=tag_prefix, text=text, defect=defect, without_mime=without_mime
    )


def _head_only(
    raw: bytes, start: int, *, tag_prefix: str, text: str, defect: str, without_mime: bool = False
) -> ParsedMessage:
    end = _HEADER_END.search(raw, start, start + MAX_HEAD_BYTES)
    head = raw[start : end.start() if end else start + MAX_HEAD_BYTES]
    if without_mime:
        head = _MIME_FIELD.sub(b"", head)
    try:
        message = _parse(head + b"\r\n\r\n", 0, tag_prefix=tag_prefix)
    except _STDLIB_CRASHES:
        message = _parse(_MIME_FIELD.sub(b"", head) + b"\r\n\r\n", 0, tag_prefix=tag_prefix)
    return dataclasses.replace(
        message,
        body=text,
        full_text=text,
        html=None,
        attachments=(),
        commands=(),
        defects=(*message.defects, defect),
    )


def _parse(raw: bytes, start: int, *, tag_prefix: str) -> ParsedMessage:
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
        auto=auto.classify(msg, head, text=new_text or body.text),
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
    field = _FIELD_NAME.match(first)
    shaped = first.startswith((b"From ", b">From ")) or field
    known = field is not None and field.group(1).lower() in _MAIL_FIELDS
    if not shaped or (b"\x00" in first and not known):  # a NUL in a From: line is still mail
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
