"""The `replydesk` command line: one entry point, a subcommand per job."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path
from types import FrameType

from daemon import config, demo
from daemon.cli import parse as parse_command
from daemon.config import ConfigError, Settings
from daemon.errors import ReplydeskError, StorageError
from daemon.service import Daemon, utc_now
from daemon.storage import intake, quarantine
from daemon.storage.database import Database

EX_USAGE, EX_TEMPFAIL, EX_CONFIG = 64, 75, 78
log = logging.getLogger("replydesk")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args.handler(args))
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"config error: {problem}", file=sys.stderr)
        return EX_CONFIG


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="replydesk", description=__doc__)
    parser.add_argument("--config", help="config file (else $REPLYDESK_CONFIG, ./replydesk.toml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init = sub.add_parser("init", help="write a commented starter config file")
    init.add_argument("path", nargs="?", help="where to write it (default: the config path)")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(handler=_init)

    check = sub.add_parser("config", help="configuration tools")
    check.add_argument("action", choices=["check"])
    check.set_defaults(handler=_config_check)

    db = sub.add_parser("db", help="database tools")
    db.add_argument("action", choices=["upgrade"])
    db.set_defaults(handler=_db_upgrade)

    run = sub.add_parser("run", help="run the daemon (SIGTERM stops it cleanly)")
    run.add_argument("--once", action="store_true", help="one pass over every source, then exit")
    run.set_defaults(handler=_run)

    ingest = sub.add_parser("ingest", help="store one mail from a file or a pipe (MTA alias)")
    ingest.add_argument("file", nargs="?", default="-", help="the mail, or - for stdin")
    ingest.add_argument("--source", default="pipe", help="source name recorded for the mail")
    ingest.add_argument("--no-process", action="store_true", help="store only")
    ingest.set_defaults(handler=_ingest)

    parse = sub.add_parser("parse", help="print parsed mail as JSON (one object per line)")
    parse.add_argument("files", nargs="+", help="mail files, or - for stdin")
    parse.add_argument("--tag-prefix", default=None, help="ticket tag prefix (else the config's)")
    parse.set_defaults(handler=_parse)

    held = sub.add_parser("quarantine", help="mail that could not be processed")
    held.add_argument("action", choices=["list", "show", "retry"])
    held.add_argument("ids", nargs="*", type=int, help="inbound ids (show, retry)")
    held.add_argument("--all", action="store_true", help="retry: every quarantined mail")
    held.add_argument("--raw", action="store_true", help="show: print the raw bytes")
    held.set_defaults(handler=_quarantine)

    demo = sub.add_parser("demo", help="build a sample mailbox and run the daemon over it")
    demo.add_argument("folder", nargs="?", default="demo", help="where to build it")
    demo.set_defaults(handler=_demo)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    return config.load(config.locate(args.config))


def _init(args: argparse.Namespace) -> int:
    path = Path(args.path) if args.path else config.locate(args.config)
    if path.exists() and not args.force:
        print(f"{path} exists; use --force to overwrite", file=sys.stderr)
        return 1
    path.write_text(files("daemon").joinpath("starter.toml").read_text(encoding="utf-8"))
    print(f"wrote {path}; check it with: replydesk --config {path} config check")
    return 0


def _config_check(args: argparse.Namespace) -> int:
    settings = _settings(args)
    print(
        f"{settings.source}: ok ({len(settings.mailboxes)} mailbox(es), "
        f"{len(settings.maildirs)} maildir(s), {len(settings.engineers)} engineer(s), "
        f"{'SMTP relay ' + settings.smtp.host if settings.smtp else 'Maildir outbox'})"
    )
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    db = Database(_settings(args).database.url)
    db.upgrade()
    print(f"database at head ({db.backend})")
    return 0


def _run(args: argparse.Namespace) -> int:
    settings = _settings(args)
    daemon = Daemon(settings, Database(settings.database.url))
    daemon.start()
    if args.once:
        report = daemon.run_once()
        for name, error in report.source_errors.items():
            print(f"source {name}: {error}", file=sys.stderr)
        print(
            f"stored {sum(report.stored.values())}, processed {len(report.outcomes)}, "
            f"sent {report.sent.sent}, retrying {report.sent.retrying}, failed {report.sent.failed}"
        )
        return 1 if report.source_errors else 0
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: finishing the mail in hand", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    daemon.run_forever(stop)
    return 0


def _ingest(args: argparse.Namespace) -> int:
    """Store first and answer the MTA: 0 once stored, 75 (retry later) if it could not be."""
    try:
        raw = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        print(f"ingest: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return EX_TEMPFAIL if args.file == "-" else EX_USAGE
    if not raw.strip():
        print("ingest: empty input: nothing stored", file=sys.stderr)
        return EX_USAGE
    try:
        settings = _settings(args)
        db = Database(settings.database.url)
        db.upgrade()
        stored = intake.store(db, raw, intake.Envelope(source=args.source, received_at=utc_now()))
    except (ReplydeskError, ConfigError, OSError) as exc:
        print(f"ingest: mail not stored, the MTA should retry: {exc}", file=sys.stderr)
        return EX_TEMPFAIL
    print(f"stored as inbound {stored.inbound_id}{'' if stored.created else ' (already had it)'}")
    if not args.no_process:
        try:
            Daemon(settings, db, sources=[]).drain()
        except StorageError as exc:
            log.warning("stored, but processing is left for the daemon: %s", exc)
    return 0


def _parse(args: argparse.Namespace) -> int:
    prefix = args.tag_prefix
    if prefix is None:
        try:
            prefix = config.load(config.locate(args.config), required=False).desk.tag_prefix
        except ConfigError as exc:
            print(f"replydesk parse: config ignored ({exc.problems[0]})", file=sys.stderr)
            prefix = ""
    return parse_command.run(
        args.files, tag_prefix=prefix, stdin=sys.stdin.buffer, stdout=sys.stdout, stderr=sys.stderr
    )


def _quarantine(args: argparse.Namespace) -> int:
    settings = _settings(args)
    db = Database(settings.database.url)
    if args.action == "list":
        for held in quarantine.held(db):
            print(
                f"{held.id:>6}  {held.received_at:%Y-%m-%d %H:%M}  {held.source:<12} "
                f"{held.size:>8} B  {held.summary}"
            )
        return 0
    if args.action == "show":
        if len(args.ids) != 1:
            print("quarantine show takes one inbound id", file=sys.stderr)
            return EX_USAGE
        item = quarantine.get(db, args.ids[0])
        if item is None:
            print(f"inbound {args.ids[0]} is not in quarantine", file=sys.stderr)
            return 1
        if args.raw:
            sys.stdout.buffer.write(item.raw)
            return 0
        print(
            f"inbound {item.id} from {item.source}, {item.size} bytes, received "
            f"{item.received_at:%Y-%m-%d %H:%M:%S} UTC, {item.attempts} attempt(s)\n"
        )
        print(item.error)
        return 0
    if not args.ids and not args.all:
        print("quarantine retry takes inbound ids, or --all", file=sys.stderr)
        return EX_USAGE
    released = quarantine.release(db, None if args.all else list(args.ids))
    processed, _sent = Daemon(settings, db, sources=[]).drain()
    outcomes = {o.inbound_id: o for o in processed}
    for inbound_id in released:
        outcome = outcomes.get(inbound_id)
        state = outcome.action if outcome else "waiting"
        print(
            f"inbound {inbound_id}: {state}"
            + (f" #{outcome.ticket_id}" if outcome and outcome.ticket_id else "")
        )
    return 0 if released else 1


def _demo(args: argparse.Namespace) -> int:
    return demo.run(Path(args.folder))
