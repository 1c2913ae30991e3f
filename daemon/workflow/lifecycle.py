"""A ticket's status over its life: each change with its clocks, its mails and its jobs.

Every status change goes through `change()`, which records it, moves the SLA clocks
(`rules.sla.CLOCK_RULES`) and keeps the ticket's jobs right:

- resolved: the customer is told (with the resolution and how to reopen), unless the
  engineer's relayed reply says so itself; an `auto_close` job closes the ticket after the quiet
  period, and a `survey` job asks the customer how it went after the survey delay;
- closed: `auto_close` is cancelled; a survey is still due (not for spam or merged tickets);
- reopened (resolved or closed to open): the ticket's `auto_close` and `survey` jobs are
  cancelled, and a progress reminder runs again;
- pending: the clocks pause until the customer answers (or an engineer ends the wait).

The jobs it schedules (`auto_close`, `survey`, `progress_reminder`) are handled in
`daemon.workflow.followups`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon.mail.compose import Composed, Composer
from daemon.storage import events, jobs
from daemon.storage.models import Event, Message, Outbox, Ticket, TicketStatus
from daemon.workflow import clocks, mailing
from rules import sla
from rules.book import Rulebook

HAPPENINGS = {
    TicketStatus.PENDING: sla.Happening.WAITING_ON_CUSTOMER,
    TicketStatus.RESOLVED: sla.Happening.RESOLVED,
    TicketStatus.CLOSED: sla.Happening.RESOLVED,
}
DONE = (TicketStatus.RESOLVED, TicketStatus.CLOSED)


def change(
    session: Session,
    ticket: Ticket,
    to: TicketStatus,
    *,
    composer: Composer,
    now: datetime,
    cause: str,
    actor: str,
    reason: str,
    resolution: str | None = None,
    tell_customer: bool = True,
    closed_as: str | None = None,
) -> str | None:
    """Move the ticket to `to`; a line for the transcript, or None when it was there already."""
    was = ticket.status
    if was == to:
        return None
    settings = composer.settings
    book = settings.rulebook()
    change = events.StatusChanged(from_=was.value, to=to.value, reason=reason)
    events.record(session, change, ticket_id=ticket.id, at=now, actor=actor, cause=cause)
    ticket.status, ticket.updated_at = to, now
    if to == TicketStatus.OPEN and was in DONE:
        reopened(session, ticket, now=now, cause=cause)
        clocks.happen(session, ticket, sla.Happening.REOPENED, book=book, now=now, cause=cause)
    elif to == TicketStatus.OPEN and was == TicketStatus.PENDING:
        happening = sla.Happening.ENGINEER_RESUMED
        clocks.happen(session, ticket, happening, book=book, now=now, cause=cause)
    elif to in HAPPENINGS and was not in DONE:
        clocks.happen(session, ticket, HAPPENINGS[to], book=book, now=now, cause=cause)
    if to == TicketStatus.RESOLVED:
        _resolved(session, ticket, composer, resolution, tell_customer, now=now, cause=cause)
    if to == TicketStatus.CLOSED:
        ticket.closed_at, ticket.closed_as = now, closed_as
        if ticket.resolved_at is None:
            ticket.resolved_at = now
        if resolution:
            ticket.resolution = resolution
        jobs.cancel_all(session, kind=jobs.AUTO_CLOSE, ticket_id=ticket.id, now=now, why="closed")
        if closed_as is None:
            _schedule_survey(session, ticket, composer, now=now)
        else:
            why = f"closed as {closed_as}"
            jobs.cancel_all(session, kind=jobs.SURVEY, ticket_id=ticket.id, now=now, why=why)
    return f"status {was.value} -> {to.value}"


def reopened(session: Session, ticket: Ticket, *, now: datetime, cause: str) -> None:
    """A resolved or closed ticket is open again: no auto-close, no survey, reminders again."""
    ticket.resolved_at, ticket.closed_at, ticket.closed_as = None, None, None
    for kind in (jobs.AUTO_CLOSE, jobs.SURVEY):
        jobs.cancel_all(session, kind=kind, ticket_id=ticket.id, now=now, why="reopened")


def _resolved(
    session: Session,
    ticket: Ticket,
    composer: Composer,
    resolution: str | None,
    tell_customer: bool,
    *,
    now: datetime,
    cause: str,
) -> None:
    workflow = composer.settings.workflow
    ticket.resolved_at = now
    if resolution:
        ticket.resolution = resolution
    if tell_customer:
        status_mail(session, ticket, composer, "resolved", now=now, cause=cause)
    jobs.schedule(
        session,
        kind=jobs.AUTO_CLOSE,
        key=f"{jobs.AUTO_CLOSE}:{ticket.id}:{now.isoformat()}",
        due_at=now + timedelta(days=workflow.auto_close_days),
        payload={"resolved_at": now.isoformat()},
        ticket_id=ticket.id,
        now=now,
    )
    _schedule_survey(session, ticket, composer, now=now)


def _schedule_survey(
    session: Session, ticket: Ticket, composer: Composer, *, now: datetime
) -> None:
    workflow = composer.settings.workflow
    if not workflow.surveys:
        return
    jobs.schedule(
        session,
        kind=jobs.SURVEY,
        key=f"{jobs.SURVEY}:{ticket.id}:{now.isoformat()}",
        due_at=now + timedelta(hours=workflow.survey_delay_hours),
        ticket_id=ticket.id,
        now=now,
    )


def thread_of(session: Session, ticket: Ticket) -> tuple[str | None, tuple[str, ...]]:
    """In-Reply-To and References for a mail to the customer: their last mail, and the thread."""
    rows = session.execute(
        select(Message.message_id, Message.direction, Message.public)
        .where(Message.ticket_id == ticket.id, Message.message_id.is_not(None))
        .order_by(Message.id)
    ).all()
    thread = [mid for mid, _, public in rows if public and mid]
    last_in = next(
        (mid for mid, direction, public in reversed(rows) if direction == "in" and public),
        None,
    )
    return last_in, tuple(dict.fromkeys(thread))[-20:]


def status_mail(
    session: Session,
    ticket: Ticket,
    composer: Composer,
    kind: str,
    *,
    now: datetime,
    cause: str,
    linked: int | None = None,
) -> Outbox | None:
    """Tell the requester where their ticket stands (resolved, closed, a new linked ticket)."""
    in_reply_to, references = thread_of(session, ticket)
    requester = ticket.requester
    mail = composer.customer_status(
        kind=kind,  # type: ignore[arg-type]
        ticket=ticket.id,
        subject=ticket.subject,
        to=requester.address,
        name=requester.name,
        resolution=ticket.resolution,
        in_reply_to=in_reply_to,
        references=references,
        now=now,
        reopen_days=composer.settings.workflow.reopen_days,
        linked=linked,
    )
    row = mailing.to_customer(
        session, composer, mail, kind=f"status:{kind}", ticket_id=ticket.id, now=now, cause=cause
    )
    if row is not None:
        sent_message(session, ticket, mail, row, composer=composer, now=now)
    return row


def sent_message(
    session: Session,
    ticket: Ticket,
    mail: Composed,
    row: Outbox,
    *,
    composer: Composer,
    now: datetime,
) -> Message:
    """Our mail on the ticket's thread, so a reply to it threads (system mail: no response)."""
    message = Message(
        ticket_id=ticket.id,
        direction="out",
        public=True,
        message_id=mail.message_id,
        subject=mail.subject,
        author_address=composer.settings.desk.address,
        author_name=composer.settings.desk.name,
        author_kind="system",
        body=mail.text,
        full_text=mail.text,
        outbox_id=row.id,
        created_at=now,
    )
    session.add(message)
    return message


