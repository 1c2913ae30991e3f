"""The whole path on real servers: SMTP in, Dovecot, the daemon as a real process, SMTP out."""

from __future__ import annotations

import signal
import smtplib
import time
from pathlib import Path

from sqlalchemy import func, select

from daemon.storage.database import Database
from daemon.storage.models import Event, Message, Outbox, OutboxState, Ticket
from parsers import parse
from tests.integration.desk import Desk, make_desk
from tests.support.dovecot import Dovecot
from tests.support.mailboxes import MailUsers, append, fetch_all, make_mail, wait_for_messages
from tests.support.smtp import SmtpRelay


def send(relay: SmtpRelay, raw: bytes, *, sender: str, to: list[str]) -> None:
    with smtplib.SMTP(relay.host, relay.port, timeout=10) as client:
        client.sendmail(sender, to, raw)


def count(db_url: str, model: type[Ticket] | type[Outbox] | type[Message]) -> int:
    db = Database(db_url)
    try:
        with db.transaction() as session:
            return session.scalar(select(func.count(model.id))) or 0
    finally:
        db.dispose()


def desk_for(
    tmp_path: Path,
    dovecot: Dovecot,
    smtp_relay: SmtpRelay,
    db_url: str,
    users: MailUsers,
    *,
    extra: str = "",
) -> Desk:
    return make_desk(
        tmp_path, dovecot=dovecot, relay=smtp_relay, db_url=db_url, users=users, extra=extra
    )


def test_mail_to_ticket_to_ack_and_the_reply_lands_on_the_ticket(
    tmp_path: Path, dovecot: Dovecot, smtp_relay: SmtpRelay, db_url: str, mail_users: MailUsers
) -> None:
    users = mail_users
    desk = desk_for(tmp_path, dovecot, smtp_relay, db_url, users)
    first = make_mail(
        sender=f"Alice <{users.alice.address}>",
        to=users.support.address,
        subject="VPN drops every hour",
        body="Since Monday the VPN drops.\n",
    )
    send(smtp_relay, first, sender=users.alice.address, to=[users.support.address])
    wait_for_messages(dovecot, users.support.login, 1)

    result = desk.run("run", "--once")
    assert result.returncode == 0, result.stderr
    [ack_raw] = wait_for_messages(dovecot, users.alice.login, 1)
    ack = parse(ack_raw)
    assert ack.subject == "[#1] VPN drops every hour"
    assert ack.in_reply_to == (parse(first).message_id,)
    assert ack.header("Auto-Submitted") == "auto-replied"
    assert "ticket #1" in ack.full_text
    assert fetch_all(dovecot, users.support.login) == []
    assert len(fetch_all(dovecot, users.support.login, folder="Processed")) == 1

    reply = make_mail(
        sender=users.alice.address,
        to=users.support.address,
        subject=f"Re: {ack.subject}",
        body="It dropped again at 10:00.\n",
        in_reply_to=ack.message_id,
    )
    send(smtp_relay, reply, sender=users.alice.address, to=[users.support.address])
    wait_for_messages(dovecot, users.support.login, 1)
    assert desk.run("run", "--once").returncode == 0

    assert count(db_url, Ticket) == 1
    db = Database(db_url)
    with db.transaction() as session:
        bodies = session.scalars(
            select(Message.body)
            .where(Message.ticket_id == 1, Message.direction == "in")
            .order_by(Message.id)
        ).all()
    db.dispose()
    assert bodies == ["Since Monday the VPN drops.", "It dropped again at 10:00."]
    time.sleep(0.3)
    assert len(fetch_all(dovecot, users.alice.login)) == 1  # no second acknowledgement


def test_smtp_down_then_back_sends_exactly_once(
    tmp_path: Path, dovecot: Dovecot, smtp_relay: SmtpRelay, db_url: str, mail_users: MailUsers
) -> None:
    users = mail_users
    desk = desk_for(tmp_path, dovecot, smtp_relay, db_url, users)
    desk.mail_waiting(users.bob, "Invoice", "Where?\n")
    smtp_relay.stop()
    result = desk.run("run", "--once")
    assert result.returncode == 0 and "retrying 1" in result.stdout
    assert count(db_url, Ticket) == 1

    smtp_relay.start()
    time.sleep(0.25)  # first_retry_seconds = 0.2
    assert "sent 1" in desk.run("run", "--once").stdout
    assert "sent 0" in desk.run("run", "--once").stdout
    assert len(wait_for_messages(dovecot, users.bob.login, 1)) == 1
    assert len(smtp_relay.received()) == 1


