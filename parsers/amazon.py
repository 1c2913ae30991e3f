"""Amazon SES notifications delivered by mail (SNS): a JSON bounce, complaint or delivery.

SES reports bounces to subscribers as a JSON document in a plain-text mail from
`no-reply@sns.amazonaws.com`; the document names each recipient with status and diagnostic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from parsers.message import BouncedRecipient

_MAX_JSON_CHARS = 256 * 1024
_RECIPIENT_KEYS = {"Bounce": "bouncedRecipients", "Complaint": "complainedRecipients"}


@dataclass(frozen=True, slots=True)
class Notification:
    reasons: tuple[str, ...]
    recipients: tuple[BouncedRecipient, ...]
    message_id: str | None


def notification(text: str) -> Notification | None:
    """The SES notification in a mail's text, or None when there is none."""
    if "notificationType" not in text[:4000]:
        return None
    document = _document(text)
    kind = document.get("notificationType") if document else None
    if document is None or kind not in {"Bounce", "Complaint", "Delivery"}:
        return None
    details = document.get(kind.lower(), {})
    listed = details.get(_RECIPIENT_KEYS.get(kind, ""), []) if isinstance(details, dict) else []
    recipients = tuple(
        r for item in listed if isinstance(item, dict) and (r := _recipient(item, kind))
    )
    reason = "Amazon SES notification: " + ("feedback-report" if kind == "Complaint" else kind)
    return Notification((reason,), recipients, _message_id(document))


def _message_id(document: dict[str, Any]) -> str | None:
    """The original Message-ID header (SES's own `mail.messageId` is not one)."""
    mail = document.get("mail")
    common = mail.get("commonHeaders") if isinstance(mail, dict) else None
    value = common.get("messageId") if isinstance(common, dict) else None
    return value.strip() if isinstance(value, str) and value.strip() else None


def _document(text: str) -> dict[str, Any] | None:
    start = text.find("{")
    if start < 0:
        return None
    try:
        value, _ = json.JSONDecoder(strict=False).raw_decode(text[start : start + _MAX_JSON_CHARS])
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, dict):
        return None
    inner = value.get("Message")
    if value.get("Type") == "Notification" and isinstance(inner, str):
        return _document(inner)
    return value


def _recipient(item: dict[str, Any], kind: str) -> BouncedRecipient | None:
    address = item.get("emailAddress")
    if not isinstance(address, str) or "@" not in address:
        return None
    status, action, diagnostic = item.get("status"), item.get("action"), item.get("diagnosticCode")
    return BouncedRecipient(
        address=address.strip().lower(),
        status=status if isinstance(status, str) else None,
        action=action
        if isinstance(action, str)
        else ("complained" if kind == "Complaint" else None),
        diagnostic=diagnostic[:400] if isinstance(diagnostic, str) else None,
    )
