"""The read-only query layer: what the site and the reports read, as plain values.

The site's hooks and `replydesk report` never write. They open the database through `Reader`,
whose connections the database itself holds to reading (SQLite's `query_only`, PostgreSQL's
`default_transaction_read_only`), so a bug in a page cannot change a ticket. Rows leave here as
plain frozen values (`rules.metrics.EventRow`, ...), never as ORM objects bound to a session,
and large tables are streamed in id order, a batch at a time, so a build over 100,000 tickets
holds one batch of rows, not the table.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from daemon.storage.database import classify
from daemon.storage.models import Engineer, Event
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
    }
)
"""The event kinds the metrics fold (`rules.metrics_life`); the rest are not read."""


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


class Reader:
    """Read-only access for the site and the reports."""

    def __init__(self, url: str) -> None:
        self.engine = read_only_engine(url)

    def events(
        self,
        *,
        kinds: Iterable[str] = METRIC_KINDS,
        until: datetime | None = None,
        batch: int = BATCH,
    ) -> Iterator[EventRow]:
        """Ticket events of these kinds (up to `until`), in id order, a batch at a time."""
        wanted = sorted(set(kinds))
        last = 0
        while True:
            query = (
                select(Event.id, Event.ticket_id, Event.at, Event.kind, Event.actor, Event.data)
                .where(Event.id > last, Event.ticket_id.is_not(None), Event.kind.in_(wanted))
                .order_by(Event.id)
                .limit(batch)
            )
            if until is not None:
                query = query.where(Event.at <= until)
            try:
                with Session(self.engine) as session:
                    rows = session.execute(query).all()
            except SQLAlchemyError as exc:
                raise classify(exc) from exc
            for row in rows:
                yield EventRow(
                    ticket_id=row.ticket_id,
                    at=row.at,
                    kind=row.kind,
                    actor=row.actor,
                    data=row.data,
                )
            if len(rows) < batch:
                return
            last = rows[-1].id

    def engineers(self) -> dict[int, str]:
        """Engineer ids (as events name them) and their addresses."""
        try:
            with Session(self.engine) as session:
                rows = session.execute(select(Engineer.id, Engineer.address)).all()
            return {engineer_id: address for engineer_id, address in rows}
        except SQLAlchemyError as exc:
            raise classify(exc) from exc

    def dispose(self) -> None:
        self.engine.dispose()