def test_a_permanent_refusal_is_recorded_not_retried(
    tmp_path: Path, dovecot: Dovecot, smtp_relay: SmtpRelay, db_url: str, mail_users: MailUsers
) -> None:
    users = mail_users
    desk = desk_for(tmp_path, dovecot, smtp_relay, db_url, users)
    desk.mail_waiting(users.bob, "Hi", "x\n")
    smtp_relay.refuse(550, only=(users.bob.address,))
    assert "failed 1" in desk.run("run", "--once").stdout
    db = Database(db_url)
    with db.transaction() as session:
        row = session.scalars(select(Outbox)).one()
        assert row.state == OutboxState.FAILED and "550" in (row.last_error or "")
        assert session.scalars(select(Event).where(Event.kind == "mail_failed")).one()
    db.dispose()


def test_malformed_mail_is_quarantined_and_the_next_is_processed(
    tmp_path: Path, dovecot: Dovecot, smtp_relay: SmtpRelay, db_url: str, mail_users: MailUsers
) -> None:
    users = mail_users
    desk = desk_for(tmp_path, dovecot, smtp_relay, db_url, users)
    junk = b"this line is not a header and this is not a mail\r\n\r\n\xff\xfe\r\n"
    append(dovecot, users.support.login, junk)
    desk.mail_waiting(users.alice, "Real", "ok\n")
    assert desk.run("run", "--once").returncode == 0
    assert count(db_url, Ticket) == 1
    assert fetch_all(dovecot, users.support.login) == []
    listing = desk.run("quarantine", "list")
    assert "NotAMailError" in listing.stdout
    inbound_id = listing.stdout.split()[0]
    shown = desk.run("quarantine", "show", inbound_id, "--raw")
    assert shown.stdout.encode("utf-8", "surrogateescape").startswith(b"this line is not")


def test_same_mail_to_two_watched_mailboxes_is_one_ticket(
    tmp_path: Path, dovecot: Dovecot, smtp_relay: SmtpRelay, db_url: str, mail_users: MailUsers
) -> None:
    users = mail_users
    sales = users.frank  # a second watched mailbox
    extra = (
        f'\n[[mailboxes]]\nname = "sales"\nhost = "{dovecot.host}"\nport = {dovecot.imap_port}\n'
        f'tls = "none"\nuser = "{sales.login}"\npassword_file = "password"\n'
    )
    desk = desk_for(tmp_path, dovecot, smtp_relay, db_url, users, extra=extra)
    raw = make_mail(
        sender=users.alice.address,
        to=f"{users.support.address}, {sales.address}",
        subject="Quote please",
        body="For 10 seats.\n",
    )
    send(smtp_relay, raw, sender=users.alice.address, to=[users.support.address, sales.address])
    wait_for_messages(dovecot, sales.login, 1)
    wait_for_messages(dovecot, users.support.login, 1)
    assert desk.run("run", "--once").returncode == 0
    assert count(db_url, Ticket) == 1
    assert len(wait_for_messages(dovecot, users.alice.login, 1)) == 1


def test_the_daemon_answers_on_idle_and_stops_cleanly_on_sigterm(
    tmp_path: Path, dovecot: Dovecot, smtp_relay: SmtpRelay, db_url: str, mail_users: MailUsers
) -> None:
    users = mail_users
    desk = desk_for(tmp_path, dovecot, smtp_relay, db_url, users)
    process = desk.popen("run")
    try:
        for n, subject in enumerate(("Before start-up", "Pushed by IDLE"), start=1):
            sent = time.monotonic()
            send(
                smtp_relay,
                make_mail(
                    sender=users.alice.address,
                    to=users.support.address,
                    subject=subject,
                    body="hello\n",
                ),
                sender=users.alice.address,
                to=[users.support.address],
            )
            wait_for_messages(dovecot, users.alice.login, n, timeout=20)
            print(f"{subject}: acknowledged {time.monotonic() - sent:.2f} s after sending")
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "replydesk stopped" in stderr
    assert count(db_url, Ticket) == 2
