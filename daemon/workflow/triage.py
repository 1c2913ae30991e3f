"""Triage in the database: gather what the rules read, decide (`rules.triage`), write it.

For a new ticket: its labels (`classified`, with every rule that hit), the facts found and those
asked for (`facts_requested`; the ticket then waits on the customer, `pending`), its assignee
(`daemon.workflow.assignment`), and its SLA clocks (`daemon.workflow.clocks`). For a reply on an
existing ticket: the clocks move by who wrote it, and a customer's answer to a request for facts
has its facts merged. `decide()` reads only, so `replydesk rules test` runs it as a dry run.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from daemon.config import Settings
from daemon.mail.compose import Composer
from daemon.storage import events
from daemon.storage.models import Contact, Message, Ticket, TicketStatus
from daemon.workflow import assignment, clocks
from parsers import ParsedMessage
from rules import sla
from rules.classify import MailFacts
from rules.required import found_facts, missing_facts
from rules.triage import Triage, mail_facts_of, triage

CLOSED = (TicketStatus.RESOLVED, TicketStatus.CLOSED)


def mail_facts(
    session: Session, message: ParsedMessage, *, mailbox: str, settings: Settings, now: datetime
) -> MailFacts:
    """What classification reads: the mail, and its sender's history in the database."""
    book = settings.rulebook()
    sender = message.from_.address if message.from_ else ""
    contact = select(Contact.id).where(Contact.address == sender).scalar_subquery()
    open_tickets = session.scalar(
        select(func.count())
        .select_from(Ticket)
        .where(Ticket.requester_id == contact, Ticket.status.not_in(CLOSED))
    )
    within = {
        days: int(
            session.scalar(
                select(func.count())
                .select_from(Ticket)
                .where(
                    Ticket.requester_id == contact,
                    Ticket.created_at > now - timedelta(days=days),
                )
            )
            or 0
        )
        for days in book.ruleset.history_days
    }
    return mail_facts_of(
        message,
        mailbox=mailbox,
        local_time=now.astimezone(ZoneInfo(book.timezone)),
        open_tickets=int(open_tickets or 0),
        tickets_within=within,
    )


def decide(
    session: Session,
    message: ParsedMessage,
    *,
    mailbox: str,
    settings: Settings,
    now: datetime,
    asking: bool = True,
) -> Triage:
    """The whole triage of a new ticket, reading the database and writing nothing."""
    facts = mail_facts(session, message, mailbox=mailbox, settings=settings, now=now)
    team = assignment.team_facts(session, settings)
    return triage(facts, book=settings.rulebook(), engineers=team, at=now, asking=asking)


def open_ticket(
    session: Session,
    ticket: Ticket,
    decision: Triage,
    *,
    composer: Composer,
    now: datetime,
    cause: str,
) -> None:
    """Write a new ticket's triage (before its acknowledgement, which asks for the facts)."""
    settings = composer.settings
    labels = decision.classification
    ticket.category, ticket.problem_type = labels.module, labels.problem_type
    ticket.severity, ticket.queue, ticket.tier = labels.severity, labels.queue, labels.tier
    ticket.tags = list(labels.tags)
    ticket.facts = dict(decision.found)
    classified = events.Classified(
        module=labels.module,
        problem_type=labels.problem_type,
        severity=labels.severity,
        tags=list(labels.tags),
        queue=labels.queue,
        tier=labels.tier,
        hits=events.hits(labels.hits),
    )
    events.record(session, classified, ticket_id=ticket.id, at=now, actor="system", cause=cause)
    if labels.tier > 1:
        raised = events.Escalated(
            from_tier=1,
            to_tier=labels.tier,
            reason="a rule sent it to a higher tier",
            hits=events.hits(tuple(h for h in labels.hits if "tier" in h.reason)),
        )
        events.record(session, raised, ticket_id=ticket.id, at=now, actor="system", cause=cause)
    if decision.missing or decision.found:
        asked = events.FactsRequested(
            found=decision.found, missing=[m.name for m in decision.missing]
        )
        events.record(session, asked, ticket_id=ticket.id, at=now, actor="system", cause=cause)
    if decision.waiting:
        ticket.waiting_for = [m.name for m in decision.missing]
        _status(
            session,
            ticket,
            TicketStatus.PENDING,
            "waiting on the customer for facts",
            now=now,
            cause=cause,
        )
    if decision.policy is not None:
        why = "ticket created" + (", waiting on the customer" if decision.waiting else "")
        clocks.start(
            session,
            ticket,
            decision.policy,
            decision.clocks,
            book=settings.rulebook(),
            now=now,
            cause=cause,
            why=why,
        )
    assignment.give(session, ticket, decision.assignment, composer=composer, now=now, cause=cause)


def customer_wrote(
    session: Session,
    ticket: Ticket,
    message: ParsedMessage,
    row: Message,
    *,
    public: bool,
    settings: Settings,
    now: datetime,
    cause: str,
) -> None:
    """A mail on an existing ticket: merge answered facts, move the clocks by who wrote it."""
    book = settings.rulebook()
    sender = message.from_.address if message.from_ else ""
    if settings.engineer(sender) is not None:
        happening = sla.Happening.INTERNAL_NOTE  # engineers' replies are relayed by the workflow
    elif not public or message.auto.kind is not None:
        happening = (
            sla.Happening.CUSTOMER_AUTOREPLY if message.auto.kind else sla.Happening.INTERNAL_NOTE
        )
    else:
        happening = sla.Happening.CUSTOMER_REPLIED
        if ticket.waiting_for:
            _merge_facts(session, ticket, message, row, settings=settings, now=now, cause=cause)
    clocks.happen(session, ticket, happening, book=book, now=now, cause=cause)


def _merge_facts(
    session: Session,
    ticket: Ticket,
    message: ParsedMessage,
    row: Message,
    *,
    settings: Settings,
    now: datetime,
    cause: str,
) -> None:
    specs = settings.rulebook().required_facts(ticket.category)
    wanted = [s for s in specs if s.name in ticket.waiting_for]
    found = found_facts(message.body, wanted)
    known = {**ticket.facts, **found}
    still = missing_facts(message.body, wanted, known=known)
    ticket.facts = known
    ticket.waiting_for = [s.name for s in still]
    merged = events.FactsMerged(message=row.id, found=found, missing=ticket.waiting_for)
    events.record(
        session,
        merged,
        ticket_id=ticket.id,
        at=now,
        actor=f"contact:{row.author_address}",
        cause=cause,
    )


def _status(
    session: Session,
    ticket: Ticket,
    status: TicketStatus,
    reason: str,
    *,
    now: datetime,
    cause: str,
) -> None:
    change = events.StatusChanged(from_=ticket.status.value, to=status.value, reason=reason)
    events.record(session, change, ticket_id=ticket.id, at=now, actor="system", cause=cause)
    ticket.status = status
