"""The knowledge base's pages, built by MkDocs from file articles and rows in the database: what
each part shows, review banners and the review page, the shape check's log, and sanitising."""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from lxml import html as lxml_html

from daemon.knowledge import articles
from daemon.site.build import BuildError, build
from daemon.site.data import Part
from daemon.site.hooks import SHAPE_LOG
from daemon.storage import events
from daemon.storage.database import Database
from tests.unit.test_articles import a_ticket

ROOT = Path(__file__).resolve().parents[2]
AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SAMPLES = ("invoice-missing", "password-reset", "printer-login", "vpn-drops")
SCRIPT = "<script>alert(1)</script>"
SHAPE = "## Symptom\n\nx\n\n## Environment\n\n## Cause\n\n## Resolution\n\n"
SHAPE += "## Related tickets\n\nTicket #9.\n"


def article(title: str, status: str, *, reviewed: str = "2026-10-20", body: str = SHAPE) -> str:
    return (
        f"---\ntitle: {title}\nowner: grace@demo.example\nmodule: testing\nstatus: {status}\n"
        f"reviewed_at: {reviewed}\nreview_days: 30\ntickets: [9]\n---\n\n{body}"
    )


def source_tree(tmp_path: Path, part: Part) -> Path:
    """The repository's site with four more articles, built as `part`."""
    src = tmp_path / f"src-{part}"
    if not (src / "docs").exists():
        shutil.copytree(ROOT / "site" / "docs", src / "docs")
        (src / "templates").symlink_to(ROOT / "site" / "templates")
        kb = src / "docs" / "kb"
        (kb / "a-draft.md").write_text(article("A draft", "draft"), encoding="utf-8")
        (kb / "gone.md").write_text(article("Gone", "retired"), encoding="utf-8")
        (kb / "stale.md").write_text(article("Stale", "published", reviewed="2026-01-01"))
        (kb / "short.md").write_text(article("Short", "published", body="## Symptom\n\nx\n"))
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    config.update(docs_dir="docs", hooks=[str(ROOT / "site" / "hooks" / "replydesk.py")])
    config["extra"]["replydesk"] = {"part": part}
    mkdocs = src / "mkdocs.yml"
    mkdocs.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return mkdocs


@dataclass
class Desk:
    config: Path
    synced: tuple[str, ...]
    ticket: int
    stale: int
    mail_published: str
    mail_draft: str


@pytest.fixture
def desk(tmp_path: Path, db: Database) -> Desk:
    docs = source_tree(tmp_path, "public").parent / "docs"
    ticket = a_ticket(db)
    with db.transaction() as session:
        report = articles.sync_files(session, docs, now=AT)
        stale = next(a.id for a in articles.published(session) if a.path == "kb/stale.md")
        events.record(
            session,
            events.KbCited(article=stale),
            ticket_id=ticket,
            at=datetime(2026, 10, 1, tzinfo=UTC),
            actor="grace@demo.example",
            cause="test",
        )
        body = (
            f"## Symptom\n\n{SCRIPT}\n\n<img src=x onerror=alert(2)>\n\n[go](javascript:alert(3))\n"
        )
        born, draft = (
            articles.create_draft(
                session,
                title=title,
                body=body,
                owner="grace@demo.example",
                module="mail",
                tags=[],
                ticket_id=ticket_id,
                now=AT,
            )
            for title, ticket_id in ((f"Reset {SCRIPT}", ticket), ("Half done", None))
        )
        articles.publish(session, born.id, now=AT)
        mail_published, mail_draft = f"kb/{born.id}-{born.slug}", f"kb/{draft.id}-{draft.slug}"
    config = tmp_path / "build.toml"
    config.write_text(f'[database]\nurl = "{db.url}"\n', encoding="utf-8")
    return Desk(config, report.created, ticket, stale, mail_published, mail_draft)


def built(tmp_path: Path, desk: Desk, part: Part) -> Path:
    out = tmp_path / f"site-{part}"
    build(source_tree(tmp_path, part), config_file=desk.config, out=out, at=AT, part=part)
    return out


def page(site: Path, name: str) -> str:
    return (site / f"{name}.html").read_text(encoding="utf-8")


def words(element: Any) -> str:
    return " ".join("".join(element.itertext()).split())


def text(site: Path, name: str) -> str:
    article = lxml_html.fromstring(page(site, name)).find(".//article")
    assert article is not None
    return words(article)


def test_sync_files_imports_the_sample_articles(desk: Desk) -> None:
    assert {f"kb/{name}.md" for name in SAMPLES} <= set(desk.synced)


