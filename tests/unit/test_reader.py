"""The read-only query layer: the database refuses its writes, and the events it streams fold
into the ticket lives the metrics read, for a ticket the real pipeline worked by mail."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from daemon import cli
from daemon.cli.report import baseline
from daemon.config import Settings
from daemon.site.data import folded
from daemon.storage.database import Database
from daemon.storage.reader import Reader
from daemon.workflow.team import sync_engineers
from rules.calendar import WALL
from rules.metrics import fcr, first_response, fold, measure, resolution
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


def work_one_ticket(db: Database, team: Settings, clock: Clock) -> tuple[int, list[datetime]]:
    """A ticket answered after 45 minutes, resolved 2 hours later, rated 5; its moments."""
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
    return number, [created, answered, resolved]


def test_a_ticket_worked_by_mail_folds_into_its_life(
    db: Database, team: Settings, clock: Clock
) -> None:
    number, (created, answered, resolved) = work_one_ticket(db, team, clock)
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


def test_the_baseline_report_holds_the_periods_numbers_and_their_definitions(
    db: Database, team: Settings, clock: Clock
) -> None:
    start = clock()
    work_one_ticket(db, team, clock)
    new_ticket(db, team, clock)  # still open at the end
    reader = Reader(db.url)
    try:
        lives = fold(reader.events()).values()
        people = reader.engineers()
    finally:
        reader.dispose()
    measured = measure(lives, calendars={life.ticket: WALL for life in lives})
    found = baseline(measured, start=start, end=start + timedelta(days=1), people=people)
    summary = found["summary"]
    assert (summary["created"], summary["resolved"], summary["backlog"]) == (2, 1, 1)
    assert summary["first_response"]["calendar"] == {"n": 1, "median": 2700, "p90": 2700}
    assert summary["fcr"] == {"hits": 1, "n": 1, "share": 1.0}
    assert summary["csat"]["average"] == 5.0 and summary["csat"]["response"]["share"] == 1.0
    assert set(found["breakdowns"]["engineer"]) == {"ann@desk.test"}
    assert found["breakdowns"]["engineer"]["ann@desk.test"]["fcr"] is None  # a team measure
    assert "first_response" in found["definitions"]
    json.dumps(found)  # all of it is JSON


def test_report_refuses_a_period_that_ends_before_it_starts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = cli.main(["report", "baseline", "--from", "2026-12-02", "--to", "2026-12-01"])
    assert code == 64 and "must come after" in capsys.readouterr().err


def test_lives_read_ticket_by_ticket_are_the_lives_folded_from_the_whole_log(
    db: Database, team: Settings, clock: Clock
) -> None:
    first, _ = work_one_ticket(db, team, clock)
    second = new_ticket(db, team, clock)
    clock.advance(minutes=5)  # the first ticket's customer writes again: its events interleave
    feed(db, clock, mail("Still broken.\n", subject=f"Re: [#{first}] My VPN"))
    process(team, db, clock)
    reader = Reader(db.url)
    try:
        rows = list(reader.events(by_ticket=True, batch=3))
        whole = fold(reader.events())
        lives = folded(reader, until=clock())
        logged = [row.ticket_id for row in reader.events()]
    finally:
        reader.dispose()
    order = [row.ticket_id for row in rows]
    assert order == sorted(order) and set(order) == {first, second}
    assert logged != sorted(logged)  # in id order the two tickets interleave
    assert {life.ticket: life for life in lives} == whole
    assert [life.ticket for life in lives] == [first, second]
