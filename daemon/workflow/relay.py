"""An engineer's reply relayed to the customer: from the support address, in their thread.

The text after the commands (quoted history and signature already gone) and the files of the
engineer's mail go to the requester, with the ticket's Cc list and the colleagues the engineer
copied, In-Reply-To the customer's last mail and the subject tag; an address that bounces is
left out (`daemon.workflow.mailing`). The engineer's own mail stays on the ticket as an
internal message; the relayed one is public. The first reply stops the first-response clock.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon.config import Settings
from daemon.mail.compose import Composer
from daemon.mail.parts import files_of
from daemon.storage import events
from daemon.storage.models import Inbound, Message, Ticket
from daemon.workflow import clocks, lifecycle, mailing
from parsers import ParsedMessage
from rules import sla
from rules.intake import is_ours

MAX_CC = 20


def _cc(ticket: Ticket, message: ParsedMessage, settings: Settings) -> tuple[str, ...]:
    """The ticket's Cc list, and the colleagues the engineer copied on their reply."""
    ours = frozenset(settings.desk.addresses)
    requester = ticket.requester.address
    copied = [
        a.address
        for a in message.cc
        if settings.engineer(a.address) is not None and a.address != message_sender(message)
    ]
    found = [a for a in (*ticket.cc, *copied) if a != requester and not is_ours(a, ours)]
    return tuple(dict.fromkeys(found))[:MAX_CC]


def message_sender(message: ParsedMessage) -> str:
    return message.from_.address if message.from_ else ""


def send(
    session: Session,
    ticket: Ticket,
    message: ParsedMessage,
    row: Message,
    text: str,
    *,
    composer: Composer,
    now: datetime,
) -> None:
    """Send the engineer's text (and files) to the customer's thread; the first stops the
    first-response clock."""
    cause = f"inbound:{row.inbound_id}"
    raw = session.scalar(select(Inbound.raw).where(Inbound.id == row.inbound_id))
    files = files_of(raw) if raw is not None and message.attachments else ()
    in_reply_to, references = lifecycle.thread_of(session, ticket)
    engineer = composer.settings.engineer(row.author_address)
    requester = ticket.requester.address
    mail = composer.public_reply(
        ticket=ticket.id,
        subject=ticket.subject,
        to=(requester,),
        cc=_cc(ticket, message, composer.settings),
        author=engineer.name if engineer else row.author_name,
        text=text,
        attachments=files,
        in_reply_to=in_reply_to,
        references=references,
        now=now,
    )
    out = mailing.to_customer(
        session, composer, mail, kind="reply", ticket_id=ticket.id, now=now, cause=cause
    )
    first = not lifecycle.replied_before(session, ticket)
    row.body = text  # the engineer's mail itself stays internal: its quoted history is in it
    if out is None:
        return
    row.outbox_id = out.id
    sent = Message(
        ticket_id=ticket.id,
        direction="out",
        public=True,
        message_id=mail.message_id,
        in_reply_to=in_reply_to,
        subject=mail.subject,
        author_address=row.author_address,
        author_name=row.author_name,
        author_kind="engineer",
        body=text,
        full_text=text,
        outbox_id=out.id,
        created_at=now,
    )
    session.add(sent)
    session.flush()
    replied = events.ReplySent(
        message=sent.id,
        outbox=out.id,
        to=[requester],
        cc=list(mail.recipients[1:]),
        attachments=len(files),
        first=first,
    )
    actor = f"engineer:{row.author_address}"
    events.record(session, replied, ticket_id=ticket.id, at=now, actor=actor, cause=cause)
    book = composer.settings.rulebook()
    happening = sla.Happening.ENGINEER_REPLIED
    clocks.happen(session, ticket, happening, book=book, now=now, cause=cause)
