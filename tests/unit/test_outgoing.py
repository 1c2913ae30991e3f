"""The sending stage: each mail marked at once, retries with backoff, refusals kept, one row's
trouble never ends a pass, and the claims of a dead sender are taken back at once."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select, update

from daemon.config import Settings
from daemon.errors import PermanentSendError, TemporarySendError
from daemon.mail.transports import Delivery, Outgoing
from daemon.runners.outgoing import OutgoingRunner, SendReport
from daemon.storage import holders
from daemon.storage.database import Database
from daemon.storage.models import Event, Holder, Outbox, OutboxState
from daemon.storage.outbox import outbox_row
from tests.unit.conftest import Clock

Outcome = TemporarySendError | PermanentSendError | None


class Scripted:
    """A transport whose connection answers from a script, recording what it was given."""

    def __init__(self, *script: Outcome, refused: dict[str, str] | None = None) -> None:
        self.script = list(script)
        self.refused = refused or {}
        self.seen: list[Outgoing] = []
        self.opened = 0
        self.open_error: TemporarySendError | None = None
        self.explode_on: int | None = None

    def open(self) -> Scripted:
        if self.open_error is not None:
            raise self.open_error
        self.opened += 1
        return self

    def send(self, mail: Outgoing) -> Delivery:
        self.seen.append(mail)
        if mail.id == self.explode_on:
            raise UnicodeEncodeError("ascii", "jdöe", 2, 3, "ordinal not in range")
        error = self.script.pop(0) if self.script else None
        return Delivery(mail, error, dict(self.refused))

    def close(self) -> None:
        return None


def queue(db: Database, clock: Clock, n: int = 1) -> list[int]:
    with db.transaction() as session:
        rows = [
            outbox_row(
                ticket_id=None,
                kind="ack",
                message_id=f"<out{i}.{clock().timestamp()}@desk.test>",
                envelope_from="support@desk.test",
                recipients=(f"c{i}@cust.test", "cc@cust.test"),
                raw=b"Subject: hi\r\n\r\nbody\r\n",
                now=clock(),
            )
            for i in range(n)
        ]
        session.add_all(rows)
        session.flush()
        return [r.id for r in rows]


def send(db: Database, settings: Settings, clock: Clock, transport: Scripted) -> SendReport:
    holder = holders.register(db, "test")
    try:
        runner = OutgoingRunner(db, transport, settings.outbox, holder_id=holder, clock=clock)
        runner.run_pass(threading.Event())
        return runner.report
    finally:
        holders.stop(db, holder)


def state(db: Database, outbox_id: int) -> Outbox:
    with db.read() as session:
        return session.get_one(Outbox, outbox_id)


def test_due_mail_is_sent_once_over_one_connection(
    db: Database, settings: Settings, clock: Clock
) -> None:
    ids = queue(db, clock, 3)
    transport = Scripted()
    assert send(db, settings, clock, transport).sent == 3
    assert [m.id for m in transport.seen] == ids and transport.opened == 1
    assert send(db, settings, clock, transport).sent == 0
    assert all(state(db, i).state == OutboxState.SENT for i in ids)


def test_temporary_failure_backs_off_then_succeeds(
    db: Database, settings: Settings, clock: Clock
) -> None:
    [row] = queue(db, clock)
    transport = Scripted(TemporarySendError("451 later"), TemporarySendError("451"))
    assert send(db, settings, clock, transport).retrying == 1
    first = state(db, row)
    assert first.state == OutboxState.PENDING and first.last_error == "451 later"
    assert first.next_attempt_at == clock() + timedelta(seconds=30)
    assert send(db, settings, clock, transport).sent == 0  # not due yet
    clock.advance(seconds=30)
    send(db, settings, clock, transport)
    assert state(db, row).next_attempt_at == clock() + timedelta(seconds=60)
    clock.advance(seconds=60)
    assert send(db, settings, clock, transport).sent == 1
    assert state(db, row).attempts == 3


def test_permanent_failure_is_recorded(db: Database, settings: Settings, clock: Clock) -> None:
    [row] = queue(db, clock)
    assert send(db, settings, clock, Scripted(PermanentSendError("550 no such user"))).failed == 1
    assert state(db, row).state == OutboxState.FAILED
    with db.read() as session:
        event = session.scalars(select(Event).where(Event.kind == "mail_failed")).one()
        assert "550" in event.data["error"]


def test_gives_up_after_max_attempts(db: Database, settings: Settings, clock: Clock) -> None:
    [row] = queue(db, clock)
    transport = Scripted(*[TemporarySendError("451")] * 20)
    for _ in range(settings.outbox.max_attempts):
        send(db, settings, clock, transport)
        clock.advance(hours=2)
    assert state(db, row).state == OutboxState.FAILED
    assert len(transport.seen) == settings.outbox.max_attempts


def test_per_recipient_refusals_are_kept(db: Database, settings: Settings, clock: Clock) -> None:
    [row] = queue(db, clock)
    transport = Scripted(refused={"cc@cust.test": "550 5.1.1 unknown user"})
    assert send(db, settings, clock, transport).sent == 1
    assert state(db, row).refused == {"cc@cust.test": "550 5.1.1 unknown user"}
    with db.read() as session:
        event = session.scalars(select(Event).where(Event.kind == "mail_sent")).one()
        assert event.data["refused"] == {"cc@cust.test": "550 5.1.1 unknown user"}


def test_one_rows_surprise_never_ends_the_pass(
    db: Database, settings: Settings, clock: Clock
) -> None:
    ids = queue(db, clock, 3)
    transport = Scripted()
    transport.explode_on = ids[1]
    report = send(db, settings, clock, transport)
    assert (report.sent, report.retrying) == (2, 1)
    assert "UnicodeEncodeError" in (state(db, ids[1]).last_error or "")


def test_relay_down_opens_once_and_retries_every_row_later(
    db: Database, settings: Settings, clock: Clock
) -> None:
    ids = queue(db, clock, 3)
    transport = Scripted()
    transport.open_error = TemporarySendError("relay:25: connection refused")
    assert send(db, settings, clock, transport).retrying == 3
    assert transport.seen == []
    assert all("connection refused" in (state(db, i).last_error or "") for i in ids)


def test_rows_of_a_dead_sender_are_sent_at_once_by_the_next(
    db: Database, settings: Settings, clock: Clock
) -> None:
    [row] = queue(db, clock)
    dead = holders.register(db, "test")
    with db.transaction() as session:
        session.get_one(Holder, dead).pid = 2**22 + 11  # a process that is gone
        session.execute(update(Outbox).where(Outbox.id == row).values(holder_id=dead))
    transport = Scripted()
    holder = holders.register(db, "test")
    runner = OutgoingRunner(db, transport, settings.outbox, holder_id=holder, clock=clock)
    runner.run_pass(threading.Event())
    assert transport.seen == []  # a live-looking claim is never taken
    holders.reap(db, max_attempts=3)
    runner.run_pass(threading.Event())
    holders.stop(db, holder)
    assert [m.id for m in transport.seen] == [row] and state(db, row).state == OutboxState.SENT


def test_a_mail_whose_sender_dies_every_time_fails_for_good(
    db: Database, settings: Settings, clock: Clock
) -> None:
    [row] = queue(db, clock)
    with db.transaction() as session:
        session.get_one(Outbox, row).attempts = settings.outbox.max_attempts
    transport = Scripted()
    assert send(db, settings, clock, transport).failed == 1
    assert transport.seen == [] and state(db, row).state == OutboxState.FAILED
    assert "died" in (state(db, row).last_error or "")
