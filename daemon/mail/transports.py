"""Hand outgoing mail to a relay (SMTP) or to a local Maildir, one mail at a time.

The seam: `Transport.open()` gives a `Connection`; `Connection.send()` delivers one mail and says
what became of it as a `Delivery`. `send()` never raises for a problem of that one mail, so one
bad address cannot stop a send pass, and the caller can mark each mail sent as soon as the relay
has taken it. `open()` raises `TemporarySendError` when nothing can be sent at all (relay down,
login refused). A connection belongs to one thread.

Errors: a 5xx reply, or a mail that cannot be put on the wire as it is, is a
`PermanentSendError`; a 4xx reply, a timeout or a lost connection is a `TemporarySendError`. When
the relay refuses some recipients but takes the mail for others, the mail counts as sent and the
refusals are listed in `Delivery.refused`.

Internationalised mail (RFC 6531, 6532): an address whose local part is ASCII goes on the wire
with its domain in IDNA (punycode), which every relay takes. A non-ASCII local part, or non-ASCII
headers, need a relay that offers SMTPUTF8; without one, that mail (or that recipient) fails for
good, with the reason.
"""

from __future__ import annotations

import asyncio
import mailbox
import re
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import aiosmtplib

from daemon.config import Outbox as OutboxSettings
from daemon.config import Smtp
from daemon.errors import PermanentSendError, TemporarySendError

