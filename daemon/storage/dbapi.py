"""A thin DB-API layer for the one write that must be cheap: storing a mail from an MTA pipe.

`replydesk ingest` starts a process per mail, so it cannot pay for importing SQLAlchemy (about
0.25 s here). `Plain` wraps a sqlite3 or psycopg connection with the few things `intake.store`
needs: named parameters (`:name`, rewritten for psycopg), a write transaction (`BEGIN
IMMEDIATE` on SQLite), timestamps and JSON in the formats the SQLAlchemy models use, and driver
errors mapped to ours (`daemon.errors`). The daemon hands its own pooled connection over with
`from_database`, so both paths run the same SQL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote

from daemon.errors import StorageError
from daemon.storage.sqlstate import error, fault

if TYPE_CHECKING:
    from daemon.storage.database import Database

Backend = Literal["sqlite", "postgresql"]
_NAMED = re.compile(r"(?<![:\w]):(\w+)")
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's SQLite DateTime storage format


class Plain:
    """One DB-API connection and its backend's manners."""

    def __init__(self, connection: Any, backend: Backend) -> None:
        self.connection = connection
        self.backend = backend

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        cursor = self.connection.cursor()
        if self.backend == "postgresql":
            sql = _NAMED.sub(r"%(\1)s", sql.replace("%", "%%"))
        with _mapped():
            cursor.execute(sql, dict(params or {}))
        return cursor

    def scalar(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        row = self.execute(sql, params).fetchone()
        return None if row is None else row[0]

    @contextmanager
    def transaction(self) -> Iterator[Plain]:
        with _mapped():
            if self.backend == "sqlite":
                self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            with _mapped():
                self.connection.rollback()
            raise
        with _mapped():
            self.connection.commit()

    def time(self, value: datetime) -> Any:
        value = value.astimezone(UTC)
        return (
            value.replace(tzinfo=None).strftime(_SQLITE_TIME) if self.backend == "sqlite" else value
        )

    def json(self, value: object) -> str:
        return json.dumps(value, ensure_ascii=False)

    def close(self) -> None:
        self.connection.close()


def connect(url: str, *, timeout: float) -> Plain:
    """Open a connection from a SQLAlchemy-style URL without importing SQLAlchemy."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise StorageError(f"not a database URL: {url!r}")
    dialect = scheme.partition("+")[0]
    with _mapped():
        if dialect == "sqlite":
            return Plain(_sqlite(rest, timeout), "sqlite")
        if dialect in {"postgresql", "postgres"}:
            import psycopg  # noqa: PLC0415 - only the driver in use is imported

            conninfo = f"postgresql://{rest}"
            connection = psycopg.connect(conninfo, connect_timeout=max(1, int(timeout)))
            timeout_ms = int(timeout * 1000)
            connection.execute(f"SET lock_timeout = {timeout_ms}")
            connection.execute(f"SET statement_timeout = {timeout_ms * 3}")
            connection.commit()
            return Plain(connection, "postgresql")
    raise StorageError(f"unsupported database in {url!r}: use sqlite or postgresql")


def from_database(db: Database) -> Plain:
    """The daemon's own pooled connection, for running `intake.store` inside the daemon."""
    with _mapped():
        pooled = db.engine.raw_connection()  # close() hands it back to the pool
    backend: Backend = "postgresql" if db.backend == "postgresql" else "sqlite"
    return Plain(pooled, backend)


def _sqlite(rest: str, timeout: float) -> Any:
    import sqlite3  # noqa: PLC0415 - as above

    path = unquote(rest[1:] if rest.startswith("/") else rest).partition("?")[0]
    if not path or path == ":memory:":
        raise StorageError("an in-memory SQLite database keeps nothing: set [database] url")
    if Path(path).is_dir():
        raise StorageError(f"{path} is a directory, not a database file")
    connection = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    connection.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
    connection.execute("PRAGMA foreign_keys=ON")
    return connection


@contextmanager
def _mapped() -> Iterator[None]:
    """Driver errors become ours: conflicts, refused data, or an unavailable database."""
    try:
        yield
    except StorageError:
        raise
    except Exception as exc:
        raise _classify(exc) from exc


def _classify(exc: Exception) -> StorageError:
    """Through the same table as the SQLAlchemy path (`daemon.storage.sqlstate`)."""
    name = type(exc).__name__
    sqlstate = getattr(exc, "sqlstate", None)
    found = fault(
        sqlstate if isinstance(sqlstate, str) else None,
        message=str(exc),
        operational=name in {"OperationalError", "InterfaceError"},
    )
    if name == "InterfaceError":
        found = "unavailable"
    return error(found, f"{name}: {exc}")
