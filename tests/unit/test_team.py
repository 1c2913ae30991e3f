"""The team in the database follows the configuration, idempotently and under concurrency."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import select

from daemon.storage.database import Database
from daemon.storage.models import Engineer
from daemon.workflow.team import sync_engineers
from tests.unit.conftest import make_settings

TEAM = [
    {
        "name": "Eve",
        "address": "eve@desk.test",
        "timezone": "Asia/Tokyo",
        "hours": "10:00-18:30",
        "days": ["mon", "wed", "sat"],
        "skills": ["vpn", "billing"],
    },
    {"name": "Finn", "address": "finn@desk.test", "tier": 2},
]


def test_engineers_get_real_hours_days_and_skills(tmp_path: Path, db: Database) -> None:
    settings = make_settings(tmp_path, db.url, engineers=TEAM)
    sync_engineers(db, settings)
    sync_engineers(db, settings)
    with db.read() as session:
        rows = {e.address: e for e in session.scalars(select(Engineer))}
    eve = rows["eve@desk.test"]
    assert (eve.timezone, eve.hours_start, eve.hours_end) == ("Asia/Tokyo", "10:00", "18:30")
    assert (eve.days, eve.skills, eve.active) == (["mon", "wed", "sat"], ["vpn", "billing"], True)
    assert rows["finn@desk.test"].tier == 2 and len(rows) == 2


def test_an_engineer_no_longer_configured_is_kept_inactive(tmp_path: Path, db: Database) -> None:
    sync_engineers(db, make_settings(tmp_path, db.url, engineers=TEAM))
    sync_engineers(db, make_settings(tmp_path, db.url, engineers=TEAM[1:]))
    with db.read() as session:
        active = {e.address: e.active for e in session.scalars(select(Engineer))}
    assert active == {"eve@desk.test": False, "finn@desk.test": True}


def test_two_processes_starting_at_once_both_succeed(tmp_path: Path, db: Database) -> None:
    settings = make_settings(tmp_path, db.url, engineers=TEAM)
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def start() -> None:
        other = Database(db.url)
        try:
            barrier.wait(timeout=10)
            sync_engineers(other, settings)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            other.dispose()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    with db.read() as session:
        assert len(session.scalars(select(Engineer)).all()) == 2
