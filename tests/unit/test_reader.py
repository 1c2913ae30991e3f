"""The read-only query layer: the database refuses its writes, and the events it streams fold
into the ticket lives the metrics read, for a ticket the real pipeline worked by mail."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from daemon.config import Settings
from daemon.storage.database import Database
from daemon.storage.reader import Reader
from daemon.workflow.team import sync_engineers
from rules.calendar import WALL
from rules.metrics import fcr, first_response, fold, resolution
from tests.unit.conftest import Clock, process
from tests.unit.test_triage import feed, run_jobs
from tests.unit.test_workflow import answer, desk, mail, new_ticket, outbox, read


@pytest.fixture
def team(tmp_path: Path, db: Database) -> Settings:
    settings = desk(tmp_path, db.url)
    sync_engineers(db, settings)
    return settings


def test_the_reader_cannot_write(db: Database) -> None:
    reader = Reader(db.url)
    try:
        with reader.engine.connect() as connection, pytest.raises(SQLAlchemyError):
            connection.execute(text("DELETE FROM tickets"))
    finally:
        reader.dispose()


def test_a_ticket_worked_by_mail_folds_into_its_life(
    db: Database, team: Settings, clock: Clock
) -> None:
    number = new_ticket(db, team, clock)
    created = clock()
    [notice] = outbox(db, "notice:assigned")
    clock.advance(minutes=45)
    feed(db, clock, answer(notice, "Please update the client.\n"))
    process(team, db, clock)
    answered = clock()
    clock.advance(hours=2)
    feed(db, clock, answer(notice, "#resolve client 5.2\n"))
    process(team, db, clock)
    resolved = clock()
    clock.advance(hours=2, minutes=1)
    run_jobs(db, clock, team)
    [survey] = outbox(db, "survey")
    feed(db, clock, mail("5 great\n", reply_to=survey, subject=f"Re: {read(survey).subject}"))
    process(team, db, clock)

    reader = Reader(db.url)
    try:
        rows = list(reader.events(batch=7))  # several batches, in id order
    finally:
        reader.dispose()
    life = fold(rows)[number]
    assert (life.created_at, life.first_response_at, life.resolved_at) == (
        created,
        answered,
        resolved,
    )
    assert (life.public_replies, life.reopened, life.rating, life.surveyed) == (1, 0, 5, True)
    assert life.outcomes == {"first_response": True, "resolution": True}
    assert life.module == "vpn" and life.engineer is not None
    reply = first_response(life, WALL)
    assert reply is not None and reply.calendar_seconds == 45 * 60
    done = resolution(life, WALL)
    assert done is not None and done.calendar_seconds == (2 * 60 + 45) * 60
    assert fcr(life) is True
