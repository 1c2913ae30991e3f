"""Assignment in the database: the team as `rules.assign` sees it, and its decisions written.

`team_facts()` reads the engineers (the configuration says who they are and what they can do;
the database says who is away, whose turn it is, and what each holds: open tickets whose clock
runs, weighted by severity). `give()` writes an `Assignment`: the ticket's assignee, the
engineer's turn, an `assigned` event saying why and who else was considered, and a notice to the
new assignee; or, when nobody can take it, an `unassigned` event, one notice to the queue's lead
per ticket, and an `assign_retry` job for when the next member starts work. `escalate()` is the
operation the SLA checks call, and the workflow's `#escalate` command will.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from daemon import config
from daemon.config import Settings
from daemon.mail.compose import Composer
from daemon.storage import events, jobs
from daemon.storage.models import Engineer, Event, Job, Ticket, TicketStatus
from daemon.workflow.notices import notify
from rules.assign import Assignment, EngineerFacts, assign, load_of
from rules.classify import Classification
from rules.hits import Hit
from rules.triage import needed_skills

if TYPE_CHECKING:
    from daemon.runners.jobs import JobContext

OPEN = (TicketStatus.NEW, TicketStatus.OPEN)
CLOSED = (TicketStatus.RESOLVED, TicketStatus.CLOSED)
MAX_TIER = 3
RETRY_LATER = timedelta(hours=1)


def team_facts(session: Session, settings: Settings) -> list[EngineerFacts]:
    rows = {e.address: e for e in session.scalars(select(Engineer))}
    held: dict[int, list[int]] = defaultdict(list)
    query = (
        select(Ticket.assignee_id, Ticket.severity, func.count())
        .where(Ticket.assignee_id.is_not(None), Ticket.status.in_(OPEN))
        .group_by(Ticket.assignee_id, Ticket.severity)
    )
    for assignee, severity, count in session.execute(query):
        if assignee is not None:
            held[assignee] += [severity] * int(count)
    team = []
    for engineer in settings.engineers:
        row = rows.get(engineer.address)
        severities = held.get(row.id, []) if row else []
        team.append(
            engineer_facts(
                settings,
                engineer,
                load=load_of(severities),
                open_tickets=len(severities),
                away_until=row.away_until if row else None,
                last_assigned_at=row.last_assigned_at if row else None,
                active=row is not None and row.active,
            )
        )
    return team


def engineer_facts(
    settings: Settings,
    engineer: config.Engineer,
    *,
    load: float = 0.0,
    open_tickets: int = 0,
    away_until: datetime | None = None,
    last_assigned_at: datetime | None = None,
    active: bool = True,
) -> EngineerFacts:
    """A configured engineer as `rules.assign` sees them, with what the database knows."""
    return EngineerFacts(
        address=engineer.address,
        name=engineer.name,
        tier=engineer.tier,
        calendar=settings.rulebook().engineer_calendars[engineer.address],
        skills=engineer.skill_levels(),
        capacity=engineer.capacity,
        load=load,
        open_tickets=open_tickets,
        away_until=away_until,
        last_assigned_at=last_assigned_at,
        active=active,
    )


def give(
    session: Session,
    ticket: Ticket,
    assignment: Assignment,
    *,
    composer: Composer,
    now: datetime,
    cause: str,
    actor: str = "system",
    notice: str = "assigned",
    lines: tuple[str, ...] = (),
    keep_current: bool = False,
    notify_engineer: bool = True,
) -> None:
    """Write an assignment decision, with its event and its notices. With nobody to take the
    ticket, `keep_current` leaves it with whoever has it (an escalation finding no expert at
    work must not orphan the ticket); the lead is told either way."""
    before = ticket.assignee_id
    if assignment.engineer is None:
        if not (keep_current and before is not None):
            ticket.assignee_id, ticket.assignee = None, None
        _unassigned(session, ticket, assignment, composer=composer, now=now, cause=cause)
        return
    engineer = session.scalars(
        select(Engineer).where(Engineer.address == assignment.engineer)
    ).one()
    ticket.assignee_id, ticket.assignee = engineer.id, engineer
    engineer.last_assigned_at = now
    jobs.cancel_all(session, kind=jobs.ASSIGN_RETRY, ticket_id=ticket.id, now=now, why="assigned")
    assigned = events.Assigned(
        from_=before,
        to=engineer.id,
        strategy=assignment.strategy,
        considered=[f"{c.address}: {c.why}" for c in assignment.considered],
        reason=assignment.reason,
    )
    events.record(session, assigned, ticket_id=ticket.id, at=now, actor=actor, cause=cause)
    if not notify_engineer:
        return
    titles = {
        "assigned": "New ticket for you",
        "escalated": "Ticket escalated to you",
        "handed_over": "Ticket handed over to you",
    }
    notify(
        session,
        composer,
        notice=notice,
        to=[engineer.address],
        title=f"{titles.get(notice, 'Ticket for you')}: {ticket.subject}"[:200],
        lines=(*lines, f"Why you: {assignment.reason}"),
        ticket=ticket,
        now=now,
        cause=cause,
    )


def reassign(
    session: Session,
    ticket: Ticket,
    settings: Settings,
    *,
    composer: Composer,
    now: datetime,
    cause: str,
    exclude: frozenset[str] = frozenset(),
    notice: str = "assigned",
    lines: tuple[str, ...] = (),
    keep_current: bool = False,
) -> Assignment:
    """Decide again who takes the ticket (its queue, tier and skills as they are now)."""
    team = team_facts(session, settings)
    book = settings.rulebook()
    labels = Classification(
        module=ticket.category,
        problem_type=ticket.problem_type,
        severity=ticket.severity,
        tags=tuple(ticket.tags),
        queue=ticket.queue,
        tier=ticket.tier,
        hits=(),
    )
    decision = assign(
        queue=book.queue(ticket.queue),
        tier=ticket.tier,
        needs=needed_skills(labels, team),
        engineers=team,
        at=now,
        exclude=exclude,
    )
    give(
        session,
        ticket,
        decision,
        composer=composer,
        now=now,
        cause=cause,
        notice=notice,
        lines=lines,
        keep_current=keep_current,
    )
    return decision


def escalate(
    session: Session,
    ticket: Ticket,
    settings: Settings,
    *,
    composer: Composer,
    reason: str,
    now: datetime,
    cause: str,
    actor: str = "system",
    hits: Sequence[Hit] = (),
    ceiling: int = MAX_TIER,
) -> bool:
    """Move the ticket up one tier and reassign it within that tier; False when it is at
    `ceiling` already (SLA warnings escalate to tier 2 only: the experts, once)."""
    if ticket.tier >= ceiling:
        return False
    was, ticket.tier = ticket.tier, ticket.tier + 1
    escalated = events.Escalated(
        from_tier=was, to_tier=ticket.tier, reason=reason, hits=events.hits(tuple(hits))
    )
    events.record(session, escalated, ticket_id=ticket.id, at=now, actor=actor, cause=cause)
    reassign(
        session,
        ticket,
        settings,
        composer=composer,
        now=now,
        cause=cause,
        notice="escalated",
        lines=(f"Escalated from tier {was} to tier {ticket.tier}: {reason}",),
        keep_current=True,
    )
    return True


def _unassigned(
    session: Session,
    ticket: Ticket,
    assignment: Assignment,
    *,
    composer: Composer,
    now: datetime,
    cause: str,
) -> None:
    book = composer.settings.rulebook()
    lead = book.queue(ticket.queue).lead
    told_before = any(
        data.get("lead_told")
        for data in session.scalars(
            select(Event.data).where(
                Event.ticket_id == ticket.id, Event.kind == events.EventKind.UNASSIGNED.value
            )
        )
    )
    tell = lead if lead and not told_before else None
    waiting = events.Unassigned(
        queue=ticket.queue,
        lead_told=tell,
        considered=[f"{c.address}: {c.why}" for c in assignment.considered],
    )
    events.record(session, waiting, ticket_id=ticket.id, at=now, actor="system", cause=cause)
    if tell:
        notify(
            session,
            composer,
            notice="unassigned",
            to=[tell],
            title=f"Nobody can take a ticket in {ticket.queue}: {ticket.subject}"[:200],
            lines=(
                f"The ticket waits unassigned in queue {ticket.queue}.",
                *(f"  {c.address}: {c.why}" for c in assignment.considered),
            ),
            ticket=ticket,
            now=now,
            cause=cause,
        )
    due = _next_start(composer.settings, ticket, now)
    jobs.schedule(
        session,
        kind=jobs.ASSIGN_RETRY,
        key=f"assign:{ticket.id}:{due.timestamp():.0f}",
        due_at=due,
        now=now,
        ticket_id=ticket.id,
    )


def _next_start(settings: Settings, ticket: Ticket, now: datetime) -> datetime:
    """When the next engineer of the ticket's queue and tier starts work (else in an hour)."""
    book = settings.rulebook()
    queue = book.queue(ticket.queue)
    starts = [
        book.engineer_calendars[e.address].next_open(now + timedelta(seconds=1))
        for e in settings.engineers
        if e.tier == ticket.tier and (not queue.members or e.address in queue.members)
    ]
    return min(starts, default=now + RETRY_LATER)


def retry(ctx: JobContext, session: Session, job: Job, now: datetime) -> datetime | None:
    """The `assign_retry` job: a ticket waiting in its queue, tried again when someone starts."""
    ticket = session.get(Ticket, job.ticket_id) if job.ticket_id else None
    if ticket is None or ticket.assignee_id is not None or ticket.status in CLOSED:
        return None
    reassign(session, ticket, ctx.settings, composer=ctx.composer, now=now, cause=f"job:{job.id}")
    return None
