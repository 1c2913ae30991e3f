"""Review reminders: one mail to an article's owner when its review date passes.

A published article is due for review `review_days` after `reviewed_at`. `schedule` adds a
`kb_review` job for that date, keyed by the article and the review it follows, so scheduling
again (a restart, another publish of the same review, `schedule_all` after a sync of the article
files) adds nothing, and a new review (`#publish` again, a new `reviewed_at` in the file) is a
new period with a new job. `remind`, the job's handler, mails the owner once and sets
`reminded_at`; it does nothing for an article no longer published, reviewed since, or already
reminded, so a reminder is never sent twice, and the job row makes it survive restarts.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon.storage import jobs
from daemon.storage.models import Article, Job, Ticket
from daemon.workflow.notices import notify

if TYPE_CHECKING:
    from daemon.runners.jobs import JobContext


def due(article: Article) -> datetime | None:
    """When the article's current review period ends (None: never reviewed)."""
    if article.reviewed_at is None:
        return None
    return article.reviewed_at + timedelta(days=article.review_days)


def _key(article: Article) -> str:
    assert article.reviewed_at is not None
    return f"kb_review:{article.id}:{article.reviewed_at.isoformat(timespec='seconds')}"


def schedule(session: Session, article: Article, *, now: datetime) -> bool:
    """The reminder job for the article's current review period; True if this call added it."""
    at = due(article)
    if article.status != "published" or at is None or article.reminded_at is not None:
        return False
    assert article.reviewed_at is not None
    return jobs.schedule(
        session,
        kind=jobs.KB_REVIEW,
        key=_key(article),
        due_at=at,
        now=now,
        payload={"article": article.id, "reviewed_at": article.reviewed_at.isoformat()},
        ticket_id=None,
    )


def schedule_all(session: Session, *, now: datetime) -> int:
    """Schedule the reminders of every published article (after a sync); how many were added."""
    published = select(Article).where(Article.status == "published")
    return sum(schedule(session, article, now=now) for article in session.scalars(published))


def remind(ctx: JobContext, session: Session, job: Job, now: datetime) -> datetime | None:
    """The `kb_review` job: mail the owner once, unless the article moved on meanwhile."""
    article = session.get(Article, int(job.payload["article"]))
    if article is None or article.status != "published" or article.reminded_at is not None:
        return None
    if article.reviewed_at is None or article.reviewed_at.isoformat() != job.payload["reviewed_at"]:
        return None  # reviewed again since: that review has a job of its own
    at = due(article)
    if at is not None and at > now:
        return at  # review_days grew since the job was scheduled
    ticket = session.get(Ticket, article.ticket_id) if article.ticket_id is not None else None
    how = (
        f"reply #publish {article.id} to this mail to mark it reviewed, or #article"
        f" {article.id} with the new text"
        if article.path is None
        else f"update it and its reviewed_at in {article.path}"
    )
    assert article.reviewed_at is not None
    notify(
        session,
        ctx.composer,
        notice="kb_review",
        to=[article.owner],
        title=f"Review due: knowledge-base article {article.id}: {article.title}"[:200],
        lines=(
            f'Article {article.id}, "{article.title}", was last reviewed on'
            f" {article.reviewed_at:%Y-%m-%d}; its review was due on {at:%Y-%m-%d}.",
            f"Check it still holds, then {how}.",
        ),
        ticket=ticket,
        now=now,
        cause=f"job:{job.id}",
        quote="",
    )
    article.reminded_at = now
    return None
