"""How fast the email workflow runs: engineers' commands parsed, and their replies end to end.

Two measurements, both in this process (issue #9):

1. Commands: `--replies` (default 10,000) seeded engineer replies, each with 0 to 5 command lines
   at the top (`#severity 2`, `#tag +vpn -billing`, `#assign ann`, `#resolve fixed it`,
   `#cc +x@y.test`, desk aliases; one line in twenty wrong: an unknown or misspelt name, a bad
   level, tag or address, nobody of that name), then text. Each is timed through
   `parsers.commands.find_commands()` and `rules.commands.parse_commands()` with 50 engineers,
   20 categories and five aliases. Prints microseconds per mail (median, 90th percentile,
   maximum).
2. End to end: a fresh database (SQLite in a temporary folder; PostgreSQL too with `--postgres`,
   a fresh `bench_workflow_<pid>` database, made and dropped with psql), upgraded, with the team
   synchronised. `--mails` (default 500) customer mails are stored with `intake.store()` and
   processed by a `ProcessRunner` pass (timed); then every ticket's engineer answers the
   assignment notice at its signed Reply-To, In-Reply-To the notice, with two commands, three
   lines of text and ten lines of quoted history; those are stored and processed (timed apart:
   commands applied, text relayed, transcript written). The benchmark checks that every mail
   made a ticket with one assignment notice and that every ticket got exactly one `reply` and
   one transcript in the outbox, and exits 1 otherwise. Prints customer mails/s, engineer
   replies/s, mean ms per reply and the process's peak RSS (`ru_maxrss`).

    .venv/bin/python bench/workflow_speed.py [--mails N] [--replies N] [--postgres [URL]]
                                             [--seed S] [--json]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from benchkit import DESK, BenchError, done_progress, postgres_database, progress
from sqlalchemy import func, select

from daemon import config
from daemon.config import Settings
from daemon.runners.process import Outcome, ProcessRunner
from daemon.storage import holders, intake
from daemon.storage.database import Database
from daemon.storage.intake import Envelope
from daemon.storage.models import Outbox
from daemon.workflow.team import sync_engineers
from parsers import parse
from parsers.commands import find_commands
from rules.commands import parse_commands

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
ANN, BOB = "ann@desk.test", "bob@desk.test"
EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
FIRST = ("Chen", "Dana", "Emil", "Fatima", "Gus", "Hana", "Ivo", "Jun")
LAST = ("Li", "Novak", "Schmidt", "Okafor", "Silva", "Tanaka")
CATEGORIES = frozenset(
    [
        "billing",
        "login",
        "api",
        "reports",
        "vpn",
        "network",
        "printing",
        "mail",
        "backup",
        "storage",
        "licensing",
        "mobile",
        "sso",
        "calendar",
        "export",
        "import",
        "search",
        "security",
        "hardware",
        "onboarding",
    ]
)
ALIASES = {
    "fixed": "resolve",
    "prio": "severity",
    "erledigt": "resolve",
    "zu": "close",
    "étiquette": "tag",
}
SUBJECTS = (
    "VPN drops every hour",
    "Cannot log in since this morning",
    "Invoice shows the wrong amount",
    "Report export is empty",
    "API returns 500 on /orders",
)
TEXT = (
    "Thanks for the details, I can reproduce it here.",
    "Please update the client to 4.2 and restart it.",
    "The fix is rolled out; it should work again within the hour.",
    "Could you send us the log from the last failure?",
    "I have asked our network team to look at the gateway.",
)


# --- 1. the command grammar -----------------------------------------------------------------


def engineers() -> dict[str, str]:
    """50 engineers, address to name; first names repeat (so #assign takes a full name)."""
    team = {ANN: "Ann Archer", BOB: "Bob Brown"}
    for i in range(len(FIRST) * len(LAST)):
        team[f"e{i}@desk.test"] = f"{FIRST[i % len(FIRST)]} {LAST[i // len(FIRST)]}"
    return team


def command_lines(rng: random.Random, people: list[str]) -> list[str]:
    """0 to 5 command lines, at most one of each kind, as an engineer writes them; about one
    line in twenty is wrong (unknown, misspelt, a bad level, nobody of that name)."""
    category = rng.choice(sorted(CATEGORIES))
    kinds = (
        (
            "#resolve fixed it by renewing the certificate",
            "#status pending",
            "#Erledigt",
            "#fixed restarted the gateway",
        ),
        (f"#assign {rng.choice(('ann', 'me', 'bob@desk.test', rng.choice(people)))}", "#take"),
        (f"#severity {rng.randint(1, 4)}", f"#prio {rng.randint(1, 4)}"),
        (f"#category {category}",),
        (f"#tag +{rng.choice(('vpn', 'network', 'waiting'))} -billing",),
        (f"#tag +{category} +customer:{rng.randint(1, 99)}", f"#étiquette +{category}"),
        (f"#cc +x{rng.randint(1, 9)}@y.test", "#cc -old@cust.test"),
        ("#escalate the customer's whole site is down", "#note"),
    )
    wrong = (
        f"#severity {rng.randint(5, 9)}",
        "#frobnicate now",
        "#status maybe",
        "#assign nobody-here",
        "#tag +bad!tag",
        "#resovle typo",
        "#cc someone",
    )
    if rng.random() < 0.02:
        return [f"#merge {rng.randint(1, 5000)}"]
    count = rng.choice((0, 1, 1, 2, 2, 2, 3, 4, 5))
    lines = [rng.choice(kind) for kind in rng.sample(kinds, count)]
    return [rng.choice(wrong) if rng.random() < 0.05 else line for line in lines]


def reply_texts(count: int, seed: int, team: dict[str, str]) -> list[str]:
    """The new text of `count` engineer replies: command lines, a blank line, then text."""
    rng = random.Random(seed)
    people = list(team.values())
    texts = []
    for _ in range(count):
        lines = command_lines(rng, people)
        texts.append("\n".join([*lines, "", *rng.sample(TEXT, 3), "", "Regards,", "Ann"]) + "\n")
    return texts


def time_commands(count: int, seed: int) -> dict[str, object]:
    team = engineers()
    texts = reply_texts(count, seed, team)
    timings: list[float] = []
    found = ops = errors = refused = 0
    gc.collect()  # the heap of the imports and the generated texts, not one mail, pays for it
    for i, body in enumerate(texts):
        if i % 1000 == 0:
            progress(f"commands: {i}/{count}")
        began = time.perf_counter()
        commands = find_commands(body)
        parsed = parse_commands(
            commands,
            writer=ANN,
            ticket=1 + i,
            engineers=team,
            categories=CATEGORIES,
            aliases=ALIASES,
        )
        timings.append(time.perf_counter() - began)
        found += len(commands)
        ops += len(parsed.ops)
        errors += len(parsed.errors)
        refused += bool(parsed.errors)
    done_progress()
    if found == 0 or ops == 0 or refused == 0:
        raise BenchError(f"commands: {found} found, {ops} parsed, {refused} refused: no real work")
    micro = sorted(t * 1e6 for t in timings)
    return {
        "replies": count,
        "commands": found,
        "ops": ops,
        "errors": errors,
        "refused_replies": refused,
        "engineers": len(team),
        "categories": len(CATEGORIES),
        "median_us": round(statistics.median(micro), 1),
        "p90_us": round(micro[int(len(micro) * 0.9)], 1),
        "max_us": round(micro[-1], 1),
        "mean_us": round(statistics.fmean(micro), 1),
    }


# --- 2. end to end --------------------------------------------------------------------------


@dataclass(slots=True)
class Result:
    backend: str
    mails: int
    store_seconds: float = 0.0
    customer_seconds: float = 0.0
    reply_store_seconds: float = 0.0
    reply_seconds: float = 0.0
    tickets: int = 0
    replies_relayed: int = 0
    transcripts: int = 0
    outbox: int = 0
    peak_rss_mb: float = 0.0

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = asdict(self)
        data.update(
            customer_mails_per_s=self.mails / self.customer_seconds,
            replies_per_s=self.mails / self.reply_seconds,
            ms_per_reply=1000 * self.reply_seconds / self.mails,
        )
        return data


def desk_settings(workdir: Path, url: str) -> Settings:
    """The desk of tests/unit/test_workflow.py: Ann at work every hour, Bob at tier 2."""
    (workdir / "reply-secret").write_text("the reply secret of this benchmark desk\n")
    return config.validate(
        {
            "desk": {
                "name": "Bench Desk",
                "addresses": [DESK],
                "managers": ["boss@desk.test"],
                "reply_secret_file": "reply-secret",
            },
            "database": {"url": url},
            "outbox": {"maildir": str(workdir / "outbox")},
            "engineers": [
                {"name": "Ann Archer", "address": ANN, "days": EVERY_DAY, "hours": "00:00-24:00"},
                {"name": "Bob Brown", "address": BOB, "tier": 2},
            ],
            "rules": {
                "classify": [{"name": "vpn", "when": {"words": ["vpn"]}, "set": {"module": "vpn"}}]
            },
            "sla": {
                "calendar": "wall",
                "policies": [
                    {
                        "name": "urgent",
                        "severities": [1],
                        "first_response": "1h",
                        "resolution": "4h",
                    },
                    {
                        "name": "standard",
                        "first_response": "8h",
                        "resolution": "40h",
                        "update_interval": "4h",
                    },
                ],
            },
            "workflow": {"survey_delay_hours": 2, "auto_close_days": 3, "reopen_days": 10},
        },
        source=workdir / "replydesk.toml",
    )


def customer_mail(i: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Customer {i} <c{i}@cust{i % 40}.test>"
    msg["To"] = DESK
    msg["Subject"] = SUBJECTS[i % len(SUBJECTS)]
    msg["Message-ID"] = f"<bench.c{i}@cust.test>"
    msg.set_content(
        f"Hello,\n\nsince the update our VPN drops every hour (case {i}).\n"
        "It started on Monday; the log is below.\n\nThanks,\nCustomer\n"
    )
    return msg.as_bytes()


def engineer_reply(settings: Settings, notice: Outbox, i: int) -> bytes:
    """What the engineer's client sends when they answer the assignment notice (to its
    Reply-To), with two commands, three lines of text and the notice quoted below."""
    message = parse(notice.raw)
    engineer = settings.engineer(notice.recipients[0])
    if engineer is None or not message.reply_to:
        raise BenchError(f"{notice.message_id}: no engineer's notice with a Reply-To")
    commands = (
        ("#severity 2", "#tag +vpn -billing"),
        ("#tag +network", "#cc +lead@cust.test"),
        ("#status pending", "#tag +waiting"),
        ("#severity 3", "#tag +followup"),
    )[i % 4]
    quoted = [f"> line {n} of the notice answered" for n in range(1, 11)]
    msg = EmailMessage()
    msg["From"] = f"{engineer.name} <{engineer.address}>"
    msg["To"] = message.reply_to[0].address
    msg["Subject"] = f"Re: {message.subject}"
    msg["Message-ID"] = f"<bench.r{i}@desk.test>"
    msg["In-Reply-To"] = notice.message_id
    msg["References"] = notice.message_id
    msg.set_content(
        "\n".join(
            [*commands, "", *TEXT[i % 2 : i % 2 + 3], "", "On Monday, Bench Desk wrote:", *quoted]
        )
        + "\n"
    )
    return msg.as_bytes()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def store_all(db: Database, raws: list[bytes], label: str) -> float:
    began = time.perf_counter()
    for i, raw in enumerate(raws):
        if i % 50 == 0:
            progress(f"{label}: store {i}/{len(raws)}")
        stored = intake.store(db, raw, Envelope(source="main", received_at=datetime.now(UTC)))
        if not stored.created:
            raise BenchError(f"{label}: mail {i} was taken for a duplicate")
    return time.perf_counter() - began


def process_all(settings: Settings, db: Database, label: str) -> tuple[float, list[Outcome]]:
    """One processing pass by a fresh holder, as `run --once` does it (sending left out)."""
    progress(f"{label}: processing")
    holder_id = holders.register(db, "bench")
    try:
        runner = ProcessRunner(settings, db, holder_id=holder_id, clock=lambda: datetime.now(UTC))
        began = time.perf_counter()
        runner.run_pass(threading.Event())
        return time.perf_counter() - began, runner.outcomes
    finally:
        holders.stop(db, holder_id)
        done_progress()


def kinds_per_ticket(db: Database, kind: str) -> Counter[int]:
    with db.read() as session:
        rows = session.execute(
            select(Outbox.ticket_id, func.count())
            .where(Outbox.kind == kind)
            .group_by(Outbox.ticket_id)
        ).all()
    return Counter({int(ticket): int(n) for ticket, n in rows if ticket is not None})


def run_backend(backend: str, url: str, mails: int, workdir: Path) -> Result:
    settings = desk_settings(workdir, url)
    with opened(url) as db:
        sync_engineers(db, settings)
        result = Result(backend, mails)
        result.store_seconds = store_all(db, [customer_mail(i) for i in range(mails)], backend)
        result.customer_seconds, outcomes = process_all(settings, db, backend)
        tickets = {o.ticket_id for o in outcomes if o.ticket_id is not None}
        if len(outcomes) != mails or len(tickets) != mails:
            actions = Counter(o.action for o in outcomes)
            raise BenchError(f"{backend}: {mails} mails made {len(tickets)} tickets ({actions})")
        result.tickets = len(tickets)
        with db.read() as session:
            query = select(Outbox).where(Outbox.kind == "notice:assigned").order_by(Outbox.id)
            rows = list(session.scalars(query))
        notices = {row.ticket_id: row for row in rows}
        if len(rows) != mails or set(notices) != tickets:
            raise BenchError(f"{backend}: {len(rows)} assignment notices for {mails} tickets")
        replies = [engineer_reply(settings, notices[t], i) for i, t in enumerate(sorted(tickets))]
        result.reply_store_seconds = store_all(db, replies, f"{backend} replies")
        result.reply_seconds, outcomes = process_all(settings, db, f"{backend} replies")
        relayed = kinds_per_ticket(db, "reply")
        transcripts = kinds_per_ticket(db, "notice:transcript")
        wrong = {t: (relayed[t], transcripts[t]) for t in tickets if relayed[t] != 1}
        wrong |= {t: (relayed[t], transcripts[t]) for t in tickets if transcripts[t] != 1}
        if len(outcomes) != mails or wrong:
            refused = sum(kinds_per_ticket(db, "notice:commands_refused").values())
            raise BenchError(
                f"{backend}: {len(wrong)} of {mails} tickets without exactly one reply and "
                f"transcript (ticket: (replies, transcripts), e.g. {list(wrong.items())[:3]}); "
                f"{refused} replies refused"
            )
        result.replies_relayed = sum(relayed.values())
        result.transcripts = sum(transcripts.values())
        with db.read() as session:
            result.outbox = int(session.scalar(select(func.count()).select_from(Outbox)) or 0)
    result.peak_rss_mb = round(peak_rss_mb(), 1)
    return result


@contextmanager
def opened(url: str) -> Iterator[Database]:
    db = Database(url)
    try:
        db.upgrade()
        yield db
    finally:
        db.dispose()


# --- output ---------------------------------------------------------------------------------


def print_figures(commands: dict[str, Any], results: list[Result]) -> None:
    print(
        f"commands over {commands['replies']} engineer replies ({commands['commands']} command "
        f"lines, {commands['ops']} parsed, {commands['errors']} errors in "
        f"{commands['refused_replies']} refused replies), {commands['engineers']} engineers, "
        f"{commands['categories']} categories:\n"
        f"  median {commands['median_us']} µs, p90 {commands['p90_us']} µs, "
        f"max {commands['max_us']} µs per mail (find_commands + parse_commands)"
    )
    print(
        f"{'backend':<11}{'mails':>6}{'customer/s':>12}{'replies/s':>11}{'ms/reply':>10}"
        f"{'relayed':>9}{'transcripts':>13}{'outbox':>8}{'peak RSS':>10}"
    )
    for r in results:
        print(
            f"{r.backend:<11}{r.mails:>6}{r.mails / r.customer_seconds:>12.1f}"
            f"{r.mails / r.reply_seconds:>11.1f}{1000 * r.reply_seconds / r.mails:>10.2f}"
            f"{r.replies_relayed:>9}{r.transcripts:>13}{r.outbox:>8}{r.peak_rss_mb:>7.1f} MB"
        )
    print("customer/s = new tickets per second of one ProcessRunner pass; replies/s = engineer")
    print("replies applied, relayed and transcribed per second; storing is timed apart (--json)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--mails", type=int, default=500, help="customer mails (and replies)")
    parser.add_argument("--replies", type=int, default=10_000, help="replies for the commands")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument(
        "--postgres",
        nargs="?",
        const=PG_SERVER,
        default=None,
        metavar="URL",
        help=f"also PostgreSQL on this server (default {PG_SERVER}); a fresh database is made",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object for scripts")
    args = parser.parse_args(argv)
    if args.mails < 1 or args.replies < 1:
        parser.error("--mails and --replies must be at least 1")
    results: list[Result] = []
    try:
        commands = time_commands(args.replies, args.seed)
        with tempfile.TemporaryDirectory(prefix="replydesk-workflow-") as tmp:
            workdir = Path(tmp, "sqlite")
            workdir.mkdir()
            url = f"sqlite:///{workdir / 'replydesk.db'}"
            results.append(run_backend("sqlite", url, args.mails, workdir))
            if args.postgres:
                workdir = Path(tmp, "postgresql")
                workdir.mkdir()
                with postgres_database(args.postgres, prefix="bench_workflow") as url:
                    results.append(run_backend("postgresql", url, args.mails, workdir))
    except BenchError as exc:
        done_progress()
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"commands": commands, "results": [r.to_json() for r in results]}))
    else:
        print_figures(commands, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
