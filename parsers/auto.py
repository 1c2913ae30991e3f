"""Auto-generated mail: is this a bounce, an auto-reply or bulk mail, and why we think so.

A help desk must not open tickets for delivery reports, must not answer machines (RFC 3834
section 2), and must not acknowledge lists and newsletters. The kinds, strongest first:

- `bounce`: a delivery report (RFC 3464 DSN or a plain-text bounce, see `parsers.bounces`), and
  also an RFC 5965 feedback report (a spam complaint: reason `feedback-report`), because a
  complaint, like a bounce, must neither open a ticket nor be acknowledged;
- `autoreply`: an answer written by a machine on someone's behalf: `Auto-Submitted: auto-replied`,
  `X-Autoreply`/`X-Autorespond`, `Precedence: auto_reply`, an Exchange out-of-office, an RFC 8098
  read receipt (`disposition-notification`), or an unmistakable auto-reply subject;
- `bulk`: mail from a program or a list: any other `Auto-Submitted` value (`auto-generated`,
  `auto-notified`), `Precedence: bulk/list/junk`, `List-Id`/`List-Unsubscribe`, `X-Loop`,
  `X-Auto-Response-Suppress: All`, a no-reply sender. Bulk mail may still open a ticket (a
  monitoring alert can be a real request); it is never acknowledged.

Every reason found is kept, so the decision can be audited; the kind is the strongest one.
"""

from __future__ import annotations

import re
from email.message import EmailMessage

from parsers import bounces
from parsers.headers import Headers
from parsers.message import AutoKind, AutoVerdict

_AUTOREPLY_HEADERS = (
    "x-autoreply",
    "x-autorespond",
    "x-autoresponder",
    "x-autoreply-from",
    "x-mail-autoreply",
    "x-vacation",
)
_BULK_PRECEDENCE = frozenset({"bulk", "list", "junk"})
_LIST_HEADERS = ("list-id", "list-unsubscribe")
_NO_REPLY_LOCAL_PARTS = frozenset(
    {"noreply", "no-reply", "no_reply", "donotreply", "do-not-reply", "do_not_reply"}
)
_AUTOREPLY_SUBJECTS = (
    "auto:",
    "autoreply:",
    "auto-reply:",
    "auto reply:",
    "automatic reply:",
    "auto response:",
    "autoresponse:",
    "out of office:",
    "out of office autoreply:",
    "out of the office:",
    "abwesenheitsnotiz:",
    "automatische antwort:",
    "réponse automatique :",
    "réponse automatique:",
    "odpowiedź automatyczna:",
    "risposta automatica:",
    "respuesta automática:",
    "automatisch antwoord:",
    "autosvar:",
    "automaattinen vastaus:",
    "自動応答:",
    "自动回复:",
)


_NOTICE_CHARS = 2000
_ABSENCE = re.compile(
    "|".join(
        (
            r"out of (?:the )?office", r"\baway (?:from|until|till|on)\b", r"\bon (?:annual |"
            r"parental |sick |maternity |paternity )?(?:leave|vacation|holiday)",
            r"\b(?:i will|i'll) be back\b", r"\bback (?:on|in the office|at work|from)\b",
            r"\breturn(?:ing)? (?:on|to the office)\b", r"limited access to (?:e-?mail|my e-?mail)",
            r"(?:respond|reply|answer|get back to you)[^.]{0,60}\b(?:return|i am back|i'm back)",
            r"currently (?:unavailable|not available|out)",
            r"\babwesen", r"nicht im büro", r"außer haus", r"\bim urlaub\b", r"wieder im büro",
            r"\babsent(?:e)?\b", r"\ben congé\b", r"de retour le", r"\ben vacances\b",
            r"fuera de la oficina", r"\bausente\b", r"de vacaciones", r"estaré de vuelta",
            r"fuori (?:ufficio|sede)", r"\bin ferie\b", r"\bafwezig\b", r"met vakantie",
            "休假", "不在办公室", "不在辦公室", "外出", "请假", "不在公司", "不在", "休暇",
        )
    )
)  # fmt: skip


