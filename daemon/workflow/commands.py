"""One engineer's command, applied: a checked operation of `rules.command_ops` made real.

`daemon.workflow.engineer.act` has checked the whole mail first (nothing here fails on a
wrong command); each operation changes the ticket through the module that owns the change
(status through `lifecycle`, assignment and escalation through `assignment`, the SLA goals
through `clocks`), records its event, and returns the lines of the transcript it earned.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon.knowledge import drafts
from daemon.mail.compose import Composer
from daemon.storage import events
from daemon.storage.models import Engineer, Ticket, TicketStatus
from daemon.workflow import assignment, clocks, lifecycle
from rules import command_ops as ops
from rules import sla
from rules.assign import Assignment

STATUS_OPS = {
    "open": TicketStatus.OPEN,
    "pending": TicketStatus.PENDING,
    "resolved": TicketStatus.RESOLVED,
    "closed": TicketStatus.CLOSED,
}


def apply(
    session: Session,
    ticket: Ticket,
    op: ops.Op,
    *,
    writer: str,
    text: str,
    relayed: bool,
    composer: Composer,
    now: datetime,
    cause: str,
) -> list[str]:
    """Apply one checked operation; the transcript lines it earned."""
    actor = f"engineer:{writer}"
    settings = composer.settings

    def status(to: TicketStatus, resolution: str | None = None) -> list[str]:
        line = lifecycle.change(
            session,
            ticket,
            to,
            composer=composer,
            now=now,
            cause=cause,
            actor=actor,
            reason=f"{ops.describe(op)} (by {writer})",
            resolution=resolution,
            tell_customer=not relayed,
        )
        if to == TicketStatus.OPEN and line is not None:
            lifecycle.schedule_reminder(session, ticket, book=settings.rulebook(), now=now)
        return [line or f"status was {to.value} already"]

    def relabel(field: str, value: object) -> list[str]:
        return _relabel(session, ticket, field, value, actor=actor, now=now, cause=cause)

    match op:
        case ops.SetStatus(to=to):
            return status(STATUS_OPS[to], (text or None) if to == "resolved" else None)
        case ops.Resolve(text=resolution):
            return status(TicketStatus.RESOLVED, resolution or text or None)
        case ops.Close():
            return status(TicketStatus.CLOSED, text or None)
        case ops.Reopen():
            return status(TicketStatus.OPEN)
        case ops.Assign(to=to):
            return _assign(session, ticket, to, writer, composer=composer, now=now, cause=cause)
        case ops.Take():
            return _assign(session, ticket, writer, writer, composer=composer, now=now, cause=cause)
        case ops.SetSeverity(level=level):
            return _severity(session, ticket, level, actor, composer=composer, now=now, cause=cause)
        case ops.SetCategory(name=name):
            return relabel("category", name)
        case ops.Tag(add=add, remove=remove):
            return relabel("tags", _edited(ticket.tags, add, remove))
        case ops.Cc(add=add, remove=remove):
            return relabel("cc", _edited(ticket.cc, add, remove))
        case ops.Escalate(reason=reason):
            done = assignment.escalate(
                session,
                ticket,
                settings,
                composer=composer,
                reason=reason or f"escalated by {writer}",
                now=now,
                cause=cause,
                actor=actor,
            )
            return [f"escalated to tier {ticket.tier}" if done else "already at the top tier"]
        case ops.Merge(into=into):
            return _merge(session, ticket, into, actor, composer=composer, now=now, cause=cause)
        case ops.Kb(article=None):
            return _propose(session, ticket, writer, text, composer=composer, now=now, cause=cause)
        case ops.Kb(article=article):
            assert article is not None
            cited = events.KbCited(article=article)
            events.record(session, cited, ticket_id=ticket.id, at=now, actor=actor, cause=cause)
            return [f"cites knowledge-base article {article}"]
        case ops.Publish(article=article):
            return drafts.publish(session, ticket, article, now=now)
        case ops.ArticleText(article=article):
            return drafts.replace(session, ticket, article, text, now=now)
        case ops.Note() | ops.Help() | ops.Accept():
            return []  # they shape the mail's handling (`daemon.workflow.engineer.act`)


def _propose(
    session: Session,
    ticket: Ticket,
    writer: str,
    text: str,
    *,
    composer: Composer,
    now: datetime,
    cause: str,
) -> list[str]:
    """`#kb`: a redacted draft from the ticket, owned by the writer and mailed to them."""
    article, cut, mails = drafts.propose(
        session, ticket, owner=writer, text=text, composer=composer, now=now, cause=cause
    )
    proposed = events.KbProposed(resolution=cut.text, article=article.id, notices=mails)
    actor = f"engineer:{writer}"
    events.record(session, proposed, ticket_id=ticket.id, at=now, actor=actor, cause=cause)
    return [
        f"knowledge-base draft {article.id} made and mailed to you"
        f" (personal data taken out: {drafts.removed(cut)})"
    ]


def _edited(items: list[str], add: tuple[str, ...], remove: tuple[str, ...]) -> list[str]:
    return [item for item in dict.fromkeys([*items, *add]) if item not in remove]


def _shown(value: object) -> str:
    if isinstance(value, list):
        return " ".join(value) or "(none)"
    return "-" if value is None else str(value)


def _relabel(
    session: Session,
    ticket: Ticket,
    field: str,
    value: object,
    *,
    actor: str,
    now: datetime,
    cause: str,
) -> list[str]:
    """Set one label by hand (severity, category, tags, cc), with its event; the transcript."""
    before = _shown(getattr(ticket, field))
    setattr(ticket, field, value)
    ticket.updated_at = now
    changed = events.LabelsChanged(field=field, from_=before, to=_shown(value))
    events.record(session, changed, ticket_id=ticket.id, at=now, actor=actor, cause=cause)
    return [f"{field} {before} -> {_shown(value)}"]


def _assign(
    session: Session,
    ticket: Ticket,
    to: str,
    writer: str,
    *,
    composer: Composer,
    now: datetime,
    cause: str,
) -> list[str]:
    if ticket.assignee is not None and ticket.assignee.address == to:
        return [f"assigned to {to} already"]
    if session.scalar(select(Engineer.id).where(Engineer.address == to)) is None:
        return [f"{to} is not in the team table yet (restart the daemon): not assigned"]
    choice = Assignment(
        engineer=to, strategy="by hand", considered=(), reason=f"assigned by {writer}", hits=()
    )
    assignment.give(
        session,
        ticket,
        choice,
        composer=composer,
        now=now,
        cause=cause,
        actor=f"engineer:{writer}",
        notify_engineer=to != writer,
    )
    return [f"assigned to {to}"]


def _severity(
    session: Session,
    ticket: Ticket,
    level: int,
    actor: str,
    *,
    composer: Composer,
    now: datetime,
    cause: str,
) -> list[str]:
    before = ticket.severity
    if before == level:
        return [f"severity was {level} already"]
    _relabel(session, ticket, "severity", level, actor=actor, now=now, cause=cause)
    book = composer.settings.rulebook()
    policy = sla.pick_policy(
        book.policies,
        severity=level,
        domain=ticket.requester.address.rpartition("@")[2],
        queue=ticket.queue,
    )
    if policy is not None and ticket.clocks:
        clocks.regoal(session, ticket, policy, book=book, now=now, cause=cause)
        return [f"severity {before} -> {level} (SLA policy {policy.name})"]
    return [f"severity {before} -> {level}"]


def _merge(
    session: Session,
    ticket: Ticket,
    into: int,
    actor: str,
    *,
    composer: Composer,
    now: datetime,
    cause: str,
) -> list[str]:
    target = session.get_one(Ticket, into)
    lifecycle.change(
        session,
        ticket,
        TicketStatus.CLOSED,
        composer=composer,
        now=now,
        cause=cause,
        actor=actor,
        reason=f"merged into #{into}",
        closed_as="merged",
    )
    ticket.merged_into = into
    requester = ticket.requester.address
    if requester != target.requester.address and requester not in target.cc:
        target.cc = [*target.cc, requester]
    merged = events.Merged(into=into, source=ticket.id)
    for on in (ticket.id, into):
        events.record(session, merged, ticket_id=on, at=now, actor=actor, cause=cause)
    return [f"merged into #{into}; its replies land there now"]
