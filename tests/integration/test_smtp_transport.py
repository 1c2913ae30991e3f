"""SmtpTransport against real aiosmtpd relays on loopback: one connection, one mail at a time.

The relays here only record (no Dovecot behind them), so each test starts its own in
milliseconds: one that offers SMTPUTF8, one that does not, and small ones written for a single
misbehaviour (421 once, a DATA that never answers).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from daemon import config
from daemon.config import Smtp
from daemon.errors import PermanentSendError, TemporarySendError
from daemon.mail.compose import Composer
from daemon.mail.transports import Outgoing, SmtpConnection, SmtpTransport
from parsers import parse
from tests.support.dovecot import free_port
from tests.support.smtp import SmtpRelay

pytestmark = pytest.mark.integration

DESK = "support@desk.test"
JDOE = "jdöe@mächine.example"


@pytest.fixture
def relay() -> Iterator[SmtpRelay]:
    """A recording relay that offers SMTPUTF8 (and 8BITMIME, SIZE, AUTH)."""
    with SmtpRelay(None, smtputf8=True) as server:
        yield server


@pytest.fixture
def ascii_relay() -> Iterator[SmtpRelay]:
    """A recording relay that does not offer SMTPUTF8."""
    with SmtpRelay(None, smtputf8=False) as server:
        yield server


def smtp_for(host: str, port: int, **extra: Any) -> Smtp:
    return Smtp(host=host, port=port, tls="none", timeout=extra.pop("timeout", 5.0), **extra)


def connect(relay: SmtpRelay, **extra: Any) -> SmtpConnection:
    return SmtpTransport(smtp_for(relay.host, relay.port, **extra)).open()


def mail(number: int, *recipients: str, raw: bytes | None = None) -> Outgoing:
    if raw is None:
        message = EmailMessage()
        message["From"], message["To"] = DESK, ", ".join(recipients)
        message["Subject"] = f"mail {number}"
        message.set_content(f"body {number}\n")
        raw = message.as_bytes()
    return Outgoing(number, DESK, recipients, raw)


def acknowledgement_for(tmp_path: Path, address: str) -> Outgoing:
    """What the desk really sends: the composed acknowledgement to `address`."""
    customer = EmailMessage()
    customer["From"], customer["To"] = f"Jörg Döe <{address}>", DESK
    customer["Subject"], customer["Message-ID"] = "Drucker druckt nicht", "<q1@mächine.example>"
    customer.set_content("Hallo\n")
    message = parse(customer.as_bytes(policy=policy.default.clone(utf8=True)))
    settings = config.validate(
        {"desk": {"addresses": [DESK]}, "database": {"url": f"sqlite:///{tmp_path}/r.db"}},
        source=tmp_path / "replydesk.toml",
    )
    now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    composed = Composer(settings).acknowledgement(
        ticket_id=5, subject=message.clean_subject, message=message, now=now
    )
    return Outgoing(5, composed.envelope_from, composed.recipients, composed.raw)


def crlf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def test_a_relay_with_smtputf8_receives_the_internationalised_mail_intact(
    tmp_path: Path, relay: SmtpRelay
) -> None:
    ack = acknowledgement_for(tmp_path, JDOE)
    with closing(connect(relay)) as connection:
        delivery = connection.send(ack)
    assert delivery.error is None and delivery.refused == {}
    [received] = relay.wait_for(1)
    assert received.mail_from == DESK and received.rcpt_tos == (JDOE,)
    assert "SMTPUTF8" in received.mail_options and "BODY=8BITMIME" in received.mail_options
    assert received.raw == crlf(ack.raw)  # byte for byte, only the line ends made CRLF
    got = parse(received.raw)
    assert [a.address for a in got.to] == [JDOE]
    assert got.subject == "[#5] Drucker druckt nicht" and "Jörg Döe" in got.full_text


def test_an_idna_domain_goes_through_a_relay_without_smtputf8(
    tmp_path: Path, ascii_relay: SmtpRelay
) -> None:
    ack = acknowledgement_for(tmp_path, "joe@mächine.example")
    with closing(connect(ascii_relay)) as connection:
        delivery = connection.send(ack)
    assert delivery.error is None
    [received] = ascii_relay.wait_for(1)
    assert received.rcpt_tos == ("joe@xn--mchine-bua.example",)
    assert "SMTPUTF8" not in received.mail_options
    assert [a.address for a in parse(received.raw).to] == ["joe@xn--mchine-bua.example"]


def test_without_smtputf8_that_one_mail_fails_for_good_and_the_next_ones_go(
    tmp_path: Path, ascii_relay: SmtpRelay
) -> None:
    mails = [
        mail(1, "ann@cust.test"),
        acknowledgement_for(tmp_path, JDOE),
        mail(3, "bob@cust.test"),
        mail(4, "carl@cust.test"),
    ]
    with closing(connect(ascii_relay)) as connection:
        deliveries = [connection.send(m) for m in mails]
    errors = [d.error for d in deliveries]
    assert errors[0] is None and errors[2] is None and errors[3] is None
    assert isinstance(errors[1], PermanentSendError)
    where = f"{ascii_relay.host}:{ascii_relay.port}"
    assert str(errors[1]) == f"relay {where} does not offer SMTPUTF8; cannot send to {JDOE}"
    received = ascii_relay.wait_for(3)
    assert [r.rcpt_tos for r in received] == [
        ("ann@cust.test",),
        ("bob@cust.test",),
        ("carl@cust.test",),
    ]
    assert ascii_relay.sessions() == 1  # all on the one connection


def test_a_refused_recipient_is_reported_while_the_other_gets_the_mail(relay: SmtpRelay) -> None:
    relay.refuse(550, only=("bob@cust.test",))
    with closing(connect(relay)) as connection:
        partly = connection.send(mail(1, "ann@cust.test", "bob@cust.test"))
        wholly = connection.send(mail(2, "bob@cust.test", "bob@cust.test"))
        relay.refuse(450)
        later = connection.send(mail(3, "ann@cust.test", "bob@cust.test"))
        relay.accept()
        after = connection.send(mail(4, "ann@cust.test"))
    assert partly.error is None
    assert partly.refused == {
        "bob@cust.test": "550 5.1.1 Mailbox unavailable (refused by test switch)"
    }
    assert isinstance(wholly.error, PermanentSendError)
    assert "every recipient refused: bob@cust.test: 550 5.1.1" in str(wholly.error)
    assert isinstance(later.error, TemporarySendError)
    assert "ann@cust.test: 450 4.3.0" in str(later.error)
    assert after.error is None  # RSET left the session usable
    assert [r.rcpt_tos for r in relay.wait_for(2)] == [("ann@cust.test",), ("ann@cust.test",)]
    assert relay.sessions() == 1


def test_a_refusal_at_data_maps_by_its_code(relay: SmtpRelay) -> None:
    with closing(connect(relay)) as connection:
        relay.refuse(554, stage="data")
        permanent = connection.send(mail(1, "ann@cust.test"))
        relay.refuse(451, stage="data")
        temporary = connection.send(mail(2, "ann@cust.test"))
        relay.accept()
        sent = connection.send(mail(3, "ann@cust.test"))
    assert isinstance(permanent.error, PermanentSendError) and "DATA: 554" in str(permanent.error)
    assert isinstance(temporary.error, TemporarySendError) and "DATA: 451" in str(temporary.error)
    assert sent.error is None and len(relay.wait_for(1)) == 1


def test_a_connection_the_relay_dropped_between_two_mails_is_reconnected(
    relay: SmtpRelay,
) -> None:
    with closing(connect(relay)) as connection:
        first = connection.send(mail(1, "ann@cust.test"))
        relay.drop_connections()
        second = connection.send(mail(2, "bob@cust.test"))
        third = connection.send(mail(3, "carl@cust.test"))
    assert (first.error, second.error, third.error) == (None, None, None)
    assert [r.rcpt_tos for r in relay.wait_for(3)] == [
        ("ann@cust.test",),
        ("bob@cust.test",),
        ("carl@cust.test",),
    ]
    assert relay.sessions() == 2


def test_a_relay_gone_for_good_gives_temporary_errors_never_an_exception(
    relay: SmtpRelay,
) -> None:
    connection = connect(relay)
    assert connection.send(mail(1, "ann@cust.test")).error is None
    relay.stop()
    second = connection.send(mail(2, "bob@cust.test"))
    third = connection.send(mail(3, "carl@cust.test"))
    assert isinstance(second.error, TemporarySendError)
    assert "reconnecting failed" in str(second.error)
    assert isinstance(third.error, TemporarySendError)  # at once: no second reconnect
    connection.close()
    connection.close()
    closed = connection.send(mail(4, "dora@cust.test"))
    assert isinstance(closed.error, TemporarySendError) and "closed" in str(closed.error)


def test_an_unreachable_relay_fails_open() -> None:
    transport = SmtpTransport(smtp_for("127.0.0.1", free_port()))
    with pytest.raises(TemporarySendError, match="SMTPConnectError"):
        transport.open()


def test_a_relay_that_never_greets_fails_open_within_the_timeout() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # the kernel accepts, nobody talks
        port = silent.getsockname()[1]
        transport = SmtpTransport(smtp_for("127.0.0.1", port, timeout=0.5))
        with pytest.raises(TemporarySendError, match="Timeout"):
            transport.open()


def test_login_as_configured(relay: SmtpRelay, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELAY_PASSWORD", "secret")
    with closing(connect(relay, user="desk", password_env="RELAY_PASSWORD")) as connection:
        assert connection.send(mail(1, "ann@cust.test")).error is None
    assert relay.wait_for(1)[0].login == "desk"
    monkeypatch.setenv("RELAY_PASSWORD", "wrong")
    with pytest.raises(TemporarySendError, match="SMTPAuthenticationError"):
        connect(relay, user="desk", password_env="RELAY_PASSWORD")


def test_any_exception_of_one_mail_becomes_its_delivery(
    relay: SmtpRelay, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_data = aiosmtplib.SMTP.data
    failures: list[Exception] = [
        RuntimeError("a bug of ours"),
        UnicodeEncodeError("ascii", "ö", 0, 1, "ordinal not in range(128)"),
    ]

    async def data(self: aiosmtplib.SMTP, message: str | bytes, **kwargs: Any) -> Any:
        if failures:
            raise failures.pop(0)
        return await real_data(self, message, **kwargs)

    monkeypatch.setattr(aiosmtplib.SMTP, "data", data)
    with closing(connect(relay)) as connection:
        bug = connection.send(mail(1, "ann@cust.test"))
        encoding = connection.send(mail(2, "bob@cust.test"))
        fine = connection.send(mail(3, "carl@cust.test"))
    assert isinstance(bug.error, TemporarySendError) and "RuntimeError" in str(bug.error)
    assert isinstance(encoding.error, PermanentSendError)
    assert "UnicodeEncodeError" in str(encoding.error)
    assert fine.error is None
    assert [r.rcpt_tos for r in relay.wait_for(1)] == [("carl@cust.test",)]


class _Scripted:
    """A handler for one misbehaviour: 421 to the first MAIL, or a DATA that never answers."""

    def __init__(self, *, busy_once: bool = False, stall_data: bool = False) -> None:
        self.busy_once = busy_once
        self.stall_data = stall_data
        self.release = threading.Event()
        self.received: list[tuple[str, ...]] = []
        self.lock = threading.Lock()

    async def handle_MAIL(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.busy_once:
            self.busy_once = False
            return "421 4.7.0 Too many mails on this connection, closing"
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Any, envelope: Any
    ) -> str:
        if self.stall_data:
            self.stall_data = False
            while not self.release.is_set():
                await asyncio.sleep(0.01)
        with self.lock:
            self.received.append(tuple(envelope.rcpt_tos))
        return "250 OK"


@pytest.fixture
def scripted() -> Iterator[tuple[_Scripted, int]]:
    handler = _Scripted()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        handler.release.set()
        controller.stop()


def test_a_421_before_the_mail_is_handed_over_reconnects_once(
    scripted: tuple[_Scripted, int],
) -> None:
    handler, port = scripted
    handler.busy_once = True
    with closing(SmtpTransport(smtp_for("127.0.0.1", port)).open()) as connection:
        delivery = connection.send(mail(1, "ann@cust.test"))
    assert delivery.error is None
    assert handler.received == [("ann@cust.test",)]


def test_a_data_that_times_out_is_temporary_and_the_next_mail_reconnects(
    scripted: tuple[_Scripted, int],
) -> None:
    handler, port = scripted
    handler.stall_data = True
    with closing(SmtpTransport(smtp_for("127.0.0.1", port, timeout=0.5)).open()) as connection:
        stalled = connection.send(mail(1, "ann@cust.test"))
        handler.release.set()
        after = connection.send(mail(2, "bob@cust.test"))
    assert isinstance(stalled.error, TemporarySendError) and "Timeout" in str(stalled.error)
    assert after.error is None
    assert ("bob@cust.test",) in handler.received
