"""The jobs stage: run due jobs, each one's effects and its `done` mark in one transaction.

A handler gets the context (settings, composer), the session and the job, and does its work
there; it returns None when the job is done, or a later time at which it is due again (a check
that came early, a retry for later). If it raises, the transaction is rolled back, the attempt
and error are recorded apart, and the job is due again after a doubling delay, until
`max_attempts`, when it fails for good with an event. Each kind is one entry in `HANDLERS`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from daemon.config import Settings
from daemon.knowledge import opens, reviews
from daemon.mail.compose import Composer
from daemon.runners.base import Runner
from daemon.storage import events, jobs
from daemon.storage.database import Database
from daemon.storage.models import Inbound, InboundState, Job, JobState
from daemon.storage.setaside import release_one
from daemon.workflow import assignment, clocks, followups, team

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
FIRST_RETRY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class JobContext:
    settings: Settings
    composer: Composer


Handler = Callable[[JobContext, Session, Job, datetime], datetime | None]


def retry_quarantined(ctx: JobContext, session: Session, job: Job, now: datetime) -> None:
    """Give a quarantined mail one more try (a transient cause may have passed)."""
    inbound = session.get(Inbound, int(job.payload["inbound"]))
    if inbound is not None and inbound.state == InboundState.QUARANTINED:
        release_one(session, inbound, now=now, force_ticket=False, actor="system")


HANDLERS: dict[str, Handler] = {
    jobs.QUARANTINE_RETRY: retry_quarantined,
    jobs.SLA_CHECK: clocks.check,
    jobs.ASSIGN_RETRY: assignment.retry,
    jobs.ENGINEER_BACK: team.back_at_work,
    jobs.AUTO_CLOSE: followups.auto_close,
    jobs.SURVEY: followups.send_survey,
    jobs.PROGRESS_REMINDER: followups.remind,
    jobs.KB_REVIEW: reviews.remind,
    jobs.KB_OPENS: opens.read_logs,
}


class JobRunner(Runner[int]):
    name = "jobs"

    def __init__(
        self,
        db: Database,
        *,
        holder_id: int,
        clock: Clock,
        settings: Settings | None = None,
        max_attempts: int = 3,
    ) -> None:
        super().__init__(db, holder_id=holder_id, max_attempts=max_attempts)
        self.clock = clock
        settings = settings or Settings()
        self.context = JobContext(settings, Composer(settings))
        self.done = 0

    def claim(self) -> Sequence[int]:
        with self.db.transaction() as session:
            # site_build is runners/site.py's
            return jobs.claim_due(
                session, HANDLERS, holder_id=self.holder_id, now=self.clock(), limit=20
            )

    def handle(self, item: int) -> None:
        with self.db.transaction() as session:
            job = session.get(Job, item)
            if job is None or job.state != JobState.PENDING or job.holder_id != self.holder_id:
                return
            now = self.clock()
            again = HANDLERS[job.kind](self.context, session, job, now)
            job.holder_id = None
            if again is not None and again > now:
                job.due_at = again
                return
            job.state, job.done_at = JobState.DONE, now
        self.done += 1

    def failure(self, item: int, error: BaseException) -> None:
        now = self.clock()
        with self.db.transaction() as session:
            job = session.get_one(Job, item)
            job.attempts += 1
            job.last_error = f"{type(error).__name__}: {error}"
            job.holder_id = None
            if job.attempts < self.max_attempts:
                job.due_at = now + FIRST_RETRY * 2 ** (job.attempts - 1)
                return
            job.state, job.done_at = JobState.FAILED, now
            failed = events.JobFailed(
                job=job.id, job_kind=job.kind, attempts=job.attempts, error=job.last_error
            )
            events.record(
                session,
                failed,
                ticket_id=job.ticket_id,
                at=now,
                actor="system",
                cause=f"job:{item}",
            )

    def release(self, items: Sequence[int]) -> None:
        with self.db.transaction() as session:
            session.execute(
                update(Job)
                .where(Job.id.in_(items), Job.holder_id == self.holder_id)
                .values(holder_id=None)
            )
