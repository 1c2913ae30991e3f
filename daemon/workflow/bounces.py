"""Our own mail coming back: a delivery report matched to its outbox row marks the address.

A report is matched by the signed VERP envelope sender it was addressed to
(`support+b42.mac@desk`, `daemon.workflow.mailing`), else by the Message-ID of ours it quotes.
A matched report marks each failed recipient of that row as bouncing (a delay is not a
failure): no more mail goes to the address until a new mail from it arrives, and whoever looks
after the ticket is told once, when the address starts bouncing. A report that matches nothing
of ours is kept and ignored, as before.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from daemon.mail.compose import Composer
from daemon.mail.reply_address import bounce_id
from daemon.storage import events
from daemon.storage.models import Bounce, Contact, Inbound, Outbox, Ticket
from daemon.workflow.customer import caretakers
from daemon.workflow.facts import recipients
from daemon.workflow.notices import notify
from parsers import ParsedMessage

MAX_MARKED = 20
_NO_RAW = (defer(Outbox.raw),)  # the report needs the row's recipients, not its bytes


def match(
    session: Session, message: ParsedMessage, composer: Composer
) -> tuple[Outbox | None, str]:
    """The outbox row a report is about, and how it was found ("verp", "message-id", "")."""
    secret = composer.secret
    if secret is not None:
        ours = frozenset(composer.settings.desk.addresses)
        for address in recipients(message):
            found = bounce_id(address, ours, secret)
            if found is not None:
                row = session.get(Outbox, found, options=_NO_RAW)
                if row is not None:
                    return row, "verp"
    original = message.auto.original_message_id
    if original:
        row = session.scalar(select(Outbox).options(*_NO_RAW).where(Outbox.message_id == original))
        if row is not None:
            return row, "message-id"
    return None, ""


def keep(
    session: Session,
    inbound: Inbound,
    message: ParsedMessage,
    *,
    composer: Composer,
    now: datetime,
) -> None:
    """Store the report; when it is about our mail, mark the addresses that failed."""
    cause = f"inbound:{inbound.id}"
    row, how = match(session, message, composer)
    bounce = Bounce(
        inbound_id=inbound.id,
        original_message_id=message.auto.original_message_id,
        recipients=[b.to_json() for b in message.auto.bounced[:1000]],
        outbox_id=row.id if row else None,
        created_at=now,
    )
    session.add(bounce)
    session.flush()
    received = events.BounceReceived(
        inbound=inbound.id,
        bounce=bounce.id,
        original_message_id=message.auto.original_message_id,
        recipients=[b.address for b in message.auto.bounced[:100]],
    )
    ticket_id = row.ticket_id if row else None
    events.record(session, received, ticket_id=ticket_id, at=now, actor="system", cause=cause)
    if row is None:
        return
    for address in failed(message, row)[:MAX_MARKED]:
        _mark(session, address, row, bounce, how, composer=composer, now=now, cause=cause)


def failed(message: ParsedMessage, row: Outbox) -> list[str]:
    """The row's recipients the report says failed; all of them when it names none of them."""
    sent = [r.lower() for r in row.recipients]
    named = [
        b.address.lower()
        for b in message.auto.bounced
        if (b.action or "failed").lower() != "delayed" and b.address.lower() in sent
    ]
    delayed_only = message.auto.bounced and all(
        (b.action or "").lower() == "delayed" for b in message.auto.bounced
    )
    if delayed_only:
        return []
    return list(dict.fromkeys(named)) or sent


def _mark(
    session: Session,
    address: str,
    row: Outbox,
    bounce: Bounce,
    how: str,
    *,
    composer: Composer,
    now: datetime,
    cause: str,
) -> None:
    contact = session.scalar(select(Contact).where(Contact.address == address))
    if contact is None:
        contact = Contact(address=address, name="", created_at=now)
        session.add(contact)
    if contact.bouncing_since is not None:
        return  # told already
    contact.bouncing_since = now
    marked = events.AddressBouncing(
        address=address, outbox=row.id, bounce=bounce.id, matched_by=how
    )
    events.record(session, marked, ticket_id=row.ticket_id, at=now, actor="system", cause=cause)
    ticket = session.get(Ticket, row.ticket_id) if row.ticket_id is not None else None
    if ticket is None:
        return
    notify(
        session,
        composer,
        notice="bouncing",
        to=[a for a in caretakers(ticket, composer) if a != address],
        title=f"Mail to {address} bounces: {ticket.subject}"[:200],
        lines=(
            f"Our mail to {address} came back undelivered ({row.kind}).",
            "No more mail goes to that address until a new mail from it arrives.",
        ),
        ticket=ticket,
        now=now,
        cause=cause,
    )
