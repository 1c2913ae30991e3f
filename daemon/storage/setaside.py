"""Mail set aside: quarantined (it failed) or ignored (routing chose not to make a ticket).

Both keep their raw bytes and say why. Either can be sent back for processing (`release`): a
quarantined mail simply tries again; an ignored one can be forced to become a ticket, for the
person whose mail was taken for a machine's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon.storage import events
from daemon.storage.database import Database
from daemon.storage.models import Inbound, InboundState

SET_ASIDE = (InboundState.QUARANTINED, InboundState.IGNORED)


@dataclass(frozen=True, slots=True)
class Held:
    id: int
    state: str
    source: str
    received_at: datetime
    size: int
    attempts: int
    reason: str
    raw: bytes

    @property
    def summary(self) -> str:
        lines = [line for line in self.reason.strip().splitlines() if line.strip()]
        return lines[-1] if lines else "(no reason recorded)"


def held(db: Database, state: InboundState = InboundState.QUARANTINED) -> list[Held]:
    with db.read() as session:
        rows = session.scalars(
            select(Inbound).where(Inbound.state == state).order_by(Inbound.id)
        ).all()
        return [_held(row) for row in rows]


def get(db: Database, inbound_id: int) -> Held | None:
    with db.read() as session:
        row = session.get(Inbound, inbound_id)
        return _held(row) if row is not None and row.state in SET_ASIDE else None


def release(
    db: Database,
    ids: list[int] | None,
    *,
    now: datetime,
    state: InboundState = InboundState.QUARANTINED,
    force_ticket: bool = False,
    actor: str = "operator",
) -> list[int]:
    """Send set-aside mail back for processing; `None` releases every mail in `state`."""
    with db.transaction() as session:
        query = select(Inbound).where(Inbound.state == state)
        if ids is not None:
            query = query.where(Inbound.id.in_(ids))
        rows = session.scalars(query.order_by(Inbound.id)).all()
        for row in rows:
            release_one(session, row, now=now, force_ticket=force_ticket, actor=actor)
        return [row.id for row in rows]


def release_one(
    session: Session, row: Inbound, *, now: datetime, force_ticket: bool, actor: str
) -> None:
    was = row.state.value
    row.state = InboundState.STORED
    row.attempts = 0
    row.holder_id = None
    row.forced = force_ticket
    payload = events.InboundReleased(inbound=row.id, was=was, force_ticket=force_ticket)
    events.record(session, payload, ticket_id=None, at=now, actor=actor, cause=f"inbound:{row.id}")


def _held(row: Inbound) -> Held:
    reason = row.error if row.state == InboundState.QUARANTINED else row.reason
    return Held(
        id=row.id,
        state=row.state.value,
        source=row.source,
        received_at=row.received_at,
        size=row.size,
        attempts=row.attempts,
        reason=reason or "",
        raw=row.raw,
    )
