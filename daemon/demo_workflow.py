"""The demo's second half: one ticket walked by mail from the engineer's reply to the survey.

Grace answers the notice about Alice's ticket from her mail client (to its signed Reply-To):
commands on the first lines, her answer below, her quoted history and signature after it. The
desk applies the commands, relays the answer to Alice in her thread and mails Grace a
transcript. Grace then resolves it; a day later the survey goes out and Alice answers "5 – ...".
Last, the whole thread of the ticket is printed, as the event log and the outbox hold it.
"""

from __future__ import annotations

import mailbox
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime

from sqlalchemy import select

from daemon.config import Settings
from daemon.service import Daemon
from daemon.storage.database import Database
from daemon.storage.models import Event, Message, Outbox, Ticket
from daemon.storage.reader import Reader
from parsers import ParsedMessage, parse
from rules import metrics

Mail = Callable[..., bytes]


def outbox_row(db: Database, kind: str, ticket: int, after: int = 0) -> Outbox:
    with db.read() as session:
        return session.scalars(
            select(Outbox)
            .where(Outbox.kind == kind, Outbox.ticket_id == ticket, Outbox.id > after)
            .order_by(Outbox.id)
        ).first() or _missing(kind, ticket)


def _missing(kind: str, ticket: int) -> Outbox:
    raise RuntimeError(f"the demo expected a {kind} mail about ticket #{ticket}")


def answer(make: Mail, to: ParsedMessage, sender: str, body: str, now: datetime) -> bytes:
    """What a mail client sends to answer `to`: its Reply-To, In-Reply-To, the quote below."""
    quoted = "\n".join("> " + line for line in to.full_text.splitlines()[:8])
    address = to.reply_to[0].address if to.reply_to else to.from_.address if to.from_ else ""
    return make(
        sender,
        f"Re: {to.subject}",
        f"{body}\nOn {format_datetime(now)}, Demo Support wrote:\n{quoted}\n",
        when=now,
        headers={
            "To": address,
            "In-Reply-To": to.message_id or "",
            "References": " ".join((*to.references, to.message_id or "")),
        },
    )


@dataclass(frozen=True, slots=True)
class DemoDesk:
    """The demo's desk as its walks drive it: the inbox the daemon reads, its settings and
    database, and how a mail is made."""

    inbox: mailbox.Maildir
    settings: Settings
    db: Database
    make: Mail

    def answer(self, to: ParsedMessage, sender: str, body: str, at: datetime) -> bytes:
        return answer(self.make, to, sender, body, at)

    def deliver(self, raw: bytes, *, at: datetime) -> None:
        """`raw` into the inbox, then one pass of the daemon as at `at`."""
        self.inbox.add(raw)
        self.run(at=at)

    def run(self, *, at: datetime, sources: bool = True) -> None:
        """One pass of the daemon as at `at` (`sources=False`: its jobs only, no mail read)."""
        Daemon(self.settings, self.db, clock=lambda: at, sources=None if sources else []).run_once()


def print_mail(label: str, row: Outbox, *, lines: int = 6) -> None:
    """The mail as its reader sees it (our own mails whole: their quotes are the point)."""
    mail = parse(row.raw)
    print(f"  {label} to {', '.join(row.recipients)}: {mail.subject}")
    text = mail.body if label in {"reply", "transcript"} else mail.full_text
    shown = [line for line in text.strip().splitlines() if line.strip()]
    for line in shown[:lines]:
        print(f"      | {line}")


