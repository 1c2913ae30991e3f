"""The team in the database: it follows the configuration, and engineers' absences.

Engineers added, updated, deactivated from the configuration; an engineer's out-of-office reply
arriving at the desk marks them away (`mark_away`), and a job ends the absence (`back_at_work`).

Each configured engineer is one `INSERT ... ON CONFLICT (address) DO UPDATE`, so two processes
starting at once both succeed and agree; engineers no longer configured are kept (their history
stays attached) but marked inactive.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from daemon.config import Settings
from daemon.mail.compose import Composer
from daemon.storage import events, jobs
from daemon.storage.database import Database
from daemon.storage.models import Engineer, Job, Ticket, TicketStatus
from daemon.workflow import assignment
from daemon.workflow.notices import notify
from parsers import ParsedMessage
from parsers.absence import return_date
from rules.assign import Assignment, availability

if TYPE_CHECKING:
    from daemon.runners.jobs import JobContext

AWAY_DEFAULT = timedelta(days=1)
URGENT = 2


def sync_engineers(db: Database, settings: Settings) -> None:
    dialect: Any = postgresql if db.backend == "postgresql" else sqlite
    configured = [e.address for e in settings.engineers]
    with db.transaction() as session:
        for engineer in settings.engineers:
            start, _, end = engineer.hours.partition("-")
            values = {
                "name": engineer.name,
                "tier": engineer.tier,
                "skills": list(engineer.skills),
                "timezone": engineer.timezone,
                "hours_start": start,
                "hours_end": end,
                "days": list(engineer.days),
                "active": True,
            }
            insert = dialect.insert(Engineer).values(address=engineer.address, **values)
            session.execute(insert.on_conflict_do_update(index_elements=["address"], set_=values))
        session.execute(
            update(Engineer).where(Engineer.address.not_in(configured)).values(active=False)
        )


def mark_away(
    session: Session,
    message: ParsedMessage,
    *,
    inbound_id: int,
    composer: Composer,
    now: datetime,
    cause: str,
) -> bool:
    """An engineer's out-of-office reply: away until the date it names (else a day); their
    urgent open tickets (severity 1-2) go to their delegate or are reassigned. False when the
    sender is no engineer of ours."""
    settings = composer.settings
    sender = message.from_.address if message.from_ else ""
    engineer = settings.engineer(sender)
    row = session.scalars(select(Engineer).where(Engineer.address == sender)).one_or_none()
    if engineer is None or row is None:
        return False
    zone = ZoneInfo(engineer.timezone)
    back = return_date(message.body, received=now.astimezone(zone).date(), subject=message.subject)
    until = (
        datetime.combine(back, time(0), tzinfo=zone).astimezone(UTC) if back else now + AWAY_DEFAULT
    )
    if until <= now:
        until = now + AWAY_DEFAULT
    if row.away_until is not None and row.away_until >= until:
        return True  # one more auto-reply of the same absence
    row.away_until = until
    handed = _hand_over(session, row, engineer.delegate, composer=composer, now=now, cause=cause)
    away = events.EngineerAway(
        engineer=sender,
        until=until,
        inbound=inbound_id,
        date_found=back is not None,
        handed_over=handed,
    )
    events.record(session, away, ticket_id=None, at=now, actor=f"engineer:{sender}", cause=cause)
    jobs.schedule(
        session,
        kind=jobs.ENGINEER_BACK,
        key=f"back:{sender}:{until.timestamp():.0f}",
        due_at=until,
        now=now,
        payload={"engineer": sender, "handed_over": handed},
    )
    return True


def _hand_over(
    session: Session,
    row: Engineer,
    delegate: str | None,
    *,
    composer: Composer,
    now: datetime,
    cause: str,
) -> list[int]:
    settings = composer.settings
    urgent = session.scalars(
        select(Ticket)
        .where(
            Ticket.assignee_id == row.id,
            Ticket.severity <= URGENT,
            Ticket.status.in_((TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING)),
        )
        .order_by(Ticket.id)
    ).all()
    team = {e.address: e for e in assignment.team_facts(session, settings)}
    lines = (f"{row.address} is away until {row.away_until:%Y-%m-%d} (out-of-office reply).",)
    handed = []
    for ticket in urgent:
        chosen = team.get(delegate or "")
        if chosen is not None and availability(chosen, now) is None:
            decision = Assignment(
                chosen.address,
                "delegate",
                (),
                f"{row.address} is away; {chosen.address} is their delegate",
                (),
            )
            assignment.give(
                session,
                ticket,
                decision,
                composer=composer,
                now=now,
                cause=cause,
                notice="handed_over",
                lines=lines,
            )
        else:
            assignment.reassign(
                session,
                ticket,
                settings,
                composer=composer,
                now=now,
                cause=cause,
                exclude=frozenset({row.address}),
                notice="handed_over",
                lines=lines,
            )
        handed.append(ticket.id)
    return handed


def back_at_work(ctx: JobContext, session: Session, job: Job, now: datetime) -> datetime | None:
    """The `engineer_back` job: the absence ends; the engineer is told what moved meanwhile."""
    address = str(job.payload["engineer"])
    row = session.scalars(select(Engineer).where(Engineer.address == address)).one_or_none()
    if row is None or row.away_until is None or row.away_until > now:
        return None  # gone, or a later absence replaced this one (its own job tells them)
    row.away_until = None
    events.record(
        session,
        events.EngineerBack(engineer=address),
        ticket_id=None,
        at=now,
        actor="system",
        cause=f"job:{job.id}",
    )
    handed = [int(t) for t in job.payload.get("handed_over", [])]
    lines = ["Your absence has ended; new tickets reach you again."]
    if handed:
        lines.append(
            "While you were away these urgent tickets were handed to colleagues: "
            + ", ".join(f"#{t}" for t in handed)
        )
    notify(
        session,
        ctx.composer,
        notice="back",
        to=[address],
        title="Welcome back",
        lines=tuple(lines),
        ticket=None,
        now=now,
        cause=f"job:{job.id}",
    )
    return None
