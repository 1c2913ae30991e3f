"""Turn stored mail into tickets: parse, gather facts, route, apply — one transaction per mail.

Everything a mail causes (contact, ticket, message, attachments, events, the acknowledgement in the
outbox, the inbound row marked done) commits together or not at all, so a crash or a retry never
makes a second ticket. A mail that fails for any reason but a database error goes to quarantine
with the error, and the next mail goes on.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from daemon import failpoints
from daemon.config import Settings
from daemon.errors import StorageError
from daemon.mail.compose import Composer
from daemon.storage.database import Database
from daemon.storage.models import (
    Attachment,
    Contact,
    Engineer,
    Event,
    Inbound,
    InboundState,
    Message,
    Outbox,
    OutboxState,
    Ticket,
    TicketStatus,
)
from parsers import ParsedMessage, parse
from rules.intake import IntakeFacts, Route, TicketFacts, route

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class Outcome:
    inbound_id: int
    action: str
    ticket_id: int | None
    acknowledged: bool
    reasons: tuple[str, ...]


class Pipeline:
    def __init__(self, settings: Settings, db: Database, *, clock: Clock) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.composer = Composer(settings)

    def process_pending(self, *, limit: int = 500) -> list[Outcome]:
        """Process stored mail in arrival order; database errors stop the pass (retried later)."""
        with self.db.transaction() as session:
            ids = session.scalars(
                select(Inbound.id)
                .where(Inbound.state == InboundState.STORED)
                .order_by(Inbound.id)
                .limit(limit)
            ).all()
        outcomes = []
        for inbound_id in ids:
            outcome = self.process(inbound_id)
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    def process(self, inbound_id: int) -> Outcome | None:
        try:
            with self.db.transaction() as session:
                outcome = self._process(session, inbound_id)
            failpoints.reached("ticket-committed")
            return outcome
        except StorageError:
            raise
        except Exception as exc:
            self._quarantine(inbound_id, exc)
            reason = f"{type(exc).__name__}: {exc}"
            return Outcome(inbound_id, "quarantined", None, False, (reason,))

    def _process(self, session: Session, inbound_id: int) -> Outcome | None:
        inbound = session.get(Inbound, inbound_id, with_for_update={"skip_locked": True})
        if inbound is None or inbound.state != InboundState.STORED:
            return None
        inbound.attempts += 1
        message = parse(inbound.raw, tag_prefix=self.settings.desk.tag_prefix)
        now = self.clock()
        decision = route(self._facts(session, message, now))
        ticket_id = self._apply(session, inbound, message, decision, now)
        return Outcome(
            inbound_id,
            decision.action,
            ticket_id,
            decision.acknowledge,
            decision.reasons,
        )

    def _facts(self, session: Session, message: ParsedMessage, now: datetime) -> IntakeFacts:
        desk = self.settings.desk
        sender = message.from_.address if message.from_ else ""
        return IntakeFacts(
            message=message,
            our_addresses=frozenset(desk.addresses),
            engineers=frozenset(e.address for e in self.settings.engineers),
            by_headers=_ticket_by_headers(session, message),
            by_tag=_ticket_by_tag(session, message),
            acks_last_hour=_acks_since(session, sender, now - timedelta(hours=1)),
            max_acks_per_hour=desk.max_acks_per_sender_per_hour,
        )

    def _apply(
        self,
        session: Session,
        inbound: Inbound,
        message: ParsedMessage,
        decision: Route,
        now: datetime,
    ) -> int | None:
        cause = f"inbound:{inbound.id}"
        inbound.processed_at = now
        if decision.action == "ignore":
            inbound.state = InboundState.IGNORED
            inbound.error = "; ".join(decision.reasons)
            return None
        if message.from_ is None:
            raise ValueError(f"routing chose {decision.action} for a mail without a sender")
        contact = _contact(session, message.from_.address, message.from_.name, now)
        actor = f"contact:{contact.address}"
        if decision.action == "new_ticket":
            ticket = _open_ticket(session, inbound, message, contact, decision, now=now)
        else:
            assert decision.ticket_id is not None
            ticket = _continue_ticket(session, decision.ticket_id, decision, actor, cause, now=now)
        row = _message_row(ticket.id, inbound, message, decision, now)
        session.add(row)
        session.flush()
        _event(
            session,
            ticket.id,
            "message_received",
            at=now,
            actor=actor,
            cause=cause,
            message=row.id,
            public=row.public,
            reasons=decision.reasons,
        )
        if decision.acknowledge:
            self._acknowledge(session, ticket, message, now, cause)
        inbound.state = InboundState.DONE
        inbound.ticket_id = ticket.id
        return ticket.id

    def _acknowledge(
        self, session: Session, ticket: Ticket, message: ParsedMessage, now: datetime, cause: str
    ) -> None:
        mail = self.composer.acknowledgement(
            ticket_id=ticket.id, subject=ticket.subject, message=message, now=now
        )
        outbox = Outbox(
            ticket_id=ticket.id,
            kind="ack",
            message_id=mail.message_id,
            envelope_from=mail.envelope_from,
            recipients=list(mail.recipients),
            raw=mail.raw,
            state=OutboxState.PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        session.add(outbox)
        session.flush()
        session.add(
            Message(
                ticket_id=ticket.id,
                direction="out",
                public=True,
                message_id=mail.message_id,
                in_reply_to=message.message_id,
                subject=mail.subject,
                author_address=mail.envelope_from,
                author_name=self.settings.desk.name,
                author_kind="system",
                body=mail.text,
                full_text=mail.text,
                outbox_id=outbox.id,
                created_at=now,
            )
        )
        _event(
            session,
            ticket.id,
            "acknowledged",
            at=now,
            actor="system",
            cause=cause,
            outbox=outbox.id,
        )

    def _quarantine(self, inbound_id: int, exc: BaseException) -> None:
        detail = "".join(traceback.format_exception(exc, limit=8))
        log.error("inbound %s quarantined: %s: %s", inbound_id, type(exc).__name__, exc)
        with self.db.transaction() as session:
            inbound = session.get_one(Inbound, inbound_id)
            inbound.state = InboundState.QUARANTINED
            inbound.attempts += 1
            inbound.error = detail
            inbound.processed_at = self.clock()


def sync_engineers(db: Database, settings: Settings) -> None:
    """Make the engineers table match the configured team (kept, never deleted: history)."""
    configured = {e.address: e for e in settings.engineers}
    with db.transaction() as session:
        rows = {row.address: row for row in session.scalars(select(Engineer))}
        for address, engineer in configured.items():
            row = rows.get(address) or Engineer(address=address)
            row.name = engineer.name
            row.tier = engineer.tier
            row.skills = {"skills": list(engineer.skills), "hours": engineer.hours}
            row.timezone = engineer.timezone
            row.active = True
            session.add(row)
        for address, row in rows.items():
            if address not in configured:
                row.active = False


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
        created_at=now,
        updated_at=now,
    )
    session.add(ticket)
    session.flush()
    _event(
        session,
        ticket.id,
        "created",
        at=now,
        actor=f"contact:{requester.address}",
        cause=f"inbound:{inbound.id}",
        reasons=decision.reasons,
    )
    return ticket


def _continue_ticket(
    session: Session, ticket_id: int, decision: Route, actor: str, cause: str, *, now: datetime
) -> Ticket:
    ticket = session.get_one(Ticket, ticket_id)
    ticket.updated_at = now
    if decision.reopen:
        _event(
            session,
            ticket.id,
            "status_changed",
            at=now,
            actor=actor,
            cause=cause,
            old=ticket.status.value,
            new=TicketStatus.OPEN.value,
        )
        ticket.status = TicketStatus.OPEN
    return ticket


def _ticket_by_headers(session: Session, message: ParsedMessage) -> TicketFacts | None:
    ids = [*message.in_reply_to, *reversed(message.references)]
    if not ids:
        return None
    found = session.execute(
        select(Ticket.id, Ticket.status, Contact.address)
        .join(Message, Message.ticket_id == Ticket.id)
        .join(Contact, Contact.id == Ticket.requester_id)
        .where(Message.message_id.in_(ids[:50]))
        .order_by(Message.id.desc())
        .limit(1)
    ).first()
    return TicketFacts(found[0], found[1].value, found[2]) if found else None


def _ticket_by_tag(session: Session, message: ParsedMessage) -> TicketFacts | None:
    if message.ticket_ref is None:
        return None
    found = session.execute(
        select(Ticket.id, Ticket.status, Contact.address)
        .join(Contact, Contact.id == Ticket.requester_id)
        .where(Ticket.id == message.ticket_ref)
    ).first()
    return TicketFacts(found[0], found[1].value, found[2]) if found else None


def _acks_since(session: Session, sender: str, since: datetime) -> int:
    if not sender:
        return 0
    return (
        session.scalar(
            select(func.count(Message.id)).where(
                Message.author_kind == "system",
                Message.created_at > since,
                Message.ticket_id.in_(
                    select(Ticket.id).join(Contact).where(Contact.address == sender)
                ),
            )
        )
        or 0
    )


def _contact(session: Session, address: str, name: str, now: datetime) -> Contact:
    contact = session.scalar(select(Contact).where(Contact.address == address))
    if contact is None:
        contact = Contact(address=address, name=name[:200], created_at=now)
        session.add(contact)
        session.flush()
    elif name and not contact.name:
        contact.name = name[:200]
    return contact


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
        author_name=message.from_.name[:200] if message.from_ else "",
        author_kind="contact",
        body=message.body,
        full_text=message.full_text,
        inbound_id=inbound.id,
        created_at=now,
    )
    row.attachments = [
        Attachment(
            filename=(a.filename or "")[:300] or None,
            content_type=a.content_type[:120],
            size=a.size,
            inline=a.inline,
            content_id=(a.content_id or "")[:300] or None,
        )
        for a in message.attachments
    ]
    return row


def _event(
    session: Session,
    ticket_id: int | None,
    kind: str,
    *,
    at: datetime,
    actor: str,
    cause: str,
    **data: object,
) -> None:
    session.add(Event(ticket_id=ticket_id, at=at, actor=actor, kind=kind, cause=cause, data=data))
