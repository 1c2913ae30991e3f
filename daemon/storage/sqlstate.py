"""Whose fault a database error is, from its SQLSTATE: one table for both database paths.

`database.py` (SQLAlchemy) and `dbapi.py` (the pipe's plain driver) both map driver errors
through `fault()`, so an error means the same thing however the mail was written.
"""

from __future__ import annotations

from typing import Literal

from daemon.errors import (
    ConflictError,
    DatabaseUnavailableError,
    DataRefusedError,
    SchemaBehindError,
    StorageError,
)

Fault = Literal["unavailable", "conflict", "refused", "schema"]

# Connection exceptions, transaction rollbacks (deadlock, serialisation), insufficient
# resources, operator intervention (admin shutdown, pg_terminate_backend, query cancelled),
# system and internal errors; lock not available; object in use.
_UNAVAILABLE_CLASSES = ("08", "40", "53", "57", "58", "XX")
_UNAVAILABLE = frozenset({"55P03", "55006"})
_SCHEMA = frozenset({"42P01", "42703"})  # undefined table, undefined column
_SQLITE_UNAVAILABLE = ("locked", "busy", "disk i/o", "unable to open", "readonly", "disk is full")
_SQLITE_SCHEMA = ("no such table", "no such column", "has no column")


def fault(sqlstate: str | None, *, message: str, operational: bool) -> Fault:
    """The fault of an error: its SQLSTATE when it has one (PostgreSQL), else, for SQLite, its
    message; `operational` says the driver raised an OperationalError."""
    if sqlstate is not None:
        if sqlstate == "23505":
            return "conflict"
        if sqlstate in _SCHEMA:
            return "schema"
        if sqlstate in _UNAVAILABLE or sqlstate[:2] in _UNAVAILABLE_CLASSES:
            return "unavailable"
        return "refused"
    lowered = message.lower()
    if "unique" in lowered and "constraint" in lowered:
        return "conflict"
    if any(word in lowered for word in _SQLITE_SCHEMA):
        return "schema"
    if operational and (any(w in lowered for w in _SQLITE_UNAVAILABLE) or "connect" in lowered):
        return "unavailable"
    return "refused"


_ERRORS: dict[Fault, tuple[type[StorageError], str]] = {
    "unavailable": (DatabaseUnavailableError, "database unavailable"),
    "conflict": (ConflictError, "database conflict"),
    "refused": (DataRefusedError, "database refused the data"),
    "schema": (SchemaBehindError, "database schema does not match"),
}


def error(found: Fault, detail: str) -> StorageError:
    """Our exception for a fault, its message saying what kind of failure it was."""
    kind, words = _ERRORS[found]
    return kind(f"{words}: {detail}")
