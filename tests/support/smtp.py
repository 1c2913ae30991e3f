"""A real SMTP server on loopback (aiosmtpd) that hands every mail to Dovecot over LMTP.

It stands in for the desk's outgoing relay: a test sends as a customer (or lets the daemon send)
and reads the result back over IMAP. Every accepted envelope is also recorded, a switch makes it
refuse with 4xx or 5xx to exercise retries, and it can be stopped and started again on the same
port mid-test ("relay down, mail goes out once it is back").

AUTH PLAIN/LOGIN is offered without TLS and accepts any user with the Dovecot password, so both a
client that logs in and one that does not can use it.

Without a Dovecot (``SmtpRelay(None)``) it only records what it accepts, for tests of the sending
side alone. ``smtputf8=False`` makes it a relay that does not offer SMTPUTF8, and
``drop_connections()`` hangs up on every client, as a relay's idle timeout would.
"""

from __future__ import annotations

import asyncio
import smtplib
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from tests.support.dovecot import Dovecot, free_port

Stage = Literal["rcpt", "data"]


@dataclass(frozen=True)
class Envelope:
    """One mail the relay accepted and delivered."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    login: str | None
    mail_options: tuple[str, ...] = ()


@dataclass(frozen=True)
class Refused:
    """One attempt the relay turned away (for asserting that a retry happened)."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    code: int
    stage: Stage


@dataclass(frozen=True)
class Refusal:
    """What to refuse: every recipient, or only some (lower-cased addresses)."""

    code: int
    stage: Stage
    only: frozenset[str] | None

    def applies_to(self, address: str) -> bool:
        return self.only is None or address.lower() in self.only

    def reply(self) -> str:
        kind = "4.3.0 Try again later" if self.code < 500 else "5.1.1 Mailbox unavailable"
        return f"{self.code} {kind} (refused by test switch)"


