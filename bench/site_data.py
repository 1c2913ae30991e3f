"""What `site_build.py` builds the site from: a synthetic but realistic event log, and articles.

`fill` inserts N tickets over a year, in bulk (filling is not what is timed), each with the
events the daemon writes for it: created and classified, the two SLA clocks started, assigned,
acknowledged and the engineer told; then (unless it is among the newest, still waiting) the first
public reply with its first-response outcome, sometimes a second reply, an escalation or the
customer's answer; resolved with its resolution outcome, sometimes reopened and resolved again;
surveyed, a third of them rated, and closed. Mail and notice events the metrics do not read are
there too, since the reader has to pass them by. About 17 events a ticket.

`write_articles` writes N knowledge-base articles of the team's standard shape (front matter as
"The articles store" gives it, five sections, some in Chinese) into a docs folder.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from benchkit import done_progress, engineer_rows, progress
from sqlalchemy import insert

from daemon.storage.database import Database
from daemon.storage.models import Contact, Engineer, Event, Ticket

START = datetime(2025, 11, 3, 0, 0, tzinfo=UTC)  # a Monday; a year of tickets follows
SPAN = timedelta(days=364)
CHUNK = 2_000  # tickets per bulk insert
ENGINEERS = 20
CONTACTS = 2_000
MODULES = ("vpn", "billing", "login", "api", "reports", None)
TYPES = ("question", "access", "technical", "incident")
GOALS = {"first_response": 8 * 3600, "resolution": 40 * 3600}
WORDS = (
    "client",
    "tunnel",
    "invoice",
    "refund",
    "login",
    "password",
    "token",
    "export",
    "report",
    "timeout",
    "proxy",
    "gateway",
    "certificate",
    "printer",
    "mailbox",
    "quota",
    "sync",
    "upload",
    "download",
    "update",
    "restart",
    "network",
)
CHINESE = ("连接失败", "导出报表", "退款申请", "密码重置", "客户端更新", "网络超时")


def event(
    ticket: int, at: datetime, kind: str, data: dict[str, Any], actor: str = "system"
) -> dict[str, Any]:
    return {
        "ticket_id": ticket,
        "at": at,
        "actor": actor,
        "kind": kind,
        "cause": "bench",
        "data": data,
    }


def _clock(ticket: int, at: datetime, target: str, state: str, used: int) -> dict[str, Any]:
    deadline = None if state == "stopped" else (at + timedelta(seconds=GOALS[target])).isoformat()
    data = {
        "target": target,
        "policy": "standard",
        "calendar": "office",
        "state": state,
        "goal_seconds": GOALS[target],
        "used_seconds": used,
        "deadline": deadline,
        "why": "bench",
    }
    return event(ticket, at, "sla_clock", data)


def _outcome(ticket: int, at: datetime, target: str, used: int) -> dict[str, Any]:
    goal = GOALS[target]
    data = {"target": target, "met": used <= goal, "used_seconds": used, "goal_seconds": goal}
    return event(ticket, at, "sla_outcome", data)


def _status(ticket: int, at: datetime, was: str, to: str) -> dict[str, Any]:
    return event(ticket, at, "status_changed", {"from": was, "to": to, "reason": "bench"})


def _reply(ticket: int, at: datetime, engineer: int, *, first: bool) -> dict[str, Any]:
    data = {"message": ticket, "outbox": ticket, "to": ["c@cust.example"], "cc": [], "first": first}
    return event(ticket, at, "reply_sent", data, actor=f"engineer:{engineer}")


def ticket_events(
    ticket: int, created: datetime, rng: random.Random, *, waiting: bool
) -> Iterator[dict[str, Any]]:
    """One ticket's events in the order the daemon writes them (see the module docstring)."""
    module = MODULES[ticket % len(MODULES)]
    engineer = 1 + rng.randrange(ENGINEERS)
    yield event(ticket, created, "created", {"inbound": ticket, "mailbox": "support", "hits": []})
    yield event(
        ticket, created, "message_received", {"message": ticket, "inbound": ticket, "public": True}
    )
    classified: dict[str, Any] = {
        "module": module,
        "problem_type": rng.choice(TYPES),
        "severity": rng.choice((2, 3, 3, 3, 4)),
        "tags": [],
        "queue": "general" if ticket % 4 else "priority",
        "tier": 1,
        "hits": [],
    }
    yield event(ticket, created, "classified", classified)
    for target in GOALS:
        yield _clock(ticket, created, target, "running", 0)
    assigned: dict[str, Any] = {
        "from": None,
        "to": engineer,
        "strategy": "skills",
        "considered": [],
        "reason": "bench",
    }
    yield event(ticket, created, "assigned", assigned)
    yield event(ticket, created, "acknowledged", {"outbox": ticket})
    yield event(
        ticket,
        created,
        "notified",
        {"notice": "assigned", "to": ["e@desk.example"], "outbox": ticket},
    )
    yield event(ticket, created, "mail_sent", {"outbox": ticket, "to": ["c@cust.example"]})
    if waiting:
        return
    answered = created + timedelta(minutes=rng.lognormvariate(4.5, 1.0))
    used = int((answered - created).total_seconds())
    yield _reply(ticket, answered, engineer, first=True)
    yield _outcome(ticket, answered, "first_response", used)
    yield _clock(ticket, answered, "first_response", "stopped", used)
    resolved = answered + timedelta(hours=rng.lognormvariate(2.5, 1.2))
    if rng.random() < 0.3:
        yield _reply(ticket, answered + (resolved - answered) / 2, engineer, first=False)
    if rng.random() < 0.05:
        yield event(
            ticket, answered, "escalated", {"from_tier": 1, "to_tier": 2, "reason": "bench"}
        )
    yield _status(ticket, resolved, "open", "resolved")
    yield _outcome(ticket, resolved, "resolution", int((resolved - created).total_seconds()))
    if rng.random() < 0.08:
        reopened = resolved + timedelta(hours=rng.uniform(2, 48))
        yield _status(ticket, reopened, "resolved", "open")
        resolved = reopened + timedelta(hours=rng.uniform(1, 24))
        yield _reply(ticket, resolved, engineer, first=False)
        yield _status(ticket, resolved, "open", "resolved")
    surveyed = resolved + timedelta(hours=2)
    yield event(ticket, surveyed, "survey_sent", {"outbox": ticket})
    if rng.random() < 0.35:
        rating = rng.choice((5, 5, 4, 4, 3, 2, 1))
        yield event(ticket, surveyed + timedelta(hours=5), "survey_answered", {"rating": rating})
    yield _status(ticket, resolved + timedelta(days=3), "resolved", "closed")


