from __future__ import annotations

import threading
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from daemon.config import Settings
from daemon.runners import process as process_module
from daemon.storage import dbapi, intake
from daemon.storage.database import Database
from daemon.storage.intake import Envelope
from daemon.storage.models import (
    Bounce,
    Event,
    Inbound,
    InboundState,
    Message,
    Outbox,
    Ticket,
    TicketStatus,
)
from parsers import ParsedMessage, parse
from tests.unit.conftest import Clock, make_settings, process

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
    feed(db, clock, mail())
    [outcome] = process(settings, db, clock)
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
        # triage between: labels, and no assignee (the team was never synchronised here)
        assert kinds == [
            "created",
            "message_received",
            "classified",
            "unassigned",
            "acknowledged",
        ]
        inbound = session.get_one(Inbound, outcome.inbound_id)
        assert inbound.state == InboundState.DONE and inbound.ticket_id == ticket.id


def test_reply_to_the_ack_lands_on_the_same_ticket(
    db: Database, settings: Settings, clock: Clock
) -> None:
    feed(db, clock, mail())
    [first] = process(settings, db, clock)
    with db.transaction() as session:
        ack_id = session.scalars(select(Outbox.message_id)).one()
    feed(db, clock, mail(subject="Re: something else", In_Reply_To=ack_id, References=ack_id))
    feed(db, clock, mail(subject=f"Re: [#{first.ticket_id}] Printer on fire"))
    replies = process(settings, db, clock)
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
    feed(db, clock, mail())
    [first] = process(settings, db, clock)
    with db.transaction() as session:
        session.get_one(Ticket, first.ticket_id).status = TicketStatus.RESOLVED
    feed(db, clock, mail(subject=f"Re: [#{first.ticket_id}] thanks, but it burns again"))
    process(settings, db, clock)
    with db.transaction() as session:
        assert session.get_one(Ticket, first.ticket_id).status == TicketStatus.OPEN
        change = session.scalars(select(Event).where(Event.kind == "status_changed")).one()
        assert change.data["from"] == "resolved" and change.data["to"] == "open"


def test_unknown_ticket_tag_opens_a_new_ticket(
    db: Database, settings: Settings, clock: Clock
) -> None:
    feed(db, clock, mail(subject="Re: [#999] old thing"))
    [outcome] = process(settings, db, clock)
    assert outcome.action == "new_ticket"


def test_a_bad_mail_is_quarantined_and_the_next_goes_on(
    db: Database, settings: Settings, clock: Clock
) -> None:
    bad = feed(db, clock, b"\x00\x01 not a mail \xff")
    good = feed(db, clock, mail())
    outcomes = process(settings, db, clock)
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
    feed(db, clock, mail())
    assert len(process(settings, db, clock)) == 1
    assert process(settings, db, clock) == []
    with db.read() as session:
        assert len(session.scalars(select(Ticket)).all()) == 1


def test_ack_rate_limit_per_sender(db: Database, settings: Settings, clock: Clock) -> None:
    for n in range(7):
        feed(db, clock, mail(subject=f"question {n}"))
    acked = [o.acknowledged for o in process(settings, db, clock)]
    assert acked == [True] * 5 + [False] * 2
    clock.advance(hours=1, seconds=1)
    feed(db, clock, mail(subject="next morning"))
    assert [o.acknowledged for o in process(settings, db, clock)] == [True]


def test_machines_and_ourselves(db: Database, settings: Settings, clock: Clock) -> None:
    feed(db, clock, mail("MAILER-DAEMON@mx.test", subject="Undelivered Mail Returned to Sender"))
    feed(db, clock, mail("support@desk.test", subject="our own"))
    feed(db, clock, mail(Precedence="bulk", List_Id="<news.vendor.test>"))
    outcomes = process(settings, db, clock)
    assert [(o.action, o.acknowledged) for o in outcomes] == [
        ("bounce", False),
        ("ignore", False),
        ("new_ticket", False),
    ]
    with db.transaction() as session:
        ignored = session.scalars(
            select(Inbound).where(Inbound.state == InboundState.IGNORED)
        ).all()
        assert len(ignored) == 2 and all(i.reason for i in ignored)


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
    process(settings, db, clock)
    with db.transaction() as session:
        message = session.scalars(select(Message).where(Message.direction == "in")).one()
        [attachment] = message.attachments
        assert (attachment.filename, attachment.size, attachment.inline) == (
            "server.log",
            1234,
            False,
        )


