"""Crash tests: the daemon is SIGKILLed at the dangerous moments, then restarted.

Nothing may be lost and nothing doubled: one ticket, one acknowledgement, the mail moved once.
The points: stored but not moved; committed but not sent; outbox rows claimed by the process
that died (taken back at once by the next start, as its pid is gone); and killed in the middle
of a batch, after some of its mails were sent and marked (`REPLYDESK_FAILPOINT=name:N`).
"""

from __future__ import annotations

import signal
import time
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from sqlalchemy import func, select

from daemon.storage.database import Database
from daemon.storage.models import Holder, Inbound, InboundState, Outbox, OutboxState, Ticket
from tests.integration.desk import make_desk
from tests.support.dovecot import Dovecot
from tests.support.mailboxes import (
    CUSTOMER_DOMAIN,
    MailUsers,
    fetch_all,
    fresh_user,
    wait_for_messages,
)
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


def claims(db_url: str) -> tuple[list[int | None], list[int | None], int]:
    """Who holds each inbound row and each outbox row, and how many holders are registered."""
    db = Database(db_url)
    try:
        with db.read() as session:
            return (
                list(session.scalars(select(Inbound.holder_id).order_by(Inbound.id))),
                list(session.scalars(select(Outbox.holder_id).order_by(Outbox.id))),
                session.scalar(select(func.count(Holder.id))) or 0,
            )
    finally:
        db.dispose()


def test_killed_between_claiming_and_sending(
    tmp_path: Path, dovecot: Dovecot, smtp_relay: SmtpRelay, db_url: str, mail_users: MailUsers
) -> None:
    """The dead sender's claim is taken back at the next start: sent at once, not after a lease."""
    users = mail_users
    desk = make_desk(tmp_path, dovecot=dovecot, relay=smtp_relay, db_url=db_url, users=users)
    desk.mail_waiting(users.alice, "Crash 3", "z\n")

    killed = desk.run("run", "--once", failpoint="outbox-claimed")
    assert killed.returncode == -signal.SIGKILL
    assert state(db_url) == (1, [InboundState.DONE], [OutboxState.PENDING])
    _, outbox_holders, registered = claims(db_url)
    assert outbox_holders[0] is not None and registered == 1  # claimed by a process now dead
    assert smtp_relay.received() == []

    started = time.monotonic()
    again = desk.run("run", "--once")
    assert again.returncode == 0, again.stderr
    assert "sent 1," in again.stdout
    assert time.monotonic() - started < 20
    assert state(db_url) == (1, [InboundState.DONE], [OutboxState.SENT])
    assert claims(db_url) == ([None], [None], 0)
    assert len(smtp_relay.received()) == 1
    assert len(fetch_all(dovecot, users.alice.login)) == 1

    assert desk.run("run", "--once").returncode == 0
    assert len(smtp_relay.received()) == 1
    assert len(fetch_all(dovecot, users.alice.login)) == 1


@pytest.mark.parametrize("marked", [1, 3])
def test_killed_in_the_middle_of_a_batch(
    tmp_path: Path,
    dovecot: Dovecot,
    smtp_relay: SmtpRelay,
    db_url: str,
    mail_users: MailUsers,
    *,
    marked: int,
) -> None:
    """Killed after `marked` of five mails were sent and marked: the rest go out, none twice."""
    users = mail_users
    desk = make_desk(tmp_path, dovecot=dovecot, relay=smtp_relay, db_url=db_url, users=users)
    customers = [fresh_user("customer", domain=CUSTOMER_DOMAIN) for _ in range(5)]
    for n, customer in enumerate(customers, start=1):
        desk.mail_waiting(customer, f"Batch {n}", f"mail {n}\n")

    killed = desk.run("run", "--once", failpoint=f"outbox-marked:{marked}")
    assert killed.returncode == -signal.SIGKILL
    tickets, inbound, outbox = state(db_url)
    assert (tickets, inbound) == (5, [InboundState.DONE] * 5)
    assert outbox == [OutboxState.SENT] * marked + [OutboxState.PENDING] * (5 - marked)
    _, outbox_holders, _ = claims(db_url)
    assert all(holder is not None for holder in outbox_holders[marked:])  # the dead one's
    assert len(smtp_relay.received()) == marked

    again = desk.run("run", "--once")
    assert again.returncode == 0, again.stderr
    assert f"sent {5 - marked}," in again.stdout
    assert state(db_url) == (5, [InboundState.DONE] * 5, [OutboxState.SENT] * 5)
    assert claims(db_url) == ([None] * 5, [None] * 5, 0)
    assert desk.run("run", "--once").returncode == 0

    received = smtp_relay.received()
    assert sorted(r for envelope in received for r in envelope.rcpt_tos) == sorted(
        c.address for c in customers
    )
    assert len({message_id(envelope.raw) for envelope in received}) == 5
    for customer in customers:
        assert len(fetch_all(dovecot, customer.login)) == 1, customer.address


def message_id(raw: bytes) -> str:
    value = BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)["Message-ID"]
    assert value, "an acknowledgement without a Message-ID"
    return str(value)
