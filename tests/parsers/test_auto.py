"""Auto-generated mail: bounce > autoreply > bulk, each with the reasons that decided it."""

from __future__ import annotations

import pytest

from tests.parsers.mailkit import mail, sample, verdict

_PERSON = "From: Ann <ann@example.com>\nTo: support@example.com\nSubject: Printer on fire"


def _kind(extra: str) -> str | None:
    return verdict(mail(_PERSON + "\n" + extra)).kind


def test_a_person_writing_is_not_auto_generated() -> None:
    found = verdict(mail(_PERSON))
    assert found.kind is None
    assert found.reasons == ()
    assert not found.auto_generated


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        ("Auto-Submitted: auto-replied", "autoreply"),
        ('Auto-Submitted: auto-replied; owner-email="me@example.com"', "autoreply"),
        ("Auto-Submitted: Auto-Replied (zimbra; vacation)", "autoreply"),
        ("Auto-Submitted: auto-generated", "bulk"),
        ("Auto-Submitted: auto-notified", "bulk"),
        ("Auto-Submitted: no", None),
        ("X-Autoreply: yes", "autoreply"),
        ("X-Autorespond: on vacation", "autoreply"),
        ("Precedence: auto_reply", "autoreply"),
        ("Precedence: bulk", "bulk"),
        ("Precedence: List", "bulk"),
        ("Precedence: junk", "bulk"),
        ("Precedence: first-class", None),
        ("List-Id: <news.example.com>", "bulk"),
        ("List-Unsubscribe: <mailto:leave@example.com>", "bulk"),
        ("X-Loop: helpdesk@example.com", "bulk"),
        ("X-Auto-Response-Suppress: All", "bulk"),
        ("X-Auto-Response-Suppress: DR, RN", None),
        ("X-MS-Exchange-Inbox-Rules-Loop: ann@example.com", None),
    ],
)
def test_header_signals(header: str, kind: str | None) -> None:
    assert _kind(header) == kind


def test_exchange_out_of_office_needs_both_headers() -> None:
    both = "X-Auto-Response-Suppress: All\nX-MS-Exchange-Inbox-Rules-Loop: ann@example.com"
    assert _kind(both) == "autoreply"


def test_gmail_vacation_is_an_autoreply_and_keeps_every_reason() -> None:
    found = verdict(
        mail(_PERSON + "\nPrecedence: bulk\nX-Autoreply: yes\nAuto-Submitted: auto-replied")
    )
    assert found.kind == "autoreply"
    assert "Auto-Submitted: auto-replied" in found.reasons
    assert "x-autoreply header" in found.reasons
    assert "Precedence: bulk" in found.reasons


AWAY = "I am out of the office until 3 March and will reply when I return."


@pytest.mark.parametrize(
    ("subject", "body", "kind"),
    [
        ("Automatic reply: Printer on fire", AWAY, "autoreply"),
        ("Out of Office: Printer on fire", AWAY, "autoreply"),
        ("Abwesenheitsnotiz: Drucker", "Ich bin bis 3.3. nicht im Büro.", "autoreply"),
        ("Re: Automatic reply: Printer", AWAY, None),
        ("Is the automatic reply: feature broken?", AWAY, None),
        ("Automatic reply: Printer on fire", "Hello,\n\nplease help.", None),
        ("Out of Office: is your shop open on Sunday?", "Are you open on Sunday?", None),
    ],
)
def test_auto_reply_subjects_only_as_a_prefix_and_with_an_absence_notice(
    subject: str, body: str, kind: str | None
) -> None:
    """A subject alone never decides: without auto-reply headers, the text must be a notice."""
    raw = mail(f"From: ann@example.com\nTo: support@example.com\nSubject: {subject}", body=body)
    assert verdict(raw).kind == kind


def test_no_reply_sender_is_bulk() -> None:
    raw = mail("From: Shop <no-reply@shop.example>\nTo: support@example.com\nSubject: Receipt")
    assert verdict(raw).kind == "bulk"


def test_bounce_wins_over_autoreply_and_bulk_headers() -> None:
    found = verdict(sample("sisimai-postfix-05.eml"))
    assert found.kind == "bounce"
    squeezed = sample("sisimai-postfix-05.eml").replace(
        b"\nSubject:", b"\nAuto-Submitted: auto-replied\nPrecedence: bulk\nSubject:", 1
    )
    assert verdict(squeezed).kind == "bounce"


@pytest.mark.parametrize(
    "name", ["mimekit-disposition-notification.eml", "watchdog-disposition-notification.eml"]
)
def test_read_receipts_are_autoreplies(name: str) -> None:
    found = verdict(sample(name))
    assert found.kind == "autoreply"
    assert "disposition-notification (read receipt)" in found.reasons
    assert found.bounced == ()


@pytest.mark.parametrize(
    "name", ["watchdog-vacation-reply.eml", "sisimai-rfc3834-01.eml", "sisimai-rfc3834-02.eml"]
)
def test_real_vacation_replies(name: str) -> None:
    assert verdict(sample(name)).kind == "autoreply"


def test_malformed_auto_headers_do_not_raise() -> None:
    raw = mail(_PERSON + "\nAuto-Submitted:\nPrecedence: \nX-Autoreply:\nList-Id:")
    assert verdict(raw).kind == "bulk"
