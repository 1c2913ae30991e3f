"""Send what the outbox holds: claimed with a lease, delivered, then marked — never lost.

A row is claimed by pushing its `next_attempt_at` past a lease in one short transaction, sent
outside any transaction, then marked sent (or rescheduled with backoff, or failed) in another. A
process that dies after claiming leaves the row to be retried once the lease runs out; one that dies
after the relay accepted the mail but before marking it sends it again with the same Message-ID
(at-least-once, which receivers collapse on Message-ID).
"""

from __future__ import annotations

import asyncio
import logging
import mailbox
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

import aiosmtplib
from sqlalchemy import select

from daemon import failpoints
from daemon.config import Outbox as OutboxSettings
from daemon.config import Smtp
from daemon.errors import PermanentSendError, TemporarySendError
from daemon.storage.database import Database
from daemon.storage.models import Event, Outbox, OutboxState

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=5)
MAX_BACKOFF = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Outgoing:
    id: int
    envelope_from: str
    recipients: tuple[str, ...]
    raw: bytes


@dataclass(frozen=True, slots=True)
class Delivery:
    """What happened to one mail: None for sent, else the error."""

    outgoing: Outgoing
    error: TemporarySendError | PermanentSendError | None


class Transport(Protocol):
    def deliver(self, mails: Sequence[Outgoing]) -> list[Delivery]: ...


@dataclass(frozen=True, slots=True)
class SendReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


class SmtpTransport:
    """Delivers through an SMTP relay with aiosmtplib, one connection per batch."""

    def __init__(self, smtp: Smtp) -> None:
        self.smtp = smtp

    def deliver(self, mails: Sequence[Outgoing]) -> list[Delivery]:
        return asyncio.run(self._deliver(mails))

    async def _deliver(self, mails: Sequence[Outgoing]) -> list[Delivery]:
        smtp = self.smtp
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
        except (aiosmtplib.SMTPException, OSError) as exc:
            # Our side (relay down, credentials wrong): every mail waits, none fails for good.
            error = TemporarySendError(f"{smtp.host}:{smtp.port}: {type(exc).__name__}: {exc}")
            return [Delivery(mail, error) for mail in mails]
        results = []
        try:
            for mail in mails:
                try:
                    await client.sendmail(mail.envelope_from, list(mail.recipients), mail.raw)
                    results.append(Delivery(mail, None))
                except (aiosmtplib.SMTPException, OSError) as exc:
                    results.append(Delivery(mail, _map_error(exc, f"{smtp.host}:{smtp.port}")))
                    if not client.is_connected:
                        break
        finally:
            if client.is_connected:
                try:
                    await client.quit()
                except (aiosmtplib.SMTPException, OSError):
                    client.close()
        done = {r.outgoing.id for r in results}
        lost = TemporarySendError("connection lost before sending")
        return results + [Delivery(m, lost) for m in mails if m.id not in done]


class MaildirTransport:
    """The embedded default: writes each mail into a local Maildir instead of sending it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def deliver(self, mails: Sequence[Outgoing]) -> list[Delivery]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            box = mailbox.Maildir(self.path, create=True)
        except OSError as exc:
            error = TemporarySendError(f"maildir {self.path}: {exc}")
            return [Delivery(mail, error) for mail in mails]
        results = []
        for mail in mails:
            envelope = (
                f"X-Envelope-From: <{mail.envelope_from}>\r\n"
                f"X-Envelope-To: {', '.join(f'<{r}>' for r in mail.recipients)}\r\n"
            ).encode("ascii", "replace")
            try:
                box.add(envelope + mail.raw)
                results.append(Delivery(mail, None))
            except OSError as exc:
                results.append(Delivery(mail, TemporarySendError(f"maildir {self.path}: {exc}")))
        return results


def transport_for(smtp: Smtp | None, outbox: OutboxSettings) -> Transport:
    return SmtpTransport(smtp) if smtp is not None else MaildirTransport(outbox.maildir)


def send_due(
    db: Database,
    transport: Transport,
    settings: OutboxSettings,
    *,
    clock: Callable[[], datetime],
    batch: int = 50,
) -> SendReport:
    """Send every due outbox row, batch by batch, until none is due."""
    report = SendReport()
    while True:
        claimed = _claim(db, clock(), batch)
        if not claimed:
            return report
        failpoints.reached("outbox-claimed")
        deliveries = transport.deliver(claimed)
        report = _record(db, deliveries, settings, clock(), report)


def _claim(db: Database, now: datetime, batch: int) -> list[Outgoing]:
    with db.transaction() as session:
        rows = session.scalars(
            select(Outbox)
            .where(Outbox.state == OutboxState.PENDING, Outbox.next_attempt_at <= now)
            .order_by(Outbox.id)
            .limit(batch)
            .with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            row.attempts += 1
            row.next_attempt_at = now + LEASE
        return [Outgoing(r.id, r.envelope_from, tuple(r.recipients), r.raw) for r in rows]


def _record(
    db: Database,
    deliveries: list[Delivery],
    settings: OutboxSettings,
    now: datetime,
    report: SendReport,
) -> SendReport:
    sent, retrying, failed = report.sent, report.retrying, report.failed
    with db.transaction() as session:
        for delivery in deliveries:
            row = session.get_one(Outbox, delivery.outgoing.id)
            error = delivery.error
            if error is None:
                row.state, row.sent_at, row.last_error = OutboxState.SENT, now, None
                sent += 1
                kind, data = "mail_sent", {"outbox": row.id, "to": row.recipients}
            elif isinstance(error, TemporarySendError) and row.attempts < settings.max_attempts:
                delay = timedelta(seconds=settings.first_retry_seconds * 2 ** (row.attempts - 1))
                row.next_attempt_at = now + min(delay, MAX_BACKOFF)
                row.last_error = str(error)
                retrying += 1
                log.warning("outbox %s: %s; retry at %s", row.id, error, row.next_attempt_at)
                continue
            else:
                row.state, row.last_error = OutboxState.FAILED, str(error)
                failed += 1
                log.error("outbox %s failed for good: %s", row.id, error)
                kind = "mail_failed"
                data = {"outbox": row.id, "to": row.recipients, "error": str(error)}
            session.add(
                Event(
                    ticket_id=row.ticket_id,
                    at=now,
                    actor="system",
                    kind=kind,
                    cause=f"outbox:{row.id}",
                    data=data,
                )
            )
    return SendReport(sent=sent, retrying=retrying, failed=failed)


def _map_error(exc: BaseException, where: str) -> TemporarySendError | PermanentSendError:
    code = getattr(exc, "code", None)
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        code = exc.recipients[0].code
    text = f"{where}: {type(exc).__name__}: {exc}"
    if isinstance(code, int) and 500 <= code < 600:
        return PermanentSendError(text)
    return TemporarySendError(text)
