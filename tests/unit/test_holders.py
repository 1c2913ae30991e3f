"""Claims name a live holder; the work of a holder that is gone is taken back within seconds."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

from sqlalchemy import select, update

from daemon.storage import holders, intake
from daemon.storage.database import Database
from daemon.storage.models import Holder, Inbound, InboundState
from tests.unit.conftest import Clock
from tests.unit.test_store import raw_mail


def _claimed_by(db: Database, holder_id: int, clock: Clock, n: int = 1) -> list[int]:
    ids = []
    for i in range(n):
        stored = intake.store(
            db, raw_mail(f"<h{holder_id}.{i}@x>"), intake.Envelope("main", clock())
        )
        ids.append(stored.inbound_id)
    with db.transaction() as session:
        session.execute(update(Inbound).where(Inbound.id.in_(ids)).values(holder_id=holder_id))
    return ids


def _holder_of(db: Database, inbound_id: int) -> int | None:
    with db.read() as session:
        return session.scalar(select(Inbound.holder_id).where(Inbound.id == inbound_id))


def test_a_dead_local_process_loses_its_claims_at_once(db: Database, clock: Clock) -> None:
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = holders.register(db, "test")
    with db.transaction() as session:
        session.get_one(Holder, dead).pid = int(child.stdout)
    [inbound] = _claimed_by(db, dead, clock)
    assert holders.reap(db, max_attempts=3) == [dead]
    assert _holder_of(db, inbound) is None
    with db.read() as session:
        row = session.get_one(Inbound, inbound)
        assert row.attempts == 1 and row.error and "died" in row.error
        assert session.get(Holder, dead) is None


def test_a_live_holder_is_never_reaped(db: Database, clock: Clock) -> None:
    me = holders.register(db, "test")
    [inbound] = _claimed_by(db, me, clock)
    with db.transaction() as session:  # even with an old heartbeat: we are alive, locally
        row = session.get_one(Holder, me)
        row.heartbeat_at = row.heartbeat_at - timedelta(hours=1)
    assert holders.reap(db, max_attempts=3) == []
    assert _holder_of(db, inbound) == me


def test_a_holder_on_another_host_is_dead_once_its_heartbeat_is_stale(
    db: Database, clock: Clock
) -> None:
    other = holders.register(db, "test")
    with db.transaction() as session:
        session.get_one(Holder, other).host = "elsewhere/boot"
    [inbound] = _claimed_by(db, other, clock)
    assert holders.reap(db, max_attempts=3) == []  # heartbeat fresh: alive
    with db.transaction() as session:
        row = session.get_one(Holder, other)
        row.heartbeat_at = row.heartbeat_at - holders.STALE - timedelta(seconds=1)
    assert holders.reap(db, max_attempts=3) == [other]
    assert _holder_of(db, inbound) is None


def test_a_mail_that_kills_its_process_each_time_is_set_aside(db: Database, clock: Clock) -> None:
    [inbound] = _claimed_by(db, holders.register(db, "test"), clock)
    for _ in range(3):
        holder = holders.register(db, "test")
        with db.transaction() as session:
            session.get_one(Holder, holder).pid = 2**22 + 7  # no such process
            session.get_one(Inbound, inbound).holder_id = holder
        holders.reap(db, max_attempts=3)
    with db.read() as session:
        assert session.get_one(Inbound, inbound).state == InboundState.QUARANTINED


def test_a_clean_stop_gives_claims_back_uncounted(db: Database, clock: Clock) -> None:
    me = holders.register(db, "test")
    [inbound] = _claimed_by(db, me, clock)
    assert holders.beat(db, me)
    holders.stop(db, me)
    assert not holders.beat(db, me)
    with db.read() as session:
        row = session.get_one(Inbound, inbound)
        assert (row.holder_id, row.attempts) == (None, 0)
