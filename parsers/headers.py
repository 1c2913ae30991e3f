"""Header layer: decoded header values, addresses, dates and Message-ID lists.

Works from the raw header strings the parser kept (`msg.raw_items()`), never from the email
package's header objects, which raise or mangle on broken input. RFC 2047 encoded-words are decoded
in any charset (adjacent words joined before decoding, so a character split across two words
survives); an encoded-word that cannot be decoded is kept literally and reported. Undeclared 8-bit
header bytes are read as UTF-8, else as the body's charset, else as what detection says.
"""

from __future__ import annotations

import binascii
import email.utils
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message

from parsers import address_parts, charsets
from parsers.message import Address
from parsers.message_ids import message_ids

_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,75})\?([QqBb])\?([^?]{0,2000})\?=")
_BROKEN_WORD = re.compile(r"=\?[^?\s]{1,75}\?[QqBb]\?")
_QP_ESCAPE = re.compile(rb"=([0-9A-Fa-f]{2})")
_FOLD = re.compile(r"[ \t]{0,200}\r?\n[ \t]{1,200}")
_BARE_ADDRESS = re.compile(r"[^\s<>()\[\],;:\"']{1,64}@[^\s<>()\[\],;:\"']{1,255}")
_ANGLE_ADDR = re.compile(r"\A([^<>]*)<([^<>]{1,300})>\s*\Z")
_UTF7_RUN = re.compile(r"\+[A-Za-z0-9/]{2,400}-")
_CONTROLS = {i: None for i in (*range(0x20), 0x7F)} | {0x09: " ", 0x0A: " ", 0x0D: " "}
_BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
MAX_ADDRESSES = 1000
"""Addresses read from one header; more is an attack or a mistake, not a conversation."""
MAX_PIECE = 2000
_ADDRESS_FIELDS = ("from", "sender", "to", "cc", "reply-to")
_ID_FIELDS = ("message-id", "in-reply-to", "references")


@dataclass(frozen=True, slots=True)
class Headers:
    """The header facts of one mail, decoded. `all` keeps every field, in order."""

    subject: str
    from_: Address | None
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    reply_to: tuple[Address, ...]
    date: datetime | None
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    defects: tuple[str, ...]
    all: tuple[tuple[str, str], ...]


def read_headers(msg: Message, *, charset_hint: str | None = None) -> Headers:
    """Decode the top-level header block of a parsed message; never raises."""
    items = list(msg.raw_items())
    hints = _declared_charsets(msg, charset_hint, items)
    utf7 = any(charsets.codec_for(hint) == "utf_7" for hint in hints)
    text_fields = {"subject", *_ADDRESS_FIELDS}
    defects: list[str] = []
    decoded: list[tuple[str, str]] = []
    firsts: dict[str, str] = {}
    address_values: dict[str, list[str]] = {name: [] for name in _ADDRESS_FIELDS}
    for name, raw_value in items:
        key = name.lower()
        unfolded = unfold(_as_text(raw_value, hints=hints, utf7=utf7 and key in text_fields))
        value = decode_words(unfolded, defects=defects, field=name)
        decoded.append((name, value))
        firsts.setdefault(key, value)
        if key in address_values:
            address_values[key].append(unfolded)
    return Headers(
        subject=firsts.get("subject", "").strip(),
        from_=_sender(address_values, defects=defects),
        to=_address_list(address_values["to"], defects=defects, field="To"),
        cc=_address_list(address_values["cc"], defects=defects, field="Cc"),
        reply_to=_address_list(address_values["reply-to"], defects=defects, field="Reply-To"),
        date=parse_date(firsts.get("date"), defects=defects),
        message_id=next(iter(message_ids(firsts.get("message-id", ""))), None),
        in_reply_to=message_ids(firsts.get("in-reply-to", "")),
        references=message_ids(firsts.get("references", "")),
        defects=tuple(dict.fromkeys(defects)),
        all=tuple(decoded),
    )


