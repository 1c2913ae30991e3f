"""Crash tests: the daemon is SIGKILLed at the dangerous moments, then restarted.

Nothing may be lost and nothing doubled: one ticket, one acknowledgement, the mail moved once.
"""

from __future__ import annotations

import signal
from pathlib import Path

from sqlalchemy import func, select

from daemon.storage.database import Database
from daemon.storage.models import Inbound, InboundState, Outbox, OutboxState, Ticket
from tests.integration.desk import make_desk
from tests.support.dovecot import Dovecot
from tests.support.mailboxes import MailUsers, fetch_all, wait_for_messages
from tests.support.smtp import SmtpRelay


def state(db_url: str) -> tuple[int, list[InboundState], list[OutboxState]]:
    db = Database(db_url)
    try:
        with db.transaction() as session:
            return (
                session.scalar(select(func.count(Ticket.id))) or 0,
                list(session.scalars(select(Inbound.state).order_by(Inbound.id))),
                list(session.scalars(select(Outbox.state).order_by(Outbox.id))),
            )
    finally:
        db.dispose()


def test_killed_between_storing_and_moving(
    tmp_path: Path, dovecot: Dovecot, smtp_relay: SmtpRelay, db_url: str, mail_users: MailUsers
) -> None:
    users = mail_users
    desk = make_desk(tmp_path, dovecot=dovecot, relay=smtp_relay, db_url=db_url, users=users)
    desk.mail_waiting(users.alice, "Crash 1", "x\n")

    killed = desk.run("run", "--once", failpoint="imap-stored")
    assert killed.returncode == -signal.SIGKILL
    assert len(fetch_all(dovecot, users.support.login)) == 1  # still on the server
    assert state(db_url) == (0, [InboundState.STORED], [])  # and safely stored

    assert desk.run("run", "--once").returncode == 0
    assert state(db_url) == (1, [InboundState.DONE], [OutboxState.SENT])
    assert fetch_all(dovecot, users.support.login) == []
    assert len(fetch_all(dovecot, users.support.login, folder="Processed")) == 1
    assert len(wait_for_messages(dovecot, users.alice.login, 1)) == 1
    assert len(smtp_relay.received()) == 1


def test_killed_between_committing_and_sending(
    tmp_path: Path, dovecot: Dovecot, smtp_relay: SmtpRelay, db_url: str, mail_users: MailUsers
) -> None:
    users = mail_users
    desk = make_desk(tmp_path, dovecot=dovecot, relay=smtp_relay, db_url=db_url, users=users)
    desk.mail_waiting(users.alice, "Crash 2", "y\n")

    killed = desk.run("run", "--once", failpoint="ticket-committed")
    assert killed.returncode == -signal.SIGKILL
    assert state(db_url) == (1, [InboundState.DONE], [OutboxState.PENDING])
    assert smtp_relay.received() == []

    assert desk.run("run", "--once").returncode == 0
    assert state(db_url) == (1, [InboundState.DONE], [OutboxState.SENT])
    assert len(wait_for_messages(dovecot, users.alice.login, 1)) == 1
    assert len(smtp_relay.received()) == 1
    assert desk.run("run", "--once").returncode == 0
    assert len(smtp_relay.received()) == 1
