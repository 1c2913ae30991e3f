"""The database handle: engine set-up per backend, transactions, errors classified, migrations.

SQLite gets WAL, foreign keys and `BEGIN IMMEDIATE` write transactions (so concurrent writers wait
for each other instead of failing on a lock upgrade); `read()` opens a plain deferred transaction
that never takes the write lock. PostgreSQL is used as it comes.

Every SQLAlchemy error leaving `transaction()` or `read()` is mapped once (see `classify`) to
`DatabaseUnavailableError` (transient: back off), `DataRefusedError` or `ConflictError` (the
item is at fault), or `SchemaBehindError`, so callers never inspect driver errors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    DBAPIError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
    StatementError,
)
from sqlalchemy.orm import Session, sessionmaker

from daemon.errors import (
    DatabaseUnavailableError,
    SchemaBehindError,
    StorageError,
)
from daemon.storage.schema import HEAD, is_memory_url
from daemon.storage.sqlstate import error, fault

MIGRATIONS = Path(__file__).with_name("migrations")
LOCK_WAIT_SECONDS = 10.0
"""How long a statement waits for a lock (SQLite's busy timeout, PostgreSQL's lock_timeout)
before it fails as `DatabaseUnavailableError`: nothing waits forever, so a stop request is
always heard, and a runner backs off instead of hanging behind someone else's lock."""


class Database:
    """One engine and its sessions; `transaction()` is the only way code writes."""

    def __init__(self, url: str, *, busy_seconds: float = LOCK_WAIT_SECONDS) -> None:
        self.url = url
        self.engine = make_engine(url, busy_seconds=busy_seconds)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._readers = sessionmaker(
            self.engine.execution_options(replydesk_read=True), expire_on_commit=False
        )

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in one write transaction: committed on success, rolled back on any error."""
        with self._session(self._sessions) as session:
            yield session

    def on_write(self, name: str, hook: Callable[..., None]) -> None:
        """Call `hook` on the SQLAlchemy session event `name` of every write transaction (how
        `daemon.site.schedule` notices, just before a commit, a change the site shows)."""
        event.listen(self._sessions, name, hook)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading only; on SQLite it never holds or waits for the write lock."""
        with self._session(self._readers) as session:
            yield session

    @contextmanager
    def _session(self, factory: sessionmaker[Session]) -> Iterator[Session]:
        session = factory()
        try:
            with session.begin():
                yield session
        except SQLAlchemyError as exc:
            raise classify(exc) from exc
        finally:
            session.close()

    def healthy(self) -> bool:
        """Whether a trivial query works now (tells a sick database from a bad item)."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except SQLAlchemyError:
            return False

    def revision(self) -> str | None:
        """The schema revision the database is at (None for an empty database)."""
        try:
            with self.read() as session:
                return session.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except SchemaBehindError:
            return None

    def require_current(self) -> None:
        """Raise `SchemaBehindError` unless the database is at this code's schema revision."""
        found = self.revision()
        if found != HEAD:
            raise SchemaBehindError(
                f"database schema is at {found or 'nothing'}, this replydesk needs {HEAD}: "
                "run `replydesk db upgrade` (a daemon start does it too)"
            )

    def upgrade(self) -> None:
        """Apply every pending migration (idempotent)."""
        from alembic import command  # noqa: PLC0415 - only migrating pays for importing alembic

        try:
            with self.engine.begin() as connection:
                config = alembic_config(self.url)
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except SQLAlchemyError as exc:
            raise classify(exc) from exc

    def dispose(self) -> None:
        self.engine.dispose()


def classify(exc: SQLAlchemyError) -> StorageError:
    """Map a SQLAlchemy error to whose fault it is (see `daemon.errors`)."""
    detail = f"{type(exc).__name__}: {getattr(exc, 'orig', None) or exc}"
    lost = isinstance(exc, DBAPIError) and exc.connection_invalidated
    if lost or isinstance(exc, InterfaceError):
        return DatabaseUnavailableError(f"database connection lost: {detail}")
    if not isinstance(exc, DBAPIError | StatementError):
        return DatabaseUnavailableError(f"database error: {detail}")
    found = fault(
        _sqlstate(exc),
        message=str(getattr(exc, "orig", exc)),
        operational=isinstance(exc, OperationalError),
    )
    return error(found, detail)


def _sqlstate(exc: SQLAlchemyError) -> str | None:
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return code if isinstance(code, str) and len(code) == 5 else None


def alembic_config(url: str) -> Any:
    from alembic.config import Config as AlembicConfig  # noqa: PLC0415 - as above

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def make_engine(url: str, *, busy_seconds: float = LOCK_WAIT_SECONDS) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        given = parsed.query.get("options", "")  # keep what the URL itself asks of the server
        given = given if isinstance(given, str) else " ".join(given)
        options = f"{given} -c lock_timeout={int(busy_seconds * 1000)}".strip()
        return create_engine(url, pool_pre_ping=True, connect_args={"options": options})
    if not is_memory_url(url):
        Path(parsed.database or "").parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": busy_seconds, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: object) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_seconds * 1000)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        read = connection.get_execution_options().get("replydesk_read", False)
        connection.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")

    return engine
