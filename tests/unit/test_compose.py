from __future__ import annotations

import re
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path

from daemon.config import Settings
from daemon.mail.compose import Composed, Composer
from parsers import parse
from tests.unit.conftest import make_settings

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/replydesk.db"


def customer_mail(
    subject: str, name: str = "Ann <b>Lee</b>", address: str = "ann@cust.test"
) -> bytes:
    msg = EmailMessage(policy=policy.default.clone(utf8=not address.isascii()))
    msg["From"] = f'"{name}" <{address}>'
    msg["To"] = "support@desk.test"
    msg["Subject"] = subject
    msg["Message-ID"] = "<q1@cust.test>"
    msg["References"] = "<q0@cust.test>"
    msg.set_content("hi")
    return msg.as_bytes()


def test_acknowledgement_headers_and_escaping(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        db_url(tmp_path),
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
    settings = make_settings(tmp_path, db_url(tmp_path))
    raw = customer_mail("=?utf-8?q?hi=0D=0ABcc:_victim@evil.test?=")
    message = parse(raw)
    composed = Composer(settings).acknowledgement(
        ticket_id=1, subject=message.clean_subject, message=message, now=NOW
    )
    ack = parse(composed.raw)
    assert ack.header("Bcc") is None and ack.cc == ()
    assert composed.recipients == ("ann@cust.test",)


def acknowledge(settings: Settings, address: str) -> Composed:
    message = parse(customer_mail("Grüße aus Köln", name="Jörg Döe", address=address))
    return Composer(settings).acknowledgement(
        ticket_id=7, subject=message.clean_subject, message=message, now=NOW
    )


def header_block(raw: bytes) -> bytes:
    end = re.search(rb"\r?\n\r?\n", raw)
    assert end is not None
    return raw[: end.start()]


def test_a_non_ascii_local_part_gets_utf8_headers(tmp_path: Path) -> None:
    composed = acknowledge(make_settings(tmp_path, db_url(tmp_path)), "jdöe@mächine.example")
    headers = header_block(composed.raw)
    assert "\nTo: jdöe@mächine.example\n".encode() in headers  # raw UTF-8, no encoded words
    assert b"=?" not in headers.split(b"\nSubject:")[0]
    assert "Subject: [#7] Grüße aus Köln".encode() in headers
    ack = parse(composed.raw)
    assert [a.address for a in ack.to] == ["jdöe@mächine.example"]
    assert ack.subject == "[#7] Grüße aus Köln"
    assert "Jörg Döe" in ack.full_text
    assert composed.recipients == ("jdöe@mächine.example",)
    assert composed.envelope_from == "support@desk.test"


def test_an_ascii_local_part_gets_ascii_headers_with_an_idna_domain(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        db_url(tmp_path),
        desk={"name": "Kundendienst", "addresses": ["hilfe@bücher.example"]},
    )
    composed = acknowledge(settings, "joe@mächine.example")
    headers = header_block(composed.raw)
    assert headers.isascii()
    assert b"\nTo: joe@xn--mchine-bua.example\n" in headers
    assert b"From: Kundendienst <hilfe@xn--bcher-kva.example>\n" in headers
    assert composed.message_id.endswith("@xn--bcher-kva.example>")
    ack = parse(composed.raw)
    assert [a.address for a in ack.to] == ["joe@xn--mchine-bua.example"]
    assert ack.subject == "[#7] Grüße aus Köln"  # RFC 2047 encoded words in the raw
    assert composed.recipients == ("joe@mächine.example",)  # the transport converts on the wire
    assert composed.envelope_from == "hilfe@bücher.example"
