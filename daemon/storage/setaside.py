"""Quarantine: mail that could not be processed, kept with its raw bytes and the error."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from daemon.storage.database import Database
from daemon.storage.models import Inbound, InboundState


@dataclass(frozen=True, slots=True)
class Held:
    id: int
    source: str
    received_at: datetime
    size: int
    attempts: int
    error: str
    raw: bytes

    @property
    def summary(self) -> str:
        lines = [line for line in self.error.strip().splitlines() if line.strip()]
        return lines[-1] if lines else "(no error recorded)"


def held(db: Database) -> list[Held]:
    with db.transaction() as session:
        rows = session.scalars(
            select(Inbound).where(Inbound.state == InboundState.QUARANTINED).order_by(Inbound.id)
        ).all()
        return [_held(row) for row in rows]


def get(db: Database, inbound_id: int) -> Held | None:
    with db.transaction() as session:
        row = session.get(Inbound, inbound_id)
        if row is None or row.state != InboundState.QUARANTINED:
            return None
        return _held(row)


def release(db: Database, ids: list[int] | None) -> list[int]:
    """Put quarantined mail back in line for processing; `None` releases all of it."""
    with db.transaction() as session:
        query = (
            update(Inbound)
            .where(Inbound.state == InboundState.QUARANTINED)
            .values(state=InboundState.STORED)
            .returning(Inbound.id)
        )
        if ids is not None:
            query = query.where(Inbound.id.in_(ids))
        return sorted(session.scalars(query).all())


def _held(row: Inbound) -> Held:
    return Held(
        id=row.id,
        source=row.source,
        received_at=row.received_at,
        size=row.size,
        attempts=row.attempts,
        error=row.error or "",
        raw=row.raw,
    )
