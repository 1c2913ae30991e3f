"""Today's rules over stored tickets: what would differ, computed, never written.

Each ticket opened since a date is triaged again from its first mail as stored (subject, new
text, attachments; headers re-read from the raw mail only when a rule reads headers), at the
moment it was opened, with today's rule book and today's team. The sender's history is rebuilt
from the tickets table (tickets opened before this one; those still open count as open). What
the rules decided then is read from the ticket's `classified` and first `assigned` events.
Outcomes are compared clock by clock: a stopped clock's used time against today's goal.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from daemon.config import Settings
from daemon.storage.models import Engineer, Event, Inbound, Message, Ticket, TicketStatus
from daemon.workflow.assignment import team_facts
from parsers import parse_head
from rules import sla
from rules.classify import AttachmentFacts, MailFacts
from rules.triage import triage

BATCH = 500
CLOSED = {TicketStatus.RESOLVED, TicketStatus.CLOSED}


@dataclass(slots=True)
class ReplaySummary:
    tickets: int = 0
    differing: int = 0
    by_field: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def to_json(self) -> dict[str, Any]:
        return {
            "summary": True,
            "tickets": self.tickets,
            "differing": self.differing,
            "by_field": dict(sorted(self.by_field.items())),
        }


def replay(
    session: Session,
    settings: Settings,
    *,
    since: datetime,
    summary: ReplaySummary,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> Iterator[dict[str, Any]]:
    """One JSON-able record per ticket whose decisions would differ today."""
    book = settings.rulebook()
    team = team_facts(session, settings)
    zone = ZoneInfo(book.timezone)
    headers = any(rule.when.headers for rule in book.ruleset.rules)
    history = _history(session)
    addresses = {
        row.id: row.address for row in session.execute(select(Engineer.id, Engineer.address))
    }
    ids = list(
        session.scalars(select(Ticket.id).where(Ticket.created_at >= since).order_by(Ticket.id))
    )
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        tickets = session.scalars(
            select(Ticket)
            .where(Ticket.id.in_(batch))
            .options(selectinload(Ticket.clocks), selectinload(Ticket.requester))
            .order_by(Ticket.id)
        ).all()
        firsts = _first_messages(session, batch)
        then = _decided(session, batch)
        for ticket in tickets:
            summary.tickets += 1
            message = firsts.get(ticket.id)
            if message is None:
                continue
            mail = MailFacts(
                mailbox=ticket.mailbox,
                sender=ticket.requester.address,
                subject=message.subject,
                text=message.body,
                attachments=tuple(
                    AttachmentFacts(a.filename or "", a.content_type.lower())
                    for a in message.attachments
                ),
                headers=_headers(session, message) if headers else (),
                local_time=ticket.created_at.astimezone(zone),
                **_sender_history(history, ticket, book.ruleset.history_days),
            )
            now = triage(mail, book=book, engineers=team, at=ticket.created_at)
            differs = _differences(ticket, then.get(ticket.id, {}), now, addresses, book)
            if differs:
                summary.differing += 1
                for name in differs:
                    summary.by_field[name] += 1
                yield {
                    "ticket": ticket.id,
                    "differs": differs,
                    "hits": [h.reason for h in now.classification.hits],
                }
        progress(min(start + BATCH, len(ids)), len(ids))


def _differences(
    ticket: Ticket,
    then: dict[str, Any],
    now: Any,
    addresses: dict[int, str],
    book: Any,
) -> dict[str, list[Any]]:
    labels = now.classification
    was = then.get("classified", {})
    pairs = {
        "category": (was.get("module", ticket.category), labels.module),
        "problem_type": (was.get("problem_type", ticket.problem_type), labels.problem_type),
        "severity": (was.get("severity", ticket.severity), labels.severity),
        "queue": (was.get("queue", ticket.queue), labels.queue),
        "tier": (was.get("tier", 1), labels.tier),
        "assignee": (addresses.get(then.get("assigned_to") or -1), now.assignment.engineer),
    }
    differs = {name: [a, b] for name, (a, b) in pairs.items() if a != b}
    policy = now.policy
    for clock in ticket.clocks:
        if clock.state != "stopped" or clock.outcome is None or policy is None:
            continue
        target: sla.Target = "first_response" if clock.target == "first_response" else "resolution"
        verdict = "met" if clock.used_seconds <= policy.goal(target) else "missed"
        if verdict != clock.outcome:
            differs[f"sla_{clock.target}"] = [clock.outcome, verdict]
    return differs


@dataclass(slots=True)
class _Sender:
    """One requester's tickets in time order: when each was opened, and running open counts."""

    times: list[float] = field(default_factory=list)
    open_before: list[int] = field(default_factory=lambda: [0])


def _history(session: Session) -> dict[int, _Sender]:
    found: dict[int, _Sender] = defaultdict(_Sender)
    query = select(Ticket.requester_id, Ticket.created_at, Ticket.status).order_by(
        Ticket.created_at, Ticket.id
    )
    for requester, created, status in session.execute(query):
        sender = found[requester]
        sender.times.append(created.timestamp())
        sender.open_before.append(sender.open_before[-1] + (status not in CLOSED))
    return found


def _sender_history(
    history: dict[int, _Sender], ticket: Ticket, days: frozenset[int]
) -> dict[str, Any]:
    sender = history.get(ticket.requester_id, _Sender())
    at = ticket.created_at.timestamp()
    cut = bisect.bisect_left(sender.times, at)
    within = {span: cut - bisect.bisect_right(sender.times, at - span * 86400) for span in days}
    return {"open_tickets": sender.open_before[cut], "tickets_within": within}


def _first_messages(session: Session, batch: list[int]) -> dict[int, Message]:
    rows = session.scalars(
        select(Message)
        .where(Message.ticket_id.in_(batch), Message.direction == "in")
        .options(selectinload(Message.attachments))
        .order_by(Message.id)
    ).all()
    firsts: dict[int, Message] = {}
    for row in rows:
        firsts.setdefault(row.ticket_id, row)
    return firsts


def _decided(session: Session, batch: list[int]) -> dict[int, dict[str, Any]]:
    then: dict[int, dict[str, Any]] = defaultdict(dict)
    rows = session.execute(
        select(Event.ticket_id, Event.kind, Event.data)
        .where(Event.ticket_id.in_(batch), Event.kind.in_(("classified", "assigned")))
        .order_by(Event.id)
    )
    for ticket_id, kind, data in rows:
        if kind == "classified":
            then[ticket_id].setdefault("classified", data)
        elif "assigned_to" not in then[ticket_id]:
            then[ticket_id]["assigned_to"] = data.get("to")
    return then


def _headers(session: Session, message: Message) -> tuple[tuple[str, str], ...]:
    if message.inbound_id is None:
        return ()
    raw = session.scalar(select(Inbound.raw).where(Inbound.id == message.inbound_id))
    return parse_head(raw).headers if raw else ()
