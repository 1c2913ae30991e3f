"""Deflection: published articles suggested in the acknowledgement, and "solved" answers.

`for_request` ranks the published articles for a new ticket's subject and text
(`rules.kb_search`), with an index built once per published set: the cache keeps the last index
with the set's key (the database, each article's number and `updated_at`), so a new ticket costs
one small query unless an article changed. Each suggestion carries the link to its page on the
public site (`[site] public_url` + the page `daemon.knowledge.urls.page` gives, with
`?from=mail`), or none when the desk has no public URL.

`deflect` reads a customer's answer to that acknowledgement: "solved" (`rules.solved`)
resolves the ticket with the usual status mail and a `deflected` event; anything else is left
to the normal handling of a reply.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon.knowledge.urls import page
from daemon.mail.compose import ArticleLink, Composer
from daemon.storage import events
from daemon.storage.models import Article, Event, Ticket, TicketStatus
from daemon.workflow import lifecycle
from daemon.workflow.facts import answered
from parsers import ParsedMessage
from rules import kb_opens
from rules.kb_search import KbDoc, KbIndex, build_index, suggest
from rules.solved import is_solved

LIMIT = 3
OPEN_STATES = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING)
_Key = tuple[str, tuple[tuple[int, datetime], ...]]


@dataclass(slots=True)
class _Cache:
    """The last index built, with the key of the published set it was built from."""

    key: _Key | None = None
    index: KbIndex | None = None
    lock: threading.Lock = threading.Lock()  # noqa: RUF009 - one lock for the one cache

    def get(self, session: Session) -> KbIndex:
        published = Article.status == "published"
        query = select(Article.id, Article.updated_at).where(published).order_by(Article.id)
        database = session.get_bind().engine.url.render_as_string(hide_password=True)
        key = (database, tuple((n, at) for n, at in session.execute(query)))
        with self.lock:
            if self.index is not None and key == self.key:
                return self.index
        rows = session.scalars(select(Article).where(published).order_by(Article.id))
        index = build_index(KbDoc(a.id, a.title, a.body, tuple(a.tags)) for a in rows)
        with self.lock:
            self.key, self.index = key, index
        return index


_CACHE = _Cache()  # per process, like the composer's templates; keyed, so never stale


def link(article: Article, public_url: str | None, *, directory_urls: bool) -> ArticleLink:
    """The article's link for a desk mail: its page (`daemon.knowledge.urls.page`), tagged
    `from=mail` so that the access log tells a reading from a mail apart (`rules.kb_opens`)."""
    if public_url is None:
        return ArticleLink(number=article.id, title=article.title, url=None)
    where = page(article, directory_urls=directory_urls)
    url = f"{public_url.rstrip('/')}/{where}?from={kb_opens.FROM_MAIL}"
    return ArticleLink(number=article.id, title=article.title, url=url)


def for_request(
    session: Session,
    subject: str,
    text: str,
    *,
    public_url: str | None,
    directory_urls: bool = True,
    limit: int = LIMIT,
) -> tuple[ArticleLink, ...]:
    """Up to `limit` published articles that match a new request, best first, linked as the
    site names its pages (`directory_urls`: `kb/vpn/`, else `kb/vpn.html`)."""
    index = _CACHE.get(session)
    if not len(index):
        return ()
    found = suggest(index, f"{subject}\n{text}", limit=limit)
    links = []
    for one in found:
        article = session.get(Article, one.number)
        if article is not None:
            links.append(link(article, public_url, directory_urls=directory_urls))
    return tuple(links)


def suggested(session: Session, ticket_id: int) -> list[int] | None:
    """The articles the ticket's acknowledgement listed (None: it listed none)."""
    data = session.scalar(
        select(Event.data)
        .where(Event.ticket_id == ticket_id, Event.kind == events.EventKind.KB_SUGGESTED.value)
        .order_by(Event.id.desc())
        .limit(1)
    )
    return None if data is None else [int(n) for n in data.get("articles", [])]


def deflect(
    session: Session,
    ticket: Ticket,
    message: ParsedMessage,
    *,
    composer: Composer,
    now: datetime,
    cause: str,
) -> bool:
    """Resolve the ticket when this reply answers "solved" to the suggestions; True if so."""
    if ticket.status not in OPEN_STATES or not is_solved(message.body):
        return False
    articles = suggested(session, ticket.id)
    if not articles or not answered(session, message, kind="ack", ticket_id=ticket.id):
        return False
    named = ", ".join(str(n) for n in articles)
    lifecycle.change(
        session,
        ticket,
        TicketStatus.RESOLVED,
        composer=composer,
        now=now,
        cause=cause,
        actor=f"contact:{ticket.requester.address}",
        reason="the customer answered 'solved' to the suggested articles",
        resolution=f"Solved by the customer with the suggested article(s) {named}.",
    )
    helped = events.Deflected(article=articles[0] if len(articles) == 1 else None)
    events.record(session, helped, ticket_id=ticket.id, at=now, actor="system", cause=cause)
    return True
