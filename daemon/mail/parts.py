"""The files of a mail, as bytes, so an engineer's attachments can be relayed to the customer.

What counts as a file: every part that is marked as an attachment, or has a file name, or is a
non-text part shown inline (the screenshot pasted into the text). What does not: the multipart
containers, the body's own `text/plain` and `text/html` alternatives, and detached signatures
(`multipart/signed`), which would not verify once the mail is rewritten. A forwarded mail
(`message/*`) is one file, its bytes; its own parts are not opened.

A mail is read, never trusted: whatever fails to parse or decode is left out, and `files_of`
never raises. Files are taken in order until the next one would bring the total above
`max_bytes`; there the list stops, so the caller gets a prefix of the mail's files.

`FileToSend` lives here, not in `compose`, so this module needs only the standard library and
`parsers`; `daemon.mail.compose` imports it from here.
"""

from __future__ import annotations

import email
import mimetypes
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.message import Message

from parsers.filenames import safe_filename

MAX_BYTES = 25 * 1024 * 1024
_SIGNATURES = frozenset(
    {"application/pgp-signature", "application/pkcs7-signature", "application/x-pkcs7-signature"}
)
_AS_WRITTEN = policy.default.clone(refold_source="none")


@dataclass(frozen=True, slots=True)
class FileToSend:
    """One file to attach to an outgoing mail."""

    filename: str
    content_type: str  # "maintype/subtype"
    data: bytes


def files_of(raw: bytes, *, max_bytes: int = MAX_BYTES) -> tuple[FileToSend, ...]:
    """The files in a raw mail, in order, at most `max_bytes` in all; never raises."""
    try:
        root = email.message_from_bytes(raw, policy=policy.default)
    except Exception:
        return ()
    files: list[FileToSend] = []
    total = 0
    for part in _leaves(root):
        try:
            found = _file(part, number=len(files) + 1)
        except Exception:
            continue
        if found is None:
            continue
        if total + len(found.data) > max_bytes:
            break
        total += len(found.data)
        files.append(found)
    return tuple(files)


def _leaves(root: Message) -> Iterator[Message]:
    """The parts below the multipart containers, in order, without recursion (mail nests deep)."""
    stack: list[Message] = [root]
    while stack:
        part = stack.pop()
        try:
            container = part.get_content_maintype() == "multipart"
            payload = part.get_payload() if container else None
        except Exception:
            continue
        if not container:
            yield part
        elif isinstance(payload, list):  # a multipart whose payload is a string has no parts
            stack.extend(p for p in reversed(payload) if isinstance(p, Message))


def _file(part: Message, *, number: int) -> FileToSend | None:
    """The part as a file, or None when it is the body's text or cannot be decoded."""
    content_type = part.get_content_type()
    disposition = part.get_content_disposition()
    filename = safe_filename(part.get_filename())
    if content_type in _SIGNATURES:
        return None
    is_file = (
        disposition == "attachment" or filename is not None or part.get_content_maintype() != "text"
    )
    if not is_file:
        return None
    data = _data(part)
    if data is None:
        return None
    if filename is None:
        filename = f"attachment-{number}{_extension(content_type)}"
    return FileToSend(filename=filename, content_type=content_type, data=data)


def _data(part: Message) -> bytes | None:
    """The decoded bytes of a part; for a forwarded mail (`message/*`), the mail as written."""
    if part.get_content_maintype() == "message":
        payload = part.get_payload()
        if isinstance(payload, list):
            return b"".join(
                m.as_bytes(policy=_AS_WRITTEN) for m in payload if isinstance(m, Message)
            )
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else None


def _extension(content_type: str) -> str:
    if content_type == "message/rfc822":
        return ".eml"
    return mimetypes.guess_extension(content_type, strict=False) or ".bin"
