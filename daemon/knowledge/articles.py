"""Article rows: file articles synced from the docs folder, mail-born ones created and edited.

Every function takes the caller's `Session` (one transaction, the caller's) and `now`; none
commits. A file article's file is the truth for its row: `sync_files` rewrites the row from the
file, and marks it retired when the file is gone. The workflow's edits (`publish`,
`replace_text`) are for articles born from mail; a file article is edited in its file, so they
refuse it with `ArticleError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon.errors import ReplydeskError
from daemon.storage.bounded import fit
from daemon.storage.models import Article
from rules.kb import ArticleFile, ParseError, parse_article, reviewed_moment, slugify

KB_FOLDER = "kb"
NOT_ARTICLES = frozenset({"index.md", "review.md"})
"""Pages of the kb folder that are not articles (the index, the review list)."""


class ArticleError(ReplydeskError):
    """An article that does not exist, or a change its kind does not allow."""


@dataclass(frozen=True, slots=True)
class SyncReport:
    """What `sync_files` did: paths created, updated and retired; files it could not read."""

    created: tuple[str, ...]
    updated: tuple[str, ...]
    retired: tuple[str, ...]
    errors: tuple[ParseError, ...]


def source(number: int, slug: str, path: str | None) -> str:
    """An article's page in the docs folder: its file, or, born from mail, the page the site
    adds in memory (`kb/<number>-<slug>.md`)."""
    return path if path is not None else f"{KB_FOLDER}/{number}-{slug}.md"


def article_files(docs_dir: Path) -> list[Path]:
    """The article files under the docs folder's kb folder, in path order."""
    folder = docs_dir / KB_FOLDER
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*.md") if p.name not in NOT_ARTICLES)


def sync_files(session: Session, docs_dir: Path, *, now: datetime) -> SyncReport:
    """Upsert a row per article file (by path), and retire the rows whose file is gone.

    A file that does not parse is reported and its row, if any, left as it was.
    """
    rows = {
        row.path: row for row in session.scalars(select(Article).where(Article.path.is_not(None)))
    }
    created: list[str] = []
    updated: list[str] = []
    errors: list[ParseError] = []
    seen: set[str] = set()
    for file in article_files(docs_dir):
        path = file.relative_to(docs_dir).as_posix()
        seen.add(path)
        parsed = parse_article(path, file.read_text(encoding="utf-8", errors="replace"))
        if parsed.article is None:
            errors.extend(parsed.errors)
            continue
        row = rows.get(path)
        if row is None:
            session.add(_new_file_row(session, parsed.article, now=now))
            session.flush()
            created.append(path)
        elif _apply_file(row, parsed.article, now=now):
            updated.append(path)
    retired: list[str] = []
    for known, old in rows.items():
        if known is not None and known not in seen and old.status != "retired":
            old.status = "retired"
            old.updated_at = now
            retired.append(known)
    session.flush()
    return SyncReport(tuple(created), tuple(updated), tuple(retired), tuple(errors))


def _file_values(article: ArticleFile) -> dict[str, Any]:
    reviewed = article.reviewed_at
    return {
        "title": article.title,
        "body": article.body,
        "owner": article.owner,
        "module": article.module,
        "tags": list(article.tags),
        "tickets": list(article.tickets),
        "status": article.status,
        "reviewed_at": None if reviewed is None else reviewed_moment(reviewed),
        "review_days": article.review_days,
    }


def _new_file_row(session: Session, article: ArticleFile, *, now: datetime) -> Article:
    stem = Path(article.path).stem
    return Article(
        path=article.path,
        slug=_free_slug(session, slugify(stem)),
        ticket_id=None,
        created_at=now,
        updated_at=now,
        **_file_values(article),
    )


def _apply_file(row: Article, article: ArticleFile, *, now: datetime) -> bool:
    """Rewrite the row from its file; True if anything changed."""
    values = _file_values(article)
    changed = {key: value for key, value in values.items() if getattr(row, key) != value}
    if not changed:
        return False
    if "reviewed_at" in changed:
        row.reminded_at = None
    for key, value in changed.items():
        setattr(row, key, value)
    row.updated_at = now
    return True


def _free_slug(session: Session, wanted: str) -> str:
    """`wanted`, or `wanted-2`, `wanted-3`, ... if another article has it."""
    base = fit(wanted, 110)
    taken = set(session.scalars(select(Article.slug).where(Article.slug.startswith(base))))
    slug, n = base, 1
    while slug in taken:
        n += 1
        slug = f"{base}-{n}"
    return slug


def create_draft(
    session: Session,
    *,
    title: str,
    body: str,
    owner: str,
    module: str | None,
    tags: list[str],
    ticket_id: int | None,
    now: datetime,
) -> Article:
    """A new mail-born draft (no path), related to the ticket it was drafted from."""
    article = Article(
        path=None,
        slug=_free_slug(session, slugify(title)),
        title=title,
        body=body,
        owner=owner,
        module=module,
        tags=list(tags),
        tickets=[] if ticket_id is None else [ticket_id],
        status="draft",
        reviewed_at=None,
        review_days=180,
        ticket_id=ticket_id,
        created_at=now,
        updated_at=now,
    )
    session.add(article)
    session.flush()
    return article


def _mail_born(session: Session, article_id: int) -> Article:
    article = session.get(Article, article_id)
    if article is None:
        raise ArticleError(f"no article {article_id}")
    if article.path is not None:
        raise ArticleError(f"article {article_id} is the file {article.path}; edit the file")
    return article


def publish(session: Session, article_id: int, *, now: datetime) -> Article:
    """Publish a mail-born article; publishing is a review, so `reviewed_at` becomes now."""
    article = _mail_born(session, article_id)
    article.status = "published"
    article.reviewed_at = now
    article.reminded_at = None
    article.updated_at = now
    session.flush()
    return article


def replace_text(
    session: Session, article_id: int, *, title: str | None, body: str, now: datetime
) -> Article:
    """Replace a mail-born article's body (and its title, when one is given)."""
    article = _mail_born(session, article_id)
    if title is not None and title.strip():
        article.title = title.strip()
    article.body = body
    article.updated_at = now
    session.flush()
    return article


def published(session: Session) -> list[Article]:
    """The published articles, by number."""
    query = select(Article).where(Article.status == "published").order_by(Article.id)
    return list(session.scalars(query))
