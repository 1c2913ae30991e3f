"""Plain-text bounces: is this mail a delivery failure written for humans, and who failed?

Non-standard bounces (Postfix, Exim, qmail, Sendmail, Exchange, Domino, Yahoo, Gmail, Japanese
carriers, ...) are recognised by three weak signals (a mail-daemon sender, a bounce subject, bounce
wording) of which two must agree, or by Exim's `X-Failed-Recipients` header. Failed recipients are
the addresses that *begin* a line of the report (`<a@b>: host said ...`, `  a@b`, `a@b on <date>`),
read only above the copy of the returned mail; when there is none, addresses on lines that say
why delivery failed. All scanning is line by line over a bounded prefix, with no backtracking
regular expression, so hostile input costs linear time.
"""

from __future__ import annotations

import re
from email.message import Message

from parsers import bounce_words as words
from parsers.headers import Headers
from parsers.message import BouncedRecipient
from parsers.message_ids import normalise_id

_MAX_TEXT_CHARS = 256 * 1024
_MAX_LINES = 800
_MAX_LINE_CHARS = 1000
_MAX_RECIPIENTS = 100
_DIAGNOSTIC_CHARS = 400
_LOCAL_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.!#$%&'*+-/=?^_`{|}~"
)
_DOMAIN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-[]:#")
_STATUS = re.compile(r"(?<![\d.])[245]\.\d{1,3}\.\d{1,3}(?!\.?\d)")
_TAG = re.compile(r"<[^<>]{0,2000}>")
_BREAK_TAG = re.compile(r"<(?:br|/p|/div|/tr|/li|/h\d)\b[^<>]{0,200}>", re.IGNORECASE)


def signals(
    sender: str,
    subject: str,
    text: str,
    *,
    has_failed_header: bool,
    returns_message: bool,
    exclude: frozenset[str] = frozenset(),
) -> tuple[str, ...]:
    """Why this mail reads as a bounce (empty when it does not): two weak signals must agree.

    The signals: a mail-daemon sender (a mailer daemon or an empty From counts twice), a bounce
    subject, bounce wording, and a returned message attached. Generic wording ("delivery
    failed") counts only beside a daemon sender, a returned message or a line that begins with
    an address other than `exclude` (the mail's own): people write such words too.
    """
    reasons: list[str] = []
    if has_failed_header:
        reasons.append("X-Failed-Recipients header")
    score = 0
    daemon, who = _daemon_strength(sender)
    if daemon:
        reasons.append(f"sent by {who}")
        score += daemon
    lowered_subject = subject.lower()
    subject_hit = next((s for s in words.SUBJECTS if s in lowered_subject), None)
    if subject_hit:
        reasons.append(f"subject says {subject_hit!r}")
        score += 1
    lowered = text[:20_000].lower()
    phrase = next((p for p in words.STRONG_PHRASES if p in lowered), None)
    weak = next((p for p in words.WEAK_PHRASES if p in lowered), None)
    if phrase is None and weak and (daemon or returns_message or _names_recipient(text, exclude)):
        phrase = weak
    if phrase:
        reasons.append(f"text says {phrase!r}")
        score += 1
    if returns_message and phrase:
        reasons.append("returns the original message")
        score += 1
    return tuple(reasons) if has_failed_header or score >= 2 else ()


def _names_recipient(text: str, exclude: frozenset[str]) -> bool:
    found = _leading_recipients(_report_lines(text), exclude)
    return any(a not in exclude for a in found)


def header_hint(sender: str, subject: str) -> bool:
    """Does the header alone suggest a bounce (or an Amazon SES notification)?"""
    lowered_subject = subject.lower()
    return (
        _daemon_strength(sender)[0] > 0
        or any(s in lowered_subject for s in words.SUBJECTS)
        or "amazonaws.com" in sender.lower()
    )