class _Record:
    """The thread-safe memory shared by the aiosmtpd thread and the test."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.refusal: Refusal | None = None
        self.received: list[Envelope] = []
        self.refused: list[Refused] = []
        self.sessions: list[asyncio.BaseTransport] = []

    def current_refusal(self) -> Refusal | None:
        with self.lock:
            return self.refusal

    def add_received(self, envelope: Envelope) -> None:
        with self.lock:
            self.received.append(envelope)

    def add_refused(self, refused: Refused) -> None:
        with self.lock:
            self.refused.append(refused)

    def add_session(self, transport: asyncio.BaseTransport) -> None:
        with self.lock:
            self.sessions.append(transport)


def deliver_lmtp(dovecot: Dovecot, mail_from: str, rcpt_tos: tuple[str, ...], raw: bytes) -> None:
    """Hand one mail to Dovecot; raises when any recipient was refused.

    One LMTP transaction per recipient: LMTP answers DATA once per recipient, and smtplib's
    `LMTP.sendmail` reads only the first of those answers.
    """
    with smtplib.LMTP(dovecot.host, dovecot.lmtp_port, timeout=10) as lmtp:
        for rcpt in rcpt_tos:
            refused = lmtp.sendmail(mail_from, [rcpt], raw)
            if refused:
                raise smtplib.SMTPRecipientsRefused(refused)


class _LmtpBridge:
    """aiosmtpd handler: refuses on demand, otherwise delivers to Dovecot (if any) and records."""

    def __init__(self, dovecot: Dovecot | None, record: _Record) -> None:
        self.dovecot = dovecot
        self.record = record

    async def handle_EHLO(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        if server.transport is not None:
            self.record.add_session(server.transport)
        session.host_name = hostname
        return responses

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        refusal = self.record.current_refusal()
        if refusal and refusal.stage == "rcpt" and refusal.applies_to(address):
            mail_from = envelope.mail_from or ""
            self.record.add_refused(Refused(mail_from, (address,), refusal.code, "rcpt"))
            return refusal.reply()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Any, envelope: Any
    ) -> str:
        mail_from: str = envelope.mail_from or ""
        rcpt_tos = tuple(envelope.rcpt_tos)
        raw: bytes = envelope.original_content or envelope.content
        refusal = self.record.current_refusal()
        if refusal and refusal.stage == "data" and any(map(refusal.applies_to, rcpt_tos)):
            self.record.add_refused(Refused(mail_from, rcpt_tos, refusal.code, "data"))
            return refusal.reply()
        if self.dovecot is not None:
            loop = asyncio.get_running_loop()
            try:
                await loop.run_in_executor(
                    None, deliver_lmtp, self.dovecot, mail_from, rcpt_tos, raw
                )
            except (OSError, smtplib.SMTPException) as exc:
                return f"451 4.3.0 LMTP delivery failed: {type(exc).__name__}: {exc}"
        login = session.auth_data if isinstance(session.auth_data, str) else None
        options = tuple(envelope.mail_options)
        self.record.add_received(Envelope(mail_from, rcpt_tos, raw, login, options))
        return "250 OK delivered"


class _Authenticator:
    """Accepts any user name with the one Dovecot password (or, without Dovecot, "secret")."""

    def __init__(self, password: str) -> None:
        self.password = password.encode()

    def __call__(
        self, server: SMTP, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if isinstance(auth_data, LoginPassword) and auth_data.password == self.password:
            return AuthResult(success=True, auth_data=auth_data.login.decode())
        return AuthResult(success=False, handled=False)


class SmtpRelay:
    """The aiosmtpd → LMTP bridge: ``with SmtpRelay(dovecot) as relay:``; ``relay.port``."""

    def __init__(
        self,
        dovecot: Dovecot | None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        smtputf8: bool = True,
    ) -> None:
        self.dovecot = dovecot
        self.host = host
        self.port = port or free_port(host)
        self.smtputf8 = smtputf8
        self._record = _Record()
        self._controller: Controller | None = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        """Listen (again) on the same port; a no-op when already running."""
        if self._controller is not None:
            return
        controller = Controller(
            _LmtpBridge(self.dovecot, self._record),
            hostname=self.host,
            port=self.port,
            server_hostname="relay.test",
            authenticator=_Authenticator(self.dovecot.password if self.dovecot else "secret"),
            auth_require_tls=False,
            enable_SMTPUTF8=self.smtputf8,
        )
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        """Stop listening: clients now get "connection refused" on this port."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def refuse(self, code: int, *, stage: Stage = "rcpt", only: tuple[str, ...] = ()) -> None:
        """Answer ``code`` (4xx temporary, 5xx permanent) at RCPT or DATA until ``accept()``."""
        if not 400 <= code < 600:
            raise ValueError(f"a refusal needs a 4xx or 5xx code, not {code}")
        chosen = frozenset(a.lower() for a in only) if only else None
        with self._record.lock:
            self._record.refusal = Refusal(code, stage, chosen)

    def accept(self) -> None:
        """Take mail normally again."""
        with self._record.lock:
            self._record.refusal = None

    def received(self) -> list[Envelope]:
        with self._record.lock:
            return list(self._record.received)

    def sessions(self) -> int:
        """How many client sessions said EHLO since the last ``reset()``."""
        with self._record.lock:
            return len(self._record.sessions)

    def drop_connections(self, *, timeout: float = 5.0) -> None:
        """Hang up on every session since the last ``reset()``, from the server side, and wait."""
        controller = self._controller
        if controller is None:
            raise AssertionError("the relay is not running")
        done = threading.Event()

        def hang_up() -> None:
            with self._record.lock:
                transports = list(self._record.sessions)
            for transport in transports:
                if not transport.is_closing():
                    transport.close()
            done.set()

        controller.loop.call_soon_threadsafe(hang_up)
        if not done.wait(timeout):
            raise AssertionError(f"the relay did not hang up within {timeout} s")

    def refused(self) -> list[Refused]:
        with self._record.lock:
            return list(self._record.refused)

    def reset(self) -> None:
        """Forget what was received and refused, accept again, and make sure it is running."""
        with self._record.lock:
            self._record.refusal = None
            self._record.received.clear()
            self._record.refused.clear()
            self._record.sessions.clear()
        self.start()

    def wait_for(self, count: int, *, timeout: float = 10.0) -> list[Envelope]:
        """The received envelopes once there are at least ``count`` (polls)."""
        deadline = time.monotonic() + timeout
        while True:
            received = self.received()
            if len(received) >= count:
                return received
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"relay received {len(received)} mail(s) within {timeout} s, wanted {count}"
                )
            time.sleep(0.02)

    def __enter__(self) -> SmtpRelay:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