SendError = TemporarySendError | PermanentSendError
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_LINE_END = re.compile(rb"\r?\n")
_CRLF = b"\r\n"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One mail to send: its outbox id, its envelope and its bytes."""

    id: int
    envelope_from: str
    recipients: tuple[str, ...]
    raw: bytes


@dataclass(frozen=True, slots=True)
class Delivery:
    """What became of one mail: `error` None means the relay took it for at least one recipient.

    `refused` maps each recipient the relay turned away, while taking the mail for the others,
    to its reply ("550 5.1.1 text"); a 4xx there may take the mail later, and "553 5.6.7" is our
    own refusal of an address only SMTPUTF8 could carry.
    """

    outgoing: Outgoing
    error: SendError | None
    refused: dict[str, str] = field(default_factory=dict)


class Connection(Protocol):
    """One session with the relay (or the Maildir), used by one thread."""

    def send(self, mail: Outgoing) -> Delivery:
        """Deliver one mail; never raises for a problem of that one mail."""
        ...

    def close(self) -> None: ...


class Transport(Protocol):
    def open(self) -> Connection:
        """Start a session; TemporarySendError when nothing can be sent (relay down, login)."""
        ...


def transport_for(smtp: Smtp | None, outbox: OutboxSettings) -> Transport:
    """The relay when one is configured, else the local Maildir."""
    return SmtpTransport(smtp) if smtp is not None else MaildirTransport(outbox.maildir)


def idna_domain(domain: str) -> str | None:
    """The domain in ASCII (IDNA 2003, as the standard library knows it); None if it has none."""
    if domain.isascii():
        return domain
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return None


def idna_address(address: str) -> str | None:
    """The address with an ASCII domain; None when only SMTPUTF8 can carry it.

    That is the case for a non-ASCII local part (`jdöe@mächine.example`), or a domain that is not
    valid IDNA.
    """
    if address.isascii():
        return address
    local, at, domain = address.rpartition("@")
    ascii_domain = idna_domain(domain)
    if not at or not local.isascii() or ascii_domain is None:
        return None
    return f"{local}@{ascii_domain}"


@dataclass(frozen=True, slots=True)
class Envelope:
    """How one mail goes on the wire: its addresses as sent, MAIL options, our own refusals."""

    sender: str
    recipients: tuple[tuple[str, str], ...]  # (as given, as sent)
    options: tuple[str, ...]
    refused: dict[str, str]

    @property
    def encoding(self) -> str:
        return "utf-8" if "SMTPUTF8" in self.options else "ascii"


def plan_envelope(
    mail: Outgoing, *, smtputf8: bool, eightbitmime: bool, size: bool, relay: str
) -> Envelope | PermanentSendError:
    """How `mail` goes through a relay offering these extensions, or why it cannot.

    A recipient only SMTPUTF8 could carry is refused by us (553 5.6.7, as RFC 6531 has it) while
    the others are sent; if that leaves none, or the sender or the headers need SMTPUTF8, the
    whole mail fails.
    """
    given = tuple(dict.fromkeys(mail.recipients))  # each address once
    if not given:
        return PermanentSendError("the mail has no recipients")

    def wire(address: str) -> str | None:
        ascii_form = idna_address(address)
        return address if ascii_form is None and smtputf8 else ascii_form

    no_utf8 = f"relay {relay} does not offer SMTPUTF8"
    unsendable = [r for r in given if wire(r) is None]
    if len(unsendable) == len(given):
        return PermanentSendError(f"{no_utf8}; cannot send to {', '.join(unsendable)}")
    sender = wire(mail.envelope_from)
    if sender is None:
        return PermanentSendError(f"{no_utf8}; cannot send from {mail.envelope_from}")
    header_end = _HEADER_END.search(mail.raw)
    headers_ascii = (mail.raw[: header_end.start()] if header_end else mail.raw).isascii()
    if not headers_ascii and not smtputf8:
        return PermanentSendError(f"{no_utf8}; the headers of the mail are not ASCII")
    recipients = tuple((r, sent) for r in given if (sent := wire(r)) is not None)
    addresses_ascii = all(a.isascii() for a in (sender, *(sent for _, sent in recipients)))
    options = []
    if size:
        options.append(f"SIZE={len(_LINE_END.sub(_CRLF, mail.raw))}")
    if eightbitmime and not mail.raw.isascii():
        options.append("BODY=8BITMIME")
    if not (headers_ascii and addresses_ascii):
        options.append("SMTPUTF8")
    refused = {r: f"553 5.6.7 {no_utf8}" for r in unsendable}
    return Envelope(sender, recipients, tuple(options), refused)


class SmtpTransport:
    """Delivers through an SMTP relay with aiosmtplib: one connection and event loop, many mails."""

    def __init__(self, smtp: Smtp) -> None:
        self.smtp = smtp

    def open(self) -> SmtpConnection:
        """Connect, log in and say EHLO; TemporarySendError when the relay cannot be used."""
        runner = asyncio.Runner()
        try:
            client = runner.run(_connect(self.smtp))
        except BaseException:
            runner.close()
            raise
        return SmtpConnection(self.smtp, runner, client)


class _HungUpError(TemporarySendError):
    """The relay went away before the mail was handed over: safe to try on a new connection."""


class SmtpConnection:
    """One relay session on one event loop, so each `send()` is a plain call.

    A relay that hung up between two mails (idle timeout, 421) is reconnected to once, and the
    mail tried again. If that reconnect fails, every later `send()` on this connection answers
    TemporarySendError at once instead of waiting for the relay again: open a new one later.
    """

    def __init__(self, smtp: Smtp, runner: asyncio.Runner, client: aiosmtplib.SMTP) -> None:
        self.smtp = smtp
        self.relay = _relay(smtp)
        self._runner: asyncio.Runner | None = runner
        self._client: aiosmtplib.SMTP | None = client
        self._lost: str | None = None

    def send(self, mail: Outgoing) -> Delivery:
        """Deliver one mail; every problem of it comes back as `Delivery.error`, never raised."""
        if self._runner is None:
            return Delivery(mail, TemporarySendError(f"{self.relay}: the connection is closed"))
        try:
            return self._runner.run(self._send(mail))
        except Exception as exc:  # the last guard: one mail's problem never stops the pass
            self._drop()
            return Delivery(mail, _failure(exc, self.relay))

    def close(self) -> None:
        """Say QUIT (best effort) and stop the event loop; safe to call twice."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        client, self._client = self._client, None
        try:
            if client is not None and client.is_connected:
                runner.run(_quit(client))
        finally:
            runner.close()

    async def _send(self, mail: Outgoing) -> Delivery:
        client = await self._connected()
        try:
            return await self._attempt(client, mail)
        except _HungUpError:
            self._drop()
            return await self._attempt(await self._connected(), mail)

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is not None and self._client.is_connected:
            return self._client
        if self._lost is not None:
            raise TemporarySendError(self._lost)
        try:
            self._client = await _connect(self.smtp)
        except TemporarySendError as exc:
            self._lost = f"connection lost and reconnecting failed: {exc}"
            raise TemporarySendError(self._lost) from exc
        return self._client

    async def _attempt(self, client: aiosmtplib.SMTP, mail: Outgoing) -> Delivery:
        """One SMTP transaction; raises `_HungUpError` only while nothing was handed over yet."""
        plan = plan_envelope(
            mail,
            smtputf8=client.supports_extension("smtputf8"),
            eightbitmime=client.supports_extension("8bitmime"),
            size=client.supports_extension("size"),
            relay=self.relay,
        )
        if isinstance(plan, PermanentSendError):
            return Delivery(mail, plan)
        try:
            await client.mail(plan.sender, options=list(plan.options), encoding=plan.encoding)
            refused, codes = await _recipients(client, plan)
        except ConnectionError as exc:  # SMTPServerDisconnected is one
            raise _HungUpError(f"{self.relay}: connection lost: {exc}") from exc
        except ValueError as exc:  # a sender that cannot go on an SMTP command line
            return await _abort(client, mail, 553, f"{self.relay}: {exc}")
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code == 421:  # closing the session: a fresh one may take the mail
                raise _HungUpError(f"{self.relay}: {_reply(exc)}") from exc
            return await _abort(client, mail, exc.code, f"{self.relay}: MAIL FROM: {_reply(exc)}")
        if len(refused) == len(plan.recipients) + len(plan.refused):
            listed = "; ".join(f"{r}: {reply}" for r, reply in refused.items())
            text = f"{self.relay}: every recipient refused: {listed}"
            return await _abort(client, mail, min(codes), text)  # any 4xx: worth a retry
        try:
            await client.data(mail.raw)
        except aiosmtplib.SMTPResponseException as exc:
            return await _abort(client, mail, exc.code, f"{self.relay}: DATA: {_reply(exc)}")
        return Delivery(mail, None, refused)

    def _drop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


