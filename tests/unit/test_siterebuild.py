"""The daemon's site rebuild, with a clock the test moves: changes ask for one debounced build,
the site runner builds it outside any transaction, a change during a build asks for one more,
and a failing build keeps the last good site while the runner goes on (both backends)."""

from __future__ import annotations

import json
import logging
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from daemon.knowledge import articles
from daemon.runners.jobs import JobRunner
from daemon.runners.site import Builder, SiteBuildError, SiteRunner, subprocess_build
from daemon.service import Daemon, rebuilds_site
from daemon.site import schedule
from daemon.storage import events, holders, jobs
from daemon.storage.database import Database
from daemon.storage.models import Event, Job, JobState
from tests.unit.conftest import Clock, make_settings
from tests.unit.test_sitebuild import listing, small_site

DEBOUNCE = timedelta(seconds=60)
NEVER = threading.Event()


def change(db: Database, clock: Clock, *, quiet: bool = False) -> None:
    """One committed transaction that records an event (one the site does not show if `quiet`)."""
    payload: events.Payload = (
        events.JobFailed(job=1, job_kind="survey", attempts=3, error="boom")
        if quiet
        else events.MailWithheld(mail="notice", to=["cy@cust.test"])
    )
    with db.transaction() as session:
        events.record(session, payload, ticket_id=None, at=clock(), actor="system", cause="test")


def site_jobs(db: Database) -> list[Job]:
    with db.read() as session:
        found = list(session.scalars(select(Job).where(Job.kind == jobs.SITE_BUILD)))
        session.expunge_all()
        return found


def runner(db: Database, clock: Clock, builder: Builder) -> SiteRunner:
    holder = holders.register(db, "test")
    return SiteRunner(db, builder, holder_id=holder, clock=clock, max_attempts=2)


def test_a_burst_of_changes_asks_for_one_build_due_a_debounce_after_the_first(
    db: Database, clock: Clock
) -> None:
    schedule.watch(db, debounce=DEBOUNCE, clock=clock)
    first = clock()
    for _ in range(5):
        change(db, clock)
        clock.advance(seconds=10)
    [job] = site_jobs(db)
    assert (job.key, job.state, job.due_at) == (schedule.KEY, JobState.PENDING, first + DEBOUNCE)
    with pytest.raises(RuntimeError), db.transaction() as session:  # rolled back: no request
        session.execute(select(func.count()).select_from(Event))
        raise RuntimeError
    assert len(site_jobs(db)) == 1


def test_a_quiet_event_or_a_rolled_back_change_asks_for_nothing(db: Database, clock: Clock) -> None:
    schedule.watch(db, debounce=DEBOUNCE, clock=clock)
    change(db, clock, quiet=True)
    with pytest.raises(RuntimeError), db.transaction() as session:
        payload = events.MailWithheld(mail="notice", to=["cy@cust.test"])
        events.record(session, payload, ticket_id=None, at=clock(), actor="system", cause="t")
        session.flush()
        raise RuntimeError
    assert site_jobs(db) == []
    change(db, clock)
    assert len(site_jobs(db)) == 1


def test_an_article_written_or_changed_asks_for_a_build(db: Database, clock: Clock) -> None:
    schedule.watch(db, debounce=DEBOUNCE, clock=clock)
    with db.transaction() as session:
        draft = articles.create_draft(
            session,
            title="VPN drops",
            body="## Symptom\n\nIt drops.\n",
            owner="eve@desk.test",
            module=None,
            tags=[],
            ticket_id=None,
            now=clock(),
        )
    [job] = site_jobs(db)
    assert job.due_at == clock() + DEBOUNCE
    with db.transaction() as session:  # the build done, an edit asks again
        session.execute(update(Job).values(state=JobState.DONE))
    clock.advance(minutes=5)
    with db.transaction() as session:
        articles.publish(session, draft.id, now=clock())
    [job] = site_jobs(db)
    assert (job.state, job.due_at) == (JobState.PENDING, clock() + DEBOUNCE)


