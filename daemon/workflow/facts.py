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
from daemon.storage.bounded import fit_key
from daemon.storage.models import Contact, Message, Outbox, Ticket
from parsers import ParsedMessage
from parsers.address_parts import address_key
from parsers.subjects import MAX_TICKET, foreign_ticket_tag
from rules.intake import AckCounts, AckLimits, IntakeFacts, ThreadCandidate, TicketFacts, Via

MAX_THREAD_IDS = 50
JUST_NOW = timedelta(minutes=2)
MESSAGE_ID_LENGTH = 300  # messages.message_id: stored values are compared in their stored form


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
    return IntakeFacts(
        message=message,
        our_addresses=frozenset(desk.addresses),
        engineers=frozenset(e.address for e in settings.engineers),
        threads=thread_candidates(session, message),
        by_tag=ticket_by_tag(session, message.ticket_ref),
        acks=ack_counts(session, sender, now),
        limits=AckLimits(
            per_person_hour=desk.max_acks_per_sender_per_hour,
            per_person_day=desk.max_acks_per_sender_per_day,
            per_domain_day=desk.max_acks_per_domain_per_day,
        ),
        foreign_tag=foreign_ticket_tag(message.subject, tag_prefix=desk.tag_prefix),
        forced=forced,
    )


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
            Ticket.id,
            Ticket.status,
            Contact.address,
        )
        .join(Ticket, Message.ticket_id == Ticket.id)
        .join(Contact, Contact.id == Ticket.requester_id)
        .where(Message.message_id.in_(ids))
        .order_by(Message.id)
    ).all()
    found: dict[str, list[tuple[bool, TicketFacts]]] = defaultdict(list)
    senders: dict[str, set[str]] = defaultdict(set)
    for mid, direction, author, ticket_id, status, requester in rows:
        if mid is None:
            continue
        found[mid].append((direction == "out", TicketFacts(ticket_id, status.value, requester)))
        if direction == "in":
            senders[mid].add(author)
    candidates = []
    for mid, via in wanted:
        for ours, ticket in found.get(mid, ()):
            kind: Via = "our_message" if ours and via == "references" else via
            candidates.append(ThreadCandidate(ticket, kind, mid, ours, len(senders[mid])))
    return tuple(candidates)


def ticket_by_tag(session: Session, ref: int | None) -> TicketFacts | None:
    if ref is None or not 1 <= ref <= MAX_TICKET:  # the parser bounds it too: a tag is a stranger's
        return None
    found = session.execute(
        select(Ticket.id, Ticket.status, Contact.address)
        .join(Contact, Contact.id == Ticket.requester_id)
        .where(Ticket.id == ref)
    ).first()
    return TicketFacts(found[0], found[1].value, found[2]) if found else None


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