def _sender(values: dict[str, list[str]], *, defects: list[str]) -> Address | None:
    """The From mailbox; when From is missing or empty, Sender's, then Reply-To's.

    A mail whose From is absent or `"name" <>` still came from someone we can answer, and the
    ticket needs a requester; the substitution is reported.
    """
    for key, field in (("from", "From"), ("sender", "Sender"), ("reply-to", "Reply-To")):
        found = _address_list(values[key], defects=defects, field=field)
        if found:
            if key != "from":
                defects.append(f"From: no address; sender taken from {field}")
            return found[0]
    return None


def addresses(values: list[object]) -> tuple[Address, ...]:
    """Mailboxes in address header values (raw strings or header objects), decoded."""
    return _address_list([unfold(_as_text(str(v), hints=())) for v in values], defects=[])


def parse_date(value: str | None, *, defects: list[str]) -> datetime | None:
    """The Date header in UTC; a date without zone is taken as UTC; garbage gives None."""
    if value is None or not value.strip():
        return None
    parsed = _rfc5322_date(value) or _iso_date(value)
    if parsed is None:
        defects.append("invalid Date header")
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        defects.append("invalid Date header")
        return None


def unfold(value: str) -> str:
    """One line: each fold (with the blanks around it) made one space, stray CR/LF/tabs too."""
    line = _FOLD.sub(" ", value)
    return line.replace("\r", " ").replace("\n", " ").replace("\t", " ").strip()


def decode_words(text: str, *, defects: list[str], field: str = "header") -> str:
    """Decode RFC 2047 encoded-words anywhere in `text` (also inside quotes, as mailers do).

    Whitespace between adjacent encoded-words is dropped; adjacent words in one charset are
    joined as bytes before decoding. Undecodable words stay literal and are reported.
    """
    if "=?" not in text:
        return text.translate(_CONTROLS)
    out: list[str] = []
    pending: list[tuple[str, bytes]] = []
    position = 0
    for match in _ENCODED_WORD.finditer(text):
        literal = text[position : match.start()]
        position = match.end()
        raw = _word_bytes(match.group(2), match.group(3))
        if raw is None:
            defects.append(f"{field}: broken encoded-word kept as is")
            _flush(pending, out, defects, field)
            out.append(literal + match.group(0))
            continue
        if literal and (literal.strip() or not pending):
            _flush(pending, out, defects, field)
            out.append(literal)
        label = match.group(1).split("*", 1)[0]
        if pending and pending[-1][0].lower() == label.lower():
            pending[-1] = (pending[-1][0], pending[-1][1] + raw)
        else:
            pending.append((label, raw))
    _flush(pending, out, defects, field)
    tail = text[position:]
    if _BROKEN_WORD.search(tail):
        defects.append(f"{field}: unterminated encoded-word kept as is")
    out.append(tail)
    return "".join(out).translate(_CONTROLS)


def _flush(
    pending: list[tuple[str, bytes]], out: list[str], defects: list[str], field: str
) -> None:
    for label, raw in pending:
        result = charsets.decode(raw, label)
        if result.defect:
            defects.append(f"{field}: {result.defect}")
        out.append(result.text)
    pending.clear()


def _word_bytes(encoding: str, encoded: str) -> bytes | None:
    """The bytes an encoded-word carries, or None when its encoding is broken."""
    data = encoded.encode("utf-8", "surrogateescape")
    if encoding in "Qq":
        return _QP_ESCAPE.sub(_unescape, data.replace(b"_", b" "))
    compact = b"".join(data.split()).rstrip(b"=")
    if len(compact) % 4 == 1 or compact.translate(None, _BASE64_ALPHABET):
        return None
    try:
        return binascii.a2b_base64(compact + b"=" * (-len(compact) % 4))
    except binascii.Error:
        return None


def _unescape(match: re.Match[bytes]) -> bytes:
    return bytes.fromhex(match.group(1).decode("ascii"))


def _address_list(values: list[str], *, defects: list[str], field: str = "") -> tuple[Address, ...]:
    """Mailboxes from unfolded address fields whose encoded-words are still encoded."""
    found: list[Address] = []
    for value in values:
        pieces = split_addresses(value)
        if len(pieces) > MAX_ADDRESSES:
            defects.append(f"{field}: more than {MAX_ADDRESSES} addresses, rest ignored")
        for piece in pieces[:MAX_ADDRESSES]:
            found.extend(_mailboxes(piece, defects=defects, field=field))
    return tuple(dict.fromkeys(found))


