"""The subcommands other than `ingest`: set-up, checks, the daemon, and set-aside mail."""

from __future__ import annotations

import argparse
import json
import logging
import secrets
import signal
import sys
import threading
from importlib.resources import files
from pathlib import Path
from types import FrameType

from daemon import config, configfile
from daemon import demo as demo_module
from daemon.cli import parse as parse_command
from daemon.config import Settings
from daemon.configfile import ConfigError
from daemon.errors import StorageError
from daemon.service import Daemon, utc_now
from daemon.storage import setaside
from daemon.storage.database import Database
from daemon.storage.models import InboundState

EX_USAGE, EX_TEMPFAIL, EX_CONFIG = 64, 75, 78
SECRET_FILE = "reply_secret"
log = logging.getLogger("replydesk")


def settings_of(args: argparse.Namespace) -> Settings:
    return config.load(configfile.locate(args.config))


def init(args: argparse.Namespace) -> int:
    path = Path(args.path) if args.path else configfile.locate(args.config)
    if path.exists() and not args.force:
        print(f"{path} exists; use --force to overwrite", file=sys.stderr)
        return 1
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(files("daemon").joinpath("starter.toml").read_text(encoding="utf-8"))
    secret = path.parent / SECRET_FILE
    if not secret.exists():
        write_secret(secret)
        print(f"wrote a random reply-address secret to {secret} (mode 0600)")
    print(f"wrote {path}; check it with: replydesk --config {path} config check")
    return 0


def write_secret(path: Path) -> None:
    """A random secret in a file only its owner can read."""
    fd = path.open("x", encoding="ascii")
    with fd:
        path.chmod(0o600)
        fd.write(secrets.token_urlsafe(32) + "\n")


def config_check(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    problems = config.missing_secrets(settings)
    db = Database(settings.database.url)
    try:
        if not db.healthy():
            problems.append(
                configfile.ConfigProblem(
                    str(settings.source), "database.url", f"cannot connect: {_why(db)}"
                )
            )
    finally:
        db.dispose()
    if problems:
        raise ConfigError(problems)
    print(
        f"{settings.source}: ok ({len(settings.mailboxes)} mailbox(es), "
        f"{len(settings.maildirs)} maildir(s), {len(settings.engineers)} engineer(s), "
        f"{'SMTP relay ' + settings.smtp.host if settings.smtp else 'Maildir outbox'}, "
        f"database {db.backend} reachable)"
    )
    return 0


def _why(db: Database) -> str:
    try:
        with db.engine.connect():
            return "unknown reason"
    except Exception as exc:
        return f"{type(exc).__name__}: {str(getattr(exc, 'orig', exc)).strip().splitlines()[0]}"


def db_upgrade(args: argparse.Namespace) -> int:
    db = Database(settings_of(args).database.url)
    db.upgrade()
    print(f"database at head ({db.backend})")
    return 0


def run(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    daemon = Daemon(settings, Database(settings.database.url))
    daemon.start()
    if args.once:
        report = daemon.run_once()
        for name, error in report.source_errors.items():
            print(f"source {name}: {error}", file=sys.stderr)
        print(
            f"stored {sum(report.stored.values())}, processed {len(report.outcomes)}, "
            f"jobs {report.jobs}, sent {report.sent.sent}, retrying {report.sent.retrying}, "
            f"failed {report.sent.failed}"
        )
        return 1 if report.source_errors else 0
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: finishing the items in hand", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    daemon.run_forever(stop)
    return 0


def parse(args: argparse.Namespace) -> int:
    prefix = args.tag_prefix
    if prefix is None:
        try:
            path = configfile.locate(args.config)
            prefix = config.load(path, required=False).desk.tag_prefix
        except ConfigError as exc:
            print(f"replydesk parse: config ignored ({exc.problems[0]})", file=sys.stderr)
            prefix = ""
    return parse_command.run(
        args.files, tag_prefix=prefix, stdin=sys.stdin.buffer, stdout=sys.stdout, stderr=sys.stderr
    )


def quarantine(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    db = Database(settings.database.url)
    if args.action == "list":
        _list(db, InboundState.QUARANTINED, as_json=False)
        return 0
    if args.action == "show":
        if len(args.ids) != 1:
            print("quarantine show takes one inbound id", file=sys.stderr)
            return EX_USAGE
        item = setaside.get(db, args.ids[0])
        if item is None:
            print(f"inbound {args.ids[0]} is not set aside", file=sys.stderr)
            return 1
        if args.raw:
            sys.stdout.buffer.write(item.raw)
            return 0
        print(
            f"inbound {item.id} ({item.state}) from {item.source}, {item.size} bytes, received "
            f"{item.received_at:%Y-%m-%d %H:%M:%S} UTC, {item.attempts} attempt(s)\n"
        )
        print(item.reason)
        return 0
    if not args.ids and not args.all:
        print("quarantine retry takes inbound ids, or --all", file=sys.stderr)
        return EX_USAGE
    released = setaside.release(db, None if args.all else list(args.ids), now=utc_now())
    return _process_released(settings, db, released)


def inbound(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    db = Database(settings.database.url)
    if args.action == "list":
        _list(db, InboundState(args.state), as_json=args.json)
        return 0
    if not args.ids:
        print("inbound ticket takes the ids of ignored mail", file=sys.stderr)
        return EX_USAGE
    released = setaside.release(
        db, list(args.ids), now=utc_now(), state=InboundState.IGNORED, force_ticket=True
    )
    missing = sorted(set(args.ids) - set(released))
    for inbound_id in missing:
        print(f"inbound {inbound_id}: not ignored mail; left as it is", file=sys.stderr)
    return _process_released(settings, db, released) if released else 1


def _list(db: Database, state: InboundState, *, as_json: bool) -> None:
    for held in setaside.held(db, state):
        if as_json:
            record = {
                "id": held.id,
                "state": held.state,
                "source": held.source,
                "received_at": held.received_at.isoformat(),
                "size": held.size,
                "attempts": held.attempts,
                "reason": held.summary,
            }
            print(json.dumps(record, ensure_ascii=False))
        else:
            print(
                f"{held.id:>6}  {held.received_at:%Y-%m-%d %H:%M}  {held.source:<12} "
                f"{held.size:>8} B  {held.summary}"
            )


def _process_released(settings: Settings, db: Database, released: list[int]) -> int:
    try:
        processed, _jobs, _sent = Daemon(settings, db, sources=[]).drain()
    except StorageError as exc:
        print(f"released {len(released)}; processing left to the daemon: {exc}", file=sys.stderr)
        return EX_TEMPFAIL
    outcomes = {o.inbound_id: o for o in processed}
    for inbound_id in released:
        outcome = outcomes.get(inbound_id)
        state = outcome.action if outcome else "waiting"
        ticket = f" #{outcome.ticket_id}" if outcome and outcome.ticket_id else ""
        print(f"inbound {inbound_id}: {state}{ticket}")
    return 0 if released else 1


def demo(args: argparse.Namespace) -> int:
    return demo_module.run(Path(args.folder))
