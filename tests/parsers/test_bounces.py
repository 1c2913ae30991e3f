"""Delivery reports: RFC 3464 DSNs, feedback reports, SES notifications, plain-text bounces."""

from __future__ import annotations

import pytest

from parsers import bounce_text, bounces
from parsers.message import BouncedRecipient
from tests.parsers.mailkit import mail, message, sample, verdict


def _failed(name: str) -> dict[str, BouncedRecipient]:
    found = verdict(sample(name))
    assert found.kind == "bounce", found.reasons
    return {r.address: r for r in found.bounced}


# --- real samples ---------------------------------------------------------------------------


def test_postfix_dsn_gives_recipient_status_diagnostic_and_original_id() -> None:
    found = verdict(sample("sisimai-postfix-05.eml"))
    assert found.reasons == ("multipart/report; report-type=delivery-status",)
    (recipient,) = found.bounced
    assert recipient.address == "kijitora@example.org"
    assert recipient.status == "4.1.1"
    assert recipient.action == "failed"
    assert recipient.diagnostic is not None and "User unknown" in recipient.diagnostic
    assert found.original_message_id is not None


@pytest.mark.parametrize(
    ("name", "address", "status"),
    [
        ("sisimai-exim-01.eml", "kijitora@example.ed.jp", "5.7.0"),
        ("sisimai-gmail-01.eml", "userunknown@example.jp", "5.1.1"),
        ("sisimai-exchange2003-01.eml", "kijitora@example.jp", None),
        ("sisimai-domino-01.eml", "kijitora@example.jp", None),
        ("sisimai-kddi-02.eml", "kijitora@00000000000000.dion.ne.jp", None),
        ("sisimai-amazonses-10.eml", "bounce@simulator.amazonses.com", "5.1.1"),
        ("sisimai-rhost-google-02.eml", "neko-nyaan@example.org", "5.1.1"),
        ("sisimai-sendmail-15.eml", "kijitora@example.org", "5.1.2"),
        ("mimekit-delivery-status-no-blank-line.eml", "newsletter-request@imusic.com", None),
    ],
)
def test_single_failed_recipient(name: str, address: str, status: str | None) -> None:
    failed = _failed(name)
    assert list(failed) == [address]
    assert failed[address].status == status


def test_exim_bounce_is_recognised_by_its_failed_recipients_header() -> None:
    assert "X-Failed-Recipients header" in verdict(sample("sisimai-exim-01.eml")).reasons


def test_bounce_to_oneself_names_the_own_address() -> None:
    assert list(_failed("sisimai-qmail-08.eml")) == ["shironeko@example.ad.jp"]


def test_sendmail_transcript_lists_every_failed_recipient() -> None:
    assert set(_failed("sisimai-v5sendmail-05.eml")) == {
        "kijitora@example.edu",
        "kuroneko@example.or.jp",
        "kijitora@example.org",
        "mikeneko@example.co.jp",
    }


def test_generic_dsn_status_is_refined_from_the_report_text() -> None:
    failed = _failed("sisimai-opensmtpd-17.eml")
    assert failed["userunknown@libsisimai.net"].status == "5.1.1"
    assert failed["mailboxfull@libsisimai.net"].status == "5.2.2"


def test_delay_warning_keeps_the_recipient_with_action_delayed() -> None:
    failed = _failed("sisimai-opensmtpd-04.eml")
    assert [r.action for r in failed.values()] == ["delayed"]
    report = _failed("mikel-report_422.eml")
    assert [(r.status, r.action) for r in report.values()] == [("4.2.2", "delayed")]


def test_several_recipients_in_one_dsn() -> None:
    assert len(_failed("mikel-multi_address_bounce1.eml")) >= 2
    failed = _failed("cpython-msg_43.eml")
    assert len(failed) > 2
    assert {r.status for r in failed.values()} == {"5.7.1"}


def test_success_report_is_a_delivery_report_without_failures() -> None:
    found = verdict(sample("sisimai-rfc3464-28.eml"))
    assert found.kind == "bounce"
    assert found.bounced == ()


def test_arf_feedback_report_names_every_complainant() -> None:
    found = verdict(sample("sisimai-arf-16.eml"))
    assert found.kind == "bounce"
    assert found.reasons == ("feedback-report (abuse)",)
    assert len(found.bounced) == 7
    assert {r.action for r in found.bounced} == {"complained"}


def test_hotmail_complaint_is_a_feedback_report() -> None:
    found = verdict(sample("sisimai-arf-22.eml"))
    assert found.reasons == ("feedback-report (Hotmail JMRP)",)
    assert [r.address for r in found.bounced] == ["kijitora@example.com"]


