"""The `replydesk` command line: one entry point, a subcommand per job.

Each subcommand's code is imported only when it runs (`handler` names a module and function),
so `replydesk ingest`, started by the MTA for every mail, pays for nothing but itself.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from typing import Any

from daemon.configfile import ConfigError

EX_USAGE, EX_TEMPFAIL, EX_CONFIG = 64, 75, 78


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not args.verbose:  # alembic >= 1.17 names each of its plugins at INFO on every start
        logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    module, _, function = args.handler.partition(":")
    handler = getattr(importlib.import_module(f"daemon.cli.{module}"), function)
    try:
        return int(handler(args))
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"config error: {problem}", file=sys.stderr)
        return EX_CONFIG


def _report(sub: Any) -> None:
    report = sub.add_parser("report", help="the service's numbers from the event log, as JSON")
    report.add_argument("kind", choices=["baseline"])
    report.add_argument("--from", dest="from_", required=True, help="first day (ISO 8601)")
    report.add_argument("--to", required=True, help="the day after the last (ISO 8601)")
    report.add_argument("--at", help="the event log as it stood then (ISO 8601; default now)")
    report.set_defaults(handler="report:main")


def _site(sub: Any) -> None:
    site = sub.add_parser("site", help="the knowledge base and metrics site (MkDocs)")
    site.add_argument("action", choices=["build", "serve"], help="build it, or preview it")
    site.add_argument("--out", help="where the site goes (else [site] out, else mkdocs.yml's)")
    site.add_argument("--at", help="numbers as the event log stood then (ISO 8601; default now)")
    site.add_argument(
        "--part",
        choices=["public", "internal", "both"],
        default="both",
        help="build: the public part (to --out), the internal one ([site] internal_out), or both",
    )
    site.add_argument("--port", type=int, default=8000, help="serve: the port (0: a free one)")
    site.add_argument("--bind", default="127.0.0.1", help="serve: the address to listen on")
    site.add_argument(
        "--access-log",
        help="serve: append each request to this file (Combined Log Format; [site] access_logs)",
    )
    site.set_defaults(handler="site:main")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="replydesk", description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="config file (else $REPLYDESK_CONFIG, ./replydesk.toml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init = sub.add_parser("init", help="write a starter config file and a reply secret")
    init.add_argument("path", nargs="?", help="where to write it (default: the config path)")
    init.add_argument("--force", action="store_true", help="overwrite an existing config file")
    init.set_defaults(handler="commands:init")

    check = sub.add_parser("config", help="configuration tools")
    check.add_argument("action", choices=["check"])
    check.set_defaults(handler="commands:config_check")

    db = sub.add_parser("db", help="database tools")
    db.add_argument("action", choices=["upgrade"])
    db.set_defaults(handler="commands:db_upgrade")

    run = sub.add_parser("run", help="run the daemon (SIGTERM stops it cleanly)")
    run.add_argument("--once", action="store_true", help="one pass over everything, then exit")
    run.set_defaults(handler="commands:run")

    ingest = sub.add_parser("ingest", help="store one mail from a file or a pipe (MTA alias)")
    ingest.add_argument("file", nargs="?", default="-", help="the mail, or - for stdin")
    ingest.add_argument("--source", default="pipe", help="source name recorded for the mail")
    ingest.add_argument(
        "--process", action="store_true", help="also process and send now (no daemon running)"
    )
    ingest.add_argument("--no-process", action="store_true", help=argparse.SUPPRESS)
    ingest.set_defaults(handler="ingest:ingest")

    parse = sub.add_parser("parse", help="print parsed mail as JSON (one object per line)")
    parse.add_argument("files", nargs="+", help="mail files, or - for stdin")
    parse.add_argument("--tag-prefix", default=None, help="ticket tag prefix (else the config's)")
    parse.set_defaults(handler="commands:parse")

    held = sub.add_parser("quarantine", help="mail that could not be processed")
    held.add_argument("action", choices=["list", "show", "retry"])
    held.add_argument("ids", nargs="*", type=int, help="inbound ids (show, retry)")
    held.add_argument("--all", action="store_true", help="retry: every quarantined mail")
    held.add_argument("--raw", action="store_true", help="show: print the raw bytes")
    held.set_defaults(handler="commands:quarantine")

    inbound = sub.add_parser("inbound", help="stored mail: list by state, turn into a ticket")
    inbound.add_argument("action", choices=["list", "ticket"])
    inbound.add_argument("ids", nargs="*", type=int, help="inbound ids (ticket)")
    inbound.add_argument(
        "--state",
        default="ignored",
        choices=["stored", "done", "ignored", "quarantined"],
        help="list: which mail (default: ignored)",
    )
    inbound.add_argument("--json", action="store_true", help="list: JSON Lines for scripts")
    inbound.set_defaults(handler="commands:inbound")

    rules = sub.add_parser("rules", help="the rule book: check it, try it on a mail, replay it")
    rules.add_argument("action", choices=["check", "test", "replay"])
    rules.add_argument("file", nargs="?", help="test: the mail (.eml) to try")
    rules.add_argument("--at", help="test: decide as at this time (ISO 8601; default now)")
    rules.add_argument("--since", help="replay: tickets opened since this date (ISO 8601)")
    rules.set_defaults(handler="rules:main")

    _report(sub)
    _site(sub)
    demo = sub.add_parser("demo", help="build a sample mailbox and run the daemon over it")
    demo.add_argument("folder", nargs="?", default="demo", help="where to build it")
    demo.set_defaults(handler="commands:demo")
    return parser
