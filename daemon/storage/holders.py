"""Who holds claimed work, whether they are still alive, and taking work back from the dead.

A process that claims rows (inbound mail, outbox mail, jobs) first registers as a `Holder`: its
host (hostname and boot id), pid, the kernel's start time of that pid, and a heartbeat it renews
every couple of seconds. A claim is `holder_id = <me>` on the row. A holder is dead when:

- it stopped (a clean exit releases its claims itself);
- it ran on this host and its pid is gone, or now belongs to a younger process: known at once;
- it ran on another host and its heartbeat is older than `STALE` (ten seconds by default).

`reap()` gives a dead holder's claims back (an inbound mail it was handling counts one attempt,
"process died while handling it", so a mail that kills the process every time is set aside) and
deletes the holder. A live holder's rows are never taken. Liveness uses the wall clock, never the
desk's injected clock: it is about processes, not about tickets.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from daemon.storage.database import Database
from daemon.storage.models import Holder, Inbound, InboundState, Job, Outbox

log = logging.getLogger(__name__)
STALE = timedelta(seconds=10)
HEARTBEAT_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class Identity:
    host: str
    pid: int
    process_start: int


def now() -> datetime:
    return datetime.now(UTC)


def this_process() -> Identity:
    return Identity(_host(), os.getpid(), process_start(os.getpid()) or 0)


def process_start(pid: int) -> int | None:
    """The kernel's start time of `pid` in clock ticks since boot; None if there is no such pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:
        return 0
    fields = stat.rpartition(")")[2].split()
    return int(fields[19]) if len(fields) > 19 else 0


def register(db: Database, role: str) -> int:
    me = this_process()
    at = now()
    with db.transaction() as session:
        holder = Holder(
            host=me.host,
            pid=me.pid,
            process_start=me.process_start,
            role=role,
            started_at=at,
            heartbeat_at=at,
        )
        session.add(holder)
        session.flush()
        return holder.id


def beat(db: Database, holder_id: int) -> bool:
    """Renew the heartbeat; False if the holder was reaped (its claims are no longer ours)."""
    with db.transaction() as session:
        result = session.execute(
            update(Holder).where(Holder.id == holder_id).values(heartbeat_at=now())
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def stop(db: Database, holder_id: int) -> None:
    """A clean exit: give back every claim (nothing counted) and remove the holder."""
    with db.transaction() as session:
        _release(session, [holder_id], died=False)
        session.execute(delete(Holder).where(Holder.id == holder_id))


def reap(db: Database, *, max_attempts: int, stale: timedelta = STALE) -> list[int]:
    """Release the claims of every dead holder; returns the ids of the holders reaped."""
    me = this_process()
    with db.read() as session:
        holders = session.scalars(select(Holder)).all()
    dead = [h.id for h in holders if _dead(h, me, now() - stale)]
    if not dead:
        return []
    with db.transaction() as session:
        _release(session, dead, died=True)
        session.execute(
            update(Inbound)
            .where(
                Inbound.state == InboundState.STORED,
                Inbound.holder_id.is_(None),
                Inbound.attempts >= max_attempts,
            )
            .values(state=InboundState.QUARANTINED, processed_at=now())
        )
        session.execute(delete(Holder).where(Holder.id.in_(dead)))
    log.warning("took back the work of %d holder(s) that are gone: %s", len(dead), dead)
    return dead


def _release(session: Session, holder_ids: list[int], *, died: bool) -> None:
    """Claims back to nobody; a mail whose process died while handling it counts an attempt."""
    if died:
        session.execute(
            update(Inbound)
            .where(Inbound.holder_id.in_(holder_ids), Inbound.state == InboundState.STORED)
            .values(attempts=Inbound.attempts + 1, error="the process handling this mail died")
        )
    for table in (Inbound, Outbox, Job):
        session.execute(update(table).where(table.holder_id.in_(holder_ids)).values(holder_id=None))


def _dead(holder: Holder, me: Identity, stale_before: datetime) -> bool:
    if holder.stopped_at is not None:
        return True
    if holder.host != me.host:
        return holder.heartbeat_at < stale_before
    if holder.pid == me.pid and holder.process_start == me.process_start:
        return False
    started = process_start(holder.pid)
    if started is None:
        return True
    if started == 0 or holder.process_start == 0:  # no /proc: fall back on the heartbeat
        return holder.heartbeat_at < stale_before
    return started != holder.process_start


def _host() -> str:
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()[:36]
    except OSError:
        boot = ""
    return f"{socket.gethostname()[:200]}/{boot}" if boot else socket.gethostname()[:255]
