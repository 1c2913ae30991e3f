"""`replydesk ingest`: store one mail from an MTA pipe and answer at once.

The MTA turns our exit status into the customer's fate: 0 is "delivered", 75 (EX_TEMPFAIL) is
"queue it and try again", anything else is a bounce. So every failure to store, whatever its
cause (an unreadable or invalid config, a database down, locked or behind on its schema, a bug),
exits 75 with one line on stderr; only input certain to be refused forever (an empty mail, a
missing file named on the command line) exits otherwise. Nothing but the store runs here: no
migrations, no SQLAlchemy, no parsing; the daemon processes what was stored.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from daemon import configfile
from daemon.errors import StorageError
from daemon.storage import dbapi, intake
from daemon.storage.dbapi import Plain
from daemon.storage.schema import HEAD

EX_USAGE, EX_TEMPFAIL = 64, 75
BUSY_SECONDS = 10.0


def ingest(args: argparse.Namespace) -> int:
    try:
        raw = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        print(f"ingest: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return EX_TEMPFAIL if args.file == "-" else EX_USAGE
    if not raw.strip():
        print("ingest: empty input: nothing stored", file=sys.stderr)
        return EX_USAGE
    try:
        return _store(args, raw)
    except Exception as exc:  # whatever it was, the mail must not bounce
        print(f"ingest: mail not stored, the MTA should retry: {exc}", file=sys.stderr)
        return EX_TEMPFAIL


def _store(args: argparse.Namespace, raw: bytes) -> int:
    path = configfile.locate(args.config)
    url = configfile.database_url(configfile.read(path), source=path)
    db = dbapi.connect(url, timeout=BUSY_SECONDS)
    try:
        revision = _revision(db)
        if revision != HEAD:
            print(
                f"ingest: mail not stored, the MTA should retry: the database schema is at "
                f"{revision or 'nothing'}, this replydesk needs {HEAD}; run `replydesk db upgrade`",
                file=sys.stderr,
            )
            return EX_TEMPFAIL
        envelope = intake.Envelope(source=args.source, received_at=datetime.now(UTC))
        stored = intake.store(db, raw, envelope)
    finally:
        db.close()
    print(f"stored as inbound {stored.inbound_id}{'' if stored.created else ' (already had it)'}")
    if args.process:
        _process(args)
    return 0


def _revision(db: Plain) -> str | None:
    try:
        value = db.scalar("SELECT version_num FROM alembic_version")
    except StorageError:
        db.connection.rollback()
        return None
    db.connection.rollback()
    return None if value is None else str(value)


def _process(args: argparse.Namespace) -> None:
    """Stored already: a failure here leaves the mail to the daemon and still exits 0."""
    import logging  # noqa: PLC0415 - the slow path only: the pipe's fast path never pays for it

    from daemon.cli.commands import settings_of  # noqa: PLC0415
    from daemon.errors import ReplydeskError  # noqa: PLC0415
    from daemon.service import Daemon  # noqa: PLC0415
    from daemon.storage.database import Database  # noqa: PLC0415

    try:
        settings = settings_of(args)
        Daemon(settings, Database(settings.database.url), sources=[]).drain()
    except ReplydeskError as exc:
        logging.getLogger("replydesk").warning("stored; processing left to the daemon: %s", exc)
