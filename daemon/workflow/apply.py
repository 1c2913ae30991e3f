"""Apply a routing decision to the database, in the caller's one transaction.

Everything a mail causes (contact, ticket, message, attachments, events, the new ticket's
triage: labels, facts asked for, assignee, SLA clocks and their checks; the acknowledgement in
the outbox, a kept bounce report, an engineer's absence, the inbound row marked done) is written
together, so a crash or a retry never makes a second ticket or a second notice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon.mail.compose import Composer
from daemon.storage import events
from daemon.storage.models import (
    Attachment,
    Bounce,
    Contact,
    Inbound,
    InboundState,
    Message,
    Outbox,
    Ticket,
    TicketStatus,
)
from daemon.storage.outbox import outbox_row
from daemon.workflow import team, triage
from parsers import ParsedMessage
from rules.intake import Route


def apply(
    session: Session,
    inbound: Inbound,
    message: ParsedMessage,
    decision: Route,
    *,
    composer: Composer,
    now: datetime,
) -> int | None:
    """Write what `decision` says; returns the ticket the mail landed on, if any."""
    cause = f"inbound:{inbound.id}"
    inbound.processed_at = now
    inbound.holder_id = None
    settings = composer.settings
    sender = message.from_.address if message.from_ else ""
    if message.auto.kind == "autoreply" and settings.engineer(sender) is not None:
        team.mark_away(
            session, message, inbound_id=inbound.id, composer=composer, now=now, cause=cause
        )
    if decision.action in {"ignore", "bounce"}:
        inbound.state = InboundState.IGNORED
        inbound.reason = "; ".join(decision.reasons)
        events.record(
            session,
            events.InboundIgnored(inbound=inbound.id, hits=events.hits(decision.hits)),
            ticket_id=None,
            at=now,
            actor="system",
            cause=cause,
        )
        if decision.action == "bounce":
            _keep_bounce(session, inbound, message, now)
        return None
    if message.from_ is None:
        raise ValueError(f"routing chose {decision.action} for a mail without a sender")
    contact = _contact(session, message.from_.address, message.from_.name, now)
    actor = f"contact:{contact.address}"
    if decision.action == "new_ticket":
        ticket = _open_ticket(session, inbound, message, contact, decision, now=now)
    else:
        assert decision.ticket_id is not None
        ticket = _continue_ticket(session, decision.ticket_id, decision, actor, cause, now=now)
    row = _message_row(ticket.id, inbound, message, decision, now)
    session.add(row)
    session.flush()
    received = events.MessageReceived(
        message=row.id, inbound=inbound.id, public=row.public, hits=events.hits(decision.hits)
    )
    events.record(session, received, ticket_id=ticket.id, at=now, actor=actor, cause=cause)
    questions: tuple[str, ...] = ()
    if decision.action == "new_ticket":
        found = triage.decide(
            session,
            message,
            mailbox=inbound.source,
            settings=settings,
            now=now,
            asking=decision.acknowledge,
        )
        triage.open_ticket(session, ticket, found, composer=composer, now=now, cause=cause)
        questions = tuple(m.question for m in found.missing) if found.waiting else ()
    else:
        triage.customer_wrote(
            session,
            ticket,
            message,
            row,
            public=decision.public,
            settings=settings,
            now=now,
            cause=cause,
        )
    if decision.acknowledge:
        _acknowledge(
            session,
            composer,
            ticket,
            message,
            now=now,
            cause=cause,
            too_large=_too_large(inbound, message),
            questions=questions,
        )
    elif decision.action == "new_ticket":
        withheld = events.AckWithheld(hits=events.hits(decision.hits[-1:]))
        events.record(session, withheld, ticket_id=ticket.id, at=now, actor="system", cause=cause)
    inbound.state = InboundState.DONE
    inbound.ticket_id = ticket.id
    return ticket.id


def _too_large(inbound: Inbound, message: ParsedMessage) -> int | None:
    """The size of a mail parsed from its headers only (above the size limit), else None."""
    return inbound.size if any(d.startswith("too large") for d in message.defects) else None


def _acknowledge(
    session: Session,
    composer: Composer,
    ticket: Ticket,
    message: ParsedMessage,
    *,
    now: datetime,
    cause: str,
    too_large: int | None,
    questions: tuple[str, ...],
) -> None:
    mail = composer.acknowledgement(
        ticket_id=ticket.id,
        subject=ticket.subject,
        message=message,
        now=now,
        too_large=too_large,
        questions=questions,
    )
    outbox = outbox_row(
        ticket_id=ticket.id,
        kind="ack",
        message_id=mail.message_id,
        envelope_from=mail.envelope_from,
        recipients=mail.recipients,
        raw=mail.raw,
        now=now,
    )
    session.add(outbox)
    session.flush()
    session.add(
        Message(
            ticket_id=ticket.id,
            direction="out",
            public=True,
            message_id=mail.message_id,
            in_reply_to=message.message_id,
            subject=mail.subject,
            author_address=mail.envelope_from,
            author_name=composer.settings.desk.name,
            author_kind="system",
            body=mail.text,
            full_text=mail.text,
            outbox_id=outbox.id,
            created_at=now,
        )
    )
    events.record(
        session,
        events.Acknowledged(outbox=outbox.id),
        ticket_id=ticket.id,
        at=now,
        actor="system",
        cause=cause,
    )


def _keep_bounce(session: Session, inbound: Inbound, message: ParsedMessage, now: datetime) -> None:
    original = message.auto.original_message_id
    matched = (
        session.scalar(select(Outbox.id).where(Outbox.message_id == original)) if original else None
    )
    bounce = Bounce(
        inbound_id=inbound.id,
        original_message_id=original,
        recipients=[b.to_json() for b in message.auto.bounced[:1000]],
        outbox_id=matched,
        created_at=now,
    )
    session.add(bounce)
    session.flush()
    received = events.BounceReceived(
        inbound=inbound.id,
        bounce=bounce.id,
        original_message_id=original,
        recipients=[b.address for b in message.auto.bounced[:100]],
    )
    ticket_id = (
        session.scalar(select(Outbox.ticket_id).where(Outbox.id == matched)) if matched else None
    )
    events.record(
        session,
        received,
        ticket_id=ticket_id,
        at=now,
        actor="system",
        cause=f"inbound:{inbound.id}",
    )


def _open_ticket(
    session: Session,
    inbound: Inbound,
    message: ParsedMessage,
    requester: Contact,
    decision: Route,
    *,
    now: datetime,
) -> Ticket:
    ticket = Ticket(
        subject=message.clean_subject or "(no subject)",
        status=TicketStatus.NEW,
        mailbox=inbound.source,
        requester=requester,
        tier=1,
        created_at=now,
        updated_at=now,
    )
    session.add(ticket)
    session.flush()
    created = events.Created(
        inbound=inbound.id, mailbox=inbound.source, hits=events.hits(decision.hits)
    )
    events.record(
        session,
        created,
        ticket_id=ticket.id,
        at=now,
        actor=f"contact:{requester.address}",
        cause=f"inbound:{inbound.id}",
    )
    return ticket


def _continue_ticket(
    session: Session, ticket_id: int, decision: Route, actor: str, cause: str, *, now: datetime
) -> Ticket:
    ticket = session.get_one(Ticket, ticket_id)
    ticket.updated_at = now
    if decision.reopen:
        change = events.StatusChanged(
            from_=ticket.status.value, to=TicketStatus.OPEN.value, reason=decision.reasons[-1]
        )
        events.record(session, change, ticket_id=ticket.id, at=now, actor=actor, cause=cause)
        ticket.status = TicketStatus.OPEN
    return ticket


def _contact(session: Session, address: str, name: str, now: datetime) -> Contact:
    contact = session.scalar(select(Contact).where(Contact.address == address))
    if contact is None:
        contact = Contact(address=address, name=name, created_at=now)
        session.add(contact)
        session.flush()
    elif name and not contact.name:
        contact.name = name
    return contact


def _message_row(
    ticket_id: int, inbound: Inbound, message: ParsedMessage, decision: Route, now: datetime
) -> Message:
    row = Message(
        ticket_id=ticket_id,
        direction="in",
        public=decision.public,
        message_id=message.message_id,
        in_reply_to=message.in_reply_to[0] if message.in_reply_to else None,
        subject=message.subject,
        author_address=message.from_.address if message.from_ else "",
        author_name=message.from_.name if message.from_ else "",
        author_kind="contact",
        body=message.body,
        full_text=message.full_text,
        inbound_id=inbound.id,
        created_at=now,
    )
    row.attachments = [
        Attachment(
            filename=a.filename or None,
            content_type=a.content_type,
            size=a.size,
            inline=a.inline,
            content_id=a.content_id or None,
        )
        for a in message.attachments
    ]
    return row
