"""The daemon numbers the site's article files: at start-up and before each site build, with
their review reminders scheduled; a sync that changes nothing asks for no build, and a broken
mkdocs.yml or article file is logged and never stops the daemon (both backends)."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from daemon.knowledge import sync
from daemon.runners.site import SiteRunner
from daemon.service import Daemon
from daemon.site import schedule
from daemon.storage import holders, jobs
from daemon.storage.database import Database
from daemon.storage.models import Article, Job
from tests.unit.conftest import Clock, make_settings

ARTICLE = """---
title: VPN drops every hour
owner: eve@desk.test
module: network
status: {status}
reviewed_at: 2026-01-05
---
## Symptom

The tunnel drops.

## Environment

Any.

## Cause

A lease.

## Resolution

Renew it.

## Related tickets

None.
"""


def docs(tmp_path: Path, *, status: str = "published") -> Path:
    """A mkdocs.yml with a docs folder holding one article file."""
    folder = tmp_path / "src" / "pages" / "kb"
    folder.mkdir(parents=True)
    (folder / "index.md").write_text("# Knowledge base\n", encoding="utf-8")
    (folder / "vpn.md").write_text(ARTICLE.format(status=status), encoding="utf-8")
    mkdocs = tmp_path / "src" / "mkdocs.yml"
    mkdocs.write_text("site_name: t\ndocs_dir: pages\n", encoding="utf-8")
    return mkdocs


def rows(db: Database) -> list[tuple[str | None, str]]:
    with db.read() as session:
        return [(a.path, a.status) for a in session.scalars(select(Article))]


def reminders(db: Database) -> int:
    with db.read() as session:
        return len(session.scalars(select(Job).where(Job.kind == jobs.KB_REVIEW)).all())


def test_start_up_numbers_the_article_files_and_schedules_their_reminders(
    tmp_path: Path, db_url: str, clock: Clock
) -> None:
    settings = make_settings(tmp_path, db_url, site={"mkdocs": str(docs(tmp_path))})
    desk = Daemon(settings, Database(db_url), clock=clock, sources=[])
    desk.start()
    assert rows(desk.db) == [("kb/vpn.md", "published")]
    assert reminders(desk.db) == 1
    desk.start()  # again: nothing new
    assert rows(desk.db) == [("kb/vpn.md", "published")]
    assert reminders(desk.db) == 1


def test_each_build_syncs_first_and_an_unchanged_sync_asks_for_no_more_builds(
    tmp_path: Path, db_url: str, clock: Clock
) -> None:
    mkdocs = docs(tmp_path, status="draft")
    settings = make_settings(tmp_path, db_url, site={"mkdocs": str(mkdocs)})
    db = Database(db_url)
    db.upgrade()
    schedule.watch(db, debounce=timedelta(seconds=60), clock=clock)
    seen: list[list[tuple[str | None, str]]] = []

    def builder() -> str:
        seen.append(rows(db))
        return '{"pages": 1}'

    site = SiteRunner(
        db,
        builder,
        holder_id=holders.register(db, "test"),
        clock=clock,
        before_build=lambda: sync.sync(db, settings, now=clock()),
    )
    with db.transaction() as session:
        schedule.request(session, now=clock(), debounce=timedelta(0))
    article = mkdocs.parent / "pages" / "kb" / "vpn.md"
    article.write_text(ARTICLE.format(status="published"), encoding="utf-8")
    assert site.run_pass(threading.Event()) == 1
    assert seen == [[("kb/vpn.md", "published")]]  # the build saw the file as it is now
    clock.advance(minutes=5)
    assert site.run_pass(threading.Event()) == 0  # the sync's own change asked for no rebuild
    with db.read() as session:
        [job] = session.scalars(select(Job).where(Job.kind == jobs.SITE_BUILD)).all()
        assert job.state == "done"


@pytest.mark.parametrize(
    "mkdocs_text", ["site_name: [unclosed\n", "site_name: t\ndocs_dir: missing\n"]
)
def test_a_broken_mkdocs_yml_syncs_nothing_and_says_why(
    tmp_path: Path, db_url: str, clock: Clock, caplog: pytest.LogCaptureFixture, mkdocs_text: str
) -> None:
    mkdocs = tmp_path / "mkdocs.yml"
    mkdocs.write_text(mkdocs_text, encoding="utf-8")
    settings = make_settings(tmp_path, db_url, site={"mkdocs": str(mkdocs)})
    db = Database(db_url)
    db.upgrade()
    with caplog.at_level(logging.WARNING, logger="daemon.knowledge.sync"):
        assert sync.sync(db, settings, now=clock()) is None
    assert "articles not synced" in caplog.text
    assert rows(db) == []


def test_an_article_file_that_does_not_parse_is_logged_and_the_others_synced(
    tmp_path: Path, db_url: str, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    mkdocs = docs(tmp_path)
    bad = mkdocs.parent / "pages" / "kb" / "bad.md"
    bad.write_text("---\ntitle: x\nowner: eve@desk.test\nstatus: shiny\n---\nText\n", "utf-8")
    settings = make_settings(tmp_path, db_url, site={"mkdocs": str(mkdocs)})
    db = Database(db_url)
    db.upgrade()
    with caplog.at_level(logging.WARNING, logger="daemon.knowledge.sync"):
        report = sync.sync(db, settings, now=clock())
    assert report is not None and report.created == ("kb/vpn.md",)
    assert "bad.md" in caplog.text and "shiny" in caplog.text
    assert rows(db) == [("kb/vpn.md", "published")]
