"""The processing stage: each stored mail becomes a ticket, a message on one, or nothing.

Mail is claimed a few at a time (the rows name our holder; small ones are read in the claim)
and handled one at a time: parsed outside any transaction, so a slow mail never holds the
database's write lock; then facts are gathered, the rules decide, and the decision is applied
in one short write transaction that first checks the row is still ours and still waiting.
A failure counts one attempt (in its own transaction); after `max_attempts`, or at once for
bytes that are not a mail, the mail goes to quarantine with its error, and a quarantine-retry
job is scheduled for it once.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import defer

from daemon import failpoints
from daemon.config import Settings
from daemon.mail.compose import Composer
from daemon.runners.base import Runner
from daemon.storage import events, jobs
from daemon.storage.database import Database
from daemon.storage.models import Inbound, InboundState
from daemon.workflow.apply import apply
from daemon.workflow.facts import gather
from parsers import NotAMailError, ParsedMessage, parse, parse_head
from rules.hits import Hit
from rules.intake import route

log = logging.getLogger(__name__)
CLAIM = 10
PREFETCH_BYTES = 1_048_576
Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class Outcome:
    inbound_id: int
    action: str
    ticket_id: int | None
    acknowledged: bool
    hits: tuple[Hit, ...]

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(hit.reason for hit in self.hits)


@dataclass(frozen=True, slots=True)
class Claimed:
    """A stored mail claimed for processing; `raw` is None when too big to read in the claim."""

    id: int
    size: int
    raw: bytes | None = field(default=None, repr=False)


class ProcessRunner(Runner[Claimed]):
    name = "process"

    def __init__(self, settings: Settings, db: Database, *, holder_id: int, clock: Clock) -> None:
        super().__init__(db, holder_id=holder_id, max_attempts=settings.runners.max_attempts)
        self.settings = settings
        self.clock = clock
        self.composer = Composer(settings)
        self.outcomes: list[Outcome] = []

    def claim(self) -> Sequence[Claimed]:
        """The next few stored mails, oldest first (few: other daemons take the rest), with the
        raw bytes of the small ones read in the same transaction."""
        with self.db.transaction() as session:
            found = session.execute(
                select(Inbound.id, Inbound.size)
                .where(
                    Inbound.state == InboundState.STORED,
                    or_(Inbound.holder_id.is_(None), Inbound.holder_id == self.holder_id),
                )
                .order_by(Inbound.id)
                .limit(CLAIM)
                .with_for_update(skip_locked=True)
            ).all()
            if not found:
                return []
            ids = [row.id for row in found]
            session.execute(
                update(Inbound).where(Inbound.id.in_(ids)).values(holder_id=self.holder_id)
            )
            small = [row.id for row in found if row.size <= PREFETCH_BYTES]
            query = select(Inbound.id, Inbound.raw).where(Inbound.id.in_(small))
            raws = {inbound_id: raw for inbound_id, raw in session.execute(query)}
        return [Claimed(row.id, row.size, raws.get(row.id)) for row in found]

    def handle(self, item: Claimed) -> None:
        raw = item.raw
        if raw is None:
            with self.db.read() as session:
                raw = session.scalars(select(Inbound.raw).where(Inbound.id == item.id)).one()
        message = self._parse(raw, item.size)
        del raw
        with self.db.transaction() as session:
            inbound = session.get(Inbound, item.id, options=[defer(Inbound.raw)])  # read once
            if inbound is None or not self._still_mine(inbound):
                return  # another holder took it over; it does the work
            now = self.clock()
            facts = gather(session, message, self.settings, now, forced=inbound.forced)
            decision = route(facts)
            ticket_id = apply(session, inbound, message, decision, composer=self.composer, now=now)
        failpoints.reached("ticket-committed")
        self.outcomes.append(
            Outcome(item.id, decision.action, ticket_id, decision.acknowledge, decision.hits)
        )

    def _parse(self, raw: bytes, size: int) -> ParsedMessage:
        prefix = self.settings.desk.tag_prefix
        if size > self.settings.desk.max_mail_bytes:
            return parse_head(raw, tag_prefix=prefix)
        return parse(raw, tag_prefix=prefix)

    def _still_mine(self, inbound: Inbound) -> bool:
        return inbound.state == InboundState.STORED and inbound.holder_id == self.holder_id

    def failure(self, claimed: Claimed, error: BaseException) -> None:
        item = claimed.id
        detail = "".join(traceback.format_exception(error, limit=8))
        now = self.clock()
        with self.db.transaction() as session:
            inbound = session.get(Inbound, item, options=[defer(Inbound.raw)])  # read once only
            if inbound is None or not self._still_mine(inbound):
                return
            inbound.attempts += 1
            inbound.error = detail
            inbound.holder_id = None
            if inbound.attempts < self.max_attempts and not isinstance(error, NotAMailError):
                return
            inbound.state = InboundState.QUARANTINED
            inbound.processed_at = now
            quarantined = events.InboundQuarantined(
                inbound=item, attempts=inbound.attempts, error=f"{type(error).__name__}: {error}"
            )
            events.record(
                session,
                quarantined,
                ticket_id=None,
                at=now,
                actor="system",
                cause=f"inbound:{item}",
            )
            delay = self.settings.runners.quarantine_retry_seconds
            if delay > 0:
                jobs.schedule(
                    session,
                    kind=jobs.QUARANTINE_RETRY,
                    key=f"{jobs.QUARANTINE_RETRY}:{item}",
                    due_at=now + timedelta(seconds=delay),
                    payload={"inbound": item},
                    now=now,
                )
        log.error("inbound %s quarantined: %s: %s", item, type(error).__name__, error)
        hit = Hit(
            "quarantine", "processing", type(error).__name__, f"{type(error).__name__}: {error}"
        )
        self.outcomes.append(Outcome(item, "quarantined", None, False, (hit,)))

    def release(self, items: Sequence[Claimed]) -> None:
        with self.db.transaction() as session:
            session.execute(
                update(Inbound)
                .where(Inbound.id.in_([i.id for i in items]), Inbound.holder_id == self.holder_id)
                .values(holder_id=None)
            )
