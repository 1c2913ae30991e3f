"""The transport seam without a relay: address forms, the envelope plan, the Maildir transport."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

import pytest

from daemon.errors import PermanentSendError, TemporarySendError
from daemon.mail.transports import (
    Envelope,
    MaildirTransport,
    Outgoing,
    SmtpTransport,
    idna_address,
    plan_envelope,
    transport_for,
)
from tests.unit.conftest import make_settings

RELAY = "relay.test:25"
DESK = "support@desk.test"
ASCII_RAW = b"From: support@desk.test\r\nTo: ann@cust.test\r\nSubject: hi\r\n\r\nbody\r\n"
UTF8_RAW = (
    "From: support@desk.test\r\nTo: jdöe@mächine.example\r\nSubject: hi\r\n\r\nbody\r\n".encode()
)


def outgoing(
    *recipients: str, raw: bytes = ASCII_RAW, sender: str = "support@desk.test"
) -> Outgoing:
    return Outgoing(1, sender, recipients, raw)


def plan(
    mail: Outgoing, *, smtputf8: bool = True, eightbitmime: bool = True, size: bool = False
) -> Envelope | PermanentSendError:
    return plan_envelope(mail, smtputf8=smtputf8, eightbitmime=eightbitmime, size=size, relay=RELAY)


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("ann@cust.test", "ann@cust.test"),
        ("joe@mächine.example", "joe@xn--mchine-bua.example"),
        ("joe@MÄCHINE.example", "joe@xn--mchine-bua.example"),
        ("jdöe@mächine.example", None),
        ("jdöe@cust.test", None),
        ("joe@" + "ä" * 70 + ".example", None),  # a label too long for IDNA
        ("nöat", None),
    ],
)
def test_idna_address(address: str, expected: str | None) -> None:
    assert idna_address(address) == expected


def test_an_ascii_mail_goes_as_it_is() -> None:
    envelope = plan(outgoing("ann@cust.test"))
    assert envelope == Envelope("support@desk.test", (("ann@cust.test",) * 2,), (), {})
    assert envelope.encoding == "ascii"


def test_a_non_ascii_local_part_is_sent_with_smtputf8_and_8bitmime() -> None:
    envelope = plan(outgoing("jdöe@mächine.example", raw=UTF8_RAW))
    assert isinstance(envelope, Envelope)
    assert envelope.recipients == (("jdöe@mächine.example", "jdöe@mächine.example"),)
    assert envelope.options == ("BODY=8BITMIME", "SMTPUTF8")
    assert envelope.encoding == "utf-8"


def test_without_smtputf8_a_non_ascii_local_part_fails_for_good_with_the_reason() -> None:
    error = plan(outgoing("jdöe@mächine.example", raw=UTF8_RAW), smtputf8=False)
    assert isinstance(error, PermanentSendError)
    assert str(error) == (
        "relay relay.test:25 does not offer SMTPUTF8; cannot send to jdöe@mächine.example"
    )


def test_an_ascii_local_part_gets_an_idna_domain_and_needs_no_smtputf8() -> None:
    for smtputf8 in (True, False):
        envelope = plan(outgoing("joe@mächine.example"), smtputf8=smtputf8)
        assert isinstance(envelope, Envelope)
        assert envelope.recipients == (("joe@mächine.example", "joe@xn--mchine-bua.example"),)
        assert envelope.options == () and envelope.encoding == "ascii"


def test_without_smtputf8_only_the_recipients_that_need_it_are_refused() -> None:
    envelope = plan(outgoing("ann@cust.test", "jdöe@mächine.example"), smtputf8=False)
    assert isinstance(envelope, Envelope)
    assert envelope.recipients == (("ann@cust.test", "ann@cust.test"),)
    assert envelope.refused == {
        "jdöe@mächine.example": "553 5.6.7 relay relay.test:25 does not offer SMTPUTF8"
    }


def test_a_non_ascii_sender_or_headers_need_smtputf8() -> None:
    sender = plan(outgoing("ann@cust.test", sender="süpport@desk.test"), smtputf8=False)
    assert isinstance(sender, PermanentSendError)
    assert "cannot send from süpport@desk.test" in str(sender)
    headers = plan(outgoing("ann@cust.test", raw=UTF8_RAW), smtputf8=False)
    assert isinstance(headers, PermanentSendError)
    assert "the headers of the mail are not ASCII" in str(headers)
    with_utf8 = plan(outgoing("ann@cust.test", raw=UTF8_RAW))
    assert isinstance(with_utf8, Envelope) and "SMTPUTF8" in with_utf8.options


def test_an_8bit_body_alone_needs_8bitmime_but_not_smtputf8() -> None:
    raw = "Subject: hi\n\nGrüße\n".encode()
    envelope = plan(outgoing("ann@cust.test", raw=raw), smtputf8=False, size=True)
    assert isinstance(envelope, Envelope)
    assert envelope.options == (f"SIZE={len(raw) + 3}", "BODY=8BITMIME")  # CRLF on the wire
    no_8bit = plan(outgoing("ann@cust.test", raw=raw), eightbitmime=False)
    assert isinstance(no_8bit, Envelope) and no_8bit.options == ()


def test_a_mail_without_recipients_fails_for_good() -> None:
    assert isinstance(plan(outgoing()), PermanentSendError)


def test_transport_for_picks_the_relay_or_the_maildir(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path}/replydesk.db")
    maildir = transport_for(None, settings.outbox)
    assert isinstance(maildir, MaildirTransport) and maildir.path == settings.outbox.maildir
    relay = make_settings(
        tmp_path,
        f"sqlite:///{tmp_path}/replydesk.db",
        smtp={"host": "relay.test", "port": 25, "tls": "none"},
    ).smtp
    assert relay is not None
    assert isinstance(transport_for(relay, settings.outbox), SmtpTransport)


def test_maildir_keeps_the_envelope_in_headers_in_utf8(tmp_path: Path) -> None:
    transport = MaildirTransport(tmp_path / "out" / "maildir")
    connection = transport.open()
    mails = [
        Outgoing(1, "support@desk.test", ("jdöe@mächine.example", "ann@cust.test"), UTF8_RAW),
        Outgoing(2, "support@desk.test", ("ann@cust.test",), b"Subject: lf\n\nbody\n"),
    ]
    deliveries = [connection.send(mail) for mail in mails]
    connection.close()
    assert [(d.error, d.refused) for d in deliveries] == [(None, {}), (None, {})]
    stored = sorted((f.read_bytes() for f in (tmp_path / "out/maildir/new").iterdir()), key=len)
    lf, crlf = stored
    assert crlf.startswith(
        "X-Envelope-From: <support@desk.test>\r\n"
        "X-Envelope-To: <jdöe@mächine.example>, <ann@cust.test>\r\n".encode()
    )
    assert crlf.endswith(UTF8_RAW)
    assert lf.startswith(b"X-Envelope-From: <support@desk.test>\nX-Envelope-To: <ann@cust.test>\n")
    parsed = message_from_bytes(crlf, policy=policy.default)
    assert parsed["X-Envelope-To"] == "<jdöe@mächine.example>, <ann@cust.test>"


def test_maildir_problems_are_deliveries_or_an_open_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(TemporarySendError, match="maildir"):
        MaildirTransport(tmp_path / "file" / "maildir").open()

    connection = MaildirTransport(tmp_path / "maildir").open()
    injected = connection.send(outgoing("ann@cust.test\r\nBcc: x@evil.test"))
    assert isinstance(injected.error, PermanentSendError)
    for folder in ("tmp", "new", "cur"):
        (tmp_path / "maildir" / folder).rmdir()
    (tmp_path / "maildir").rmdir()
    gone = connection.send(outgoing("ann@cust.test"))
    assert isinstance(gone.error, TemporarySendError) and "maildir" in str(gone.error)


def test_a_recipient_listed_twice_is_sent_to_once() -> None:
    envelope = plan(outgoing("ann@cust.test", "ann@cust.test"))
    assert isinstance(envelope, Envelope)
    assert envelope.recipients == (("ann@cust.test", "ann@cust.test"),)