def _people(db: Database) -> None:
    with db.transaction() as session:
        contacts = [
            {"address": f"c{i}@cust.example", "name": "", "created_at": START}
            for i in range(CONTACTS)
        ]
        session.execute(insert(Contact), contacts)
        session.execute(insert(Engineer), engineer_rows(ENGINEERS))


def _ticket_row(ticket: int, created: datetime, rng: random.Random) -> dict[str, Any]:
    words = " ".join(rng.sample(WORDS, 3))
    subject = f"{words} {CHINESE[ticket % len(CHINESE)]}" if ticket % 7 == 0 else words
    return {
        "id": ticket,
        "subject": subject,
        "status": "closed",
        "severity": 3,
        "category": MODULES[ticket % len(MODULES)],
        "queue": "general",
        "tags": [],
        "facts": {},
        "waiting_for": [],
        "mailbox": "support",
        "requester_id": 1 + rng.randrange(CONTACTS),
        "tier": 1,
        "created_at": created,
        "updated_at": created,
    }


def fill(db: Database, tickets: int, *, seed: int) -> tuple[int, datetime]:
    """Insert `tickets` tickets spread over a year; returns the events written and the moment
    just after the last ticket (the build is made as at then)."""
    rng = random.Random(seed)
    _people(db)
    step = SPAN / tickets
    written = 0
    waiting_from = tickets - max(1, tickets // 200)  # the newest half percent: no reply yet
    for first in range(1, tickets + 1, CHUNK):
        progress(f"filling {first - 1}/{tickets} tickets")
        rows: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        for ticket in range(first, min(first + CHUNK, tickets + 1)):
            created = START + step * (ticket - 1) + timedelta(seconds=rng.randrange(600))
            rows.append(_ticket_row(ticket, created, rng))
            events.extend(ticket_events(ticket, created, rng, waiting=ticket >= waiting_from))
        events.sort(key=lambda row: row["at"])  # the log is appended in time order
        with db.transaction() as session:
            session.execute(insert(Ticket), rows)
            session.execute(insert(Event), events)
        written += len(events)
    done_progress()
    return written, START + SPAN + timedelta(days=1)


def article_text(number: int, rng: random.Random) -> str:
    """One article of the standard shape, with front matter; every tenth is partly Chinese."""
    module = MODULES[number % len(MODULES)] or "general"
    words = rng.sample(WORDS, 4)
    status = "published" if number % 20 else rng.choice(("draft", "retired"))
    reviewed = date(2025, 1, 1) + timedelta(days=rng.randrange(700))
    related = sorted(rng.sample(range(1, 1000), 2))
    title = f"{words[0].capitalize()} {words[1]} fails on {module} ({number})"
    chinese = (
        f"\n\n{CHINESE[number % len(CHINESE)]}：请先更新客户端，然后重新登录。"
        if number % 10 == 0
        else ""
    )
    lines = [
        "---",
        f"title: {title}",
        f"owner: e{number % ENGINEERS}@desk.example",
        f"module: {module}",
        f"tags: [{words[2]}, {words[3]}]",
        f"status: {status}",
        f"reviewed_at: {reviewed.isoformat()}",
        "review_days: 180",
        f"tickets: [{', '.join(map(str, related))}]",
        "---",
        f"# {title}",
        "",
        "## Symptom",
        "",
        f"The {words[0]} stops with an error when the {words[1]} is used. " * 3 + chinese,
        "",
        "## Environment",
        "",
        f"- Product module: {module}\n- Client 5.{number % 9}\n- Any operating system",
        "",
        "## Cause",
        "",
        f"A stale {words[2]} is kept after the {words[3]} changes. " * 2,
        "",
        "## Resolution",
        "",
        "1. Update the client.\n2. Sign out and in again.\n3. If it persists, write to support.",
        "",
        "## Related tickets",
        "",
        ", ".join(f"#{t}" for t in related),
        "",
    ]
    return "\n".join(lines)


def write_articles(folder: Path, count: int, *, seed: int) -> int:
    """`count` article files under `folder` (a docs folder's kb/bench/); returns the count."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(1, count + 1):
        path = folder / f"article-{number:05d}.md"
        path.write_text(article_text(number, rng), encoding="utf-8")
    return count