def is_daemon(sender: str) -> bool:
    """Whether the sender is a mail system (mailer daemon, postmaster, null sender)."""
    return _daemon_strength(sender)[0] > 0


def _daemon_strength(sender: str) -> tuple[int, str]:
    """2 for a mailer daemon, 1 for a postmaster, 0 for anyone else; and who it was."""
    lowered = sender.lower()
    for address in find_addresses(lowered):
        local = address.split("@", 1)[0]
        if local in words.DAEMON_LOCAL_PARTS:
            return 2, address
        if local in words.POSTMASTER_LOCAL_PARTS:
            return 1, address
    if lowered.strip() == "<>":
        return 1, "an empty From (null sender)"
    name = next((n for n in words.DAEMON_NAMES if n in lowered), None)
    if name:
        return 2, name
    return (1, "postmaster") if "postmaster" in lowered else (0, "")


def is_delay(subject: str, text: str) -> bool:
    """A warning that delivery is still being tried, not a final failure."""
    lowered = subject.lower() + "\n" + text[:8000].lower()
    return any(word in lowered for word in words.DELAY)


def recipients(
    text: str, *, exclude: frozenset[str], local_domain: str | None = None
) -> tuple[BouncedRecipient, ...]:
    """The failed recipients a plain-text bounce names, with status and diagnostic if given.

    `local_domain` is the reporting daemon's domain: AOL-style reports list bare mailbox names
    (`  screenname`) under "the following recipients", meaning mailboxes of that domain.
    """
    lines = _report_lines(text)
    action = "delayed" if is_delay("", text) else "failed"
    found = _leading_recipients(lines, exclude)
    if not found:
        found = _reasoned_recipients(lines, exclude)
    if not found and local_domain:
        found = _bare_recipients(lines, local_domain)
    overall = _first_status(lines)
    return tuple(
        BouncedRecipient(
            address=address,
            status=_specific(find_status(diagnostic), overall),
            action=action,
            diagnostic=diagnostic or None,
        )
        for address, diagnostic in list(found.items())[:_MAX_RECIPIENTS]
    )


def _report_lines(text: str) -> list[str]:
    lines: list[str] = []
    for raw in text[:_MAX_TEXT_CHARS].splitlines()[:_MAX_LINES]:
        line = raw[:_MAX_LINE_CHARS]
        lowered = line.strip().lower()
        if any(m in lowered for m in words.CUT_MARKERS) or lowered.startswith(words.CUT_PREFIXES):
            break
        lines.append(line)
    return lines


def _leading_recipients(lines: list[str], exclude: frozenset[str]) -> dict[str, str]:
    """Addresses that begin a line. The bounce's own addresses count only when nothing else
    does: someone who mailed themselves gets a bounce naming their own address."""
    found: dict[str, str] = {}
    for index, line in enumerate(lines):
        if "@" not in line:
            continue
        rest = _strip_label(line)
        addresses = find_addresses(rest[:400])
        if not addresses or not rest.lower().startswith(addresses[0].split("@", 1)[0]):
            continue
        address = addresses[0]
        diagnostic = _diagnostic(lines, index, rest[len(address) :])
        address = _expanded_from(diagnostic) or address
        if address in found:
            continue
        found[address] = diagnostic
    others = {a: d for a, d in found.items() if a not in exclude and not _is_daemon_address(a)}
    return others or found


