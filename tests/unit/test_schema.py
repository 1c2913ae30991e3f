"""The models, the migrations and the cheap schema facts agree, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from daemon.storage.database import Database, alembic_config
from daemon.storage.models import Base
from daemon.storage.schema import HEAD, is_memory_url


def test_autogenerate_finds_no_difference_after_the_migrations(db: Database) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_head_constant_is_alembics_head(db: Database) -> None:
    script = ScriptDirectory.from_config(alembic_config(db.url))
    assert script.get_current_head() == HEAD
    assert db.revision() == HEAD
    db.require_current()


def test_memory_urls_are_told_apart() -> None:
    for url in (
        "sqlite://",
        "sqlite:///",
        "sqlite:///:memory:",
        "sqlite+pysqlite:///:memory:",
        "sqlite:///file:x?mode=memory&uri=true",
    ):
        assert is_memory_url(url), url
    for url in ("sqlite:///replydesk.db", "sqlite:////var/lib/rd.db", "postgresql://h/db"):
        assert not is_memory_url(url), url
