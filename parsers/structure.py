"""Structure layer: walk the MIME tree once, pick the text, decode charsets, list attachments.

The text is the first `text/plain` of the main body (later inline plain parts of a
`multipart/mixed`, as Apple Mail writes around pictures, are appended); inside a
`multipart/alternative` only one branch counts. Without plain text, the HTML is converted. Attached
messages (`message/rfc822`) are attachments, never body; TNEF `winmail.dat` stays one attachment.
Files uuencoded in a plain body are taken out of the text and listed as attachments; the detached
signature of a `multipart/signed` mail is not listed.
"""

from __future__ import annotations

import email.parser
import email.policy
import re
from dataclasses import dataclass, field
from email.generator import BytesGenerator
from email.message import Message
from email.policy import Compat32
from io import BytesIO

from parsers import charsets, filenames, uuencode
from parsers.filenames import Field
from parsers.headers import unfold
from parsers.html_text import html_to_text
from parsers.message import Attachment

MAX_DEPTH = 60
"""Deeper MIME nesting than this is an attack or a loop; its parts are listed, not walked."""

_BOUNDARY_LINE = re.compile(r"^--([^\s]{1,200})[ \t]{0,20}\r?$", re.MULTILINE)
_BODY_TYPES = ("text/plain", "text/html")
_MESSAGE_TYPES = ("message/rfc822", "message/global", "message/news")
_SIGNATURE_TYPES = (
    "application/pgp-signature",
    "application/pkcs7-signature",
    "application/x-pkcs7-signature",
)

_Entry = tuple[Message, int, tuple[int, int] | None, str | None]
"""A part to visit: the part, its depth, its alternative branch, the charset declared above it."""


@dataclass(frozen=True, slots=True)
class Body:
    """The text of a mail, its HTML if any, its attachments, and what was wrong with it."""

    text: str
    html: str | None
    attachments: tuple[Attachment, ...]
    defects: tuple[str, ...]
    charset: str | None = None


@dataclass(slots=True)
class _Walk:
    """What one pass over the tree collects. `chosen` maps an alternative to its used branches."""

    linesep: str
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    chosen: dict[tuple[int, str], int] = field(default_factory=dict)
    charset: str | None = None


def read_body(msg: Message, *, charset_hint: str | None = None, linesep: str = "\n") -> Body:
    """Walk the tree once (iteratively, depth-capped) and decode only the parts used as text.

    `linesep` is the raw mail's line ending, so an attached message is sized as it came in.
    """
    walk = _Walk(linesep=linesep)
    stack: list[_Entry] = [(msg, 0, None, charset_hint)]
    visited: list[Message] = []
    while stack:
        part, depth, branch, hint = stack.pop()
        visited.append(part)
        type_field = filenames.parse_field(_raw(part, "content-type"))
        hint = (type_field.param("charset") if type_field else None) or hint
        ctype = _content_type(part, type_field)
        if ctype in _MESSAGE_TYPES or (ctype.startswith("message/") and part.is_multipart()):
            walk.attachments.append(_attached_message(part, type_field, ctype, walk, hint))
            continue
        if ctype.startswith("multipart/") and not part.is_multipart():
            recovered = _recover_multipart(part, ctype)
            if recovered is not None:
                walk.defects.append(f"{ctype} boundary recovered from the body")
                part = recovered
        if part.is_multipart():
            if depth >= MAX_DEPTH:
                walk.defects.append("MIME nesting too deep: inner parts ignored")
                continue
            children = _children(part, ctype)
            for index in range(len(children) - 1, -1, -1):
                inner = (id(part), index) if ctype == "multipart/alternative" else branch
                stack.append((children[index], depth + 1, inner, hint))
            continue
        _leaf(part, type_field, ctype, branch, walk, hint=hint)
    for part in visited:
        walk.defects.extend(type(defect).__name__ for defect in part.defects)
    html = "\n".join(walk.html) if walk.html else None
    text = "\n".join(walk.plain) if walk.plain else _html_text(html)
    return Body(
        text=text,
        html=html,
        attachments=tuple(walk.attachments),
        defects=tuple(dict.fromkeys(walk.defects)),
        charset=walk.charset,
    )


def _children(part: Message, ctype: str) -> list[Message]:
    """A multipart's parts; a signed mail's detached signature is not content, so it is left out.

    A help desk shows what the sender wrote: `signature.asc` or `smime.p7s` listed beside the
    real attachments is noise (and mail parsers such as zbateson's do not count it either).
    """
    children = [c for c in part.get_payload() if isinstance(c, Message)]
    if ctype != "multipart/signed" or len(children) < 2:
        return children
    return children[:1] + [c for c in children[1:] if c.get_content_type() not in _SIGNATURE_TYPES]


