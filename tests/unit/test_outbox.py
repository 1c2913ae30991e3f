from __future__ import annotations

import contextlib
import mailbox
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from daemon.config import Settings
from daemon.errors import PermanentSendError, TemporarySendError
from daemon.mail.outbox import Delivery, MaildirTransport, Outgoing, send_due
from daemon.storage.database import Database
from daemon.storage.models import Event, Outbox, OutboxState
from tests.unit.conftest import Clock


class ScriptedTransport:
    """Answers each delivery from a script of outcomes, recording what it was given."""

    def __init__(self, *script: TemporarySendError | PermanentSendError | None) -> None:
        self.script = list(script)
        self.seen: list[Outgoing] = []

    def deliver(self, mails: Sequence[Outgoing]) -> list[Delivery]:
        self.seen.extend(mails)
        return [Delivery(m, self.script.pop(0) if self.script else None) for m in mails]


def queue(db: Database, clock: Clock, n: int = 1) -> list[int]:
    with db.transaction() as session:
        rows = [
            Outbox(
                kind="ack",
                message_id=f"<out{i}.{clock().timestamp()}@desk.test>",
                envelope_from="support@desk.test",
                recipients=[f"c{i}@cust.test"],
                raw=b"Subject: hi\r\n\r\nbody\r\n",
                state=OutboxState.PENDING,
                attempts=0,
                next_attempt_at=clock(),
                created_at=clock(),
            )
            for i in range(n)
        ]
        session.add_all(rows)
        session.flush()
        return [r.id for r in rows]


def state(db: Database, outbox_id: int) -> Outbox:
    with db.transaction() as session:
        return session.get_one(Outbox, outbox_id)


def test_due_mail_is_sent_once(db: Database, settings: Settings, clock: Clock) -> None:
    ids = queue(db, clock, 3)
    transport = ScriptedTransport()
    report = send_due(db, transport, settings.outbox, clock=clock)
    assert report.sent == 3 and [m.id for m in transport.seen] == ids
    assert send_due(db, transport, settings.outbox, clock=clock).sent == 0
    assert all(state(db, i).state == OutboxState.SENT for i in ids)


def test_temporary_failure_backs_off_then_succeeds(
    db: Database, settings: Settings, clock: Clock
) -> None:
    [row] = queue(db, clock)
    transport = ScriptedTransport(TemporarySendError("451 later"), TemporarySendError("451"))
    assert send_due(db, transport, settings.outbox, clock=clock).retrying == 1
    first = state(db, row)
    assert first.state == OutboxState.PENDING and first.last_error == "451 later"
    assert first.next_attempt_at == clock() + timedelta(seconds=30)
    assert send_due(db, transport, settings.outbox, clock=clock).sent == 0  # not due yet
    clock.advance(seconds=30)
    send_due(db, transport, settings.outbox, clock=clock)
    assert state(db, row).next_attempt_at == clock() + timedelta(seconds=60)
    clock.advance(seconds=60)
    assert send_due(db, transport, settings.outbox, clock=clock).sent == 1
    assert state(db, row).attempts == 3


def test_permanent_failure_is_recorded(db: Database, settings: Settings, clock: Clock) -> None:
    [row] = queue(db, clock)
    report = send_due(
        db, ScriptedTransport(PermanentSendError("550 no such user")), settings.outbox, clock=clock
    )
    assert report.failed == 1
    assert state(db, row).state == OutboxState.FAILED
    with db.transaction() as session:
        event = session.scalars(select(Event).where(Event.kind == "mail_failed")).one()
        assert "550" in event.data["error"]


def test_gives_up_after_max_attempts(db: Database, settings: Settings, clock: Clock) -> None:
    [row] = queue(db, clock)
    transport = ScriptedTransport(*[TemporarySendError("451")] * 20)
    for _ in range(settings.outbox.max_attempts):
        send_due(db, transport, settings.outbox, clock=clock)
        clock.advance(hours=2)
    assert state(db, row).state == OutboxState.FAILED
    assert len(transport.seen) == settings.outbox.max_attempts


def test_a_claimed_row_is_not_sent_twice_while_leased(
    db: Database, settings: Settings, clock: Clock
) -> None:
    [row] = queue(db, clock)

    class Crashing:
        def deliver(self, mails: Sequence[Outgoing]) -> list[Delivery]:
            raise KeyboardInterrupt  # the process dies after claiming

    with contextlib.suppress(KeyboardInterrupt):
        send_due(db, Crashing(), settings.outbox, clock=clock)
    transport = ScriptedTransport()
    assert send_due(db, transport, settings.outbox, clock=clock).sent == 0
    clock.advance(minutes=6)
    assert send_due(db, transport, settings.outbox, clock=clock).sent == 1
    assert state(db, row).state == OutboxState.SENT


def test_maildir_transport_keeps_bytes_and_envelope(tmp_path: Path) -> None:
    transport = MaildirTransport(tmp_path / "out")
    raw = b"Subject: hi\r\nMessage-ID: <x@y>\r\n\r\nbody\r\n"
    [result] = transport.deliver([Outgoing(1, "support@desk.test", ("a@b.test",), raw)])
    assert result.error is None
    box = mailbox.Maildir(tmp_path / "out", create=False)
    [key] = box.keys()
    stored = box.get_bytes(key)
    assert stored.endswith(raw)
    assert b"X-Envelope-To: <a@b.test>" in stored


def test_maildir_transport_creates_parents_and_reports_failures(tmp_path: Path) -> None:
    mail = Outgoing(1, "support@desk.test", ("a@b.test",), b"Subject: x\r\n\r\nx\r\n")
    [ok] = MaildirTransport(tmp_path / "deep" / "er" / "out").deliver([mail])
    assert ok.error is None
    blocker = tmp_path / "file"
    blocker.write_text("in the way")
    [failed] = MaildirTransport(blocker / "out").deliver([mail])
    assert isinstance(failed.error, TemporarySendError)
