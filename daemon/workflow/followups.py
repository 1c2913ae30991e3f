"""The jobs that follow a ticket's status: auto-close, the survey, progress reminders.

Each reads the ticket as it is when the job fires and does nothing if the ticket has moved on
(reopened, resolved again, answered): `daemon.workflow.lifecycle` schedules them and cancels
what a change makes pointless, and these handlers check again, so a job that slipped through a
race never acts on a ticket it no longer fits.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from daemon.storage import events
from daemon.storage.models import Event, Job, Message, Outbox, Ticket, TicketStatus
from daemon.workflow import lifecycle, mailing
from daemon.workflow.notices import notify
from parsers.address_parts import address_key
from rules.survey import SurveyFacts, may_survey

if TYPE_CHECKING:
    from daemon.runners.jobs import JobContext

MACHINE_ACK_RULES = frozenset({"no-ack-bulk", "no-ack-autoreply", "no-ack-bounce"})


def auto_close(ctx: JobContext, session: Session, job: Job, now: datetime) -> datetime | None:
    """Close a ticket that stayed resolved through the quiet period; tell the customer."""
    ticket = session.get(Ticket, job.ticket_id) if job.ticket_id is not None else None
    if ticket is None or ticket.status != TicketStatus.RESOLVED:
        return None
    if ticket.resolved_at is None or ticket.resolved_at.isoformat() != job.payload.get(
        "resolved_at"
    ):
        return None  # resolved again since: that resolution has its own job
    quiet = ctx.settings.workflow.auto_close_days
    lifecycle.change(
        session,
        ticket,
        TicketStatus.CLOSED,
        composer=ctx.composer,
        now=now,
        cause=f"job:{job.id}",
        actor="system",
        reason=f"no reply for {quiet:g} days after it was resolved",
    )
    lifecycle.status_mail(session, ticket, ctx.composer, "closed", now=now, cause=f"job:{job.id}")
    return None


def send_survey(ctx: JobContext, session: Session, job: Job, now: datetime) -> datetime | None:
    """Ask the customer how it went, unless `rules.survey.may_survey` says not to."""
    ticket = session.get(Ticket, job.ticket_id) if job.ticket_id is not None else None
    if ticket is None or ticket.status not in lifecycle.DONE:
        return None
    cause = f"job:{job.id}"
    address = ticket.requester.address
    decision = may_survey(
        SurveyFacts(
            address=address,
            auto_generated_address=_machine_requester(session, ticket),
            closed_as=ticket.closed_as,
            sent_last_30_days=_surveys_to(session, address, now),
            limit_per_30_days=ctx.settings.workflow.surveys_per_customer_per_30_days,
            bouncing=ticket.requester.bouncing_since is not None,
            already_surveyed=lifecycle.has_event(session, ticket.id, events.EventKind.SURVEY_SENT),
        )
    )
    if not decision.send:
        skipped = events.SurveySkipped(hits=events.hits(decision.hits))
        events.record(session, skipped, ticket_id=ticket.id, at=now, actor="system", cause=cause)
        return None
    in_reply_to, references = lifecycle.thread_of(session, ticket)
    mail = ctx.composer.survey(
        ticket=ticket.id,
        subject=ticket.subject,
        to=address,
        name=ticket.requester.name,
        in_reply_to=in_reply_to,
        references=references,
        now=now,
    )
    row = mailing.to_customer(
        session, ctx.composer, mail, kind="survey", ticket_id=ticket.id, now=now, cause=cause
    )
    if row is None:
        return None
    lifecycle.sent_message(session, ticket, mail, row, composer=ctx.composer, now=now)
    sent = events.SurveySent(outbox=row.id, to=address)
    events.record(session, sent, ticket_id=ticket.id, at=now, actor="system", cause=cause)
    return None


def _machine_requester(session: Session, ticket: Ticket) -> bool:
    """The ticket's first mail was machine-made (its acknowledgement was withheld for that)."""
    rows = session.scalars(
        select(Event.data).where(
            Event.ticket_id == ticket.id, Event.kind == events.EventKind.ACK_WITHHELD.value
        )
    )
    return any(hit.get("rule") in MACHINE_ACK_RULES for data in rows for hit in data["hits"])


def _surveys_to(session: Session, address: str, now: datetime) -> int:
    count = session.scalar(
        select(func.count())
        .select_from(Outbox)
        .where(
            Outbox.kind == "survey",
            Outbox.to_key == address_key(address),
            Outbox.created_at > now - timedelta(days=30),
        )
    )
    return int(count or 0)


def last_heard(session: Session, ticket: Ticket) -> datetime:
    """When the customer last heard from a person of ours (else: when the ticket was made)."""
    last = session.scalar(
        select(func.max(Message.created_at)).where(
            Message.ticket_id == ticket.id,
            Message.direction == "out",
            Message.author_kind == "engineer",
        )
    )
    return last or ticket.created_at


def remind(ctx: JobContext, session: Session, job: Job, now: datetime) -> datetime | None:
    """Remind the assignee when the customer has not heard from us within the SLA policy's
    "keep informed" interval; due again one interval after the last word (or this reminder)."""
    ticket = session.get(Ticket, job.ticket_id) if job.ticket_id is not None else None
    if ticket is None or ticket.status not in (TicketStatus.NEW, TicketStatus.OPEN):
        return None
    policy = lifecycle.policy_of(ticket, ctx.settings.rulebook())
    if policy is None or not policy.update_interval:
        return None
    interval = policy.update_interval
    since = max(last_heard(session, ticket), _last_reminder(session, ticket.id))
    due = policy.calendar.add(since, interval)
    if due > now:
        return due
    if ticket.assignee is not None:
        hours = interval / 3600
        notify(
            session,
            ctx.composer,
            notice="reminder",
            to=[ticket.assignee.address],
            title=f"The customer has not heard from us for {hours:g} business hours"[:200],
            lines=(
                f"Last word to the customer: {since:%Y-%m-%d %H:%M} UTC.",
                f"Policy {policy.name} asks for an update every {hours:g} hours.",
            ),
            ticket=ticket,
            now=now,
            cause=f"job:{job.id}",
        )
    reminded = events.Reminded(since=since, interval_seconds=interval)
    events.record(
        session, reminded, ticket_id=ticket.id, at=now, actor="system", cause=f"job:{job.id}"
    )
    return policy.calendar.add(now, interval)


def _last_reminder(session: Session, ticket_id: int) -> datetime:
    last = session.scalar(
        select(func.max(Event.at)).where(
            Event.ticket_id == ticket_id, Event.kind == events.EventKind.REMINDED.value
        )
    )
    return last or datetime.min.replace(tzinfo=UTC)