def test_a_copied_message_id_never_moves_a_customers_reply(
    db: Database, settings: Settings, clock: Clock
) -> None:
    """Mallory copies Alice's Message-ID; Alice's replies stay on Alice's ticket."""
    feed(db, clock, mail("alice@cust.test", "My order", Message_ID="<alice1@cust.test>"))
    [alice] = process(settings, db, clock)
    feed(db, clock, mail("mallory@evil.test", "Order", Message_ID="alice1@cust.test"))
    [mallory] = process(settings, db, clock)
    assert mallory.action == "new_ticket" and mallory.ticket_id != alice.ticket_id
    with db.read() as session:
        ack = session.scalars(
            select(Outbox.message_id).where(Outbox.ticket_id == alice.ticket_id)
        ).one()
    feed(
        db,
        clock,
        mail(
            "alice@cust.test",
            "Re: My order",
            In_Reply_To=ack,
            References=f"<alice1@cust.test> {ack}",
        ),
    )
    feed(db, clock, mail("alice@cust.test", "Re: My order", References="<alice1@cust.test>"))
    replies = process(settings, db, clock)
    assert [(o.action, o.ticket_id) for o in replies] == [("attach", alice.ticket_id)] * 2
    assert all(
        o.hits[0].rule != "thread-references" or "alice1" in o.hits[0].matched for o in replies
    )


def test_another_desk_answering_each_ack_gets_one(
    db: Database, settings: Settings, clock: Clock
) -> None:
    """A desk answers every acknowledgement, seconds later, from help+N@, with its own tag."""
    feed(db, clock, mail("help+1@other.example", "Question"))
    acks = 0
    for n in range(2, 52):
        outcomes = process(settings, db, clock)
        if not any(o.acknowledged for o in outcomes):
            break  # nothing to answer: the loop is over
        acks += 1
        clock.advance(seconds=5)
        feed(db, clock, mail(f"help+{n}@other.example", f"[SR-{n}] Question received"))
    assert acks == 1


def test_plus_addresses_count_as_one_person(db: Database, settings: Settings, clock: Clock) -> None:
    for n in range(50):
        feed(db, clock, mail(f"Help+{n}@Other.example", f"question {n}"))
        clock.advance(minutes=1)
    acked = [o.acknowledged for o in process(settings, db, clock)]
    assert len(acked) == 50 and sum(acked) == settings.desk.max_acks_per_sender_per_hour


def test_an_oversized_mail_is_a_stub_ticket_and_the_sender_is_told(
    tmp_path: Path, db_url: str, clock: Clock
) -> None:
    settings = make_settings(
        tmp_path, db_url, desk={"addresses": ["support@desk.test"], "max_mail_bytes": 4096}
    )
    db = Database(settings.database.url)
    db.upgrade()
    big = mail(subject="Logs attached", body="x" * 10_000)
    feed(db, clock, big)
    [outcome] = process(settings, db, clock)
    assert outcome.action == "new_ticket" and outcome.acknowledged
    with db.read() as session:
        ticket = session.get_one(Ticket, outcome.ticket_id)
        assert ticket.subject == "Logs attached"
        incoming = session.scalars(select(Message).where(Message.direction == "in")).one()
        assert "x" * 100 not in incoming.body
        ack = parse(session.scalars(select(Outbox.raw)).one())
        assert "more than the" in ack.full_text and "MB" in ack.full_text
        assert session.scalars(select(Inbound.raw)).one() == big
    db.dispose()


def test_a_bounce_is_kept_with_its_report(db: Database, settings: Settings, clock: Clock) -> None:
    feed(db, clock, mail())
    [first] = process(settings, db, clock)
    with db.read() as session:
        ack_id = session.scalars(select(Outbox.message_id)).one()
    dsn = (
        "From: MAILER-DAEMON@mx.cust.test\r\nTo: support@desk.test\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn1@mx>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; "
        'boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nIt failed.\r\n'
        "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
        "Final-Recipient: rfc822; ann@cust.test\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
        f"--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {ack_id}\r\n"
        "Subject: x\r\n\r\n--b--\r\n"
    ).encode()
    feed(db, clock, dsn)
    [bounce] = process(settings, db, clock)
    assert bounce.action == "bounce"
    with db.read() as session:
        kept = session.scalars(select(Bounce)).one()
        assert kept.original_message_id == ack_id
        assert kept.outbox_id is not None
        assert [r["address"] for r in kept.recipients] == ["ann@cust.test"]
        event = session.scalars(select(Event).where(Event.kind == "bounce_received")).one()
        assert event.ticket_id == first.ticket_id


def test_a_slow_mail_never_holds_the_write_lock(
    db: Database, settings: Settings, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While one mail takes long to parse, another is stored at once (SQLite's lock is free)."""
    feed(db, clock, mail(subject="slow one"))
    parsing, release = threading.Event(), threading.Event()
    real_parse = parse

    def slow_parse(raw: bytes, *, tag_prefix: str = "") -> ParsedMessage:
        parsing.set()
        assert release.wait(30)
        return real_parse(raw, tag_prefix=tag_prefix)

    monkeypatch.setattr(process_module, "parse", slow_parse)
    worker = threading.Thread(target=process, args=(settings, db, clock))
    worker.start()
    try:
        assert parsing.wait(30)
        plain = dbapi.connect(db.url, timeout=1)  # would wait out the timeout if locked
        try:
            started = time.monotonic()
            intake.store(plain, mail(subject="innocent"), Envelope("pipe", clock()))
            assert time.monotonic() - started < 1
        finally:
            plain.close()
    finally:
        release.set()
        worker.join(timeout=30)
    with db.read() as session:
        assert len(session.scalars(select(Inbound)).all()) == 2
