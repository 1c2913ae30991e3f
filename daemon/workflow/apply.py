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

from daemon.config import Settings
from daemon.knowledge import suggestions, urls
from daemon.mail.compose import ArticleLink, Composer
from daemon.storage import events
from daemon.storage.models import (
    Attachment,
    Contact,
    Inbound,
    InboundState,
    Message,
    Ticket,
    TicketStatus,
)
from daemon.workflow import bounces, customer, engineer, lifecycle, mailing, team, triage
from parsers import ParsedMessage
from rules.intake import Route, is_ours


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
            bounces.keep(session, inbound, message, composer=composer, now=now)
        return None
    if message.from_ is None:
        raise ValueError(f"routing chose {decision.action} for a mail without a sender")
    contact = _contact(session, message.from_.address, message.from_.name, now, inbound.id)
    actor = f"contact:{contact.address}"
    if decision.action == "new_ticket":
        ticket = _open_ticket(session, inbound, message, contact, decision, now=now)
        ticket.cc = _thread_cc(message, contact.address, settings=settings)
    else:
        assert decision.ticket_id is not None
        ticket = _continue_ticket(
            session, decision.ticket_id, decision, actor, cause, settings=settings, now=now
        )
    row = _message_row(ticket.id, inbound, message, decision, now)
    row.held = decision.held
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
        if ticket.status != TicketStatus.PENDING:
            lifecycle.schedule_reminder(session, ticket, book=settings.rulebook(), now=now)
    elif _engineer_reply(message, sender, ticket, settings):
        engineer.engineer_wrote(
            session, ticket, message, row, composer=composer, now=now, cause=cause
        )
    else:
        customer.wrote(
            session, ticket, message, row, decision, composer=composer, now=now, cause=cause
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


def _engineer_reply(
    message: ParsedMessage, sender: str, ticket: Ticket, settings: Settings
) -> bool:
    """An engineer's own mail on a ticket (not their auto-reply, which must never be relayed)."""
    return (
        settings.engineer(sender) is not None
        and sender != ticket.requester.address
        and message.auto.kind != "autoreply"
    )


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
    """The acknowledgement; for a reply to a closed ticket that needs nothing more, the mail
    saying which new ticket it opened and that it follows the old one. The acknowledgement
    lists the published articles that may answer the request (`kb_suggested`)."""
    articles: tuple[ArticleLink, ...] = ()
    if ticket.follows is not None and not questions and too_large is None and message.from_:
        mail = composer.customer_status(
            kind="reopened_new",
            ticket=ticket.id,
            subject=ticket.subject,
            to=message.from_.address,
            name=message.from_.name,
            resolution=None,
            in_reply_to=message.message_id,
            references=(*message.references, *(m for m in [message.message_id] if m)),
            now=now,
            linked=ticket.follows,
        )
    else:
        articles = suggestions.for_request(
            session,
            ticket.subject,
            message.body,
            public_url=composer.settings.site.public_url,
            directory_urls=urls.site_directory_urls(composer.settings),
        )
        mail = composer.acknowledgement(
            ticket_id=ticket.id,
            subject=ticket.subject,
            message=message,
            now=now,
            too_large=too_large,
            questions=questions,
            articles=articles,
        )
    outbox = mailing.queue(session, composer, mail, kind="ack", ticket_id=ticket.id, now=now)
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
    if articles:
        listed = events.KbSuggested(articles=[a.number for a in articles])
        events.record(session, listed, ticket_id=ticket.id, at=now, actor="system", cause=cause)


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
        follows=decision.follows,
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
    session: Session,
    ticket_id: int,
    decision: Route,
    actor: str,
    cause: str,
    *,
    settings: Settings,
    now: datetime,
) -> Ticket:
    ticket = session.get_one(Ticket, ticket_id)
    ticket.updated_at = now
    if decision.reopen:
        was = ticket.status
        change = events.StatusChanged(
            from_=was.value, to=TicketStatus.OPEN.value, reason=decision.reasons[-1]
        )
        events.record(session, change, ticket_id=ticket.id, at=now, actor=actor, cause=cause)
        ticket.status = TicketStatus.OPEN
        if was in lifecycle.DONE:
            lifecycle.reopened(session, ticket, now=now, cause=cause)
        lifecycle.schedule_reminder(session, ticket, book=settings.rulebook(), now=now)
    return ticket


def _contact(session: Session, address: str, name: str, now: datetime, inbound: int) -> Contact:
    """The sender's contact row; a bouncing address that writes to us works again."""
    contact = session.scalar(select(Contact).where(Contact.address == address))
    if contact is None:
        contact = Contact(address=address, name=name, created_at=now)
        session.add(contact)
        session.flush()
    elif name and not contact.name:
        contact.name = name
    if contact.bouncing_since is not None:
        contact.bouncing_since = None
        cleared = events.AddressCleared(address=address, inbound=inbound)
        events.record(
            session, cleared, ticket_id=None, at=now, actor="system", cause=f"inbound:{inbound}"
        )
    return contact


MAX_CC = 20


def _thread_cc(message: ParsedMessage, requester: str, *, settings: Settings) -> list[str]:
    """The customer's Cc list as the thread had it: the other people on the first mail."""
    ours = frozenset(settings.desk.addresses)
    team = {e.address for e in settings.engineers}
    found = [
        a.address
        for a in (*message.to, *message.cc)
        if a.address
        and a.address != requester
        and a.address not in team
        and not is_ours(a.address, ours)
    ]
    return list(dict.fromkeys(found))[:MAX_CC]


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
