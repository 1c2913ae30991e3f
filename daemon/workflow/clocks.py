"""SLA clocks in the database: `rules.sla` decides, this module stores, logs and schedules.

Each clock is a `sla_clocks` row. Whatever happens to a ticket is passed to `happen()`, which
moves every clock by `rules.sla.CLOCK_RULES`, records each finished stretch as an `sla_segment`
event, an outcome (met or missed) once as `sla_outcome`, and the clock's new deadline as
`sla_clock`. While a clock runs, one `sla_check` job per warning percentage is pending, due when
that share of the goal will be used; pausing or stopping the clock cancels them, resuming
schedules them anew (their keys name the moment the clock started running, so a job of an
earlier run never fires). A percentage already warned of is never warned of again.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon.storage import events, jobs
from daemon.storage.models import Job, SlaClock, Ticket
from daemon.workflow import assignment
from daemon.workflow.notices import TARGET_NAMES, notify
from rules import sla
from rules.book import Rulebook
from rules.calendar import Calendar

if TYPE_CHECKING:
    from daemon.runners.jobs import JobContext

SLA_ESCALATES_TO = 2


def clock_of(row: SlaClock) -> sla.Clock:
    target: sla.Target = "first_response" if row.target == "first_response" else "resolution"
    state: sla.State = (
        "running" if row.state == "running" else "paused" if row.state == "paused" else "stopped"
    )
    outcome = row.outcome if row.outcome in {"met", "missed"} else None
    return sla.Clock(
        target=target,
        goal=row.goal_seconds,
        used=row.used_seconds,
        state=state,
        since=row.since,
        outcome=outcome,  # type: ignore[arg-type]
    )


def start(
    session: Session,
    ticket: Ticket,
    policy: sla.Policy,
    clocks: tuple[sla.Clock, ...],
    *,
    book: Rulebook,
    now: datetime,
    cause: str,
    why: str,
) -> None:
    """Store a new ticket's clocks (as `rules.triage` started them) and schedule their checks."""
    for clock in clocks:
        row = SlaClock(
            ticket_id=ticket.id,
            target=clock.target,
            policy=policy.name,
            calendar=policy.calendar.name,
            goal_seconds=clock.goal,
            used_seconds=clock.used,
            state=clock.state,
            since=clock.since,
            deadline=clock.deadline(policy.calendar),
            outcome=None,
            warned=[],
        )
        ticket.clocks.append(row)  # adds it to the session (adding it first showed it twice)
        _logged(session, row, now=now, cause=cause, why=why)
        _schedule(session, row, policy.calendar, book=book, now=now)


def happen(
    session: Session,
    ticket: Ticket,
    happening: sla.Happening,
    *,
    book: Rulebook,
    now: datetime,
    cause: str,
) -> list[sla.Outcome]:
    """Move every clock of the ticket by what happened; the outcomes this recorded."""
    outcomes = []
    for row in _rows(session, ticket.id):
        calendar = book.calendar(row.calendar)
        before = clock_of(row)
        moved = sla.step(before, happening, now, calendar)
        if moved.clock == before:
            continue
        outcome = _store(session, row, moved, calendar, now=now, cause=cause)
        if outcome is not None:
            outcomes.append(outcome)
        _logged(session, row, now=now, cause=cause, why=happening.value)
        jobs.cancel(
            session,
            kind=jobs.SLA_CHECK,
            ticket_id=ticket.id,
            now=now,
            why=f"clock {row.state}: {happening.value}",
            target=row.target,
        )
        _schedule(session, row, calendar, book=book, now=now)
    return outcomes


def regoal(
    session: Session,
    ticket: Ticket,
    policy: sla.Policy,
    *,
    book: Rulebook,
    now: datetime,
    cause: str,
) -> None:
    """The ticket's policy changed (severity, queue): new goals, deadlines and checks."""
    for row in _rows(session, ticket.id):
        row.goal_seconds = policy.goal(clock_of(row).target)
        row.policy = policy.name
        calendar = book.calendar(row.calendar)
        row.deadline = clock_of(row).deadline(calendar)
        _logged(session, row, now=now, cause=cause, why=f"policy {policy.name}")
        jobs.cancel(
            session,
            kind=jobs.SLA_CHECK,
            ticket_id=ticket.id,
            now=now,
            why="policy changed",
            target=row.target,
        )
        _schedule(session, row, calendar, book=book, now=now)


def breach(
    session: Session, row: SlaClock, calendar: Calendar, *, now: datetime, cause: str
) -> sla.Outcome | None:
    """A deadline check: the target missed, once, if the clock is past its goal."""
    moved = sla.breach(clock_of(row), now, calendar)
    if moved.outcome is None:
        return None
    return _store(session, row, moved, calendar, now=now, cause=cause)


def _rows(session: Session, ticket_id: int) -> list[SlaClock]:
    query = select(SlaClock).where(SlaClock.ticket_id == ticket_id).order_by(SlaClock.id)
    return list(session.scalars(query))


