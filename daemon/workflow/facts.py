"""Gather what routing needs to know about one mail, from the database, bounded and read-only.

Every value taken from the mail is bounded before it reaches a query: a ticket reference outside
the id range matches nothing, at most `MAX_THREAD_IDS` Message-IDs are looked up, and the column
types (`daemon.storage.types`) make over-long values fit. The result is `rules.intake.IntakeFacts`.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, bindparam, case, func, or_, select
from sqlalchemy.orm import Session

from daemon.config import Settings
from daemon.mail.reply_address import reply_tag
from daemon.storage.bounded import fit_key
from daemon.storage.models import Contact, Message, Outbox, Ticket
from parsers import ParsedMessage
from parsers.address_parts import address_key
from parsers.subjects import MAX_TICKET, foreign_ticket_tag
from rules.intake import AckCounts, AckLimits, IntakeFacts, ThreadCandidate, TicketFacts, Via

MAX_THREAD_IDS = 50
JUST_NOW = timedelta(minutes=2)
MESSAGE_ID_LENGTH = 300  # messages.message_id: stored values are compared in their stored form
MAX_MERGE_HOPS = 5
MAX_THREAD_ROWS = 500  # a Message-ID a stranger reused on many tickets is read this far only
MAX_THREAD_TICKETS = 20
DELIVERY_HEADERS = ("delivered-to", "x-original-to", "envelope-to")


def gather(
    session: Session,
    message: ParsedMessage,
    settings: Settings,
    now: datetime,
    *,
    forced: bool = False,
) -> IntakeFacts:
    desk = settings.desk
    sender = message.from_.address if message.from_ else ""
    threads = thread_candidates(session, message)
    return IntakeFacts(
        message=message,
        our_addresses=frozenset(desk.addresses),
        engineers=frozenset(e.address for e in settings.engineers),
        threads=threads,
        by_tag=ticket_by_tag(session, message.ticket_ref),
        acks=ack_counts(session, sender, now),
        limits=AckLimits(
            per_person_hour=desk.max_acks_per_sender_per_hour,
            per_person_day=desk.max_acks_per_sender_per_day,
            per_domain_day=desk.max_acks_per_domain_per_day,
        ),
        foreign_tag=foreign_ticket_tag(message.subject, tag_prefix=desk.tag_prefix),
        forced=forced,
        now=now,
        reopen_days=settings.workflow.reopen_days,
        answers_survey=answers_survey(session, message),
        signed_ticket=ticket_by_tag(session, signed_ticket(message, desk.addresses)),
    )


def recipients(message: ParsedMessage) -> list[str]:
    """Every address the mail was for: To, Cc and what the receiving server recorded."""
    found = [a.address for a in (*message.to, *message.cc)]
    found += [
        value.strip().strip("<>").lower()
        for name, value in message.headers
        if name.lower() in DELIVERY_HEADERS
    ]
    return found[:100]


def signed_ticket(message: ParsedMessage, desk_addresses: tuple[str, ...]) -> int | None:
    """The ticket a reply address of ours among the recipients names (not yet verified)."""
    ours = frozenset(desk_addresses)
    for address in recipients(message):
        tag = reply_tag(address, ours)
        if tag is not None:
            return tag.ticket
    return None


def answers_survey(session: Session, message: ParsedMessage) -> bool:
    """True when the thread headers name a survey we sent."""
    return bool(answered(session, message, kind="survey"))


def answered(
    session: Session, message: ParsedMessage, *, kind: str, ticket_id: int | None = None
) -> list[int]:
    """The outbox rows of `kind` (about `ticket_id`, when given) that the mail's thread headers
    name: what it answers. At most `MAX_THREAD_IDS` Message-IDs, in their stored form."""
    named = (*message.in_reply_to[:5], *message.references)
    ids = [fit_key(m, MESSAGE_ID_LENGTH) for m in named if m][:MAX_THREAD_IDS]
    if not ids:
        return []
    query = select(Outbox.id).where(Outbox.message_id.in_(ids), Outbox.kind == kind)
    if ticket_id is not None:
        query = query.where(Outbox.ticket_id == ticket_id)
    return list(session.scalars(query.order_by(Outbox.id)))


def thread_candidates(session: Session, message: ParsedMessage) -> tuple[ThreadCandidate, ...]:
    """Tickets the thread headers point at, in-reply-to first, then references newest first."""
    wanted: list[tuple[str, Via]] = [(mid, "in_reply_to") for mid in message.in_reply_to[:5]]
    wanted += [(mid, "references") for mid in reversed(message.references)]
    wanted = [(fit_key(mid, MESSAGE_ID_LENGTH), via) for mid, via in wanted[:MAX_THREAD_IDS]]
    if not wanted:
        return ()
    ids = list(dict.fromkeys(mid for mid, _ in wanted))
    rows = session.execute(
        select(
            Message.message_id,
            Message.direction,
            Message.author_address,
            Message.ticket_id,
        )
        .where(Message.message_id.in_(ids))
        .order_by(Message.id)
        .limit(MAX_THREAD_ROWS)
    ).all()
    found: dict[str, list[tuple[bool, TicketFacts]]] = defaultdict(list)
    senders: dict[str, set[str]] = defaultdict(set)
    tickets: dict[int, TicketFacts | None] = {}
    for mid, direction, author, ticket_id in rows:
        if mid is None:
            continue
        if ticket_id not in tickets and len(tickets) < MAX_THREAD_TICKETS:
            tickets[ticket_id] = ticket_by_tag(session, ticket_id)
        facts = tickets.get(ticket_id)
        if facts is None:
            continue
        found[mid].append((direction == "out", facts))
        if direction == "in":
            senders[mid].add(author)
    candidates = []
    for mid, via in wanted:
        for ours, ticket in found.get(mid, ()):
            kind: Via = "our_message" if ours and via == "references" else via
            candidates.append(ThreadCandidate(ticket, kind, mid, ours, len(senders[mid])))
    return tuple(candidates)


def ticket_by_tag(session: Session, ref: int | None) -> TicketFacts | None:
    """The ticket a number names, as routing sees it; a merged ticket's number names the ticket
    it was merged into (a few hops at most)."""
    if ref is None or not 1 <= ref <= MAX_TICKET:  # the parser bounds it too: a tag is a stranger's
        return None
    for _ in range(MAX_MERGE_HOPS):
        found = session.execute(
            select(Ticket, Contact.address)
            .join(Contact, Contact.id == Ticket.requester_id)
            .where(Ticket.id == ref)
        ).first()
        if found is None:
            return None
        ticket, requester = found
        if ticket.merged_into is None:
            return TicketFacts(
                ticket.id,
                ticket.status.value,
                requester,
                cc=tuple(ticket.cc),
                resolved_at=ticket.resolved_at,
            )
        ref = ticket.merged_into
    return None


def _tally(*when: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((and_(*when), 1), else_=0)), 0)


_IS_ACK = Outbox.kind == "ack"
_TO_KEY = Outbox.to_key == bindparam("key")
_TO_DOMAIN = Outbox.to_domain == bindparam("domain")
_ACK_COUNTS = select(
    _tally(_TO_KEY, _IS_ACK, Outbox.created_at > bindparam("hour")),
    _tally(_TO_KEY, _IS_ACK),
    _tally(_TO_KEY, Outbox.created_at > bindparam("just_now")),
    _tally(_TO_DOMAIN, _IS_ACK),
).where(or_(_TO_KEY, _TO_DOMAIN), Outbox.created_at > bindparam("day"))
"""One query for every count routing needs; built once (it runs for every mail)."""


def ack_counts(session: Session, sender: str, now: datetime) -> AckCounts:
    """Acknowledgements to this person (normalised address) and domain; our mail just now."""
    if not sender:
        return AckCounts()
    key = address_key(sender)
    person_hour, person_day, recent, domain_day = session.execute(
        _ACK_COUNTS,
        {
            "key": key,
            "domain": key.rpartition("@")[2],
            "hour": now - timedelta(hours=1),
            "day": now - timedelta(days=1),
            "just_now": now - JUST_NOW,
        },
    ).one()
    return AckCounts(
        person_hour=int(person_hour),
        person_day=int(person_day),
        domain_day=int(domain_day),
        mailed_just_now=bool(recent),
    )
