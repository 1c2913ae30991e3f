"""The `kb_opens` job reads the access logs into `kb_opened` events (both backends): new whole
lines once, a rotated or truncated file from its start, a missing file skipped with a log line,
and whatever a stranger put in a request never stops it."""

from __future__ import annotations

import logging
import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from daemon.config import Settings
from daemon.knowledge import opens
from daemon.runners.jobs import JobRunner
from daemon.storage import holders, jobs
from daemon.storage.database import Database
from daemon.storage.models import Article, Event, Job, JobState
from parsers.access_log import combined_line
from tests.unit.conftest import Clock, make_settings

BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
READ_AT = datetime(2026, 11, 2, 8, 40, tzinfo=UTC)


def line(target: str, *, status: int = 200, agent: str = BROWSER, method: str = "GET") -> str:
    return combined_line(
        client="203.0.113.9",
        at=READ_AT,
        request=f"{method} {target} HTTP/1.1",
        status=status,
        size="512",
        referer="-",
        agent=agent,
    )


def add_article(db: Database, clock: Clock, *, path: str | None, slug: str, status: str) -> int:
    with db.transaction() as session:
        article = Article(
            path=path, slug=slug, title=slug, body="x", owner="eve@desk.test", module=None,
            tags=[], tickets=[], status=status, reviewed_at=clock(), review_days=180,
            created_at=clock(), updated_at=clock(),
        )  # fmt: skip
        session.add(article)
        session.flush()
        return article.id


def run_jobs(db: Database, clock: Clock, settings: Settings) -> None:
    holder = holders.register(db, "test")
    try:
        JobRunner(db, holder_id=holder, clock=clock, settings=settings).run_pass(threading.Event())
    finally:
        holders.stop(db, holder)


def opened(db: Database) -> list[tuple[int, int, int]]:
    with db.read() as session:
        found = session.scalars(select(Event).where(Event.kind == "kb_opened").order_by(Event.id))
        return [(e.data["article"], e.data["count"], e.data["from_mail"]) for e in found]


def the_job(db: Database) -> Job:
    with db.read() as session:
        job = session.scalars(select(Job).where(Job.kind == jobs.KB_OPENS)).one()
        session.expunge(job)
        return job


@pytest.fixture
def desk(tmp_path: Path, db_url: str) -> Settings:
    return make_settings(
        tmp_path,
        db_url,
        site={"public_url": "https://help.desk.test/support", "access_logs": ["access.log"]},
    )


def log_of(desk: Settings) -> Path:
    [path] = desk.site.access_logs
    return path


@pytest.fixture
def articles(db: Database, clock: Clock) -> dict[str, int]:
    return {
        "file": add_article(db, clock, path="kb/vpn.md", slug="vpn", status="published"),
        "mail": add_article(db, clock, path=None, slug="printer", status="published"),
        "draft": add_article(db, clock, path=None, slug="draft", status="draft"),
    }


def test_new_whole_lines_are_counted_once_per_article_and_hour(
    db: Database, desk: Settings, clock: Clock, articles: dict[str, int]
) -> None:
    log_file = log_of(desk)
    mail = articles["mail"]
    log_file.write_text(
        line("/support/kb/vpn/?from=mail")
        + line("/support/kb/vpn/index.html")
        + line(f"/support/kb/{mail}-printer/")
        + line(f"/support/kb/{articles['draft']}-draft/")  # not on the site
        + line("/support/kb/vpn/", agent="Googlebot/2.1")
        + line("/support/kb/vpn/", status=404)
        + "not a log line at all\n"
        + line("/support/kb/vpn/?from=mail").rstrip("\n"),  # half written: waits
        encoding="utf-8",
    )
    opens.arm(db, desk, now=clock())
    run_jobs(db, clock, desk)
    assert sorted(opened(db)) == sorted([(articles["file"], 2, 1), (mail, 1, 0)])
    job = the_job(db)
    assert job.state == JobState.PENDING
    assert job.due_at == clock() + timedelta(seconds=desk.site.access_log_every)
    assert job.payload["files"][str(log_file)]["inode"] == os.stat(log_file).st_ino

    with log_file.open("a", encoding="utf-8") as more:
        more.write("\n" + line(f"/support/kb/{mail}-printer/?from=mail"))
    clock.advance(seconds=desk.site.access_log_every)
    run_jobs(db, clock, desk)
    assert opened(db)[2:] == [(articles["file"], 1, 1), (mail, 1, 1)]  # only the new lines
    clock.advance(seconds=desk.site.access_log_every)
    run_jobs(db, clock, desk)
    assert len(opened(db)) == 4  # nothing new, nothing counted again


