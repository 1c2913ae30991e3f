"""Events are typed: a payload is validated when it is built and read back as its type."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from daemon.storage import events
from daemon.storage.database import Database
from daemon.storage.models import Event
from rules.hits import Hit

AT = datetime(2026, 12, 1, 10, tzinfo=UTC)


def test_every_kind_has_exactly_one_payload_type() -> None:
    assert set(events.PAYLOADS) == set(events.EventKind)


def test_a_status_change_carries_from_and_to_and_reads_back(db: Database) -> None:
    with db.transaction() as session:
        change = events.StatusChanged(from_="pending", to="open", reason="customer replied")
        events.record(session, change, ticket_id=None, at=AT, actor="system", cause="test")
    with db.read() as session:
        row = session.scalars(select(Event)).one()
    assert row.kind == "status_changed" and row.data["from"] == "pending"
    back = events.read(row)
    assert isinstance(back, events.StatusChanged) and (back.from_, back.to) == ("pending", "open")


def test_rule_hits_are_stored_as_data() -> None:
    hit = Hit("thread-tag", "subject", "12", "subject tag names #12")
    created = events.Created(inbound=3, mailbox="main", hits=events.hits((hit,)))
    assert created.model_dump(mode="json", by_alias=True)["hits"] == [
        {
            "rule": "thread-tag",
            "field": "subject",
            "matched": "12",
            "reason": "subject tag names #12",
        }
    ]


def test_a_bad_payload_is_refused_when_built() -> None:
    with pytest.raises(ValidationError):
        events.MailSent(outbox="x", to=["a@b"])  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        events.SlaSegment(
            target="first_response", start=AT, end=AT, clock_ran=True, business_seconds=-1
        )
