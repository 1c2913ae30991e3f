"""Scheduled work as rows: nothing scheduled lives in memory, so timers survive restarts.

A job has a kind, an optional ticket, a due time, a JSON payload and a unique `key`: scheduling
is idempotent (a second `schedule` with the same key does nothing and says so), so code may
schedule freely, and several daemons share one queue (`daemon.runners.jobs` claims due jobs).
The kinds this code knows are the constants below; a runner handler exists for each.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from daemon.storage.models import Job, JobState

QUARANTINE_RETRY = "quarantine_retry"
KINDS = frozenset({QUARANTINE_RETRY})


def schedule(
    session: Session,
    *,
    kind: str,
    key: str,
    due_at: datetime,
    now: datetime,
    payload: dict[str, Any] | None = None,
    ticket_id: int | None = None,
) -> bool:
    """Add a job unless one with `key` exists (done or not); True if this call added it."""
    if kind not in KINDS:
        raise ValueError(f"unknown job kind {kind!r}")
    if session.scalar(select(Job.id).where(Job.key == key)) is not None:
        return False
    job = Job(
        kind=kind,
        key=key,
        ticket_id=ticket_id,
        due_at=due_at,
        payload=payload or {},
        state=JobState.PENDING,
        attempts=0,
        created_at=now,
    )
    try:
        with session.begin_nested():  # a savepoint: another process may add the same key now
            session.add(job)
    except IntegrityError:
        return False
    return True