def classify(msg: EmailMessage, head: Headers, *, text: str = "") -> AutoVerdict:
    """The kind of auto-generated mail this is (or None for a person's mail), with reasons.

    `text` is the mail's text: an auto-reply subject alone (`Auto: ...`, `Out of office: ...`)
    makes a mail an auto-reply only when the text reads as an absence notice and asks nothing;
    a person may well write "Auto: my car was damaged, how do I claim?".
    """
    report = bounces.read_bounce(msg, head)
    if report is not None:
        return AutoVerdict(
            kind="bounce",
            reasons=report.reasons,
            bounced=report.recipients,
            original_message_id=report.original_message_id,
        )
    fields = _fields(msg)
    autoreply = _autoreply_reasons(msg, fields, head.subject, text=text)
    bulk = _bulk_reasons(fields, head)
    kind: AutoKind | None = "autoreply" if autoreply else "bulk" if bulk else None
    original = bounces.original_message_id(msg) if kind == "autoreply" else None
    return AutoVerdict(kind=kind, reasons=(*autoreply, *bulk), original_message_id=original)


def _fields(msg: EmailMessage) -> dict[str, str]:
    """Header name (lower-cased) to its first raw value, unfolded; no header parsing can fail."""
    fields: dict[str, str] = {}
    for name, value in msg.raw_items():
        fields.setdefault(name.strip().lower(), " ".join(str(value).split())[:500])
    return fields


def _autoreply_reasons(
    msg: EmailMessage, fields: dict[str, str], subject: str, *, text: str
) -> list[str]:
    reasons: list[str] = []
    if bounces.is_disposition_notification(msg):
        reasons.append("disposition-notification (read receipt)")
    submitted = _first_word(fields.get("auto-submitted", ""))
    if submitted == "auto-replied":
        reasons.append("Auto-Submitted: auto-replied")
    reasons.extend(f"{name} header" for name in _AUTOREPLY_HEADERS if _present(fields.get(name)))
    if _first_word(fields.get("precedence", "")) == "auto_reply":
        reasons.append("Precedence: auto_reply")
    if _first_word(fields.get("x-apple-action", "")) == "vacation":
        reasons.append("X-Apple-Action: VACATION (iCloud vacation reply)")
    suppress = fields.get("x-auto-response-suppress", "").lower()
    if suppress and "x-ms-exchange-inbox-rules-loop" in fields:
        reasons.append("Exchange out-of-office (X-Auto-Response-Suppress, Inbox-Rules-Loop)")
    lowered = " ".join(subject.split()).lower()
    prefix = next((p for p in _AUTOREPLY_SUBJECTS if lowered.startswith(p)), None)
    if prefix and (reasons or is_absence_notice(text)):
        reasons.append(f"subject starts with {prefix!r}")
    return reasons


def is_absence_notice(text: str) -> bool:
    """Whether a short text says its writer is away, and asks nothing."""
    head = " ".join(text[:_NOTICE_CHARS].split()).lower()
    if not head or any(mark in head for mark in ("?", "？")):
        return False
    return _ABSENCE.search(head) is not None


def _bulk_reasons(fields: dict[str, str], head: Headers) -> list[str]:
    reasons: list[str] = []
    submitted = _first_word(fields.get("auto-submitted", ""))
    if submitted and submitted not in {"no", "auto-replied"}:
        reasons.append(f"Auto-Submitted: {submitted}")
    precedence = _first_word(fields.get("precedence", ""))
    if precedence in _BULK_PRECEDENCE:
        reasons.append(f"Precedence: {precedence}")
    reasons.extend(f"{name} header" for name in _LIST_HEADERS if name in fields)
    if "x-loop" in fields:
        reasons.append("X-Loop header")
    if "all" in fields.get("x-auto-response-suppress", "").lower().replace(",", " ").split():
        reasons.append("X-Auto-Response-Suppress: All")
    sender = head.from_.address if head.from_ else ""
    if sender.split("@", 1)[0] in _NO_REPLY_LOCAL_PARTS:
        reasons.append(f"no-reply sender {sender}")
    return reasons


def _first_word(value: str) -> str:
    words = value.strip().lower().replace(";", " ").split()
    return words[0] if words else ""


def _present(value: str | None) -> bool:
    return value is not None and value.strip().lower() not in {"", "no", "false", "0"}
