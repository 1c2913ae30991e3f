from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from daemon.mail.compose import Composer
from parsers import parse
from tests.unit.conftest import make_settings

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def customer_mail(subject: str, name: str = "Ann <b>Lee</b>") -> bytes:
    msg = EmailMessage()
    msg["From"] = f'"{name}" <ann@cust.test>'
    msg["To"] = "support@desk.test"
    msg["Subject"] = subject
    msg["Message-ID"] = "<q1@cust.test>"
    msg["References"] = "<q0@cust.test>"
    msg.set_content("hi")
    return msg.as_bytes()


def test_acknowledgement_headers_and_escaping(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        "sqlite://",
        desk={"name": "ACME Help", "addresses": ["help@acme.test"], "tag_prefix": "ACME"},
    )
    message = parse(customer_mail("<script>alert(1)</script> broken"))
    composed = Composer(settings).acknowledgement(
        ticket_id=42, subject=message.clean_subject, message=message, now=NOW
    )
    ack = parse(composed.raw)
    assert ack.subject == "[ACME #42] <script>alert(1)</script> broken"
    assert parse(composed.raw, tag_prefix="ACME").ticket_ref == 42
    assert ack.from_ is not None and ack.from_.address == "help@acme.test"
    assert ack.references == ("<q0@cust.test>", "<q1@cust.test>")
    assert ack.in_reply_to == ("<q1@cust.test>",)
    assert composed.message_id == ack.message_id and composed.message_id.endswith("@acme.test>")
    html = ack.html or ""
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert "&lt;b&gt;Lee" in html
    assert "<script>alert(1)</script>" in composed.text  # plain text is not HTML-escaped
    assert composed.recipients == ("ann@cust.test",)


def test_header_injection_in_the_subject_is_harmless(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "sqlite://")
    raw = customer_mail("=?utf-8?q?hi=0D=0ABcc:_victim@evil.test?=")
    message = parse(raw)
    composed = Composer(settings).acknowledgement(
        ticket_id=1, subject=message.clean_subject, message=message, now=NOW
    )
    ack = parse(composed.raw)
    assert ack.header("Bcc") is None and ack.cc == ()
    assert composed.recipients == ("ann@cust.test",)