def split_addresses(value: str) -> list[str]:
    """Split an address list on commas outside quotes, angle brackets and comments.

    The stdlib parser recurses once per address; a state machine here keeps a ten-thousand
    address header from exhausting the stack.
    """
    pieces: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    angle = paren = 0
    for char in value:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"' and not paren:
            quoted = not quoted
        elif not quoted:
            if char == "(":
                paren += 1
            elif char == ")" and paren:
                paren -= 1
            elif char == "<" and not paren:
                angle += 1
            elif char == ">" and angle:
                angle -= 1
            elif char == "," and not (angle or paren):
                pieces.append("".join(current))
                current = []
                continue
        current.append(char)
    pieces.append("".join(current))
    return [piece for piece in pieces if piece.strip()]


def _mailboxes(piece: str, *, defects: list[str], field: str) -> list[Address]:
    """The mailbox (or, for a group, mailboxes) in one comma-free piece of an address list."""
    piece = piece.strip()[:MAX_PIECE]
    angle = _ANGLE_ADDR.match(piece)
    if angle and "@" in angle.group(2) and '"' not in angle.group(1):
        pairs = [(address_parts.without_comments(angle.group(1)), angle.group(2))]
    else:
        pairs = [(n, a) for n, a in email.utils.getaddresses([piece]) if "@" in a]
    if not pairs and "=?" in piece:
        decoded = decode_words(piece, defects=[], field=field)
        pairs = [(n, a) for n, a in email.utils.getaddresses([decoded]) if "@" in a]
    if not pairs and "@" in piece:
        pairs = [("", a) for a in _BARE_ADDRESS.findall(piece)]
        if pairs:
            defects.append(f"{field}: malformed address")
    if not pairs and field == "From":
        pairs = address_parts.local_mailbox(piece, defects=defects)
    found = []
    for raw_name, raw_address in pairs:
        name, address = address_parts.split_spaced(raw_name, raw_address, bracketed="<" in piece)
        if " " in address.strip() and not address.lstrip().startswith('"'):
            defects.append(f"{field}: malformed address")
        clean = address_parts.clean_address(address)
        display = decode_words(name, defects=defects, field=field)
        display = " ".join(display.strip().strip("\"' ").split())
        found.append(Address("" if display.lower() == clean else display, clean))
    return found


def _rfc5322_date(value: str) -> datetime | None:
    try:
        return email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _iso_date(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        return None


def _as_text(raw_value: str, *, hints: tuple[str, ...], utf7: bool = False) -> str:
    """A raw header string with undeclared 8-bit bytes (kept as surrogates) decoded.

    In a mail whose parts are UTF-7 (old Netscape), raw `+...-` runs in headers are UTF-7 too.
    """
    if raw_value.isascii():
        return _UTF7_RUN.sub(_utf7, raw_value) if utf7 and "+" in raw_value else raw_value
    try:
        raw_value.encode("utf-8")
    except UnicodeEncodeError:
        data = charsets.surrogates_to_bytes(raw_value)
        return charsets.decode_8bit(data, hints=hints).text
    return raw_value


def _utf7(match: re.Match[str]) -> str:
    try:
        return match.group(0).encode("ascii").decode("utf-7")
    except UnicodeDecodeError:
        return match.group(0)


def _declared_charsets(
    msg: Message, hint: str | None, items: list[tuple[str, str]]
) -> tuple[str, ...]:
    """The charsets the mail declares (the caller's hint first): guesses for raw headers.

    When no part declares one, the caller's hint is the body's detected charset, a weaker
    guess than reading the header bytes themselves: it is dropped. Only looked up when some
    header is not plain ASCII, to keep parsing fast.
    """
    if all(value.isascii() for _, value in items):
        return (hint,) if hint else ()
    found: list[str] = []
    for part in msg.walk():
        try:
            charset = part.get_content_charset()
        except Exception:
            charset = None
        if charset:
            found.append(charset)
    return tuple(dict.fromkeys([hint, *found] if hint and found else found))
