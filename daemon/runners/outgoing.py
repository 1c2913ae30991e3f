"""The sending stage: claim due outbox mail, send each over one connection, mark each at once.

Rows are claimed for our holder in a short transaction (up to `BATCH`), sent outside any
transaction over one connection of the transport, and each is marked sent, rescheduled or failed
in its own commit as soon as the relay answered for it, so a crash repeats at most the one mail
in flight (with the same Message-ID, which receivers collapse). A temporary failure retries with
doubling delays (capped at an hour) up to `[outbox] max_attempts`; a permanent one fails at
once; recipients the relay refused while accepting others are kept on the row and the event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from daemon import failpoints
from daemon.config import Outbox as OutboxSettings
from daemon.errors import TemporarySendError
from daemon.mail.transports import Connection, Delivery, Outgoing, Transport
from daemon.runners.base import Runner
from daemon.storage import events
from daemon.storage.database import Database
from daemon.storage.models import Outbox, OutboxState

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
BATCH = 50
MAX_BACKOFF = timedelta(hours=1)


@dataclass(slots=True)
class SendReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


class OutgoingRunner(Runner[Outgoing]):
    name = "outgoing"

    def __init__(
        self,
        db: Database,
        transport: Transport,
        settings: OutboxSettings,
        *,
        holder_id: int,
        clock: Clock,
    ) -> None:
        super().__init__(db, holder_id=holder_id, max_attempts=settings.max_attempts)
        self.transport = transport
        self.settings = settings
        self.clock = clock
        self.report = SendReport()
        self._connection: Connection | None = None
        self._open_error: TemporarySendError | None = None

    def claim(self) -> Sequence[Outgoing]:
        now = self.clock()
        claimed: list[Outgoing] = []
        while not claimed:
            with self.db.transaction() as session:
                rows = session.scalars(
                    select(Outbox)
                    .where(
                        Outbox.state == OutboxState.PENDING,
                        Outbox.next_attempt_at <= now,
                        or_(Outbox.holder_id.is_(None), Outbox.holder_id == self.holder_id),
                    )
                    .order_by(Outbox.id)
                    .limit(BATCH)
                    .with_for_update(skip_locked=True)
                ).all()
                if not rows:
                    return []
                for row in rows:
                    if row.attempts >= self.max_attempts:  # it died with its process each time
                        died = f"not sent: the sending process died with it {row.attempts} times"
                        self._fail(session, row, died, now)
                        continue
                    row.attempts += 1
                    row.holder_id = self.holder_id
                    claimed.append(
                        Outgoing(row.id, row.envelope_from, tuple(row.recipients), row.raw)
                    )
        failpoints.reached("outbox-claimed")
        return claimed

    def _fail(self, session: Session, row: Outbox, error: str, now: datetime) -> None:
        """The row will not be sent: marked failed, logged, and an event on its ticket."""
        row.state, row.last_error, row.holder_id = OutboxState.FAILED, error, None
        self.report.failed += 1
        log.error("outbox %s failed for good: %s", row.id, error)
        failed = events.MailFailed(outbox=row.id, to=row.recipients, error=error)
        events.record(
            session,
            failed,
            ticket_id=row.ticket_id,
            at=now,
            actor="system",
            cause=f"outbox:{row.id}",
        )

    @contextmanager
    def batch(self) -> Iterator[None]:
        self._connection, self._open_error = None, None
        try:
            yield
        finally:
            if self._connection is not None:
                self._connection.close()
            self._connection = None

    def handle(self, item: Outgoing) -> None:
        delivery = self._send(item)
        self._mark(delivery)
        failpoints.reached("outbox-marked")

    def _send(self, item: Outgoing) -> Delivery:
        if self._open_error is None and self._connection is None:
            try:
                self._connection = self.transport.open()
            except TemporarySendError as exc:
                self._open_error = exc
        if self._connection is None:
            assert self._open_error is not None
            return Delivery(item, self._open_error, {})
        return self._connection.send(item)

    def _mark(self, delivery: Delivery) -> None:
        now = self.clock()
        error = delivery.error
        with self.db.transaction() as session:
            row = session.get_one(Outbox, delivery.outgoing.id)
            row.holder_id = None
            row.refused = dict(delivery.refused)
            if error is None:
                row.state, row.sent_at, row.last_error = OutboxState.SENT, now, None
                self.report.sent += 1
                sent = events.MailSent(outbox=row.id, to=row.recipients, refused=row.refused)
                _event(session, row, sent, now)
            elif isinstance(error, TemporarySendError) and row.attempts < self.max_attempts:
                delay = timedelta(
                    seconds=self.settings.first_retry_seconds * 2 ** (row.attempts - 1)
                )
                row.next_attempt_at = now + min(delay, MAX_BACKOFF)
                row.last_error = str(error)
                self.report.retrying += 1
                log.warning("outbox %s: %s; retry at %s", row.id, error, row.next_attempt_at)
            else:
                self._fail(session, row, str(error), now)

    def failure(self, item: Outgoing, error: BaseException) -> None:
        """Something of ours broke around this mail (not the relay): retry it later."""
        self._mark(Delivery(item, TemporarySendError(f"{type(error).__name__}: {error}"), {}))

    def release(self, items: Sequence[Outgoing]) -> None:
        with self.db.transaction() as session:
            session.execute(
                update(Outbox)
                .where(
                    Outbox.id.in_([i.id for i in items]),
                    Outbox.holder_id == self.holder_id,
                    Outbox.state == OutboxState.PENDING,
                )
                .values(holder_id=None, attempts=Outbox.attempts - 1)
            )


def _event(session: Session, row: Outbox, payload: events.Payload, now: datetime) -> None:
    cause = f"outbox:{row.id}"
    events.record(session, payload, ticket_id=row.ticket_id, at=now, actor="system", cause=cause)
