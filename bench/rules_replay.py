"""How long `replydesk rules replay` takes over many stored tickets (default 100,000).

Fills a fresh database (SQLite in a temporary folder; PostgreSQL with `--postgres`, a fresh
`bench_replay_<pid>` database) with N tickets as the daemon leaves them (a requester among 2,000,
the first message with its subject and new text, the `classified` and `assigned` events, and two
stopped SLA clocks with their outcomes), by bulk inserts (filling is not what is timed), then
times `python -m daemon rules replay --since 2000-01-01` in a subprocess with the starter rule
set and a 20-engineer team on call. A tenth of the tickets were labelled differently from what
today's rules say, so the replay has differences to find; the script checks it found exactly
those.
Prints seconds, tickets per second and the subprocess's peak RSS.

    .venv/bin/python bench/rules_replay.py [--tickets N] [--postgres [URL]] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path

from benchkit import BenchError, done_progress, engineer_rows, postgres_database, progress
from sqlalchemy import insert

from daemon.storage.database import Database
from daemon.storage.models import Contact, Engineer, Event, Message, SlaClock, Ticket

ROOT = Path(__file__).resolve().parents[1]
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
CHUNK = 5_000
SAMPLES = (
    ("Invoice 118 charged twice", "My card was charged twice. Customer number: C-1", "billing"),
    ("Cannot log in", "Login fails with an error since today. Customer: ACME", "login"),
    ("API rate limit", "The API returns HTTP 429. Account number: A-77", "api"),
    ("导出报表失败", "导出CSV时出现错误。客户：华东", "reports"),
    ("Printer question", "How do I change the toner? Customer: Z-9", None),
)
TYPES = {"billing": "question", "login": "access", "api": "technical", "reports": "technical"}
TAGS = {"api": ["http-error"]}
TEAM = "".join(
    f'\n[[engineers]]\nname = "E{i}"\naddress = "e{i}@desk.example"\n'
    f'skills = ["billing:2", "login:2", "api:2", "reports:2"]\n'
    'hours = "00:00-24:00"\ndays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]\n'
    for i in range(20)
)


def fill(db: Database, tickets: int, seed: int) -> int:
    """Insert the tickets; return how many were labelled unlike today's rules."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    with db.transaction() as session:
        session.execute(
            insert(Contact),
            [
                {"address": f"c{i}@cust.example", "name": "", "created_at": start}
                for i in range(2000)
            ],
        )
        session.execute(insert(Engineer), engineer_rows(20))
    relabelled = 0
    for first in range(1, tickets + 1, CHUNK):
        progress(f"filling {first - 1}/{tickets} tickets")
        ids = range(first, min(first + CHUNK, tickets + 1))
        rows, messages, events, clocks = [], [], [], []
        for ticket_id in ids:
            subject, body, module = SAMPLES[ticket_id % len(SAMPLES)]
            stored = module
            if ticket_id % 10 == 0:
                stored, relabelled = "legacy", relabelled + 1
            at = start + timedelta(minutes=7 * ticket_id)
            rows.append(
                {
                    "id": ticket_id,
                    "subject": subject,
                    "status": "resolved",
                    "severity": 3,
                    "category": stored,
                    "queue": "general",
                    "tags": [],
                    "facts": {},
                    "waiting_for": [],
                    "mailbox": "support",
                    "requester_id": 1 + rng.randrange(2000),
                    "tier": 1,
                    "created_at": at,
                    "updated_at": at,
                }
            )
            messages.append(
                {
                    "ticket_id": ticket_id,
                    "direction": "in",
                    "public": True,
                    "subject": subject,
                    "author_address": "c@cust.example",
                    "author_kind": "contact",
                    "body": body,
                    "full_text": body,
                    "created_at": at,
                }
            )
            events.append(
                {
                    "ticket_id": ticket_id,
                    "at": at,
                    "actor": "system",
                    "kind": "classified",
                    "cause": "bench",
                    "data": {
                        "module": stored,
                        "problem_type": TYPES.get(module or ""),
                        "severity": 3,
                        "queue": "general",
                        "tier": 1,
                    },
                }
            )
            events.append(
                {
                    "ticket_id": ticket_id,
                    "at": at,
                    "actor": "system",
                    "kind": "assigned",
                    "cause": "bench",
                    "data": {"from": None, "to": 1, "strategy": "skills", "reason": "bench"},
                }
            )
            for target, used in (("first_response", 3600), ("resolution", 20 * 3600)):
                clocks.append(
                    {
                        "ticket_id": ticket_id,
                        "target": target,
                        "policy": "standard",
                        "calendar": "office",
                        "goal_seconds": 8 * 3600 if target == "first_response" else 40 * 3600,
                        "used_seconds": used,
                        "state": "stopped",
                        "since": at,
                        "outcome": "met",
                        "warned": [],
                    }
                )
        with db.transaction() as session:
            session.execute(insert(Ticket), rows)
            session.execute(insert(Message), messages)
            session.execute(insert(Event), events)
            session.execute(insert(SlaClock), clocks)
    done_progress()
    return relabelled


def run(url: str, folder: Path, tickets: int, seed: int) -> dict[str, object]:
    db = Database(url)
    db.upgrade()
    expected = fill(db, tickets, seed)
    db.dispose()
    starter = files("daemon").joinpath("starter.toml").read_text(encoding="utf-8")
    config = folder / "replydesk.toml"
    starter = starter.replace('reply_secret_file = "reply_secret"', "")
    config.write_text(
        starter.replace('url = "sqlite:///replydesk.db"', f'url = "{url}"') + TEAM, encoding="utf-8"
    )
    progress("replaying")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    began = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "daemon",
            "--config",
            str(config),
            "rules",
            "replay",
            "--since",
            "2000-01-01",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    seconds = time.perf_counter() - began
    done_progress()
    if done.returncode != 0:
        raise BenchError(f"replay failed: {done.stderr[-2000:]}")
    summary = json.loads(done.stdout.splitlines()[-1])
    if summary["tickets"] != tickets or summary["by_field"] != {"category": expected}:
        raise BenchError(f"replay found {summary}, expected {expected} category differences")
    peak = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before)
    return {
        "backend": db.backend,
        "tickets": tickets,
        "seconds": round(seconds, 2),
        "tickets_per_s": round(tickets / seconds),
        "differing": summary["differing"],
        "by_field": summary["by_field"],
        "peak_rss_mb": round(peak / 1024),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--postgres", nargs="?", const=PG_SERVER, default=None)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = []
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-replay-")))
        urls = [f"sqlite:///{folder / 'replay.db'}"]
        if args.postgres:
            urls.append(
                stack.enter_context(postgres_database(args.postgres, prefix="bench_replay"))
            )
        for url in urls:
            results.append(run(url, folder, args.tickets, args.seed))
    for result in results:
        if args.json:
            print(json.dumps(result))
        else:
            print(
                f"rules replay, {result['backend']}: {result['tickets']} tickets in "
                f"{result['seconds']} s ({result['tickets_per_s']} tickets/s), "
                f"{result['differing']} differing, peak RSS {result['peak_rss_mb']} MB"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