def test_the_jobs_runner_leaves_a_site_build_to_the_site_runner(db: Database, clock: Clock) -> None:
    schedule.watch(db, debounce=DEBOUNCE, clock=clock)
    change(db, clock)
    clock.advance(minutes=2)
    holder = holders.register(db, "test")
    assert JobRunner(db, holder_id=holder, clock=clock).run_pass(NEVER) == 0
    assert [job.state for job in site_jobs(db)] == [JobState.PENDING]


def test_a_change_during_a_build_asks_for_one_more_build_after_it(
    db: Database, clock: Clock
) -> None:
    schedule.watch(db, debounce=DEBOUNCE, clock=clock)
    calls: list[str] = []

    def build() -> str:
        calls.append(clock().isoformat())
        if len(calls) == 1:  # a mail arrives while the site is being built
            change(db, clock)
        return '{"pages": 3}'

    change(db, clock)
    site = runner(db, clock, build)
    assert site.run_pass(NEVER) == 0  # not due yet
    clock.advance(seconds=60)
    assert site.run_pass(NEVER) == 1 and len(calls) == 1
    [job] = site_jobs(db)
    assert (job.state, job.due_at, job.holder_id) == (JobState.PENDING, clock() + DEBOUNCE, None)
    clock.advance(seconds=60)
    assert site.run_pass(NEVER) == 1 and len(calls) == 2
    [job] = site_jobs(db)
    assert (job.state, job.done_at) == (JobState.DONE, clock())
    change(db, clock)  # the next change reuses the row
    [job] = site_jobs(db)
    assert (job.state, job.due_at, job.attempts) == (JobState.PENDING, clock() + DEBOUNCE, 0)
    assert site.built == ['{"pages": 3}'] * 2


def site_config(tmp_path: Path, db: Database, out: Path) -> Path:
    """A config whose site is a one-page MkDocs project (quick to build in a child process),
    with both parts: public to `out`, internal beside it."""
    mkdocs = small_site(tmp_path / "src")
    path = tmp_path / "site.toml"
    path.write_text(
        f'[database]\nurl = "{db.url}"\n\n[site]\nmkdocs = "{mkdocs}"\nout = "{out}"\n'
        f'internal_out = "{out.with_name("internal")}"\n',
        encoding="utf-8",
    )
    return path


def job_failures(db: Database) -> list[Event]:
    with db.read() as session:
        found = list(session.scalars(select(Event).where(Event.kind == "job_failed")))
        session.expunge_all()
        return found


def test_the_build_job_swaps_a_site_in_and_a_failing_build_keeps_it_while_the_runner_goes_on(
    tmp_path: Path, db: Database, clock: Clock
) -> None:
    out = tmp_path / "out"
    schedule.watch(db, debounce=DEBOUNCE, clock=clock)
    site = runner(db, clock, subprocess_build(site_config(tmp_path, db, out)))
    change(db, clock)
    clock.advance(seconds=60)
    assert site.run_pass(NEVER) == 1
    built = [json.loads(line) for line in site.built[0].splitlines()]
    assert [(one["part"], one["out"]) for one in built] == [
        ("public", str(out)),
        ("internal", str(tmp_path / "internal")),
    ]
    assert (out / "index.html").is_file() and (tmp_path / "internal" / "index.html").is_file()
    assert [job.state for job in site_jobs(db)] == [JobState.DONE]
    good = listing(out)

    small_site(tmp_path / "src", broken=True)  # a link to a missing page: a strict build fails
    change(db, clock)
    for _ in range(2):  # max_attempts: retried once, then failed for good
        clock.advance(minutes=2)
        assert site.run_pass(NEVER) == 1
    [job] = site_jobs(db)
    assert job.state == JobState.FAILED and job.attempts == 2
    assert job.last_error is not None and "SiteBuildError" in job.last_error
    assert "strict" in job.last_error
    [failed] = job_failures(db)
    assert failed.data["job_kind"] == jobs.SITE_BUILD
    assert listing(out) == good  # the last good site, untouched
    assert [job.state for job in site_jobs(db)] == [JobState.FAILED]  # its event asked nothing

    small_site(tmp_path / "src")
    (tmp_path / "src" / "docs" / "more.md").write_text("# More\n", encoding="utf-8")
    change(db, clock)  # the next change tries again
    clock.advance(seconds=60)
    assert site.run_pass(NEVER) == 1
    assert (out / "more.html").is_file() or (out / "more" / "index.html").is_file()
    assert [job.state for job in site_jobs(db)] == [JobState.DONE]


