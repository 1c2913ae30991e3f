"""The rules in the pipeline: labels, facts asked for, assignee, clocks, warnings, absences.

Every test runs on SQLite and PostgreSQL (the `db` fixture), with the clock moved by hand.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from daemon.config import Settings
from daemon.mail.reply_address import reply_tag, verify
from daemon.runners.jobs import JobRunner
from daemon.storage import events, holders, intake
from daemon.storage.database import Database
from daemon.storage.intake import Envelope
from daemon.storage.models import (
    Engineer,
    Event,
    Job,
    JobState,
    Outbox,
    SlaClock,
    Ticket,
    TicketStatus,
)
from daemon.workflow.team import sync_engineers
from parsers import parse
from tests.unit.conftest import Clock, make_settings, process

COUNTER = iter(range(1, 10_000))
ANN, BOB, MAX, LEAD = "ann@desk.test", "bob@desk.test", "max@desk.test", "lead@desk.test"
EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
RULES: dict[str, Any] = {
    "classify": [
        {"name": "billing", "when": {"words": ["invoice", "发票"]}, "set": {"module": "billing"}},
        {"name": "urgent", "when": {"words": ["urgent", "至急"]}, "set": {"severity": 1}},
    ],
    "facts": {
        "environment": {"question": "Which version are you on?", "labels": ["Environment"]},
        "customer": {"question": "Your customer number", "labels": ["Customer"]},
    },
    "required": {"billing": ["customer"], "*": ["environment"]},
}


def desk(tmp_path: Path, db_url: str, **overrides: Any) -> Settings:
    data: dict[str, Any] = {
        "desk": {
            "name": "Test Desk",
            "addresses": ["support@desk.test"],
            "managers": ["boss@desk.test"],
        },
        "engineers": [
            {"name": "Ann", "address": ANN, "skills": ["billing:2"], "delegate": BOB},
            {"name": "Bob", "address": BOB, "skills": ["billing:1"]},
            {"name": "Max", "address": MAX, "tier": 2, "days": EVERY_DAY, "hours": "00:00-24:00"},
            {"name": "Lea", "address": LEAD, "days": ["sun"]},
        ],
        "rules": RULES,
        "queues": [
            {"name": "general", "strategy": "skills", "members": [ANN, BOB, MAX], "lead": LEAD}
        ],
        "sla": {
            "calendar": "wall",
            "policies": [
                {"name": "urgent", "severities": [1], "first_response": "1h", "resolution": "4h"},
                {"name": "standard", "first_response": "8h", "resolution": "40h"},
            ],
        },
    }
    data.update(overrides)
    return make_settings(tmp_path, db_url, **data)


@pytest.fixture
def team(tmp_path: Path, db: Database) -> Settings:
    settings = desk(tmp_path, db.url)
    sync_engineers(db, settings)
    return settings


def mail(
    subject: str,
    body: str,
    *,
    sender: str = "Cy <cy@cust.test>",
    **headers: str,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@desk.test"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<t{next(COUNTER)}@cust.test>"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes()


def feed(db: Database, clock: Clock, raw: bytes) -> None:
    intake.store(db, raw, Envelope(source="main", received_at=clock()))


def run_jobs(db: Database, clock: Clock, settings: Settings) -> int:
    holder = holders.register(db, "test")
    try:
        runner = JobRunner(db, holder_id=holder, clock=clock, settings=settings)
        runner.run_pass(threading.Event())
        return runner.done
    finally:
        holders.stop(db, holder)


def kinds(db: Database, ticket_id: int) -> list[str]:
    with db.read() as session:
        return list(
            session.scalars(
                select(Event.kind).where(Event.ticket_id == ticket_id).order_by(Event.id)
            )
        )


def mails(db: Database) -> list[Outbox]:
    with db.read() as session:
        return list(session.scalars(select(Outbox).order_by(Outbox.id)))


def test_a_new_ticket_is_labelled_assigned_and_gets_deadlines(
    db: Database, team: Settings, clock: Clock
) -> None:
    feed(db, clock, mail("Invoice 118 charged twice", "Customer: ACME-7\nEnvironment: web\n"))
    [outcome] = process(team, db, clock)
    assert outcome.ticket_id is not None
    with db.read() as session:
        ticket = session.get_one(Ticket, outcome.ticket_id)
        assert (ticket.category, ticket.severity, ticket.queue, ticket.tier) == (
            "billing",
            3,
            "general",
            1,
        )
        assert ticket.assignee_id == session.scalar(
            select(Engineer.id).where(Engineer.address == ANN)
        )
        assert ticket.status == TicketStatus.NEW and ticket.facts == {"customer": "ACME-7"}
        clocks = {c.target: c for c in session.scalars(select(SlaClock))}
        assert clocks["first_response"].deadline == clock() + timedelta(hours=8)
        assert clocks["resolution"].state == "running"
        [assigned] = session.scalars(select(Event).where(Event.kind == "assigned")).all()
        payload = events.read(assigned)
        assert isinstance(payload, events.Assigned) and payload.strategy == "skills"
        assert any(c.startswith(f"{MAX}: tier 2") for c in payload.considered)
        [classified] = session.scalars(select(Event).where(Event.kind == "classified")).all()
        assert classified.data["hits"][0]["rule"] == "billing"
        assert classified.data["hits"][0]["matched"] == "invoice"
    assert kinds(db, outcome.ticket_id)[:3] == ["created", "message_received", "classified"]
    sent = mails(db)
    assert [m.kind for m in sent] == ["notice:assigned", "ack"]
    assert sent[0].recipients == [ANN]
    with db.read() as session:
        due = session.scalars(select(Job).where(Job.kind == "sla_check").order_by(Job.due_at)).all()
    assert [j.payload["percent"] for j in due if j.payload["target"] == "first_response"] == [
        50,
        80,
        100,
    ]


def test_missing_facts_are_asked_for_and_the_clock_waits_for_the_answer(
    db: Database, team: Settings, clock: Clock
) -> None:
    feed(db, clock, mail("Cannot export", "The export button does nothing.\n"))
    [outcome] = process(team, db, clock)
    ack = next(m for m in mails(db) if m.kind == "ack")
    assert b"Which version are you on?" in ack.raw
    with db.read() as session:
        ticket = session.get_one(Ticket, outcome.ticket_id)
        assert ticket.status == TicketStatus.PENDING and ticket.waiting_for == ["environment"]
        assert {c.state for c in session.scalars(select(SlaClock))} == {"paused"}
        ack_id = ack.message_id
    clock.advance(hours=30)
    feed(
        db,
        clock,
        mail("Re: Cannot export", "Environment: v4.2 on Windows 11\n", In_Reply_To=ack_id),
    )
    process(team, db, clock)
    with db.read() as session:
        ticket = session.get_one(Ticket, outcome.ticket_id)
        assert ticket.status == TicketStatus.OPEN and ticket.waiting_for == []
        assert ticket.facts == {"environment": "v4.2 on Windows 11"}
        clocks = list(session.scalars(select(SlaClock)))
        assert {c.state for c in clocks} == {"running"}
        assert all(c.used_seconds == 0 for c in clocks)  # 30 hours waiting never counted
        segments = [
            payload
            for e in session.scalars(select(Event).where(Event.kind == "sla_segment"))
            if isinstance(payload := events.read(e), events.SlaSegment)
        ]
    assert {(s.clock_ran, s.business_seconds) for s in segments} == {(False, 30 * 3600)}


def test_warnings_go_out_once_escalate_at_80_and_the_breach_reaches_managers(
    db: Database, team: Settings, clock: Clock
) -> None:
    feed(db, clock, mail("URGENT invoice", "Customer: ACME-7\n"))
    [outcome] = process(team, db, clock)
    clock.advance(minutes=31)
    run_jobs(db, clock, team)
    notices = [m for m in mails(db) if m.kind.startswith("notice:sla")]
    assert [(m.kind, m.recipients) for m in notices] == [("notice:sla_50", [ANN])]
    assert run_jobs(db, clock, team) == 0  # never twice
    clock.advance(minutes=18)  # 49 minutes: past 80% of the hour
    run_jobs(db, clock, team)
    with db.read() as session:
        ticket = session.get_one(Ticket, outcome.ticket_id)
        assert ticket.tier == 2
        assert ticket.assignee_id == session.scalar(
            select(Engineer.id).where(Engineer.address == MAX)
        )
    assert "escalated" in kinds(db, outcome.ticket_id or 0)
    assert any(m.kind == "notice:escalated" and m.recipients == [MAX] for m in mails(db))
    clock.advance(minutes=12)
    run_jobs(db, clock, team)
    breach = [m.recipients for m in mails(db) if m.kind == "notice:sla_100"]
    assert sorted(r[0] for r in breach) == ["boss@desk.test", MAX]
    with db.read() as session:
        [outcome_event] = (
            session.scalars(
                select(Event).where(
                    Event.kind == "sla_outcome",
                    Event.data["target"].as_string() == "first_response",
                )
            ).all()
            if db.backend == "postgresql"
            else [
                e
                for e in session.scalars(select(Event).where(Event.kind == "sla_outcome"))
                if e.data["target"] == "first_response"
            ]
        )
        assert outcome_event.data["met"] is False
        row = session.scalars(select(SlaClock).where(SlaClock.target == "first_response")).one()
        assert row.outcome == "missed" and row.warned == [50, 80, 100]
    clock.advance(hours=3)  # the resolution target passes 80% too: no second escalation
    run_jobs(db, clock, team)
    with db.read() as session:
        assert session.get_one(Ticket, outcome.ticket_id).tier == 2
    assert kinds(db, outcome.ticket_id or 0).count("escalated") == 1


def test_an_out_of_office_reply_hands_urgent_tickets_to_the_delegate(
    db: Database, team: Settings, clock: Clock
) -> None:
    feed(db, clock, mail("Urgent: invoice wrong", "Customer: ACME-7\n"))
    feed(db, clock, mail("Invoice copy please", "Customer: ACME-8\n"))
    first, second = process(team, db, clock)
    clock.advance(minutes=5)
    feed(
        db,
        clock,
        mail(
            "Automatic reply: New ticket for you",
            "I am out of the office until 9 November 2026 with limited access to email.\n",
            sender=f"Ann <{ANN}>",
            Auto_Submitted="auto-replied",
        ),
    )
    process(team, db, clock)
    with db.read() as session:
        ann = session.scalars(select(Engineer).where(Engineer.address == ANN)).one()
        bob = session.scalars(select(Engineer).where(Engineer.address == BOB)).one()
        assert ann.away_until is not None and ann.away_until.date().isoformat() == "2026-11-09"
        assert session.get_one(Ticket, first.ticket_id).assignee_id == bob.id  # severity 1
        assert session.get_one(Ticket, second.ticket_id).assignee_id == ann.id  # severity 3 stays
        [away] = session.scalars(select(Event).where(Event.kind == "engineer_away")).all()
        assert away.data["handed_over"] == [first.ticket_id] and away.data["date_found"] is True
    assert any(m.kind == "notice:handed_over" and m.recipients == [BOB] for m in mails(db))
    clock.advance(days=7)
    run_jobs(db, clock, team)
    back = [m for m in mails(db) if m.kind == "notice:back"]
    assert [m.recipients for m in back] == [[ANN]]
    assert f"#{first.ticket_id}".encode() in back[0].raw
    with db.read() as session:
        assert (
            session.scalars(select(Engineer).where(Engineer.address == ANN)).one().away_until
            is None
        )


def test_with_nobody_at_work_the_ticket_waits_and_the_lead_is_told_once(
    tmp_path: Path, db: Database, clock: Clock
) -> None:
    settings = desk(
        tmp_path,
        db.url,
        queues=[{"name": "general", "members": [ANN, BOB], "lead": LEAD}],
        sla={"policies": []},
    )
    sync_engineers(db, settings)
    clock.now = clock.now.replace(day=7, hour=12)  # a Saturday
    feed(db, clock, mail("Invoice question", "Customer: ACME-7\n"))
    [outcome] = process(settings, db, clock)
    with db.read() as session:
        assert session.get_one(Ticket, outcome.ticket_id).assignee_id is None
        [retry] = session.scalars(select(Job).where(Job.kind == "assign_retry")).all()
        assert retry.due_at.isoformat().startswith("2026-11-09T09:00")
    assert [m.recipients for m in mails(db) if m.kind == "notice:unassigned"] == [[LEAD]]
    clock.advance(days=2)  # Monday 12:00
    run_jobs(db, clock, settings)
    with db.read() as session:
        assert session.get_one(Ticket, outcome.ticket_id).assignee_id is not None
        assert (
            session.scalars(select(Job).where(Job.kind == "assign_retry")).one().state
            == JobState.DONE
        )
    assert len([m for m in mails(db) if m.kind == "notice:unassigned"]) == 1


def test_an_escalation_rule_sends_a_key_account_to_tier_two(
    tmp_path: Path, db: Database, clock: Clock
) -> None:
    rules = {**RULES, "escalate": [{"name": "key-accounts", "domains": ["cust.test"]}]}
    settings = desk(tmp_path, db.url, rules=rules)
    sync_engineers(db, settings)
    feed(db, clock, mail("Invoice question", "Customer: ACME-7\n"))
    [outcome] = process(settings, db, clock)
    with db.read() as session:
        ticket = session.get_one(Ticket, outcome.ticket_id)
        assert ticket.tier == 2
        assert ticket.assignee_id == session.scalar(
            select(Engineer.id).where(Engineer.address == MAX)
        )
        [raised] = session.scalars(select(Event).where(Event.kind == "escalated")).all()
        assert raised.data["hits"][0]["rule"] == "key-accounts"


def test_a_notice_carries_a_reply_address_signed_for_its_engineer(
    tmp_path: Path, db: Database, clock: Clock
) -> None:
    (tmp_path / "secret").write_text("a-reply-secret-of-32-characters!\n")
    settings = desk(tmp_path, db.url)
    settings = desk(
        tmp_path,
        db.url,
        desk={**settings.desk.model_dump(mode="json"), "reply_secret_file": "secret"},
    )
    sync_engineers(db, settings)
    feed(db, clock, mail("Invoice 9", "Customer: ACME-7\n"))
    [outcome] = process(settings, db, clock)
    [notice] = [m for m in mails(db) if m.kind == "notice:assigned"]
    reply_to = parse(notice.raw).reply_to[0].address
    tag = reply_tag(reply_to, frozenset({"support@desk.test"}))
    assert tag is not None and tag.ticket == outcome.ticket_id
    assert verify(tag, "a-reply-secret-of-32-characters!", ANN)
    assert not verify(tag, "a-reply-secret-of-32-characters!", BOB)


def test_an_escalation_with_no_expert_at_work_keeps_the_ticket_with_its_engineer(
    tmp_path: Path, db: Database, clock: Clock
) -> None:
    settings = desk(tmp_path, db.url)
    engineers = [e.model_dump(mode="json") for e in settings.engineers]
    engineers[2]["days"] = ["sun"]  # Max, the only tier-2 engineer, is off on Mondays
    settings = desk(tmp_path, db.url, engineers=engineers)
    sync_engineers(db, settings)
    feed(db, clock, mail("URGENT invoice", "Customer: ACME-7\n"))
    [outcome] = process(settings, db, clock)
    clock.advance(minutes=49)
    run_jobs(db, clock, settings)
    with db.read() as session:
        ticket = session.get_one(Ticket, outcome.ticket_id)
        ann = session.scalar(select(Engineer.id).where(Engineer.address == ANN))
        assert (ticket.tier, ticket.assignee_id) == (2, ann)
    assert "unassigned" in kinds(db, outcome.ticket_id or 0)
    assert [m.recipients for m in mails(db) if m.kind == "notice:unassigned"] == [[LEAD]]
