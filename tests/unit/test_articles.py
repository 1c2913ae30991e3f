"""The articles store: file articles synced by path, mail-born drafts, publish and edit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from daemon.knowledge import articles
from daemon.knowledge.articles import ArticleError
from daemon.storage.database import Database
from daemon.storage.models import Article, Contact, Ticket, TicketStatus

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def write(docs: Path, name: str, *, status: str = "published", title: str = "VPN drops") -> Path:
    path = docs / "kb" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"---\ntitle: {title}\nowner: eve@desk.test\nmodule: network\ntags: [vpn]\n"
        f"status: {status}\nreviewed_at: 2026-06-01\nreview_days: 90\ntickets: [3, 7]\n---\n\n"
        "## Symptom\n\nIt drops.\n",
        encoding="utf-8",
    )
    return path


def a_ticket(db: Database) -> int:
    with db.transaction() as session:
        contact = Contact(address="ann@customer.test", name="Ann", created_at=NOW)
        session.add(contact)
        session.flush()
        ticket = Ticket(
            subject="VPN",
            status=TicketStatus.OPEN,
            mailbox="support",
            requester_id=contact.id,
            created_at=NOW,
            updated_at=NOW,
        )
        session.add(ticket)
        session.flush()
        return ticket.id


def test_sync_creates_updates_and_retires_file_articles(db: Database, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write(docs, "vpn-drops.md")
    write(docs, "index.md")  # the index is not an article
    with db.transaction() as session:
        report = articles.sync_files(session, docs, now=NOW)
    assert report.created == ("kb/vpn-drops.md",)
    with db.read() as session:
        row = session.scalars(select(Article)).one()
        assert (row.slug, row.title, row.owner, row.module) == (
            "vpn-drops",
            "VPN drops",
            "eve@desk.test",
            "network",
        )
        assert row.tags == ["vpn"] and row.tickets == [3, 7] and row.review_days == 90
        assert row.reviewed_at == datetime(2026, 6, 1, tzinfo=UTC)
        number = row.id

    with db.transaction() as session:
        again = articles.sync_files(session, docs, now=NOW)
    assert (again.created, again.updated, again.retired) == ((), (), ())

    write(docs, "vpn-drops.md", title="VPN drops on Wi-Fi")
    later = NOW + timedelta(hours=1)
    with db.transaction() as session:
        changed = articles.sync_files(session, docs, now=later)
    assert changed.updated == ("kb/vpn-drops.md",)
    with db.read() as session:
        row = session.get_one(Article, number)
        assert (row.title, row.updated_at) == ("VPN drops on Wi-Fi", later)

    (docs / "kb" / "vpn-drops.md").unlink()
    with db.transaction() as session:
        gone = articles.sync_files(session, docs, now=later)
    assert gone.retired == ("kb/vpn-drops.md",)
    with db.read() as session:
        assert session.get_one(Article, number).status == "retired"


def test_a_bad_file_is_reported_and_its_row_kept(db: Database, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    path = write(docs, "vpn-drops.md")
    with db.transaction() as session:
        articles.sync_files(session, docs, now=NOW)
    path.write_text("---\ntitle: x\nowner: eve@desk.test\nstatus: shiny\n---\nbody\n")
    with db.transaction() as session:
        report = articles.sync_files(session, docs, now=NOW)
    assert [(e.path, e.key) for e in report.errors] == [("kb/vpn-drops.md", "status")]
    with db.read() as session:
        assert session.scalars(select(Article.status)).one() == "published"


def test_draft_publish_and_replace_text(db: Database) -> None:
    ticket_id = a_ticket(db)
    with db.transaction() as session:
        draft = articles.create_draft(
            session,
            title="Password reset",
            body="## Symptom\n\nLocked out.\n",
            owner="eve@desk.test",
            module="accounts",
            tags=["password"],
            ticket_id=ticket_id,
            now=NOW,
        )
        number = draft.id
        assert (draft.path, draft.status, draft.tickets) == (None, "draft", [ticket_id])
        assert articles.published(session) == []
    later = NOW + timedelta(days=1)
    with db.transaction() as session:
        article = articles.publish(session, number, now=later)
        assert (article.status, article.reviewed_at) == ("published", later)
        articles.replace_text(session, number, title=None, body="## Cause\n\nExpired.\n", now=later)
    with db.read() as session:
        (row,) = articles.published(session)
        assert (row.id, row.title, row.body) == (number, "Password reset", "## Cause\n\nExpired.\n")


def test_slugs_stay_unique(db: Database) -> None:
    with db.transaction() as session:
        slugs = [
            articles.create_draft(
                session,
                title="Invoice missing",
                body="",
                owner="eve@desk.test",
                module=None,
                tags=[],
                ticket_id=None,
                now=NOW,
            ).slug
            for _ in range(3)
        ]
    assert slugs == ["invoice-missing", "invoice-missing-2", "invoice-missing-3"]


def test_file_articles_are_edited_in_their_file(db: Database, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write(docs, "vpn-drops.md", status="draft")
    with db.transaction() as session:
        articles.sync_files(session, docs, now=NOW)
        number = session.scalars(select(Article.id)).one()
        with pytest.raises(ArticleError, match=r"kb/vpn-drops\.md"):
            articles.publish(session, number, now=NOW)
        with pytest.raises(ArticleError, match="no article"):
            articles.replace_text(session, number + 99, title="x", body="y", now=NOW)
