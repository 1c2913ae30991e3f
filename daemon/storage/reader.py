"""The read-only query layer: what the site and the reports read, as plain values.

The site's hooks and `replydesk report` never write. They open the database through `Reader`,
whose connections the database itself holds to reading (SQLite's `query_only`, PostgreSQL's
`default_transaction_read_only`), so a bug in a page cannot change a ticket. Rows leave here as
plain frozen values (`rules.metrics.EventRow`, ...), never as ORM objects bound to a session,
and large tables are streamed in id order by one query, a batch at a time, so a build over
100,000 tickets holds one batch of rows, not the table.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Engine,
    String,
    Text,
    create_engine,
    event,
    func,
    select,
    type_coerce,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import InstrumentedAttribute, Session

from daemon.storage.database import classify
from daemon.storage.models import Article, Engineer, Event, Ticket
from rules.kb_opens import Opened
from rules.metrics import EventRow

BATCH = 5_000
METRIC_KINDS = frozenset(
    {
        "created",
        "classified",
        "labels_changed",
        "escalated",
        "assigned",
        "status_changed",
        "reply_sent",
        "sla_clock",
        "sla_outcome",
        "survey_sent",
        "survey_answered",
        "merged",
        "kb_suggested",
        "deflected",
    }
)
"""The event kinds the metrics fold (`rules.metrics_life`); the rest are not read."""


@dataclass(frozen=True, slots=True)
class ArticleRow:
    """One `articles` row as plain values (see `daemon.storage.models.Article`)."""

    id: int
    path: str | None
    slug: str
    title: str
    body: str
    owner: str
    module: str | None
    tags: tuple[str, ...]
    tickets: tuple[int, ...]
    status: str
    reviewed_at: datetime | None
    review_days: int

    @classmethod
    def of(cls, article: Article) -> ArticleRow:
        return cls(
            id=article.id,
            path=article.path,
            slug=article.slug,
            title=article.title,
            body=article.body,
            owner=article.owner,
            module=article.module,
            tags=tuple(article.tags),
            tickets=tuple(article.tickets),
            status=article.status,
            reviewed_at=article.reviewed_at,
            review_days=article.review_days,
        )


def read_only_engine(url: str) -> Engine:
    """An engine whose every connection the database holds to reading."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        given = parsed.query.get("options", "")
        given = given if isinstance(given, str) else " ".join(given)
        options = f"{given} -c default_transaction_read_only=on".strip()
        return create_engine(url, pool_pre_ping=True, connect_args={"options": options})
    engine = create_engine(url, connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _query_only(dbapi_connection: Any, _record: object) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    return engine


def _text_at(stored: str) -> datetime:
    """A timestamp as SQLite holds it (UTC, no zone: `UTCDateTime`), aware again."""
    return datetime.fromisoformat(stored).replace(tzinfo=UTC)


def _text_data(stored: str | None) -> Any:
    return {} if stored is None else json.loads(stored)


def _same(value: Any) -> Any:
    return value


class Reader:
    """Read-only access for the site and the reports."""

    def __init__(self, url: str) -> None:
        self.engine = read_only_engine(url)

    def events(
        self,
        *,
        kinds: Iterable[str] = METRIC_KINDS,
        until: datetime | None = None,
        by_ticket: bool = False,
        batch: int = BATCH,
    ) -> Iterator[EventRow]:
        """Ticket events of these kinds (up to `until`), in id order (`by_ticket`: by ticket,
        then id, so that a reader can fold one ticket at a time), `batch` rows at a time.

        One query, one snapshot, streamed (a server-side cursor on PostgreSQL), so the time is
        linear in the log: keyset batches (`id > last ... LIMIT`) made SQLite sort every
        remaining row of the kinds' index again for each batch. On SQLite the timestamp and the
        payload are read as stored text and parsed here (`datetime.fromisoformat`,
        `json.loads`), three times faster than through the column types."""
        at, data, moment, payload = self._stored()
        query = (
            select(Event.ticket_id, at, Event.kind, Event.actor, data)
            .where(Event.ticket_id.is_not(None), Event.kind.in_(sorted(set(kinds))))
            .order_by(*((Event.ticket_id, Event.id) if by_ticket else (Event.id,)))
            .execution_options(yield_per=batch)
        )
        if until is not None:
            query = query.where(Event.at <= until)
        try:
            with self.engine.connect() as connection:
                for ticket_id, when, kind, actor, stored in connection.execute(query):
                    yield EventRow(
                        ticket_id=ticket_id,
                        at=moment(when),
                        kind=kind,
                        actor=actor,
                        data=payload(stored),
                    )
        except SQLAlchemyError as exc:
            raise classify(exc) from exc

    def _stored(self) -> tuple[Any, Any, Callable[[Any], datetime], Callable[[Any], Any]]:
        """`Event.at` and `Event.data` as this backend reads them fastest, and how each is made
        a value again: on SQLite the stored text, parsed here (see `events`)."""
        if self.engine.dialect.name == "sqlite":
            return (
                type_coerce(Event.at, String),
                type_coerce(Event.data, Text),
                _text_at,
                _text_data,
            )
        return Event.at, Event.data, _same, _same

    def engineers(self) -> dict[int, str]:
        """Engineer ids (as events name them) and their addresses."""
        return self._by_id(Engineer.id, Engineer.address)

    def subjects(self) -> dict[int, str]:
        """Every ticket's subject by number, for the site's internal ticket lists."""
        return self._by_id(Ticket.id, Ticket.subject)

    def _by_id(
        self, key: InstrumentedAttribute[int], value: InstrumentedAttribute[str]
    ) -> dict[int, str]:
        try:
            with Session(self.engine) as session:
                return {k: v for k, v in session.execute(select(key, value))}
        except SQLAlchemyError as exc:
            raise classify(exc) from exc

    def articles(self) -> list[ArticleRow]:
        """Every knowledge-base article (all statuses), by number."""
        try:
            with Session(self.engine) as session:
                found = session.scalars(select(Article).order_by(Article.id)).all()
                return [ArticleRow.of(article) for article in found]
        except SQLAlchemyError as exc:
            raise classify(exc) from exc

    def opens(self, *, until: datetime) -> list[Opened]:
        """The article pages read on the site (`kb_opened` events) up to `until`, in order:
        one row per article and hour it was read in, four small numbers each, read whole."""
        at, data, moment, payload = self._stored()
        query = (
            select(at, data).where(Event.kind == "kb_opened", Event.at <= until).order_by(Event.id)
        )
        try:
            with self.engine.connect() as connection:
                rows = connection.execute(query).all()
        except SQLAlchemyError as exc:
            raise classify(exc) from exc
        return [
            Opened(moment(when), int(d["article"]), int(d["count"]), int(d["from_mail"]))
            for when, d in ((when, payload(stored)) for when, stored in rows)
        ]

    def mark(self, *, until: datetime) -> tuple[int, int]:
        """How many events the log holds up to `until`, and the last one's id: equal marks,
        equal log (it is only appended to), so a reading of it can be reused."""
        try:
            with Session(self.engine) as session:
                count, last = session.execute(
                    select(func.count(Event.id), func.max(Event.id)).where(Event.at <= until)
                ).one()
            return int(count), int(last or 0)
        except SQLAlchemyError as exc:
            raise classify(exc) from exc

    def dispose(self) -> None:
        self.engine.dispose()
