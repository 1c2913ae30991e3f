"""Notices to the team: one outbox row per recipient, with a `notified` event, in the caller's
transaction (so a notice exists exactly when the change it tells of does).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon.mail.compose import Composer, TicketSummary
from daemon.storage import events
from daemon.storage.models import Message, Ticket
from daemon.workflow import mailing

TARGET_NAMES = {"first_response": "first response", "resolution": "resolution"}


def summary(ticket: Ticket) -> TicketSummary:
    clocks = []
    for clock in ticket.clocks:
        name = TARGET_NAMES.get(clock.target, clock.target)
        if clock.state == "running" and clock.deadline is not None:
            when = f"due {clock.deadline:%Y-%m-%d %H:%M} UTC"
        else:
            when = clock.state
        outcome = f", {clock.outcome}" if clock.outcome else ""
        clocks.append(f"{name.capitalize() + ':':<16}{when}{outcome} ({clock.policy})")
    return TicketSummary(
        number=ticket.id,
        subject=ticket.subject,
        requester=ticket.requester.address,
        status=ticket.status.value,
        severity=ticket.severity,
        tier=ticket.tier,
        queue=ticket.queue,
        category=ticket.category,
        problem_type=ticket.problem_type,
        tags=tuple(ticket.tags),
        assignee=ticket.assignee.address if ticket.assignee else None,
        waiting_for=tuple(ticket.waiting_for),
        clocks=tuple(clocks),
        facts=tuple((str(k), str(v)) for k, v in (ticket.facts or {}).items()),
    )


def customer_text(session: Session, ticket_id: int) -> str | None:
    """The new text of the customer's latest public mail on the ticket."""
    return session.scalar(
        select(Message.body)
        .where(
            Message.ticket_id == ticket_id,
            Message.direction == "in",
            Message.public.is_(True),
            Message.author_kind == "contact",
        )
        .order_by(Message.id.desc())
        .limit(1)
    )


def _anchor(session: Session, ticket_id: int) -> tuple[str, ...]:
    first = session.scalar(
        select(Message.message_id)
        .where(Message.ticket_id == ticket_id, Message.message_id.is_not(None))
        .order_by(Message.id)
        .limit(1)
    )
    return (first,) if first else ()


def notify(
    session: Session,
    composer: Composer,
    *,
    notice: str,
    to: Iterable[str],
    title: str,
    lines: tuple[str, ...],
    ticket: Ticket | None,
    now: datetime,
    cause: str,
    quote: str | None = None,
    in_reply_to: str | None = None,
    references: tuple[str, ...] = (),
) -> list[int]:
    """Mail `title` and `lines` (and the ticket's summary, and `quote`: by default the customer's
    latest words on the ticket; "" for none) to each address, threaded under `in_reply_to` when
    it answers a mail; the outbox ids."""
    recipients = list(dict.fromkeys(a for a in to if a))
    if not recipients:
        return []
    session.flush()
    shown = summary(ticket) if ticket is not None else None
    if quote is None and ticket is not None:
        quote = customer_text(session, ticket.id)
    if not references and ticket is not None:
        references = _anchor(session, ticket.id)  # the customer's first mail: one thread
    ids = []
    for address in recipients:
        mail = composer.notice(
            to=address,
            title=title,
            lines=lines,
            ticket=shown,
            now=now,
            quote=quote,
            in_reply_to=in_reply_to,
            references=(*references, in_reply_to) if in_reply_to else references,
        )
        row = mailing.queue(
            session,
            composer,
            mail,
            kind=f"notice:{notice}",
            ticket_id=ticket.id if ticket else None,
            now=now,
        )
        events.record(
            session,
            events.Notified(notice=notice, to=[address], outbox=row.id),
            ticket_id=ticket.id if ticket else None,
            at=now,
            actor="system",
            cause=cause,
        )
        ids.append(row.id)
    return ids