def _reasoned_recipients(lines: list[str], exclude: frozenset[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for index, line in enumerate(lines):
        if "@" not in line:
            continue
        lowered = line.lower()
        if not any(word in lowered for word in words.REASON_WORDS):
            continue
        for address in find_addresses(line):
            if address in exclude or _is_daemon_address(address) or address in found:
                continue
            if _named_as_sender(lowered, address):
                continue
            found[address] = _diagnostic(lines, index, line)
    return found


def _expanded_from(diagnostic: str) -> str | None:
    """Sendmail's `(expanded from: <alias@x>)`, Exim's `(generated from a@x)`: the address we
    wrote to, not where it led."""
    lowered = diagnostic.lower()
    at = max(lowered.find("expanded from"), lowered.find("generated from"))
    found = find_addresses(lowered[at : at + 300]) if at >= 0 else []
    return found[0] if found else None


def _named_as_sender(lowered_line: str, address: str) -> bool:
    """`... not accepting mail from a@b`: that address is the sender, not a recipient."""
    at = lowered_line.find(address)
    before = lowered_line[max(0, at - 16) : at] if at >= 0 else ""
    if "generated from" in before or "expanded from" in before:
        return False
    return "from" in before or "sender" in before


def _bare_recipients(lines: list[str], domain: str) -> dict[str, str]:
    found: dict[str, str] = {}
    listing = False
    for line in lines:
        tokens = line.split()
        if "following recipient" in line.lower():
            listing = True
        elif listing and len(tokens) == 1 and line[:1].isspace() and len(tokens[0]) <= 64:
            name = tokens[0].strip(".,;:").lower()
            if name and all(c in _LOCAL_CHARS for c in name):
                found[f"{name}@{domain}"] = ""
        elif listing and tokens:
            listing = False
    return found


def _strip_label(line: str) -> str:
    rest = line.lstrip(words.LEAD_CHARS)
    x400 = rest.lower().find("smtp=")
    if 0 <= x400 < 200 and ";" in rest[:x400]:
        rest = rest[x400 + 5 :]
    if rest[:3].isdigit() and rest[3:4] in {" ", "-"}:
        rest = rest[4:].lstrip(words.LEAD_CHARS)
    for _ in range(3):
        lowered = rest.lower()
        label = next((lab for lab in words.LABELS if lowered.startswith(lab)), None)
        if label is None:
            break
        rest = rest[len(label) :].lstrip(words.LEAD_CHARS)
    return rest


def _diagnostic(lines: list[str], index: int, tail: str) -> str:
    parts = [tail.strip(" \t<>:;,.()")]
    for follow in lines[index + 1 : index + 4]:
        if not follow[:1].isspace() or not follow.strip() or _begins_with_address(follow):
            break
        parts.append(follow.strip())
    return " ".join(" ".join(parts).split())[:_DIAGNOSTIC_CHARS]


def _specific(local: str | None, overall: str | None) -> str | None:
    if local is None or (local.endswith(".0.0") and overall and overall[0] == local[0]):
        return overall or local
    return local


def _begins_with_address(line: str) -> bool:
    rest = _strip_label(line)
    addresses = find_addresses(rest[:400])
    return bool(addresses) and rest.lower().startswith(addresses[0].split("@", 1)[0])


def _first_status(lines: list[str]) -> str | None:
    """The first status code in the report, or a later, more specific one of the same class
    when the first is only generic (`5.0.0` then `5.7.1`)."""
    first: str | None = None
    for line in lines:
        status = find_status(line)
        if status is None:
            continue
        if first is None:
            first = status
        if not first.endswith(".0.0"):
            return first
        if not status.endswith(".0.0") and status[0] == first[0]:
            return status
    return first


def _is_daemon_address(address: str) -> bool:
    local = address.split("@", 1)[0]
    return local in words.DAEMON_LOCAL_PARTS or local in words.POSTMASTER_LOCAL_PARTS


def find_addresses(text: str) -> list[str]:
    """Lower-cased `local@domain` addresses in text, in order; linear time on any input.

    Each `@` is expanded at most 64 characters left and 255 right, so no input can make this
    quadratic (a regular expression scanning every start position could).
    """
    found: list[str] = []
    start = 0
    while (at := text.find("@", start)) >= 0:
        start = at + 1
        left = at
        while left > 0 and at - left < 64 and text[left - 1] in _LOCAL_CHARS:
            left -= 1
        right = at + 1
        while right < len(text) and right - at <= 255 and text[right] in _DOMAIN_CHARS:
            right += 1
        local = text[left:at].strip(".'`")
        domain = text[at + 1 : right].rstrip(".-:]").lstrip("[")
        if local and "." in domain and not domain.startswith("."):
            found.append(f"{local}@{domain}".lower())
    return found


def find_status(text: str) -> str | None:
    """The first RFC 3463 enhanced status code (`5.1.1`) in text."""
    match = _STATUS.search(text[: _MAX_LINE_CHARS * 4])
    return match.group(0) if match else None


def first_message_id(value: str) -> str | None:
    return normalise_id(value[:2000])


def message_id_in(text: str) -> str | None:
    """The first `Message-ID:` header line in a block of text (a returned mail's headers)."""
    lines = text[:_MAX_TEXT_CHARS].splitlines()[: _MAX_LINES * 4]
    for index, line in enumerate(lines):
        if line[:11].lower() == "message-id:":
            found = first_message_id(line[11:]) or first_message_id(
                "".join(lines[index + 1 : index + 2])
            )
            if found:
                return found
    return None


def report_text(msg: Message) -> str:
    """The human-readable text of a report: its text parts, never the returned message."""
    texts: list[str] = []
    htmls: list[str] = []
    for part in _text_parts(msg):
        body = _decoded(part)
        (htmls if content_type(part) == "text/html" else texts).append(body)
    if texts:
        return "\n".join(texts)[:_MAX_TEXT_CHARS]
    return "\n".join(_html_lines(h) for h in htmls)[:_MAX_TEXT_CHARS]


def _text_parts(msg: Message) -> list[Message]:
    if not msg.is_multipart():
        readable = content_type(msg).partition("/")[0] in {"text", "multipart"}
        return [msg] if readable else []
    payload = msg.get_payload()
    parts: list[Message] = []
    if isinstance(payload, list) and content_type(msg).startswith("multipart/"):
        for sub in payload[:200]:
            if isinstance(sub, Message) and content_type(sub) != "text/rfc822-headers":
                parts.extend(_text_parts(sub))
    return parts


def _html_lines(html: str) -> str:
    broken = _BREAK_TAG.sub("\n", html[:_MAX_TEXT_CHARS])
    text = _TAG.sub(" ", broken)
    return (
        text.replace("&lt;", "<").replace("&gt;", ">").replace("&nbsp;", " ").replace("&amp;", "&")
    )


def content_type(part: Message) -> str:
    """A part's lower-cased MIME type read from its raw header: the email package's own getter
    runs the full header parser on every call, which dominated the cost of classifying."""
    for name, value in part.raw_items():
        if name.lower() == "content-type":
            kind = str(value).split(";", 1)[0].strip().lower()
            valid = kind.count("/") == 1 and " " not in kind and "\t" not in kind
            return kind if valid else "text/plain"
    return part.get_default_type()


def _decoded(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return decode(payload[:_MAX_TEXT_CHARS], part.get_content_charset())
    raw = part.get_payload()
    return raw[:_MAX_TEXT_CHARS] if isinstance(raw, str) else ""


def decode(data: bytes, charset: str | None) -> str:
    """Bytes to text with the declared charset, falling back to UTF-8 then Latin-1."""
    for candidate in (charset, "utf-8"):
        if not candidate:
            continue
        try:
            return data.decode(candidate)
        except (LookupError, ValueError):
            continue
    return data.decode("latin-1")


def sender_text(msg: Message, head: Headers) -> str:
    """The raw From and Return-Path, where a mail daemon names itself."""
    values = [str(v).strip() for k, v in msg.raw_items() if k.lower() == "from"]
    if values and not any(v not in {"", "<>"} for v in values):
        return "<>"
    values += [str(v) for k, v in msg.raw_items() if k.lower() == "return-path"]
    if head.from_:
        values.append(head.from_.address)
    return " ".join(values)[:1000]
