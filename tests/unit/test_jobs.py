"""Jobs are rows: scheduled once per key, run when due by any holder, retried, then failed."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import select

from daemon.runners import jobs as job_runner
from daemon.runners.jobs import JobRunner
from daemon.storage import holders, intake, jobs
from daemon.storage.database import Database
from daemon.storage.models import Event, Inbound, InboundState, Job, JobState
from tests.unit.conftest import Clock, make_settings, process


def run_jobs(db: Database, clock: Clock) -> int:
    holder = holders.register(db, "test")
    try:
        runner = JobRunner(db, holder_id=holder, clock=clock)
        runner.run_pass(threading.Event())
        return runner.done
    finally:
        holders.stop(db, holder)


def test_scheduling_is_idempotent_by_key(db: Database, clock: Clock) -> None:
    with db.transaction() as session:
        first = jobs.schedule(
            session,
            kind=jobs.QUARANTINE_RETRY,
            key="k1",
            due_at=clock(),
            now=clock(),
            payload={"inbound": 1},
        )
        again = jobs.schedule(
            session,
            kind=jobs.QUARANTINE_RETRY,
            key="k1",
            due_at=clock(),
            now=clock(),
            payload={"inbound": 1},
        )
    assert (first, again) == (True, False)
    with db.read() as session:
        assert len(session.scalars(select(Job)).all()) == 1


def test_a_quarantined_mail_is_retried_once_after_the_delay(
    tmp_path: Path, db: Database, clock: Clock
) -> None:
    settings = make_settings(tmp_path, db.url, runners={"quarantine_retry_seconds": 600})
    bad = intake.store(db, b"\x00\x01 not a mail", intake.Envelope("main", clock())).inbound_id
    [outcome] = process(settings, db, clock)
    assert outcome.action == "quarantined"
    assert run_jobs(db, clock) == 0  # not due yet
    clock.advance(seconds=601)
    assert run_jobs(db, clock) == 1
    with db.read() as session:
        assert session.get_one(Inbound, bad).state == InboundState.STORED
    [again] = process(settings, db, clock)
    assert again.action == "quarantined"
    clock.advance(days=1)
    assert run_jobs(db, clock) == 0  # once only: the key is taken
    with db.read() as session:
        released = session.scalars(select(Event).where(Event.kind == "inbound_released")).all()
        assert len(released) == 1 and released[0].actor == "system"


def test_a_failing_job_backs_off_then_fails_with_an_event(db: Database, clock: Clock) -> None:
    def broken(*_args: object) -> None:
        raise RuntimeError("boom")

    job_runner.HANDLERS["test_broken"] = broken
    try:
        with db.transaction() as session:
            session.add(
                Job(
                    kind="test_broken",
                    key="b1",
                    due_at=clock(),
                    payload={},
                    state=JobState.PENDING,
                    attempts=0,
                    created_at=clock(),
                )
            )
        for _ in range(3):
            run_jobs(db, clock)
            clock.advance(hours=1)
        with db.read() as session:
            job = session.scalars(select(Job)).one()
            assert (job.state, job.attempts) == (JobState.FAILED, 3)
            assert job.last_error == "RuntimeError: boom"
            assert session.scalars(select(Event).where(Event.kind == "job_failed")).one()
    finally:
        del job_runner.HANDLERS["test_broken"]


def test_every_job_kind_that_can_be_scheduled_has_a_handler() -> None:
    # a site build has a runner of its own (daemon/runners/site.py), outside any transaction
    assert set(job_runner.HANDLERS) == jobs.KINDS - {jobs.SITE_BUILD}