def test_the_public_part_shows_published_articles_only_and_no_ticket_numbers(
    tmp_path: Path, desk: Desk
) -> None:
    site = built(tmp_path, desk, "public")
    for name in SAMPLES:
        assert "Symptom" in text(site, f"kb/{name}")
    assert not (site / "kb" / "a-draft.html").exists()
    assert not (site / "kb" / "gone.html").exists()
    assert not (site / f"{desk.mail_draft}.html").exists()
    assert not (site / "kb" / "review.html").exists()
    index = text(site, "kb/index")
    assert "Stale" in index and "A draft" not in index and "Half done" not in index
    stale = text(site, "kb/stale")
    assert "Needs review" in stale and f"#{desk.stale}" in stale
    assert f"#{desk.ticket}" not in stale and "#9" not in stale and "internal site" in stale


def test_the_internal_part_marks_drafts_links_tickets_and_lists_what_needs_review(
    tmp_path: Path, desk: Desk
) -> None:
    site = built(tmp_path, desk, "internal")
    assert "Draft" in text(site, "kb/a-draft") and "Draft" in text(site, desk.mail_draft)
    assert "Needs review" not in text(site, desk.mail_draft)  # review starts at publishing
    assert not (site / "kb" / "gone.html").exists()
    index = text(site, "kb/index")
    assert "A draft (#" in index and "(draft), reused 0 times" in index
    assert "Half done" in index and "Half done (#" in index
    assert "Never reused" in index
    stale = text(site, "kb/stale")
    assert "Needs review" in stale and "Confirmed by use" in stale
    assert f"related #9; cited by #{desk.ticket} (1 reuse)" in stale
    review = lxml_html.fromstring(page(site, "kb/review"))
    rows = {words(row) for row in review.iter("tr") if row.find("td") is not None}
    assert any(row.startswith(f"#{desk.stale} Stale") and row.endswith("yes") for row in rows)
    assert all("Short" not in row for row in rows)  # reviewed a month ago: not due


def test_a_published_article_lacking_a_section_is_logged_not_failed(
    tmp_path: Path, desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    site = built(tmp_path, desk, "public")  # a strict build, and it does not fail
    assert (site / "kb" / "short.html").is_file()
    lacking = [r for r in caplog.records if "kb/short.md lacks" in r.getMessage()]
    assert [(r.name, r.levelno) for r in lacking] == [(SHAPE_LOG, logging.WARNING)]
    assert "Environment, Cause, Resolution, Related tickets" in lacking[0].getMessage()
    assert not any("a-draft" in r.getMessage() for r in caplog.records)  # drafts are not checked


@pytest.mark.parametrize("part", ["public", "internal"])
def test_a_script_from_mail_never_runs(tmp_path: Path, desk: Desk, part: Part) -> None:
    site = built(tmp_path, desk, part)
    source = page(site, desk.mail_published)
    tree = lxml_html.fromstring(source)
    assert not any("alert" in (script.text or "") for script in tree.iter("script"))
    assert not any(element.get("onerror") for element in tree.iter())
    assert not any("javascript" in (link.get("href") or "") for link in tree.iter("a"))
    assert f"Reset {SCRIPT}" in text(site, desk.mail_published)  # the title, as text
    assert f"Reset {SCRIPT}" in text(site, "kb/index")


def test_an_article_file_that_does_not_parse_fails_the_build_naming_file_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REPLYDESK_CONFIG", raising=False)
    mkdocs = source_tree(tmp_path, "public")
    bad = article("Bad", "shiny").replace("reviewed_at: 2026-10-20", "reviewed_at: someday")
    (mkdocs.parent / "docs" / "kb" / "bad.md").write_text(bad, encoding="utf-8")
    with pytest.raises(BuildError) as failed:
        build(mkdocs, out=tmp_path / "site", at=AT)
    assert "kb/bad.md: status: unknown status 'shiny'" in str(failed.value)
    assert "kb/bad.md: reviewed_at: bad date 'someday'" in str(failed.value)
    assert not (tmp_path / "site").exists()


def test_the_internal_index_counts_each_articles_readings_when_access_logs_are_read(
    tmp_path: Path, desk: Desk, db: Database
) -> None:
    with db.transaction() as session:
        for hour, count in ((9, 2), (10, 1)):
            events.record(
                session,
                events.KbOpened(article=desk.stale, count=count, from_mail=1),
                ticket_id=None,
                at=datetime(2026, 10, 30, hour, tzinfo=UTC),
                actor="site",
                cause="access-log",
            )
    assert "on the site" not in text(built(tmp_path, desk, "internal"), "kb/index")
    desk.config.write_text(
        f'[database]\nurl = "{db.url}"\n\n[site]\naccess_logs = ["access.log"]\n',
        encoding="utf-8",
    )
    shutil.rmtree(tmp_path / "site-internal")
    index = text(built(tmp_path, desk, "internal"), "kb/index")
    assert f"Stale (#{desk.stale}), reused 1 time, opened 3 times on the site" in index
    assert "Short (#" in index and "opened 0 times on the site" in index
    public = text(built(tmp_path, desk, "public"), "kb/index")
    assert "on the site" not in public  # per-article numbers are the team's
