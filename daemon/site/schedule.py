"""Rebuilds asked for where changes are committed: one `site_build` job row, at most one pending.

The site shows what the event log and the articles hold, so a write transaction that added an
event (of any kind but `QUIET_KINDS`) or added or changed an article asks, just before it
commits, for a build due `debounce` later (`watch` hooks the database's write sessions;
`request` is what the hook does). Nothing is built here: the hook reads one row by its key and,
at most, writes it. Changes that follow join the pending build without moving it, so a steady
stream of mail still gets a site at most `debounce` old.

The row (key `site_build`) is reused, so the jobs table does not grow by a row per build:

- no row: one is added, due at `now + debounce`;
- pending and not claimed: nothing to do (the common case during a burst);
- pending and claimed (a build is running, and may have read the database before this change):
  marked `again`, so the runner leaves it pending, due at `now + debounce`, after that build;
- done, failed or cancelled: made pending again, attempts reset.

A request takes part in the transaction it rides on: rolled back, it is gone with the change.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from daemon.storage import jobs
from daemon.storage.database import Database
from daemon.storage.models import Job, JobState

KEY = "site_build"
QUIET_KINDS = frozenset({"job_failed"})
"""Events the site does not show; a failed build's own event must not ask for another build."""
WATCHED_TABLES = frozenset({"events", "articles"})
CHANGED = "replydesk_site_changed"  # the session.info flag set when such a row is flushed
Clock = Callable[[], datetime]


def request(session: Session, *, now: datetime, debounce: timedelta) -> bool:
    """Ask for a build due `now + debounce`; True if this call wrote the job row.

    Each write is conditional on the state just read; when another transaction changed the row
    in between (a runner finishing, a second daemon), the row is read again.
    """
    due = now + debounce
    for _ in range(3):
        row = session.execute(
            select(Job.id, Job.state, Job.holder_id, Job.payload).where(Job.key == KEY)
        ).first()
        if row is None:
            if jobs.schedule(session, kind=jobs.SITE_BUILD, key=KEY, due_at=due, now=now):
                return True
            continue
        if row.state == JobState.PENDING:
            if row.holder_id is None or row.payload.get("again"):
                return False
            values: dict[str, Any] = {"payload": {"again": True}, "due_at": due}
        else:
            values = {
                "state": JobState.PENDING,
                "due_at": due,
                "attempts": 0,
                "last_error": None,
                "done_at": None,
                "holder_id": None,
                "payload": {},
            }
        written = session.execute(
            update(Job)
            .where(Job.id == row.id, Job.state == row.state, _same_holder(row.holder_id))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if getattr(written, "rowcount", 0) == 1:
            return True
    return False


def _same_holder(holder_id: int | None) -> Any:
    return Job.holder_id.is_(None) if holder_id is None else Job.holder_id == holder_id


def watch(db: Database, *, debounce: timedelta, clock: Clock) -> None:
    """Make every write transaction of `db` that changes what the site shows ask for a build."""

    def flushing(session: Session, _context: object, _instances: object) -> None:
        dirty = (row for row in session.dirty if session.is_modified(row))  # not set-to-same
        if not session.info.get(CHANGED) and any(
            _shown(row) for row in (*session.new, *dirty, *session.deleted)
        ):
            session.info[CHANGED] = True

    def committing(session: Session) -> None:
        session.flush()  # what is still pending counts too
        if session.info.pop(CHANGED, False):
            request(session, now=clock(), debounce=debounce)

    db.on_write("before_flush", flushing)
    db.on_write("before_commit", committing)


def _shown(row: object) -> bool:
    table = getattr(row, "__tablename__", None)
    if table not in WATCHED_TABLES:
        return False
    return table != "events" or getattr(row, "kind", None) not in QUIET_KINDS
