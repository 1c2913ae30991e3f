"""The rules on real servers: IMAP in (Dovecot), SMTP out (the relay into Dovecot), PostgreSQL.

The daemon runs in this process with a clock the test moves: an SLA warning reaches the
engineer's real mailbox when the clock passes its threshold (no sleeping), and an engineer's
real out-of-office reply moves their urgent ticket to a colleague.
"""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from daemon import config
from daemon.service import Daemon
from daemon.storage.database import Database
from daemon.storage.models import Engineer, SlaClock, Ticket
from parsers import parse
from tests.integration.desk import make_desk
from tests.support.dovecot import Dovecot
from tests.support.mailboxes import MailUsers, make_mail, wait_for_messages
from tests.support.smtp import SmtpRelay

RULES = """
skills = ["billing:2"]

[[engineers]]
name = "Frank"
address = "{frank}"
skills = ["billing:1"]

[[rules.classify]]
name = "billing"
when.words = ["invoice", "发票"]
set.module = "billing"

[[rules.classify]]
name = "urgent"
when.words = ["urgent", "紧急"]
set.severity = 1

[[queues]]
name = "general"
strategy = "skills"

[sla]
calendar = "wall"

[[sla.policies]]
name = "urgent"
severities = [1]
first_response = "1h"
resolution = "4h"

[[sla.policies]]
name = "standard"
first_response = "8h"
resolution = "40h"
"""


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)  # a Monday, everyone at work

    def __call__(self) -> datetime:
        return self.now


def daemon_for(
    tmp_path: Path,
    dovecot: Dovecot,
    relay: SmtpRelay,
    db_url: str,
    users: MailUsers,
    *,
    clock: Clock,
) -> Daemon:
    desk = make_desk(
        tmp_path,
        dovecot=dovecot,
        relay=relay,
        db_url=db_url,
        users=users,
        extra=RULES.format(frank=users.frank.address),
        assigns=True,
    )
    daemon = Daemon(config.load(desk.config), Database(db_url), clock=clock)
    daemon.start()
    return daemon


def send(relay: SmtpRelay, raw: bytes, *, sender: str, to: str) -> None:
    with smtplib.SMTP(relay.host, relay.port, timeout=10) as client:
        client.sendmail(sender, [to], raw)


def test_an_imap_ticket_is_classified_assigned_timed_and_warned_about(
    tmp_path: Path, dovecot: Dovecot, smtp_relay: SmtpRelay, db_url: str, mail_users: MailUsers
) -> None:
    users, clock = mail_users, Clock()
    daemon = daemon_for(tmp_path, dovecot, smtp_relay, db_url, users, clock=clock)
    raw = make_mail(
        sender=f"Alice <{users.alice.address}>",
        to=users.support.address,
        subject="紧急：发票 118 重复扣款",
        body="Invoice 118 was charged twice.\n",
    )
    send(smtp_relay, raw, sender=users.alice.address, to=users.support.address)
    wait_for_messages(dovecot, users.support.login, 1)
    daemon.run_once()
    with daemon.db.read() as session:
        ticket = session.scalars(select(Ticket)).one()
        assert (ticket.category, ticket.severity) == ("billing", 1)
        erin = session.scalars(select(Engineer).where(Engineer.address == users.erin.address)).one()
        assert ticket.assignee_id == erin.id
        deadlines = {c.target: c.deadline for c in session.scalars(select(SlaClock))}
    assert deadlines == {
        "first_response": clock.now + timedelta(hours=1),
        "resolution": clock.now + timedelta(hours=4),
    }
    [assigned] = wait_for_messages(dovecot, users.erin.login, 1)
    notice = parse(assigned)
    assert notice.subject.startswith(f"[#{ticket.id}] New ticket for you")
    assert "Severity:  1" in notice.body and "Why you: skills" in notice.body
    wait_for_messages(dovecot, users.alice.login, 1)  # the acknowledgement

    clock.now += timedelta(minutes=29)
    daemon.run_once()
    clock.now += timedelta(minutes=2)  # past half of the first-response hour
    daemon.run_once()
    mails = wait_for_messages(dovecot, users.erin.login, 2)
    warning = parse(mails[1])
    assert warning.subject == f"[#{ticket.id}] SLA first response 50% used: {ticket.subject}"
    assert warning.header("Auto-Submitted") == "auto-generated"
    daemon.run_once()
    assert len(wait_for_messages(dovecot, users.erin.login, 2)) == 2  # sent once
    daemon.db.dispose()


def test_an_out_of_office_reply_moves_the_urgent_ticket_to_a_colleague(
    tmp_path: Path, dovecot: Dovecot, smtp_relay: SmtpRelay, db_url: str, mail_users: MailUsers
) -> None:
    users, clock = mail_users, Clock()
    daemon = daemon_for(tmp_path, dovecot, smtp_relay, db_url, users, clock=clock)
    raw = make_mail(
        sender=users.alice.address,
        to=users.support.address,
        subject="URGENT invoice wrong",
        body="The invoice total is wrong.\n",
    )
    send(smtp_relay, raw, sender=users.alice.address, to=users.support.address)
    wait_for_messages(dovecot, users.support.login, 1)
    daemon.run_once()
    [assigned] = wait_for_messages(dovecot, users.erin.login, 1)
    notice = parse(assigned)
    away = make_mail(
        sender=f"Erin <{users.erin.address}>",
        to=users.support.address,
        subject=f"Automatic reply: {notice.subject}",
        body="I am out of the office until Monday, November 9, 2026, with no access to mail.\n",
        in_reply_to=notice.message_id,
        headers={"Auto-Submitted": "auto-replied"},
    )
    send(smtp_relay, away, sender=users.erin.address, to=users.support.address)
    wait_for_messages(dovecot, users.support.login, 1)
    clock.now += timedelta(minutes=5)
    daemon.run_once()
    with daemon.db.read() as session:
        ticket = session.scalars(select(Ticket)).one()
        frank = session.scalars(
            select(Engineer).where(Engineer.address == users.frank.address)
        ).one()
        erin = session.scalars(select(Engineer).where(Engineer.address == users.erin.address)).one()
        assert ticket.assignee_id == frank.id
        assert erin.away_until == datetime(2026, 11, 9, tzinfo=UTC)
    [handed] = wait_for_messages(dovecot, users.frank.login, 1)
    assert "Ticket handed over to you" in parse(handed).subject
    assert "is away until 2026-11-09" in parse(handed).body
    daemon.db.dispose()
