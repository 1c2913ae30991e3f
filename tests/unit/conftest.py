"""Fixtures for daemon unit tests: settings, a migrated database on each backend, a fixed clock."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from daemon import config
from daemon.config import Settings
from daemon.runners.process import Outcome, ProcessRunner
from daemon.storage import holders
from daemon.storage.database import Database


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_settings(tmp_path: Path, db_url: str, **overrides: object) -> Settings:
    data: dict[str, object] = {
        "desk": {"name": "Test Desk", "addresses": ["support@desk.test"]},
        "database": {"url": db_url},
        "outbox": {"maildir": str(tmp_path / "outbox")},
        "engineers": [{"name": "Eve", "address": "eve@desk.test"}],
    }
    data.update(overrides)
    return config.validate(data, source=tmp_path / "replydesk.toml")


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return make_settings(tmp_path, db_url)


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings.database.url)
    database.upgrade()
    yield database
    database.dispose()


def process(settings: Settings, db: Database, clock: Clock) -> list[Outcome]:
    """One processing pass by a fresh holder, as `run --once` does it (sending left out)."""
    holder_id = holders.register(db, "test")
    try:
        runner = ProcessRunner(settings, db, holder_id=holder_id, clock=clock)
        runner.run_pass(threading.Event())
        return runner.outcomes
    finally:
        holders.stop(db, holder_id)
