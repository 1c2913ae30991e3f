"""The email workflow in the pipeline: engineers' replies relayed, commands applied whole or not
at all, strangers held, surveys, bounces and auto-close; on SQLite and PostgreSQL.

Mail is fed as the servers would deliver it and the clock is moved by hand; the outbox rows are
parsed back, so each test reads what a customer or an engineer would get.
"""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from daemon.config import Settings
from daemon.storage.database import Database
from daemon.storage.models import Contact, Event, Message, Outbox, SlaClock, Ticket, TicketStatus
from daemon.workflow.team import sync_engineers
from parsers import ParsedMessage, parse
from tests.unit.conftest import Clock, make_settings, process
from tests.unit.test_triage import feed, kinds, run_jobs

ANN, BOB = "ann@desk.test", "bob@desk.test"
CY = "cy@cust.test"
EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
COUNTER = iter(range(1, 100_000))


def desk(tmp_path: Path, db_url: str, **overrides: Any) -> Settings:
    (tmp_path / "reply-secret").write_text("the reply secret of this test desk\n")
    data: dict[str, Any] = {
        "desk": {
            "name": "Test Desk",
            "addresses": ["support@desk.test"],
            "managers": ["boss@desk.test"],
            "reply_secret_file": "reply-secret",
        },
        "engineers": [
            {"name": "Ann Archer", "address": ANN, "days": EVERY_DAY, "hours": "00:00-24:00"},
            {"name": "Bob Brown", "address": BOB, "tier": 2},
        ],
        "rules": {
            "classify": [{"name": "vpn", "when": {"words": ["vpn"]}, "set": {"module": "vpn"}}]
        },
        "sla": {
            "calendar": "wall",
            "policies": [
                {"name": "urgent", "severities": [1], "first_response": "1h", "resolution": "4h"},
                {
                    "name": "standard",
                    "first_response": "8h",
                    "resolution": "40h",
                    "update_interval": "4h",
                },
            ],
        },
        "workflow": {"survey_delay_hours": 2, "auto_close_days": 3, "reopen_days": 10},
    }
    data.update(overrides)
    return make_settings(tmp_path, db_url, **data)


@pytest.fixture
def team(tmp_path: Path, db: Database) -> Settings:
    settings = desk(tmp_path, db.url)
    sync_engineers(db, settings)
    return settings


