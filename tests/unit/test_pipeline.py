from __future__ import annotations

from email.message import EmailMessage

from sqlalchemy import select

from daemon.config import Settings
from daemon.storage import intake
from daemon.storage.database import Database
from daemon.storage.intake import Envelope
from daemon.storage.models import (
    Event,
    Inbound,
    InboundState,
    Message,
    Outbox,
    Ticket,
    TicketStatus,
)
from daemon.workflow.pipeline import Pipeline
from parsers import parse
from tests.unit.conftest import Clock

COUNTER = iter(range(1, 10_000))


def mail(
    sender: str = "Ann Lee <ann@cust.test>",
    subject: str = "Printer on fire",
    body: str = "It is on fire.\n",
    **headers: str,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@desk.test"
    msg["Subject"] = subject
    msg["Message-ID"] = headers.pop("Message_ID", f"<m{next(COUNTER)}@cust.test>")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes()


def feed(db: Database, clock: Clock, raw: bytes) -> int:
    return intake.store(db, raw, Envelope(source="main", received_at=clock())).inbound_id


def test_new_mail_makes_a_ticket_an_ack_and_events(
    db: Database, settings: Settings, clock: Clock
) -> None:
    pipeline = Pipeline(settings, db, clock=clock)
    feed(db, clock, mail())
    [outcome] = pipeline.process_pending()
    assert outcome.action == "new_ticket" and outcome.acknowledged
    with db.transaction() as session:
        ticket = session.get_one(Ticket, outcome.ticket_id)
        assert (ticket.subject, ticket.status, ticket.mailbox) == (
            "Printer on fire",
            TicketStatus.NEW,
            "main",
        )
        assert ticket.requester.address == "ann@cust.test"
        assert ticket.requester.name == "Ann Lee"
        [ack] = session.scalars(select(Outbox)).all()
        assert ack.recipients == ["ann@cust.test"] and ack.kind == "ack"
        ack_mail = parse(ack.raw)
        assert ack_mail.subject == f"[#{ticket.id}] Printer on fire"
        assert ack_mail.ticket_ref == ticket.id
        assert ack_mail.header("Auto-Submitted") == "auto-replied"
        assert ack_mail.header("X-Replydesk-Loop") == "support@desk.test"
        incoming = session.scalars(select(Message).where(Message.direction == "in")).one()
        assert ack_mail.in_reply_to == (incoming.message_id,)
        assert ack.message_id == ack_mail.message_id
        kinds = [e.kind for e in session.scalars(select(Event).order_by(Event.id))]
        assert kinds == ["created", "message_received", "acknowledged"]
        inbound = session.get_one(Inbound, outcome.inbound_id)
        assert inbound.state == InboundState.DONE and inbound.ticket_id == ticket.id


def test_reply_to_the_ack_lands_on_the_same_ticket(
    db: Database, settings: Settings, clock: Clock
) -> None:
    pipeline = Pipeline(settings, db, clock=clock)
    feed(db, clock, mail())
    [first] = pipeline.process_pending()
    with db.transaction() as session:
        ack_id = session.scalars(select(Outbox.message_id)).one()
    feed(db, clock, mail(subject="Re: something else", In_Reply_To=ack_id, References=ack_id))
    feed(db, clock, mail(subject=f"Re: [#{first.ticket_id}] Printer on fire"))
    replies = pipeline.process_pending()
    assert [(o.action, o.ticket_id, o.acknowledged) for o in replies] == [
        ("attach", first.ticket_id, False),
        ("attach", first.ticket_id, False),
    ]
    with db.transaction() as session:
        assert session.scalars(select(Ticket)).all() != []
        assert len(session.scalars(select(Ticket)).all()) == 1
        assert len(session.scalars(select(Outbox)).all()) == 1


def test_customer_reply_reopens_a_resolved_ticket(
    db: Database, settings: Settings, clock: Clock
) -> None:
    pipeline = Pipeline(settings, db, clock=clock)
    feed(db, clock, mail())
    [first] = pipeline.process_pending()
    with db.transaction() as session:
        session.get_one(Ticket, first.ticket_id).status = TicketStatus.RESOLVED
    feed(db, clock, mail(subject=f"Re: [#{first.ticket_id}] thanks, but it burns again"))
    pipeline.process_pending()
    with db.transaction() as session:
        assert session.get_one(Ticket, first.ticket_id).status == TicketStatus.OPEN
        change = session.scalars(select(Event).where(Event.kind == "status_changed")).one()
        assert change.data == {"old": "resolved", "new": "open"}


def test_unknown_ticket_tag_opens_a_new_ticket(
    db: Database, settings: Settings, clock: Clock
) -> None:
    feed(db, clock, mail(subject="Re: [#999] old thing"))
    [outcome] = Pipeline(settings, db, clock=clock).process_pending()
    assert outcome.action == "new_ticket"


def test_a_bad_mail_is_quarantined_and_the_next_goes_on(
    db: Database, settings: Settings, clock: Clock
) -> None:
    bad = feed(db, clock, b"\x00\x01 not a mail \xff")
    good = feed(db, clock, mail())
    outcomes = Pipeline(settings, db, clock=clock).process_pending()
    assert [(o.inbound_id, o.action) for o in outcomes] == [
        (bad, "quarantined"),
        (good, "new_ticket"),
    ]
    with db.transaction() as session:
        held = session.get_one(Inbound, bad)
        assert held.state == InboundState.QUARANTINED
        assert held.raw == b"\x00\x01 not a mail \xff"
        assert held.error is not None and "NotAMailError" in held.error


def test_processing_twice_does_nothing_twice(
    db: Database, settings: Settings, clock: Clock
) -> None:
    pipeline = Pipeline(settings, db, clock=clock)
    inbound_id = feed(db, clock, mail())
    assert pipeline.process(inbound_id) is not None
    assert pipeline.process(inbound_id) is None
    assert pipeline.process_pending() == []


def test_ack_rate_limit_per_sender(db: Database, settings: Settings, clock: Clock) -> None:
    pipeline = Pipeline(settings, db, clock=clock)
    for n in range(7):
        feed(db, clock, mail(subject=f"question {n}"))
    acked = [o.acknowledged for o in pipeline.process_pending()]
    assert acked == [True] * 5 + [False] * 2
    clock.advance(hours=1, seconds=1)
    feed(db, clock, mail(subject="next morning"))
    assert [o.acknowledged for o in pipeline.process_pending()] == [True]


def test_machines_and_ourselves(db: Database, settings: Settings, clock: Clock) -> None:
    feed(db, clock, mail("MAILER-DAEMON@mx.test", subject="Undelivered Mail Returned to Sender"))
    feed(db, clock, mail("support@desk.test", subject="our own"))
    feed(db, clock, mail(Precedence="bulk", List_Id="<news.vendor.test>"))
    outcomes = Pipeline(settings, db, clock=clock).process_pending()
    assert [(o.action, o.acknowledged) for o in outcomes] == [
        ("ignore", False),
        ("ignore", False),
        ("new_ticket", False),
    ]
    with db.transaction() as session:
        ignored = session.scalars(
            select(Inbound).where(Inbound.state == InboundState.IGNORED)
        ).all()
        assert len(ignored) == 2 and all(i.error for i in ignored)


def test_attachments_are_recorded(db: Database, settings: Settings, clock: Clock) -> None:
    msg = EmailMessage()
    msg["From"] = "ann@cust.test"
    msg["To"] = "support@desk.test"
    msg["Subject"] = "log attached"
    msg["Message-ID"] = "<att1@cust.test>"
    msg.set_content("see log")
    msg.add_attachment(
        b"x" * 1234, maintype="application", subtype="octet-stream", filename="server.log"
    )
    feed(db, clock, msg.as_bytes())
    Pipeline(settings, db, clock=clock).process_pending()
    with db.transaction() as session:
        message = session.scalars(select(Message).where(Message.direction == "in")).one()
        [attachment] = message.attachments
        assert (attachment.filename, attachment.size, attachment.inline) == (
            "server.log",
            1234,
            False,
        )
