"""Delivery reports: RFC 3464 DSNs, RFC 5965 feedback reports and plain-text bounces.

A help desk must never open a ticket for, nor acknowledge, a mail that says our own mail did not
arrive; it must instead learn *which* recipient failed and which of our messages it was. This
module reads that from the mail in three ways, most reliable first:

1. an RFC 3464 `message/delivery-status` part (inside `multipart/report` or, from sloppy MTAs,
   anywhere in the tree): one group of fields per recipient;
2. an RFC 5965 feedback report (`report-type=feedback-report`): a complaint, which we treat like
   a bounce (reason `feedback-report`) so that it neither opens a ticket nor is acknowledged;
   Hotmail's JMRP complaints and Apple Mail's unsubscribe requests count as feedback too;
3. the common non-standard bounces (Postfix, Exim, qmail, Sendmail, Exchange, Domino, Yahoo,
   Gmail, Japanese carriers, ...) recognised by sender, subject and wording, with the failed
   recipients read from the text by `parsers.bounce_text`, and Amazon SES JSON notifications
   (`parsers.amazon`).

Only failures are listed: recipients whose action is delivered, relayed, expanded (or whose
status is 2.x.x) are left out, delayed ones are kept with action `delayed`. When a DSN gives
both, the Original-Recipient (the address we wrote to) is reported rather than the
Final-Recipient.

Everything works on bounded input (the first lines and bytes of each part), so a megabyte-long
line costs linear time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from email.message import EmailMessage, Message

from parsers import amazon, bounce_text, quotes, subjects
from parsers.bounce_text import content_type, find_addresses, find_status
from parsers.headers import Headers
from parsers.message import BouncedRecipient

_MAX_STATUS_BYTES = 64 * 1024
_MAX_HEADER_LINES = 400
_MAX_FIELD_CHARS = 2000
_DIAGNOSTIC_CHARS = 400
_NOT_FAILURES = frozenset({"delivered", "relayed", "expanded", "deliverable"})
_STATUS_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
_HEADERS_TYPES = frozenset({"text/rfc822-headers", "message/rfc822-headers"})
_MESSAGE_TYPES = frozenset({"message/rfc822", "message/global"})


@dataclass(frozen=True, slots=True)
class Bounce:
    """What a delivery report says: why we think it is one, who failed, which mail it was."""

    reasons: tuple[str, ...]
    recipients: tuple[BouncedRecipient, ...]
    original_message_id: str | None


def read_bounce(msg: EmailMessage, head: Headers) -> Bounce | None:
    """The delivery report this mail is, or None when it is not one."""
    report_type = _report_type(msg)
    if report_type == "feedback-report":
        return _feedback(msg)
    complaint = _other_complaint(msg)
    if complaint is not None:
        return complaint
    status_parts = [p for p in _walk(msg) if content_type(p) in _STATUS_TYPES]
    if status_parts or report_type == "delivery-status":
        return _dsn(msg, head, status_parts)
    return _plain(msg, head)


def is_disposition_notification(msg: EmailMessage) -> bool:
    """An RFC 8098 read receipt: a `disposition-notification` report (not a bounce)."""
    if _report_type(msg) == "disposition-notification":
        return True
    return any(content_type(p) == "message/disposition-notification" for p in _walk(msg))


def _report_type(msg: EmailMessage) -> str | None:
    if content_type(msg) != "multipart/report":
        return None
    value = msg.get_param("report-type", header="content-type")
    return value.strip().lower() if isinstance(value, str) else ""


def _dsn(msg: EmailMessage, head: Headers, status_parts: list[Message]) -> Bounce:
    reasons = ["multipart/report; report-type=delivery-status"]
    if content_type(msg) != "multipart/report":
        reasons = ["message/delivery-status part"]
    groups = [g for part in status_parts for g in _field_groups(part)]
    recipients = _dedupe(r for g in groups if (r := _recipient(g)) is not None)
    failures = tuple(
        r
        for r in recipients
        if r.action not in _NOT_FAILURES and not (r.status or "").startswith("2")
    )
    if groups and not failures and recipients:
        reasons.append("every recipient delivered, relayed or expanded")
    from_text = bounce_text.recipients(bounce_text.report_text(msg), exclude=_own_addresses(head))
    failures = from_text if not recipients else tuple(_completed(r, from_text) for r in failures)
    return Bounce(tuple(reasons), failures, original_message_id(msg))


def _completed(
    recipient: BouncedRecipient, from_text: tuple[BouncedRecipient, ...]
) -> BouncedRecipient:
    """Fill a DSN recipient's missing diagnostic, or generic status, from the report's text."""
    told = next((r for r in from_text if r.address == recipient.address), None)
    if told is None:
        return recipient
    status = recipient.status
    if status is None or (status.endswith(".0.0") and told.status and told.status[0] == status[0]):
        status = told.status or status
    return replace(recipient, status=status, diagnostic=recipient.diagnostic or told.diagnostic)


def _feedback(msg: EmailMessage) -> Bounce:
    complainants: list[BouncedRecipient] = []
    feedback_type = ""
    for part in _walk(msg):
        if content_type(part) != "message/feedback-report":
            continue
        fields = [pair for block in _blocks(part) for pair in block]
        feedback_type = next((v for k, v in fields if k == "feedback-type"), feedback_type)
        for name, value in fields:
            if name not in {"original-rcpt-to", "removal-recipient"}:
                continue
            complainants.extend(
                BouncedRecipient(
                    address=address,
                    action="complained",
                    diagnostic=f"feedback-report: {feedback_type or 'abuse'}",
                )
                for address in find_addresses(value)
            )
    if not complainants:
        complainants = [
            BouncedRecipient(address=a, action="complained", diagnostic="feedback-report")
            for a in _returned_header_addresses(msg, "to")
        ]
    reason = "feedback-report" + (f" ({feedback_type})" if feedback_type else "")
    return Bounce((reason,), _dedupe(complainants), original_message_id(msg))


def _other_complaint(msg: EmailMessage) -> Bounce | None:
    """Complaints that are not RFC 5965: Hotmail's JMRP and Apple Mail's unsubscribe request."""
    if any(k.lower() == "x-apple-unsubscribe" for k, _ in msg.raw_items()):
        return Bounce(("feedback-report (Apple Mail unsubscribe request)",), (), None)
    hotmail = _returned_header_addresses(msg, "x-hmxmroriginalrecipient")
    if not hotmail:
        return None
    complainants = tuple(
        BouncedRecipient(address=a, action="complained", diagnostic="feedback-report (JMRP)")
        for a in hotmail
    )
    return Bounce(("feedback-report (Hotmail JMRP)",), complainants, original_message_id(msg))


def _returned_header_addresses(msg: EmailMessage, name: str) -> list[str]:
    """Addresses in one header of the returned message (message/rfc822 or its headers)."""
    for part in _walk(msg):
        ctype = content_type(part)
        if ctype in _MESSAGE_TYPES:
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                values = [str(v) for k, v in inner[0].raw_items() if k.lower() == name]
                return find_addresses(" ".join(values)[:_MAX_FIELD_CHARS])
        elif ctype in _HEADERS_TYPES:
            groups = _blocks_from_text(_decoded(part))
            values = [v for block in groups[:1] for k, v in block if k == name]
            return find_addresses(" ".join(values)[:_MAX_FIELD_CHARS])
    return []


def _plain(msg: EmailMessage, head: Headers) -> Bounce | None:
    """A non-standard bounce, or an SES notification. The text is read only when the header
    or an attached message hints at a bounce: the text alone is never enough."""
    sender = bounce_text.sender_text(msg, head)
    failed_header = [
        a
        for k, v in msg.raw_items()
        if k.lower() == "x-failed-recipients"
        for a in find_addresses(v)
    ]
    returns_message = any(content_type(p) in _MESSAGE_TYPES | _HEADERS_TYPES for p in _walk(msg))
    hinted = bounce_text.header_hint(sender, head.subject)
    if not (failed_header or returns_message or hinted):
        return None
    text = bounce_text.report_text(msg)
    if not failed_header and _passed_on_by_a_person(sender, head.subject, text):
        return None
    notification = amazon.notification(text)
    if notification is not None:
        return Bounce(notification.reasons, notification.recipients, notification.message_id)
    reasons = bounce_text.signals(
        sender,
        head.subject,
        text,
        has_failed_header=bool(failed_header),
        returns_message=returns_message,
        exclude=_own_addresses(head),
    )
    if not reasons:
        return None
    if failed_header:
        action = "delayed" if bounce_text.is_delay(head.subject, text) else "failed"
        found = {r.address: r for r in bounce_text.recipients(text, exclude=frozenset())}
        recipients = _dedupe(
            found.get(a, BouncedRecipient(address=a, action=action)) for a in failed_header
        )
    else:
        sender = head.from_.address if head.from_ else ""
        recipients = bounce_text.recipients(
            text, exclude=_own_addresses(head), local_domain=sender.partition("@")[2] or None
        )
    if not recipients:
        forwarded = _forwarded_report(msg, head)
        if forwarded is not None:
            return Bounce(
                reasons + forwarded.reasons, forwarded.recipients, forwarded.original_message_id
            )
    return Bounce(reasons, recipients, original_message_id(msg) or bounce_text.message_id_in(text))


def _passed_on_by_a_person(sender: str, subject: str, text: str) -> bool:
    """A person forwarding a bounce they got, or replying above one: their own headers say so
    (a Re:/Fwd: subject, a sender that is no mail system) and they wrote something of their own
    above the quoted or forwarded report."""
    if bounce_text.is_daemon(sender) or not subjects.has_reply_prefix(subject):
        return False
    own, whole = quotes.new_text(text).strip(), text.strip()
    return bool(own) and len(own) < 0.8 * len(whole)  # the rest is quoted or forwarded


def _forwarded_report(msg: EmailMessage, head: Headers) -> Bounce | None:
    """A bounce that wraps the real report as an attached message (some gateways do this)."""
    for part in _walk(msg):
        if content_type(part) not in _MESSAGE_TYPES:
            continue
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], EmailMessage):
            report = inner[0]
            if content_type(report) == "multipart/report":
                return _dsn(
                    report, head, [p for p in _walk(report) if content_type(p) in _STATUS_TYPES]
                )
    return None


def original_message_id(msg: EmailMessage) -> str | None:
    """The Message-ID of the mail that bounced, from the returned message or its headers."""
    for part in _walk(msg):
        ctype = content_type(part)
        if ctype in _MESSAGE_TYPES:
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                for key, value in inner[0].raw_items():
                    if key.lower() == "message-id":
                        return bounce_text.first_message_id(str(value))
        elif ctype in _HEADERS_TYPES:
            found = bounce_text.message_id_in(_decoded(part))
            if found:
                return found
    return None


def _field_groups(part: Message) -> list[dict[str, str]]:
    """The blocks of `name: value` fields in a status part, one dict per recipient.

    The email package pre-parses `message/delivery-status` into one Message per block when the
    part is well formed; otherwise (no blank lines, wrong type) we split the text ourselves.
    Either way a new block starts at each recipient, for reports without blank lines.
    """
    return [group for block in _blocks(part) for group in _regroup(block)]


def _blocks(part: Message) -> list[list[tuple[str, str]]]:
    """The `(name, value)` field blocks of a report part, names lower-cased."""
    payload = part.get_payload()
    if isinstance(payload, list) and payload:
        return [
            [(k.lower(), _unfold(str(v))[:_MAX_FIELD_CHARS]) for k, v in block.raw_items()]
            for block in payload[:_MAX_HEADER_LINES]
            if isinstance(block, Message)
        ]
    return _blocks_from_text(_decoded(part))


def _blocks_from_text(text: str) -> list[list[tuple[str, str]]]:
    blocks: list[list[tuple[str, str]]] = [[]]
    for line in text.splitlines()[:_MAX_HEADER_LINES]:
        if not line.strip():
            blocks.append([])
        elif line[:1] in " \t" and blocks[-1]:
            name, value = blocks[-1][-1]
            blocks[-1][-1] = (name, f"{value} {line.strip()}"[:_MAX_FIELD_CHARS])
        else:
            name, colon, value = line.partition(":")
            if colon and 0 < len(name) <= 60 and " " not in name.strip():
                blocks[-1].append((name.strip().lower(), value.strip()[:_MAX_FIELD_CHARS]))
    return [b for b in blocks if b]


def _regroup(block: list[tuple[str, str]]) -> list[dict[str, str]]:
    groups: list[dict[str, str]] = [{}]
    for name, value in block:
        current = groups[-1]
        repeated = name in {"final-recipient", "original-recipient"} and name in current
        after_complete = name == "original-recipient" and {"final-recipient", "action"} <= set(
            current
        )
        starts_new = repeated or after_complete
        if starts_new:
            groups.append({})
        groups[-1].setdefault(name, value)
    return groups


def _recipient(group: dict[str, str]) -> BouncedRecipient | None:
    original = find_addresses(_strip_type(group.get("original-recipient", "")))
    final = find_addresses(_strip_type(group.get("final-recipient", "")))
    addresses = original or final
    if not addresses:
        return None
    action = group.get("action", "").strip().lower().split(" ", 1)[0] or None
    diagnostic = _strip_type(group.get("diagnostic-code", ""))[:_DIAGNOSTIC_CHARS] or None
    status = _status(group.get("status", ""), diagnostic or "")
    return BouncedRecipient(
        address=addresses[0], status=status, action=action, diagnostic=diagnostic
    )


def _status(field: str, diagnostic: str) -> str | None:
    """The Status field, or the diagnostic's own code when the field is only generic (x.0.0)."""
    declared = find_status(field)
    detailed = find_status(diagnostic)
    if declared is None or (declared.endswith(".0.0") and detailed and detailed[0] == declared[0]):
        return detailed or declared
    return declared