def _leaf(
    part: Message,
    type_field: Field | None,
    ctype: str,
    branch: tuple[int, int] | None,
    walk: _Walk,
    *,
    hint: str | None,
) -> None:
    """Use a leaf as body text, drop it as an unused alternative, or list it as an attachment."""
    disposition = filenames.parse_field(_raw(part, "content-disposition"))
    name = _filename(disposition, type_field, hint or walk.charset, walk.defects)
    is_attachment = disposition is not None and disposition.value == "attachment"
    if _is_body(ctype, branch, walk) and name is None and not is_attachment:
        kind = ctype[5:]
        if branch is not None:
            key = (branch[0], kind)
            if walk.chosen.setdefault(key, branch[1]) != branch[1]:
                return
        text = _decode_text(part, type_field, html=kind == "html", walk=walk)
        if kind == "html":
            walk.html.append(text)
            return
        text, files = uuencode.extract(text)
        walk.plain.append(text)
        walk.attachments.extend(files)
        return
    payload = _payload(part)
    if ctype.startswith("multipart/") and not payload.strip():
        return
    walk.attachments.append(
        Attachment(
            filename=name,
            content_type=ctype,
            size=len(payload),
            inline=_is_inline(disposition, part),
            content_id=_content_id(part),
        )
    )


def _is_body(ctype: str, branch: tuple[int, int] | None, walk: _Walk) -> bool:
    """Plain text always may be; HTML only before any plain text or as its alternative."""
    if ctype == "text/plain":
        return True
    if ctype != "text/html":
        return False
    return not walk.plain or (branch is not None and (branch[0], "plain") in walk.chosen)


def _decode_text(part: Message, type_field: Field | None, *, html: bool, walk: _Walk) -> str:
    """A body part as text: transfer-decoded, charset-decoded, newlines normalised, unflowed."""
    label = type_field.param("charset") if type_field else None
    result = charsets.decode(_payload(part), label, html=html)
    if result.defect:
        walk.defects.append(f"{'text/html' if html else 'text/plain'} part: {result.defect}")
    if walk.charset is None:
        walk.charset = label or result.charset
    text = result.text.replace("\r\n", "\n").replace("\r", "\n")
    flowed = type_field is not None and (type_field.param("format") or "").lower() == "flowed"
    if flowed and not html and type_field is not None:
        text = unflow(text, delsp=(type_field.param("delsp") or "").lower() == "yes")
    return text


def unflow(text: str, *, delsp: bool) -> str:
    """Join RFC 3676 format=flowed lines: a line ending in a space continues on the next one."""
    lines: list[tuple[int, str]] = []
    joining = False
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]
        flowed = content.endswith(" ") and content != "-- "
        if flowed and delsp:
            content = content[:-1]
        if joining and lines and lines[-1][0] == depth:
            lines[-1] = (depth, lines[-1][1] + content)
        else:
            lines.append((depth, content))
        joining = flowed
    return "\n".join(">" * depth + (" " if depth and body else "") + body for depth, body in lines)


def _attached_message(
    part: Message, type_field: Field | None, ctype: str, walk: _Walk, hint: str | None
) -> Attachment:
    """An attached message: named by its file name, else by its subject, sized as raw bytes."""
    disposition = filenames.parse_field(_raw(part, "content-disposition"))
    name = _filename(disposition, type_field, hint or walk.charset, walk.defects)
    inner = [m for m in part.get_payload() if isinstance(m, Message)] if part.is_multipart() else []
    data = b"".join(_serialise(m, walk.linesep) for m in inner) if inner else _payload(part)
    for message in inner:
        walk.defects.extend(_nested_defects(message))
    if name is None and inner and ctype in _MESSAGE_TYPES:
        subject = unfold(_raw(inner[0], "subject") or "")
        own = _first_charset(inner[0]) or hint or walk.charset
        title = filenames.header_text(subject, hint=own, defects=walk.defects, field="Subject")
        name = filenames.safe_filename(f"{title}.eml" if title.strip() else "message.eml")
    return Attachment(
        filename=name,
        content_type=ctype,
        size=len(data),
        inline=_is_inline(disposition, part),
        content_id=_content_id(part),
    )


