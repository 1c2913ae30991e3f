"""Facts about the schema that cheap code paths need without importing SQLAlchemy or Alembic.

`HEAD` is the newest migration's revision; `replydesk ingest` compares it with the database's
`alembic_version` and refuses (exit 75) to write into an older schema rather than migrating from
an MTA pipe. A test keeps `HEAD` equal to Alembic's own head.
"""

from __future__ import annotations

HEAD = "0005"


def is_memory_url(url: str) -> bool:
    """True for SQLite URLs that keep nothing once the process ends."""
    scheme, _, rest = url.partition("://")
    if not scheme.startswith("sqlite"):
        return False
    database = rest[1:] if rest.startswith("/") else rest
    database = database.partition("?")[0]
    return database in {"", ":memory:"} or "mode=memory" in url