def replied_before(session: Session, ticket: Ticket) -> bool:
    """True when an engineer's public reply went to the customer before."""
    return has_event(session, ticket.id, events.EventKind.REPLY_SENT)


def has_event(session: Session, ticket_id: int, kind: events.EventKind) -> bool:
    query = select(Event.id).where(Event.ticket_id == ticket_id, Event.kind == kind.value)
    return session.scalar(query.limit(1)) is not None


def schedule_reminder(session: Session, ticket: Ticket, *, book: Rulebook, now: datetime) -> None:
    """Start the progress reminder of an open ticket whose SLA policy has a "keep informed"
    interval: one job per stretch the ticket stays open, first due one interval from now."""
    policy = policy_of(ticket, book)
    if policy is None or not policy.update_interval:
        return
    jobs.schedule(
        session,
        kind=jobs.PROGRESS_REMINDER,
        key=f"{jobs.PROGRESS_REMINDER}:{ticket.id}:{now.isoformat()}",
        due_at=policy.calendar.add(now, policy.update_interval),
        ticket_id=ticket.id,
        now=now,
    )


def policy_of(ticket: Ticket, book: Rulebook) -> sla.Policy | None:
    domain = ticket.requester.address.rpartition("@")[2]
    return sla.pick_policy(
        book.policies, severity=ticket.severity, domain=domain, queue=ticket.queue
    )
