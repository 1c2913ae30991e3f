"""Whose fault a database error is: the database's (wait), the item's (count), or a conflict."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from daemon.errors import DatabaseUnavailableError, DataRefusedError, SchemaBehindError
from daemon.storage.database import Database
from daemon.storage.sqlstate import fault


@pytest.mark.parametrize(
    ("sqlstate", "expected"),
    [
        ("57P01", "unavailable"),  # admin shutdown: pg_terminate_backend
        ("08006", "unavailable"),  # connection failure
        ("40P01", "unavailable"),  # deadlock
        ("55P03", "unavailable"),  # lock not available
        ("57014", "unavailable"),  # statement timeout
        ("22001", "refused"),  # value too long
        ("22003", "refused"),  # integer out of range
        ("22021", "refused"),  # NUL / bad encoding
        ("23503", "refused"),  # foreign key
        ("23505", "conflict"),
        ("42P01", "schema"),
    ],
)
def test_postgresql_errors_by_sqlstate(sqlstate: str, expected: str) -> None:
    assert fault(sqlstate, message="", operational=False) == expected


def test_sqlite_errors_by_message() -> None:
    assert fault(None, message="database is locked", operational=True) == "unavailable"
    assert fault(None, message="UNIQUE constraint failed: x.y", operational=False) == "conflict"
    assert fault(None, message="no such table: inbound", operational=True) == "schema"
    assert fault(None, message="FOREIGN KEY constraint failed", operational=False) == "refused"


def test_a_locked_sqlite_is_unavailable_not_the_items_fault(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/x.db", busy_seconds=0.1)
    with db.transaction() as session:
        session.execute(text("CREATE TABLE t (v INTEGER)"))
    holder = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(DatabaseUnavailableError), db.transaction() as session:
            session.execute(text("INSERT INTO t VALUES (1)"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with pytest.raises(SchemaBehindError), db.read() as session:
        session.execute(text("SELECT * FROM missing"))
    db.dispose()


def test_postgresql_refuses_an_out_of_range_value_as_the_items_fault(pg_url: str) -> None:
    db = Database(pg_url)
    with pytest.raises(DataRefusedError), db.read() as session:
        session.execute(text("SELECT CAST(99999999999 AS integer)"))
    db.dispose()


def test_postgresql_never_waits_forever_for_a_lock(pg_url: str) -> None:
    """A lock held elsewhere makes a statement fail as unavailable, so a stop is always heard."""
    db = Database(pg_url, busy_seconds=0.3)
    with db.transaction() as session:
        session.execute(text("CREATE TABLE IF NOT EXISTS held (v integer)"))
    with psycopg.connect(libpq(pg_url)) as other:
        other.execute("LOCK TABLE held IN ACCESS EXCLUSIVE MODE")
        with pytest.raises(DatabaseUnavailableError, match="lock"), db.read() as session:
            session.execute(text("SELECT * FROM held"))
    db.dispose()


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)
