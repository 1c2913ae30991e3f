"""Notices to the team: one outbox row per recipient, with a `notified` event, in the caller's
transaction (so a notice exists exactly when the change it tells of does).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from daemon.mail.compose import Composer, TicketSummary
from daemon.storage import events
from daemon.storage.models import Ticket
from daemon.storage.outbox import outbox_row

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
        clocks.append(f"{name.capitalize() + ':':<15}{when}{outcome} ({clock.policy})")
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
    )


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
) -> list[int]:
    """Mail `title` and `lines` (and the ticket's summary) to each address; the outbox ids."""
    recipients = list(dict.fromkeys(a for a in to if a))
    if not recipients:
        return []
    session.flush()
    shown = summary(ticket) if ticket is not None else None
    ids = []
    for address in recipients:
        mail = composer.notice(to=address, title=title, lines=lines, ticket=shown, now=now)
        row = outbox_row(
            ticket_id=ticket.id if ticket else None,
            kind=f"notice:{notice}"[:40],
            message_id=mail.message_id,
            envelope_from=mail.envelope_from,
            recipients=mail.recipients,
            raw=mail.raw,
            now=now,
        )
        session.add(row)
        session.flush()
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