def _strip_type(value: str) -> str:
    """`rfc822; a@b` -> `a@b`, `smtp; 550 ...` -> `550 ...` (RFC 3464 typed fields)."""
    kind, semicolon, rest = value.partition(";")
    if semicolon and len(kind) <= 20 and " " not in kind.strip():
        return rest.strip()
    return value.strip()


def _unfold(value: str) -> str:
    return " ".join(value.split())


def _dedupe(recipients: Iterable[BouncedRecipient]) -> tuple[BouncedRecipient, ...]:
    seen: dict[str, BouncedRecipient] = {}
    for recipient in recipients:
        seen.setdefault(recipient.address, recipient)
    return tuple(seen.values())


def _own_addresses(head: Headers) -> frozenset[str]:
    """Addresses in the bounce's own header: the original sender, the reporting daemon."""
    own = {a.address for a in (*head.to, *head.cc, *head.reply_to)}
    if head.from_:
        own.add(head.from_.address)
    return frozenset(own)


def _walk(msg: Message) -> list[Message]:
    """Every part, depth first, but never inside an attached message (that is the original)."""
    found: list[Message] = [msg]
    payload = msg.get_payload() if msg.is_multipart() else None
    if isinstance(payload, list) and content_type(msg).startswith("multipart/"):
        for sub in payload[:200]:
            if isinstance(sub, Message):
                found.extend(_walk(sub))
    return found


def _decoded(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        raw = part.get_payload()
        return raw[:_MAX_STATUS_BYTES] if isinstance(raw, str) else ""
    return bounce_text.decode(payload[:_MAX_STATUS_BYTES], part.get_content_charset())