def _store(
    session: Session,
    row: SlaClock,
    moved: sla.Step,
    calendar: Calendar,
    *,
    now: datetime,
    cause: str,
) -> sla.Outcome | None:
    clock = moved.clock
    row.used_seconds, row.state, row.since = clock.used, clock.state, clock.since
    row.outcome = clock.outcome
    row.deadline = clock.deadline(calendar)
    for segment in moved.segments:
        payload = events.SlaSegment(
            target=segment.target,
            start=segment.start,
            end=segment.end,
            clock_ran=segment.ran,
            business_seconds=segment.business_seconds,
        )
        events.record(
            session, payload, ticket_id=row.ticket_id, at=now, actor="system", cause=cause
        )
    if moved.outcome is not None:
        outcome = moved.outcome
        payload_outcome = events.SlaOutcome(
            target=outcome.target,
            met=outcome.met,
            used_seconds=outcome.used,
            goal_seconds=outcome.goal,
        )
        events.record(
            session, payload_outcome, ticket_id=row.ticket_id, at=now, actor="system", cause=cause
        )
    return moved.outcome


def _logged(session: Session, row: SlaClock, *, now: datetime, cause: str, why: str) -> None:
    payload = events.SlaClock(
        target=row.target,
        policy=row.policy,
        calendar=row.calendar,
        state=row.state,
        goal_seconds=row.goal_seconds,
        used_seconds=row.used_seconds,
        deadline=row.deadline,
        why=why,
    )
    events.record(session, payload, ticket_id=row.ticket_id, at=now, actor="system", cause=cause)


def _schedule(
    session: Session, row: SlaClock, calendar: Calendar, *, book: Rulebook, now: datetime
) -> None:
    if row.state != "running":
        return
    clock = clock_of(row)
    for percent in sla.marks(book.warnings):
        if percent in row.warned or (percent == 100 and row.outcome is not None):
            continue
        due = clock.due(percent, calendar)
        if due is None:
            continue
        jobs.schedule(
            session,
            kind=jobs.SLA_CHECK,
            key=f"sla:{row.ticket_id}:{row.target}:{percent}:{row.since.isoformat()}:{row.used_seconds}",
            due_at=due,
            now=now,
            payload={"target": row.target, "percent": percent, "since": row.since.isoformat()},
            ticket_id=row.ticket_id,
        )


def check(ctx: JobContext, session: Session, job: Job, now: datetime) -> datetime | None:
    """The `sla_check` job: at a warning percentage, tell whom the warning names, escalate if
    it says so; at 100%, record the target missed. Early (the calendar changed): due again."""
    target, percent = str(job.payload["target"]), int(job.payload["percent"])
    row = session.scalars(
        select(SlaClock).where(SlaClock.ticket_id == job.ticket_id, SlaClock.target == target)
    ).one_or_none()
    if row is None or row.state != "running" or row.since.isoformat() != job.payload["since"]:
        return None  # paused, stopped or restarted since: that run's checks are void
    settings = ctx.settings
    book = settings.rulebook()
    calendar = book.calendar(row.calendar)
    clock = clock_of(row)
    due = clock.due(percent, calendar)
    if due is not None and due > now:
        return due
    if percent in row.warned:
        return None
    row.warned = [*row.warned, percent]
    ticket = session.get_one(Ticket, row.ticket_id)
    cause = f"job:{job.id}"
    if percent >= 100:
        breach(session, row, calendar, now=now, cause=cause)
    used = clock.used_at(now, calendar)
    rule = next((w for w in book.warnings if w.percent == percent), None)
    notified: list[str] = []
    escalated = False
    if rule is not None:
        name = TARGET_NAMES.get(target, target)
        state = "missed" if percent >= 100 else f"{percent}% used"
        lines = (
            f"SLA {name} target {state}: {used // 60} of {row.goal_seconds // 60} minutes "
            f"used (policy {row.policy}, calendar {row.calendar}).",
        )
        notified = _recipients(ticket, rule.notify, book=book)
        notify(
            session,
            ctx.composer,
            notice=f"sla_{percent}",
            to=notified,
            title=f"SLA {name} {state}: {ticket.subject}"[:200],
            lines=lines,
            ticket=ticket,
            now=now,
            cause=cause,
        )
        if rule.escalate:
            escalated = assignment.escalate(
                session,
                ticket,
                settings,
                composer=ctx.composer,
                reason=f"SLA {name}: {percent}% used",
                now=now,
                cause=cause,
                ceiling=SLA_ESCALATES_TO,
            )
    warning = events.SlaWarning(
        target=target, percent=percent, used_seconds=used, notified=notified, escalated=escalated
    )
    events.record(session, warning, ticket_id=ticket.id, at=now, actor="system", cause=cause)
    return None


def _recipients(ticket: Ticket, notify: tuple[str, ...], *, book: Rulebook) -> list[str]:
    found: list[str] = []
    for who in notify:
        if who == "assignee" and ticket.assignee is not None:
            found.append(ticket.assignee.address)
        elif who == "lead" and book.queue(ticket.queue).lead:
            found.append(book.queue(ticket.queue).lead or "")
        elif who == "managers":
            found += book.managers
    return list(dict.fromkeys(found))