def mail(
    body: str,
    *,
    sender: str = f"Cy <{CY}>",
    to: str = "support@desk.test",
    subject: str = "VPN drops every hour",
    reply_to: Outbox | None = None,
    **headers: str,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = f"<w{next(COUNTER)}@mail.test>"
    if reply_to is not None:
        msg["In-Reply-To"] = reply_to.message_id
        msg["References"] = reply_to.message_id
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes()


def outbox(db: Database, kind: str | None = None) -> list[Outbox]:
    with db.read() as session:
        query = select(Outbox).order_by(Outbox.id)
        rows = list(session.scalars(query))
    return [r for r in rows if kind is None or r.kind == kind]


def read(row: Outbox) -> ParsedMessage:
    return parse(row.raw)


def answer(notice: Outbox, body: str, *, sender: str = ANN, **headers: str) -> bytes:
    """What an engineer's client sends when they answer a notice (to its Reply-To)."""
    reply_to = read(notice).reply_to[0].address
    subject = f"Re: {read(notice).subject}"
    return mail(body, sender=sender, to=reply_to, subject=subject, reply_to=notice, **headers)


def new_ticket(db: Database, team: Settings, clock: Clock, body: str = "My VPN drops.\n") -> int:
    feed(db, clock, mail(body, Cc="Dee <dee@cust.test>"))
    [outcome] = process(team, db, clock)
    assert outcome.ticket_id is not None
    return outcome.ticket_id


def ticket(db: Database, number: int) -> Ticket:
    with db.read() as session:
        found = session.get_one(Ticket, number)
        session.expunge(found)
        return found


def test_an_engineers_reply_reaches_the_customer_and_stops_the_first_response_clock(
    db: Database, team: Settings, clock: Clock
) -> None:
    number = new_ticket(db, team, clock)
    [notice] = outbox(db, "notice:assigned")
    assert "My VPN drops." in read(notice).full_text  # the customer's text, quoted
    clock.advance(minutes=30)
    feed(
        db,
        clock,
        answer(notice, "#severity 2\n#tag +network\n\nPlease update the client.\n\n> old quote\n"),
    )
    process(team, db, clock)
    [reply] = outbox(db, "reply")
    relayed = read(reply)
    assert relayed.body.strip() == "Please update the client."
    assert reply.recipients == [CY, "dee@cust.test"]
    assert relayed.subject == f"[#{number}] VPN drops every hour"
    assert relayed.in_reply_to and relayed.in_reply_to[0].startswith("<w")
    assert relayed.header("Auto-Submitted") is None
    assert "Ann Archer" in (relayed.from_.name if relayed.from_ else "")
    [transcript] = outbox(db, "notice:transcript")
    text = read(transcript).full_text
    assert "severity 3 -> 2" in text and "network" in text and "sent to the customer" in text
    found = ticket(db, number)
    assert (found.severity, found.tags) == (2, ["network"])
    with db.read() as session:
        first = session.scalars(
            select(SlaClock).where(
                SlaClock.ticket_id == number, SlaClock.target == "first_response"
            )
        ).one()
    assert (first.state, first.outcome) == ("stopped", "met")
    assert "commands_applied" in kinds(db, number) and "reply_sent" in kinds(db, number)


def test_a_mail_with_any_wrong_command_changes_nothing_and_names_every_error(
    db: Database, team: Settings, clock: Clock
) -> None:
    number = new_ticket(db, team, clock)
    [notice] = outbox(db, "notice:assigned")
    before = ticket(db, number)
    feed(db, clock, answer(notice, "#severity 9\n#frobnicate\n#tag +ok\n#status maybe\n\nHi!\n"))
    process(team, db, clock)
    assert outbox(db, "reply") == []
    after = ticket(db, number)
    assert (after.severity, after.tags, after.status) == (before.severity, [], before.status)
    [refused] = outbox(db, "notice:commands_refused")
    text = read(refused).full_text
    for line, word in ((1, "#severity"), (2, "#frobnicate"), (4, "#status")):
        assert f"line {line}: {word}" in text
    assert "line 3" not in text and "#resolve" in text  # the help comes with it
    assert "commands_refused" in kinds(db, number) and "commands_applied" not in kinds(db, number)


def test_unsigned_mail_from_an_engineer_is_held_until_they_accept_it(
    db: Database, team: Settings, clock: Clock
) -> None:
    number = new_ticket(db, team, clock)
    spoof = mail("#resolve\n\nAll fixed, bye.\n", sender=ANN, subject=f"Re: [#{number}] VPN")
    feed(db, clock, spoof)
    process(team, db, clock)
    assert ticket(db, number).status != TicketStatus.RESOLVED
    assert outbox(db, "reply") == []
    [confirm] = outbox(db, "notice:held")
    assert confirm.recipients == [ANN] and "#accept" in read(confirm).full_text
    feed(db, clock, answer(confirm, "#accept\n"))
    process(team, db, clock)
    assert ticket(db, number).status == TicketStatus.RESOLVED
    [reply] = outbox(db, "reply")
    assert "All fixed, bye." in read(reply).body and "now resolved" in read(reply).full_text
    assert "mail_accepted" in kinds(db, number)


def test_a_forged_signature_or_another_engineers_address_commands_nothing(
    db: Database, team: Settings, clock: Clock
) -> None:
    number = new_ticket(db, team, clock)
    [notice] = outbox(db, "notice:assigned")  # signed for Ann
    feed(db, clock, answer(notice, "#take\n#resolve\n", sender=BOB))
    forged = f"support+t{number}.aaaaaaaaaaaaaaaa@desk.test"
    feed(db, clock, mail("#resolve\n", sender=ANN, to=forged, subject=f"[#{number}] x"))
    process(team, db, clock)
    found = ticket(db, number)
    assert found.status != TicketStatus.RESOLVED
    with db.read() as session:
        attempts = session.scalars(
            select(Event).where(Event.kind == "command_attempt", Event.ticket_id == number)
        ).all()
    assert [a.data["sender"] for a in attempts] == [BOB, ANN]
    assert outbox(db, "notice:transcript") == []


def test_untrusted_authentication_results_are_ignored_when_the_desk_requires_them(
    tmp_path: Path, db: Database, clock: Clock
) -> None:
    strict = desk(
        tmp_path,
        db.url,
        workflow={"require_authentication": True, "trusted_authserv_ids": ["mx.desk.test"]},
    )
    sync_engineers(db, strict)
    number = new_ticket(db, strict, clock)
    [notice] = outbox(db, "notice:assigned")
    forged = {"Authentication_Results": "evil.example; dkim=pass header.d=desk.test"}
    feed(db, clock, answer(notice, "#severity 1\n", **forged))
    process(strict, db, clock)
    assert ticket(db, number).severity == 3
    trusted = {"Authentication_Results": "mx.desk.test; dkim=pass header.d=desk.test"}
    feed(db, clock, answer(notice, "#severity 1\n", **trusted))
    process(strict, db, clock)
    assert ticket(db, number).severity == 1


def test_a_strangers_mail_on_the_thread_is_held_until_accepted(
    db: Database, team: Settings, clock: Clock
) -> None:
    number = new_ticket(db, team, clock)
    [ack] = outbox(db, "ack")
    stranger = mail("Let me in on this.\n", sender="mallory@evil.test", reply_to=ack)
    feed(db, clock, stranger)
    process(team, db, clock)
    assert [r for r in outbox(db) if "mallory@evil.test" in r.recipients] == []
    [held] = outbox(db, "notice:held")
    assert held.recipients == [ANN] and "Let me in on this." in read(held).full_text
    with db.read() as session:
        row = session.scalars(
            select(Message).where(Message.author_address == "mallory@evil.test")
        ).one()
        assert (row.public, row.held) == (False, True)
    feed(db, clock, answer(held, "#accept\n"))
    process(team, db, clock)
    assert "mallory@evil.test" in ticket(db, number).cc
    with db.read() as session:
        row = session.scalars(
            select(Message).where(Message.author_address == "mallory@evil.test")
        ).one()
        assert (row.public, row.held) == (True, False)


def test_resolved_then_surveyed_then_rated_then_closed(
    db: Database, team: Settings, clock: Clock
) -> None:
    number = new_ticket(db, team, clock)
    [notice] = outbox(db, "notice:assigned")
    feed(db, clock, answer(notice, "#resolve Client 5.2 fixes the drops\n"))
    process(team, db, clock)
    [status] = outbox(db, "status:resolved")
    assert "Client 5.2 fixes the drops" in read(status).full_text and "10 days" in read(status).body
    assert status.recipients == [CY]
    clock.advance(hours=2, minutes=1)
    run_jobs(db, clock, team)
    [survey] = outbox(db, "survey")
    assert survey.recipients == [CY] and read(survey).header("Auto-Submitted") == "auto-generated"
    feed(db, clock, mail("4 – quick fix\n", reply_to=survey, subject=f"Re: {read(survey).subject}"))
    process(team, db, clock)
    assert ticket(db, number).status == TicketStatus.RESOLVED  # a rating never reopens
    with db.read() as session:
        rated = session.scalars(select(Event).where(Event.kind == "survey_answered")).one()
    assert (rated.data["rating"], rated.data["comment"]) == (4, "quick fix")
    clock.advance(days=3)
    run_jobs(db, clock, team)
    assert ticket(db, number).status == TicketStatus.CLOSED
    [closed] = outbox(db, "status:closed")
    assert closed.recipients == [CY]


def test_a_survey_reply_that_is_a_new_problem_reopens_the_ticket(
    db: Database, team: Settings, clock: Clock
) -> None:
    number = new_ticket(db, team, clock)
    [notice] = outbox(db, "notice:assigned")
    feed(db, clock, answer(notice, "#resolve\n"))
    process(team, db, clock)
    clock.advance(hours=3)
    run_jobs(db, clock, team)
    [survey] = outbox(db, "survey")
    feed(db, clock, mail("It is not working again since this morning?\n", reply_to=survey))
    process(team, db, clock)
    assert ticket(db, number).status == TicketStatus.OPEN
    clock.advance(days=4)
    run_jobs(db, clock, team)
    assert ticket(db, number).status == TicketStatus.OPEN  # reopening cancelled the auto-close


def test_a_reply_after_the_reopen_window_opens_a_new_linked_ticket(
    db: Database, team: Settings, clock: Clock
) -> None:
    number = new_ticket(db, team, clock)
    [notice] = outbox(db, "notice:assigned")
    feed(db, clock, answer(notice, "#resolve\n"))
    process(team, db, clock)
    [status] = outbox(db, "status:resolved")
    clock.advance(days=2)
    feed(db, clock, mail("Thanks, one more thing.\n", reply_to=status))
    [outcome] = process(team, db, clock)
    assert outcome.ticket_id == number and ticket(db, number).status == TicketStatus.OPEN
    feed(db, clock, answer(notice, "#resolve\n"))
    process(team, db, clock)
    clock.advance(days=11)
    feed(db, clock, mail("Back again.\n", reply_to=status))
    [late] = process(team, db, clock)
    assert late.action == "new_ticket" and late.ticket_id != number
    assert late.ticket_id is not None and ticket(db, late.ticket_id).follows == number
    told = [r for r in outbox(db, "ack") if r.ticket_id == late.ticket_id]
    assert len(told) == 1 and f"#{number}" in read(told[0]).full_text


def test_a_bounce_of_an_acknowledgement_marks_the_address_until_it_writes_again(
    db: Database, team: Settings, clock: Clock
) -> None:
    number = new_ticket(db, team, clock)
    [ack] = outbox(db, "ack")
    assert ack.envelope_from.startswith(f"support+b{ack.id}.")
    report = dsn(to=ack.envelope_from, failed=CY)
    feed(db, clock, report)
    process(team, db, clock)
    with db.read() as session:
        contact = session.scalars(select(Contact).where(Contact.address == CY)).one()
        assert contact.bouncing_since == clock()
    [told] = outbox(db, "notice:bouncing")
    assert told.recipients == [ANN]
    [notice] = outbox(db, "notice:assigned")
    feed(db, clock, answer(notice, "Any news?\n"))
    process(team, db, clock)
    [reply] = outbox(db, "reply")
    assert reply.recipients == ["dee@cust.test"]  # Cy left out, the Cc still gets it
    assert "mail_withheld" in kinds(db, number)
    feed(db, clock, mail("I am back.\n", reply_to=reply))
    process(team, db, clock)
    with db.read() as session:
        contact = session.scalars(select(Contact).where(Contact.address == CY)).one()
        assert contact.bouncing_since is None


def test_a_forged_bounce_address_marks_nothing(db: Database, team: Settings, clock: Clock) -> None:
    new_ticket(db, team, clock)
    [ack] = outbox(db, "ack")
    feed(db, clock, dsn(to=f"support+b{ack.id}.aaaaaaaaaa@desk.test", failed=CY))
    process(team, db, clock)
    with db.read() as session:
        contact = session.scalars(select(Contact).where(Contact.address == CY)).one()
        assert contact.bouncing_since is None


def test_commands_merge_escalate_assign_cc_and_note(
    db: Database, team: Settings, clock: Clock
) -> None:
    first = new_ticket(db, team, clock)
    second = new_ticket(db, team, clock, body="VPN again, other office.\n")
    notices = outbox(db, "notice:assigned")
    feed(db, clock, answer(notices[1], f"#merge {first}\n"))
    process(team, db, clock)
    merged = ticket(db, second)
    assert (merged.status, merged.closed_as, merged.merged_into) == (
        TicketStatus.CLOSED,
        "merged",
        first,
    )
    feed(db, clock, answer(notices[0], "#cc +eve@cust.test -dee@cust.test\n#note\n\nCall them.\n"))
    process(team, db, clock)
    assert ticket(db, first).cc == ["eve@cust.test"]
    assert outbox(db, "reply") == []
    feed(db, clock, answer(notices[0], "#escalate needs a network expert\n"))
    process(team, db, clock)
    escalated = ticket(db, first)
    assert escalated.tier == 2
    with db.read() as session:
        assert session.get_one(Ticket, first).assignee is not None
    assert "escalated" in kinds(db, first)


def dsn(*, to: str, failed: str) -> bytes:
    """A delivery report (RFC 3464) about our mail, sent to its envelope sender."""
    return (
        "From: MAILER-DAEMON@mx.cust.test\r\n"
        f"To: {to}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: <bounce{next(COUNTER)}@mx.cust.test>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n'
        "\r\n--B\r\nContent-Type: text/plain\r\n\r\n"
        "Your mail could not be delivered.\r\n"
        "\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.cust.test\r\n\r\n"
        f"Final-Recipient: rfc822; {failed}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "\r\n--B--\r\n"
    ).encode()


def test_accept_applies_only_the_mail_its_notice_showed_never_a_spoofed_one_beside_it(
    db: Database, team: Settings, clock: Clock
) -> None:
    number = new_ticket(db, team, clock)
    subject = f"Re: [#{number}] VPN"
    feed(db, clock, mail("#close\n\nSpoofed goodbye.\n", sender=ANN, subject=subject))
    process(team, db, clock)
    feed(db, clock, mail("#tag +real\n\nThe real answer.\n", sender=ANN, subject=subject))
    process(team, db, clock)
    spoofed, real = outbox(db, "notice:held")
    assert "Spoofed goodbye." in read(spoofed).full_text
    assert "The real answer." in read(real).full_text
    feed(db, clock, answer(real, "#accept\n"))
    process(team, db, clock)
    found = ticket(db, number)
    assert found.tags == ["real"] and found.status != TicketStatus.CLOSED
    [reply] = outbox(db, "reply")
    assert "The real answer." in read(reply).body


def test_a_flood_of_strangers_mail_asks_the_assignee_once(
    db: Database, team: Settings, clock: Clock
) -> None:
    new_ticket(db, team, clock)
    [ack] = outbox(db, "ack")
    for n in range(5):
        feed(db, clock, mail(f"spam {n}\n", sender="mallory@evil.test", reply_to=ack))
    process(team, db, clock)
    assert len(outbox(db, "notice:held")) == 1


def test_an_engineers_out_of_office_reply_to_a_notice_is_never_relayed(
    db: Database, team: Settings, clock: Clock
) -> None:
    new_ticket(db, team, clock)
    [notice] = outbox(db, "notice:assigned")
    away = answer(notice, "I am out of the office until Monday.\n", Auto_Submitted="auto-replied")
    feed(db, clock, away)
    process(team, db, clock)
    assert outbox(db, "reply") == []


def test_commands_in_quoted_text_are_never_applied(
    db: Database, team: Settings, clock: Clock
) -> None:
    number = new_ticket(db, team, clock)
    [notice] = outbox(db, "notice:assigned")
    feed(db, clock, answer(notice, "Thanks, looking at it.\n\n> #close\n> #severity 1\n"))
    process(team, db, clock)
    found = ticket(db, number)
    assert (found.status, found.severity) == (TicketStatus.OPEN, 3)  # answered, not closed
    [reply] = outbox(db, "reply")
    assert "#close" not in read(reply).body
    assert outbox(db, "notice:transcript") == []  # no commands: no transcript


def test_with_ticket_wide_signatures_any_engineer_may_answer_a_notice(
    tmp_path: Path, db: Database, clock: Clock
) -> None:
    shared = desk(tmp_path, db.url, workflow={"reply_signed_for": "ticket"})
    sync_engineers(db, shared)
    number = new_ticket(db, shared, clock)
    [notice] = outbox(db, "notice:assigned")
    assert notice.recipients == [ANN]
    feed(db, clock, answer(notice, "#take\n\nBob here, I will handle it.\n", sender=BOB))
    process(shared, db, clock)
    with db.read() as session:
        assignee = session.get_one(Ticket, number).assignee
        assert assignee is not None and assignee.address == BOB
    [reply] = outbox(db, "reply")
    author = read(reply).from_
    assert author is not None and "Bob Brown" in author.name


def test_the_assignee_is_reminded_when_the_customer_has_not_heard_from_us(
    db: Database, team: Settings, clock: Clock
) -> None:
    number = new_ticket(db, team, clock)  # the standard policy: an update every 4 hours
    clock.advance(hours=3, minutes=59)
    run_jobs(db, clock, team)
    assert outbox(db, "notice:reminder") == []
    clock.advance(minutes=2)
    run_jobs(db, clock, team)
    [reminder] = outbox(db, "notice:reminder")
    assert reminder.recipients == [ANN] and "4 business hours" in read(reminder).subject
    [notice] = outbox(db, "notice:assigned")
    feed(db, clock, answer(notice, "Working on it.\n"))
    process(team, db, clock)
    clock.advance(hours=3)
    run_jobs(db, clock, team)
    assert len(outbox(db, "notice:reminder")) == 1  # she answered: the interval starts again
    clock.advance(hours=1, minutes=1)
    run_jobs(db, clock, team)
    assert len(outbox(db, "notice:reminder")) == 2
    assert kinds(db, number).count("reminded") == 2


def test_hostile_command_mail_is_refused_whole_and_the_desk_goes_on(
    db: Database, team: Settings, clock: Clock
) -> None:
    number = new_ticket(db, team, clock)
    [notice] = outbox(db, "notice:assigned")
    hostile = "\n".join(
        [
            "#tag +a\x00b",
            "#cc +" + "x" * 300 + "@evil.test",
            "#merge 99999999999",
            "#assign " + "é" * 5000,
            *(f"#tag +t{n}" for n in range(3000)),
            "#note \x00",
            "",
            "body \x00 with NUL " * 1000,
        ]
    )
    feed(db, clock, answer(notice, hostile))
    [outcome] = process(team, db, clock)
    assert outcome.action == "attach" and outcome.ticket_id == number
    assert ticket(db, number).tags == []  # refused whole
    [refused] = outbox(db, "notice:commands_refused")
    assert len(refused.raw) < 2_000_000  # the reply lists the errors, bounded by the grammar
    assert outbox(db, "reply") == []
    feed(db, clock, answer(notice, "#tag +fine\n\nStill here.\n"))
    process(team, db, clock)
    assert ticket(db, number).tags == ["fine"]


def test_a_first_mail_copying_hundreds_keeps_a_bounded_cc_list(
    db: Database, team: Settings, clock: Clock
) -> None:
    many = ", ".join(f"p{n}@cust.test" for n in range(500))
    feed(db, clock, mail("Please help.\n", Cc=many))
    [outcome] = process(team, db, clock)
    assert outcome.ticket_id is not None
    cc = ticket(db, outcome.ticket_id).cc
    assert len(cc) == 20 and cc[0] == "p0@cust.test"


def test_a_report_naming_thousands_of_recipients_marks_only_ours(
    db: Database, team: Settings, clock: Clock
) -> None:
    new_ticket(db, team, clock)
    [ack] = outbox(db, "ack")
    report = dsn(to=ack.envelope_from, failed=CY).replace(
        b"Final-Recipient: rfc822; " + CY.encode(),
        b"\r\n\r\n".join(f"Final-Recipient: rfc822; v{n}@victim.test".encode() for n in range(3000))
        + b"\r\n\r\nFinal-Recipient: rfc822; "
        + CY.encode(),
    )
    feed(db, clock, report)
    process(team, db, clock)
    with db.read() as session:
        marked = session.scalars(select(Contact.address).where(Contact.bouncing_since.is_not(None)))
        assert list(marked) == [CY]