@pytest.mark.parametrize("name", ["sisimai-is-not-bounce-01.eml", "sisimai-is-not-bounce-02.eml"])
def test_negative_samples_are_not_bounces(name: str) -> None:
    assert verdict(sample(name)).kind != "bounce"


# --- constructed reports --------------------------------------------------------------------

_DSN = """From: MAILER-DAEMON@mx.example.org
To: support@example.com
Subject: Delivery report
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

Report.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org

Original-Recipient: rfc822; Alias@Example.com
Final-Recipient: rfc822; target@example.net
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 no such user

Final-Recipient: rfc822; fine@example.net
Action: delivered
Status: 2.0.0

Final-Recipient: rfc822; slow@example.net
Action: delayed
Status: 4.4.1

--B
Content-Type: text/rfc822-headers

From: support@example.com
Message-ID: <ticket-12@example.com>
Subject: Your request

--B--
"""


def test_dsn_lists_failed_and_delayed_but_not_delivered_recipients() -> None:
    found = verdict(_DSN.encode())
    assert [(r.address, r.action, r.status) for r in found.bounced] == [
        ("alias@example.com", "failed", "5.1.1"),
        ("slow@example.net", "delayed", "4.4.1"),
    ]
    assert found.bounced[0].diagnostic == "550 5.1.1 no such user"


def test_original_message_id_from_rfc822_headers_part() -> None:
    assert verdict(_DSN.encode()).original_message_id == "<ticket-12@example.com>"


def test_status_fields_without_blank_lines_still_give_one_recipient_each() -> None:
    squeezed = _DSN.replace("\n\nFinal-Recipient", "\nFinal-Recipient")
    addresses = [r.address for r in verdict(squeezed.encode()).bounced]
    assert addresses == ["alias@example.com", "slow@example.net"]


def test_a_person_mentioning_delivery_failure_is_not_a_bounce() -> None:
    raw = mail(
        "From: Ann <ann@example.com>\nTo: support@example.com\nSubject: Delivery failed?",
        "My parcel delivery failed twice. Could not be delivered, they say.\n",
    )
    assert verdict(raw).kind is None


def test_plain_bounce_from_mailer_daemon() -> None:
    raw = mail(
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\n"
        "To: support@example.com\nSubject: Undelivered Mail Returned to Sender",
        "This is the mail system at host mx.example.org.\n\n"
        "<gone@example.net>: host mx.example.net said: 550 5.1.1 User unknown\n\n"
        "--- Below this line is a copy of the message.\n\nTo: other@example.net\n",
    )
    found = verdict(raw)
    assert found.kind == "bounce"
    assert [(r.address, r.status) for r in found.bounced] == [("gone@example.net", "5.1.1")]


def test_japanese_bounce_subject_with_daemon_sender() -> None:
    raw = mail(
        "From: MAILER-DAEMON@example.jp\nTo: support@example.com\n"
        "Subject: =?UTF-8?B?6YWN5L+h5LiN6IO9?=",
        "<taro@example.jp>: 550 unknown\n",
    )
    found = verdict(raw)
    assert found.kind == "bounce"
    assert [r.address for r in found.bounced] == ["taro@example.jp"]


# --- helpers --------------------------------------------------------------------------------


def test_find_addresses_is_bounded_and_lower_cases() -> None:
    assert bounce_text.find_addresses("x <A.B@Example.COM>: y, 'c@d.org'") == [
        "a.b@example.com",
        "c@d.org",
    ]
    assert bounce_text.find_addresses("no address @ here") == []
    huge = "a" * 200_000 + "@" + "b" * 200_000
    assert bounce_text.find_addresses(huge) == []


def test_find_status_ignores_version_numbers() -> None:
    assert bounce_text.find_status("smtp; 550 5.7.1 rejected") == "5.7.1"
    assert bounce_text.find_status("Exim 4.69.1.2 here") is None
    assert bounce_text.find_status("version 15.2.3") is None


def test_read_bounce_is_none_for_ordinary_mail() -> None:
    msg, head = message(mail("From: a@example.com\nTo: b@example.com\nSubject: hi"))
    assert bounces.read_bounce(msg, head) is None
    assert not bounces.is_disposition_notification(msg)


def test_impossible_charset_names_do_not_raise() -> None:
    for charset in (b"utf\x00-8", b"no-such-charset", b"\xff\xfe"):
        raw = (
            b"From: MAILER-DAEMON@mx.example.org\r\nTo: support@example.com\r\n"
            b"Subject: Undelivered Mail Returned to Sender\r\n"
            b'Content-Type: text/plain; charset="' + charset + b'"\r\n\r\n'
            b"<gone@example.net>: 550 5.1.1 caf\xe9 unknown\r\n"
        )
        assert [r.address for r in verdict(raw).bounced] == ["gone@example.net"]