def walk(desk: DemoDesk, *, now: datetime, first_pass: int) -> None:
    """Passes `first_pass`, ... of the demo: reply with commands, resolve, survey, the thread."""
    db, settings = desk.db, desk.settings
    with db.read() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.subject.like("%charged twice%"))).one()
        number, engineer = ticket.id, ticket.assignee.address if ticket.assignee else ""
    notice = parse(outbox_row(db, "notice:assigned", number).raw)
    grace = "Grace Hopper <grace@demo.example>"
    body = (
        "#severity 2\n#tag +refund\n\nHi Alice,\n\nI can see both charges of 49.00 EUR. The "
        "second one is refunded today;\nit shows on your statement in 3-5 days.\n\n"
        "Grace\n--\nGrace Hopper, Billing support\n"
    )
    print(f"\npass {first_pass}: {engineer} answers the notice: two commands, then her reply")
    before = last_outbox(db)
    desk.deliver(desk.answer(notice, grace, body, now), at=now)
    print_mail("reply", outbox_row(db, "reply", number, before))
    print_mail("transcript", outbox_row(db, "notice:transcript", number, before))

    later = now + timedelta(minutes=20)
    print(f"\npass {first_pass + 1}: she resolves it with a command only (nothing else to say)")
    before = last_outbox(db)
    desk.deliver(
        desk.answer(notice, grace, "#resolve Refunded the duplicate charge\n", later), at=later
    )
    print_mail("status", outbox_row(db, "status:resolved", number, before), lines=5)

    day = later + timedelta(hours=settings.workflow.survey_delay_hours, minutes=1)
    print(f"\npass {first_pass + 2}: {settings.workflow.survey_delay_hours:g} hours later")
    before = last_outbox(db)
    desk.run(at=day, sources=False)
    survey = outbox_row(db, "survey", number, before)
    print_mail("survey", survey, lines=5)
    alice = "Alice Martin <alice@customer.example>"
    print(f"\npass {first_pass + 3}: Alice answers the survey")
    desk.deliver(
        desk.answer(parse(survey.raw), alice, "5 – quick and kind, thank you!\n", day), at=day
    )
    _print_thread(db, number)
    _print_numbers(settings, db, now)


def last_outbox(db: Database) -> int:
    with db.read() as session:
        return max(session.scalars(select(Outbox.id)), default=0)


def _print_thread(db: Database, number: int) -> None:
    with db.read() as session:
        rated = session.scalars(
            select(Event).where(Event.ticket_id == number, Event.kind == "survey_answered")
        ).first()
        if rated is not None:
            print(f"  rating {rated.data['rating']} of 5: “{rated.data['comment']}”")
        ticket = session.get_one(Ticket, number)
        print(f"\nthe thread of ticket #{number} ({ticket.status.value}), oldest first:")
        rows = session.scalars(
            select(Message).where(Message.ticket_id == number).order_by(Message.id)
        )
        for row in rows:
            where = "public  " if row.public else "internal"
            arrow = "<-" if row.direction == "in" else "->"
            first = next((ln for ln in row.body.splitlines() if ln.strip()), "")[:60]
            who = f"{row.author_kind:<8} {row.author_address:<24}"
            print(f"  {row.created_at:%a %H:%M} {arrow} {where} {who} {first}")


def _print_numbers(settings: Settings, db: Database, now: datetime) -> None:
    """The numbers `replydesk report baseline` computes from the event log, for the demo day."""
    reader = Reader(db.url)
    try:
        lives = metrics.fold(reader.events()).values()
    finally:
        reader.dispose()
    book = settings.rulebook()
    calendars = {life.ticket: book.calendar(life.calendar or "wall") for life in lives}
    start = now.replace(hour=0, minute=0, second=0) - timedelta(days=1)
    summary = metrics.summarise(lives, calendars=calendars, start=start, end=start + timedelta(3))
    reply = summary.first_response.calendar
    sla = summary.sla.get("first_response")
    print("\nthe numbers, from the event log alone (replydesk report baseline --from --to):")
    print(f"  {summary.created} tickets in, {summary.resolved} resolved, {summary.backlog} open")
    if reply.median is not None:
        print(f"  first response: median {reply.median / 3600:.1f} h (n={reply.n})")
    if sla is not None and sla.share is not None:
        print(f"  first-response SLA met: {sla.hits} of {sla.n}")
    if summary.csat.average is not None:
        print(f"  CSAT {summary.csat.average:.1f} of 5 (n={summary.csat.n})")