def test_a_build_that_hangs_is_stopped(tmp_path: Path) -> None:
    hang = tmp_path / "hang.toml"
    hang.write_text("", encoding="utf-8")
    with pytest.raises(SiteBuildError, match="took over"):
        subprocess_build(hang, timeout=0.01)()


def test_of_two_daemons_on_one_database_only_one_builds(db: Database, clock: Clock) -> None:
    schedule.watch(db, debounce=DEBOUNCE, clock=clock)
    during: list[int] = []

    def build() -> str:
        during.append(other.run_pass(NEVER))  # the other daemon looks while this one builds
        return "{}"

    other = runner(db, clock, build)
    first = runner(db, clock, build)
    change(db, clock)
    clock.advance(seconds=60)
    assert first.run_pass(NEVER) == 1
    assert during == [0] and len(first.built) == 1 and other.built == []
    assert [job.state for job in site_jobs(db)] == [JobState.DONE]


def test_the_daemon_rebuilds_only_when_told_where_and_not_turned_off(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'd.db'}"
    assert not rebuilds_site(make_settings(tmp_path, url))
    assert rebuilds_site(make_settings(tmp_path, url, site={"out": "public"}))
    assert not rebuilds_site(make_settings(tmp_path, url, site={"out": "public", "debounce": 0}))
    settings = make_settings(tmp_path, url, site={"out": "public", "debounce": 5})
    assert settings.site.out == tmp_path / "public" and settings.site.debounce == 5
    database = Database(url)
    try:
        stages = Daemon(settings, database, sources=[]).stages(holder_id=1)
    finally:
        database.dispose()
    assert stages.site is not None and stages.site.name == "site"


def test_run_once_builds_a_due_site_and_drain_never_does(
    tmp_path: Path, db: Database, clock: Clock
) -> None:
    settings = make_settings(tmp_path, db.url, site={"out": "public", "debounce": 60})
    calls: list[str] = []

    def build() -> str:
        calls.append("b")
        return "{}"

    daemon = Daemon(settings, db, clock=clock, sources=[], site_builder=build)
    change(db, clock)
    clock.advance(seconds=59)
    assert daemon.run_once().site_built == 0  # not a debounce old yet
    clock.advance(seconds=1)
    daemon.drain()  # what `ingest --process` runs: no build, however due
    assert calls == []
    assert daemon.run_once().site_built == 1 and calls == ["b"]


def test_the_builds_warnings_reach_the_daemons_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("# Home\n\n[gone](gone.md)\n", encoding="utf-8")
    mkdocs = tmp_path / "mkdocs.yml"
    mkdocs.write_text("site_name: lax\ntheme:\n  name: mkdocs\n", encoding="utf-8")  # not strict
    config = tmp_path / "lax.toml"
    config.write_text(f'[site]\nmkdocs = "{mkdocs}"\nout = "{tmp_path / "out"}"\n')
    with caplog.at_level(logging.WARNING, logger="daemon.runners.site"):
        report = subprocess_build(config)()
    assert json.loads(report)["out"] == str(tmp_path / "out")
    assert any("site build:" in m and "gone.md" in m for m in caplog.messages), caplog.messages