async def _connect(smtp: Smtp) -> aiosmtplib.SMTP:
    """A client that is connected, logged in (if configured) and past EHLO."""
    client = aiosmtplib.SMTP(
        hostname=smtp.host,
        port=smtp.port,
        use_tls=smtp.tls == "tls",
        start_tls=smtp.tls == "starttls",
        timeout=smtp.timeout,
        tls_context=ssl.create_default_context(),
    )
    try:
        await client.connect()
        password = smtp.password()
        if smtp.user and password is not None:
            await client.login(smtp.user, password.get_secret_value())
        if client.is_ehlo_or_helo_needed:
            try:
                await client.ehlo()
            except aiosmtplib.SMTPHeloError:
                await client.helo()
    except Exception as exc:  # relay down, TLS or login refused: nothing can be sent
        client.close()
        raise TemporarySendError(f"{_relay(smtp)}: {type(exc).__name__}: {exc}") from exc
    return client


async def _recipients(client: aiosmtplib.SMTP, plan: Envelope) -> tuple[dict[str, str], list[int]]:
    """RCPT for each recipient: the refusals (ours and the relay's) and their codes."""
    refused, codes = dict(plan.refused), [553] * len(plan.refused)
    for given, sent in plan.recipients:
        try:
            await client.rcpt(sent, encoding=plan.encoding)
        except aiosmtplib.SMTPRecipientRefused as exc:
            refused[given], codes = _reply(exc), [*codes, exc.code]
        except ValueError as exc:  # cannot go on an SMTP command line: refused by us
            refused[given], codes = f"553 5.1.3 {exc}", [*codes, 553]
    return refused, codes


async def _abort(client: aiosmtplib.SMTP, mail: Outgoing, code: int, text: str) -> Delivery:
    """End a refused transaction with RSET (or drop the session) and report the refusal."""
    try:
        await client.rset()
    except (aiosmtplib.SMTPException, OSError):
        client.close()
    error = PermanentSendError(text) if 500 <= code < 600 else TemporarySendError(text)
    return Delivery(mail, error)


async def _quit(client: aiosmtplib.SMTP) -> None:
    try:
        await client.quit()
    except Exception:  # the relay's goodbye does not matter any more
        client.close()


def _relay(smtp: Smtp) -> str:
    return f"{smtp.host}:{smtp.port}"


def _reply(exc: aiosmtplib.SMTPResponseException) -> str:
    return f"{exc.code} {exc.message}"


def _failure(exc: Exception, relay: str) -> SendError:
    if isinstance(exc, _HungUpError):  # hung up again after the reconnect
        return TemporarySendError(str(exc))
    if isinstance(exc, TemporarySendError | PermanentSendError):
        return exc
    text = f"{relay}: {type(exc).__name__}: {exc}"
    if isinstance(exc, ValueError):  # UnicodeError too: the mail cannot go on the wire as it is
        return PermanentSendError(text)
    return TemporarySendError(text)


class MaildirTransport:
    """The embedded default: writes each mail into a local Maildir instead of sending it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def open(self) -> MaildirConnection:
        """Create the Maildir if needed; TemporarySendError when it cannot be."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            box = mailbox.Maildir(self.path, create=True)
        except OSError as exc:
            raise TemporarySendError(f"maildir {self.path}: {exc}") from exc
        return MaildirConnection(self.path, box)


class MaildirConnection:
    """Writes one file per mail, the envelope kept in X-Envelope-From and X-Envelope-To."""

    def __init__(self, path: Path, box: mailbox.Maildir) -> None:
        self.path = path
        self.box = box

    def send(self, mail: Outgoing) -> Delivery:
        addresses = (mail.envelope_from, *mail.recipients)
        if any("\r" in a or "\n" in a for a in addresses):
            return Delivery(mail, PermanentSendError("an envelope address holds a line break"))
        first = _LINE_END.search(mail.raw)
        newline = "\n" if first is not None and first.group() == b"\n" else "\r\n"
        envelope = (
            f"X-Envelope-From: <{mail.envelope_from}>{newline}"
            f"X-Envelope-To: {', '.join(f'<{r}>' for r in mail.recipients)}{newline}"
        )
        try:
            self.box.add(envelope.encode("utf-8") + mail.raw)
        except Exception as exc:  # a full disk or a vanished folder: try again later
            return Delivery(mail, TemporarySendError(f"maildir {self.path}: {exc}"))
        return Delivery(mail, None)

    def close(self) -> None:
        """Nothing to release: each mail is its own file."""