@pytest.mark.parametrize("how", ["rename", "truncate"])
def test_a_rotated_or_truncated_log_is_read_from_its_start(
    db: Database,
    desk: Settings,
    clock: Clock,
    articles: dict[str, int],
    how: str,
) -> None:
    log_file = log_of(desk)
    log_file.write_text(line("/support/kb/vpn/") * 3, encoding="utf-8")
    opens.arm(db, desk, now=clock())
    run_jobs(db, clock, desk)
    if how == "rename":  # logrotate's default: the old file moved away, a new one begun
        log_file.rename(log_file.with_suffix(".log.1"))
        log_file.write_text(line("/support/kb/vpn/"), encoding="utf-8")
    else:  # copytruncate: the same file, emptied, then written again
        with log_file.open("r+", encoding="utf-8") as same:
            same.truncate(0)
        log_file.write_text(line("/support/kb/vpn/"), encoding="utf-8")
    clock.advance(seconds=desk.site.access_log_every)
    run_jobs(db, clock, desk)
    assert opened(db) == [(articles["file"], 3, 0), (articles["file"], 1, 0)]


def test_a_missing_log_is_logged_and_the_others_still_read(
    tmp_path: Path, db_url: str, db: Database, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(tmp_path, db_url, site={"access_logs": ["gone.log", "here.log"]})
    article = add_article(db, clock, path="kb/vpn.md", slug="vpn", status="published")
    (tmp_path / "here.log").write_text(line("/kb/vpn/"), encoding="utf-8")
    opens.arm(db, settings, now=clock())
    with caplog.at_level(logging.WARNING, logger="daemon.knowledge.opens"):
        run_jobs(db, clock, settings)
    assert "access log not read" in caplog.text and "gone.log" in caplog.text
    assert opened(db) == [(article, 1, 0)]
    assert the_job(db).state == JobState.PENDING  # it goes on, and reads gone.log when it comes


def test_hostile_bytes_in_the_log_are_skipped_and_the_rest_counted(
    db: Database, desk: Settings, clock: Clock, articles: dict[str, int]
) -> None:
    log_file = log_of(desk)
    hostile = [
        b"\x00" * 300 + b"\n",
        b"\xff\xfe\xfa not utf-8 \x80\n",
        line("/support/kb/vpn/\x00<script>").encode(),
        line("/support/kb/vpn/", agent="'; DROP TABLE events; --\x00").encode(),
        b"x" * 100_000 + b"\n",
        line("/support/kb/%00%ff/").encode(),
    ]
    log_file.write_bytes(b"".join(hostile) + line("/support/kb/vpn/").encode())
    opens.arm(db, desk, now=clock())
    run_jobs(db, clock, desk)
    # The agent with NUL and SQL is a person's as far as the log says; it counts as a reading,
    # and nothing of it is stored: an event holds numbers only.
    assert opened(db) == [(articles["file"], 2, 0)]
    assert the_job(db).last_error is None


def test_arming_is_idempotent_revives_a_failed_job_and_needs_access_logs(
    tmp_path: Path, db_url: str, db: Database, desk: Settings, clock: Clock
) -> None:
    opens.arm(db, make_settings(tmp_path, db_url), now=clock())
    with db.read() as session:
        assert session.scalars(select(Job).where(Job.kind == jobs.KB_OPENS)).all() == []
    opens.arm(db, desk, now=clock())
    opens.arm(db, desk, now=clock())
    with db.transaction() as session:
        [job] = session.scalars(select(Job).where(Job.kind == jobs.KB_OPENS)).all()
        job.state, job.attempts, job.payload = JobState.FAILED, 3, {"files": {"a": {"offset": 9}}}
    clock.advance(minutes=1)
    opens.arm(db, desk, now=clock())
    job = the_job(db)
    assert (job.state, job.attempts, job.due_at) == (JobState.PENDING, 0, clock())
    assert job.payload == {"files": {"a": {"offset": 9}}}  # its cursors kept


def test_the_job_ends_when_the_desk_no_longer_names_access_logs(
    tmp_path: Path, db_url: str, db: Database, desk: Settings, clock: Clock
) -> None:
    opens.arm(db, desk, now=clock())
    run_jobs(db, clock, make_settings(tmp_path, db_url))
    assert the_job(db).state == JobState.DONE


def test_more_than_a_chunk_is_read_in_runs_a_second_apart(
    db: Database,
    desk: Settings,
    clock: Clock,
    articles: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log_file = log_of(desk)
    one = line("/support/kb/vpn/")
    monkeypatch.setattr(opens, "CHUNK", len(one) * 2 + 10)
    log_file.write_text(one * 5, encoding="utf-8")
    opens.arm(db, desk, now=clock())
    seen: list[Any] = []
    for _ in range(3):
        run_jobs(db, clock, desk)
        seen.append(sum(count for _, count, _ in opened(db)))
        clock.advance(seconds=1)
    assert seen == [2, 4, 5]
