"""Queue a rendered mail: one outbox row, an envelope sender naming it, no bouncing addresses.

Every mail we send goes through `queue()`, in the transaction of the change that caused it. Its
envelope sender (Return-Path) is a signed VERP address naming the outbox row
(`support+b42.mac@desk`), so a delivery report about it finds the row even when the report
does not quote our Message-ID. Mail to a customer goes through `to_customer()`, which leaves out
addresses that bounce (`Contact.bouncing_since`, cleared when they write to us again); a mail
with nobody left is not queued, and that is an event.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon.mail.compose import Composed, Composer
from daemon.mail.reply_address import bounce_address
from daemon.storage import events
from daemon.storage.models import Contact, Outbox
from daemon.storage.outbox import outbox_row


def queue(
    session: Session,
    composer: Composer,
    mail: Composed,
    *,
    kind: str,
    ticket_id: int | None,
    now: datetime,
    recipients: tuple[str, ...] | None = None,
) -> Outbox:
    """Add the outbox row for `mail` (to `recipients`, by default all of the mail's)."""
    row = outbox_row(
        ticket_id=ticket_id,
        kind=kind[:40],
        message_id=mail.message_id,
        envelope_from=mail.envelope_from,
        recipients=mail.recipients if recipients is None else recipients,
        raw=mail.raw,
        now=now,
    )
    session.add(row)
    session.flush()
    if composer.secret is not None and mail.envelope_from == composer.settings.desk.address:
        row.envelope_from = bounce_address(mail.envelope_from, composer.secret, row.id)
    return row


def bouncing(session: Session, addresses: tuple[str, ...]) -> frozenset[str]:
    """The addresses among these that bounce."""
    if not addresses:
        return frozenset()
    found = session.scalars(
        select(Contact.address).where(
            Contact.address.in_([a.lower() for a in addresses]),
            Contact.bouncing_since.is_not(None),
        )
    )
    return frozenset(found)


def to_customer(
    session: Session,
    composer: Composer,
    mail: Composed,
    *,
    kind: str,
    ticket_id: int | None,
    now: datetime,
    cause: str,
) -> Outbox | None:
    """Queue a mail to customers, leaving out bouncing addresses; None when nobody is left."""
    dead = bouncing(session, mail.recipients)
    keep = tuple(a for a in mail.recipients if a.lower() not in dead)
    if dead:
        withheld = events.MailWithheld(mail=kind, to=sorted(dead))
        events.record(session, withheld, ticket_id=ticket_id, at=now, actor="system", cause=cause)
    if not keep:
        return None
    return queue(session, composer, mail, kind=kind, ticket_id=ticket_id, now=now, recipients=keep)