def _recover_multipart(part: Message, ctype: str) -> Message | None:
    """Re-parse a multipart whose declared boundary never occurs, with the one its body uses.

    Mailers that write `boundary=----=_NextPart...` unquoted lose the boundary at the `=`;
    the first `--token` line of the body is the boundary they meant.
    """
    payload = part.get_payload()
    if not isinstance(payload, str):
        return None
    found = (m.group(1) for m in _BOUNDARY_LINE.finditer(payload, 0, 65536))
    boundary = next((b for b in found if not b.endswith("--")), None)
    if boundary is None:
        return None
    boundary = boundary.replace("\\", "").replace('"', "")
    head = f'Content-Type: {ctype}; boundary="{boundary}"\n\n'
    raw = charsets.surrogates_to_bytes(head + payload)
    recovered = email.parser.BytesParser(policy=email.policy.default).parsebytes(raw)
    return recovered if recovered.is_multipart() else None


def _nested_defects(msg: Message) -> list[str]:
    """Defect names anywhere inside an attached message (walked iteratively, depth-capped)."""
    found: list[str] = []
    stack = [(msg, 0)]
    while stack:
        part, depth = stack.pop()
        found.extend(type(defect).__name__ for defect in part.defects)
        payload = part.get_payload()
        if isinstance(payload, list) and depth < MAX_DEPTH:
            stack.extend((child, depth + 1) for child in payload if isinstance(child, Message))
    return found


def _first_charset(msg: Message) -> str | None:
    """The first charset an attached message declares in its first few parts: its raw 8-bit
    Subject was most likely written in it."""
    stack = [msg]
    seen = 0
    while stack and seen < 20:
        part = stack.pop()
        seen += 1
        field = filenames.parse_field(_raw(part, "content-type"))
        label = field.param("charset") if field else None
        if label:
            return label
        payload = part.get_payload()
        if isinstance(payload, list):
            stack.extend(c for c in reversed(payload) if isinstance(c, Message))
    return None


def _filename(
    disposition: Field | None, type_field: Field | None, hint: str | None, defects: list[str]
) -> str | None:
    """Content-Disposition `filename`, else Content-Type `name`; decoded and made safe.

    `hint` is the charset declared by the part or the nearest enclosing part, for raw 8-bit names.
    """
    for source, key in ((disposition, "filename"), (type_field, "name")):
        value = filenames.param_text(source, key, hint=hint, defects=defects)
        safe = filenames.safe_filename(value)
        if safe is not None:
            return safe
    return None


def _is_inline(disposition: Field | None, part: Message) -> bool:
    """Inline when it says so, or when it says nothing but has a Content-ID to be shown by."""
    if disposition is not None and disposition.value in ("inline", "attachment"):
        return disposition.value == "inline"
    return _raw(part, "content-id") is not None


def _content_id(part: Message) -> str | None:
    """The Content-ID without its angle brackets, as `cid:` URLs in HTML refer to it."""
    raw = _raw(part, "content-id")
    if raw is None:
        return None
    value = unfold(raw).strip().strip("<>").strip()
    return value or None


def _content_type(part: Message, type_field: Field | None) -> str:
    """The content type as the email package reads it: the default where it is missing or bad."""
    if type_field is not None and type_field.value.count("/") == 1:
        return type_field.value.replace(" ", "")
    return part.get_default_type()


def _payload(part: Message) -> bytes:
    """The transfer-decoded bytes of a leaf; the raw bytes when the encoding is broken."""
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    return charsets.surrogates_to_bytes(raw) if isinstance(raw, str) else b""


class _AsReceived(Compat32):
    """Writes each header exactly as it was read: no refolding, no re-encoding (and fast)."""

    def fold_binary(self, name: str, value: str) -> bytes:
        return f"{name}: {value}{self.linesep}".encode("ascii", "surrogateescape")


def _serialise(msg: Message, linesep: str) -> bytes:
    """An attached message's bytes as they came in (headers unchanged, not refolded)."""
    buffer = BytesIO()
    policy = _AsReceived(linesep=linesep)
    try:
        BytesGenerator(buffer, policy=policy).flatten(msg, unixfrom=msg.get_unixfrom() is not None)
    except Exception:
        return charsets.surrogates_to_bytes(str(msg.get_payload()))
    return buffer.getvalue()


def _raw(part: Message, name: str) -> str | None:
    """The first raw (undecoded, still folded) value of a header, without header objects."""
    for key, value in part.raw_items():
        if key.lower() == name:
            return value
    return None


def _html_text(html: str | None) -> str:
    return "" if html is None else html_to_text(html)
