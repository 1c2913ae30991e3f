"""Scheduled work as rows: nothing scheduled lives in memory, so timers survive restarts.

A job has a kind, an optional ticket, a due time, a JSON payload and a unique `key`: scheduling
is idempotent (a second `schedule` with the same key does nothing and says so), so code may
schedule freely, and several daemons share one queue (`daemon.runners.jobs` claims due jobs).
The kinds this code knows are the constants below; a runner handler exists for each.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from daemon.storage.models import Job, JobState

QUARANTINE_RETRY = "quarantine_retry"
SLA_CHECK = "sla_check"
ASSIGN_RETRY = "assign_retry"
ENGINEER_BACK = "engineer_back"
AUTO_CLOSE = "auto_close"
SURVEY = "survey"
PROGRESS_REMINDER = "progress_reminder"
SITE_BUILD = "site_build"  # one row, key `site_build`: see daemon.site.schedule
KB_REVIEW = "kb_review"  # one per article and review period: see daemon.knowledge.reviews
KB_OPENS = "kb_opens"  # one row, key `kb_opens`, re-armed: see daemon.knowledge.opens
KINDS = frozenset(
    {
        QUARANTINE_RETRY,
        SLA_CHECK,
        ASSIGN_RETRY,
        ENGINEER_BACK,
        AUTO_CLOSE,
        SURVEY,
        PROGRESS_REMINDER,
        SITE_BUILD,
        KB_REVIEW,
        KB_OPENS,
    }
)


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


def cancel(
    session: Session, *, kind: str, ticket_id: int, now: datetime, why: str, **payload: Any
) -> int:
    """Cancel the pending jobs of `kind` on a ticket (whose payload has these values)."""
    pending = session.scalars(
        select(Job).where(
            Job.kind == kind, Job.ticket_id == ticket_id, Job.state == JobState.PENDING
        )
    ).all()
    count = 0
    for job in pending:
        if all(job.payload.get(k) == v for k, v in payload.items()):
            job.state, job.done_at, job.last_error, job.holder_id = (
                JobState.CANCELLED,
                now,
                why,
                None,
            )
            count += 1
    return count


def cancel_all(session: Session, *, kind: str, ticket_id: int, now: datetime, why: str) -> None:
    session.execute(
        update(Job)
        .where(Job.kind == kind, Job.ticket_id == ticket_id, Job.state == JobState.PENDING)
        .values(state=JobState.CANCELLED, done_at=now, last_error=why, holder_id=None)
    )


def claim_due(
    session: Session, kinds: Collection[str], *, holder_id: int, now: datetime, limit: int
) -> list[int]:
    """Up to `limit` pending jobs of these kinds that are due, oldest first, marked as this
    holder's: free ones and its own (a restart reclaims what it held). Rows another daemon is
    claiming at the same moment are skipped, not waited for (PostgreSQL's SKIP LOCKED)."""
    ids = list(
        session.scalars(
            select(Job.id)
            .where(
                Job.kind.in_(kinds),
                Job.state == JobState.PENDING,
                Job.due_at <= now,
                or_(Job.holder_id.is_(None), Job.holder_id == holder_id),
            )
            .order_by(Job.due_at, Job.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if ids:
        session.execute(update(Job).where(Job.id.in_(ids)).values(holder_id=holder_id))
    return ids
