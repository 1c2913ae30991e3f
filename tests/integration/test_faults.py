"""Faults the long-running daemon must ride out: connections killed, a runner crashing, SIGTERM.

Each test provokes the fault for real (PostgreSQL backends terminated, a runner's pass raising,
a signal mid-pass) and then checks the outcome that matters: every mail became exactly one
ticket with one acknowledgement, nothing was quarantined or left claimed, and the daemon said
what it did in its log.
"""

from __future__ import annotations

import re
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from daemon.runners.outgoing import OutgoingRunner
from daemon.runners.process import ProcessRunner
from daemon.storage import intake
from daemon.storage.database import Database
from daemon.storage.models import Holder, Inbound, InboundState, Outbox, OutboxState, Ticket
from tests.integration.desk import Desk, in_process_daemon, make_desk
from tests.support.dovecot import Dovecot
from tests.support.mailboxes import (
    CUSTOMER_DOMAIN,
    MailUser,
    MailUsers,
    fetch_all,
    fresh_user,
    make_mail,
)
from tests.support.smtp import SmtpRelay

TERMINATE_OTHERS = (
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
)
BLOCKED_CLAIM = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
    " AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
    " AND query ILIKE '%%FROM inbound%%FOR UPDATE%%'"
)
# One log record (it may span lines: the driver quotes the SQL), up to the next timestamp.
ONE_RECORD = r"(?:(?!\n\d{4}-\d\d-\d\d )[\s\S])*?"
RUNNER_BACKED_OFF = re.compile(
    rf"WARNING daemon\.service: process: database {ONE_RECORD}; retrying in \d+ s"
)


def wait_until(what: str, check: Callable[[], bool], *, timeout: float = 15.0) -> None:
    """Poll `check` until it holds; fail naming `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.02)


class Running:
    """A `replydesk run` process whose stderr is read as it comes (so it never blocks)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._lock:
                self._lines.append(line)

    @property
    def log(self) -> str:
        with self._lock:
            return "".join(self._lines)

    def wait_for_log(self, pattern: re.Pattern[str], *, timeout: float = 15.0) -> None:
        try:
            wait_until(
                f"log line {pattern.pattern!r}",
                lambda: bool(pattern.search(self.log)),
                timeout=timeout,
            )
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the log so far:\n{self.log}") from None

    def terminate(self, *, timeout: float) -> int:
        """SIGTERM, then its exit status (within `timeout`, else the test fails)."""
        self.process.send_signal(signal.SIGTERM)
        try:
            status = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"no exit {timeout} s after SIGTERM; the log:\n{self.log}"
            ) from None
        self._reader.join(timeout=5)
        return status


@contextmanager
def running(desk: Desk) -> Iterator[Running]:
    """The daemon as a real process; killed at the end whatever happened."""
    daemon = Running(desk.popen("run"))
    try:
        daemon.wait_for_log(re.compile(r"replydesk running"))
        yield daemon
    finally:
        if daemon.process.poll() is None:
            daemon.process.kill()
            daemon.process.wait(timeout=10)
        if daemon.process.stdout is not None:
            daemon.process.stdout.close()


def counts(db: Database) -> dict[str, int]:
    """How many mails are in each inbound state, tickets, and sent outbox rows."""
    with db.read() as session:
        found = {
            str(state): int(n)
            for state, n in session.execute(
                select(Inbound.state, func.count(Inbound.id)).group_by(Inbound.state)
            )
        }
        found["tickets"] = session.scalar(select(func.count(Ticket.id))) or 0
        found["sent"] = (
            session.scalar(select(func.count(Outbox.id)).where(Outbox.state == OutboxState.SENT))
            or 0
        )
    return found


def one_ack_per_ticket(db: Database, expected: int) -> None:
    """`expected` mails done, each its own ticket, each ticket with exactly one sent ack row."""
    with db.read() as session:
        states = list(session.scalars(select(Inbound.state)))
        tickets = list(session.scalars(select(Inbound.ticket_id)))
        acks = session.execute(
            select(Outbox.ticket_id, Outbox.state, Outbox.kind).order_by(Outbox.id)
        ).all()
    assert states == [InboundState.DONE] * expected
    assert None not in tickets and len(set(tickets)) == expected
    assert Counter(t for t, _, _ in acks) == Counter(tickets)
    assert {(s, k) for _, s, k in acks} <= {(OutboxState.SENT, "ack")}, acks


def no_claims_left(db: Database) -> None:
    with db.read() as session:
        assert session.scalar(select(func.count(Holder.id))) == 0
        held = session.scalar(select(func.count(Inbound.id)).where(Inbound.holder_id.is_not(None)))
        assert held == 0, "inbound rows still claimed"
        sending = session.scalar(select(func.count(Outbox.id)).where(Outbox.holder_id.is_not(None)))
        assert sending == 0, "outbox rows still claimed"


def kill_until_backed_off(
    admin: psycopg.Connection[tuple[Any, ...]], daemon: Running, *, times: int
) -> None:
    """Terminate the daemon's backends until the process runner has backed off `times` times.

    A kill lands inside one of its transactions only while it has one open (it parses outside
    any); a kill that found its connections idle costs nothing (the pool pings) and is repeated.
    """
    deadline = time.monotonic() + 10
    while len(RUNNER_BACKED_OFF.findall(daemon.log)) < times:
        assert time.monotonic() < deadline, f"never backed off {times} times:\n{daemon.log}"
        admin.execute(TERMINATE_OTHERS)
        time.sleep(0.05)


def done_at_least(db: Database, n: int) -> Callable[[], bool]:
    return lambda: counts(db).get("done", 0) >= n


def fresh_activity(admin: psycopg.Connection[tuple[Any, ...]]) -> None:
    """Inside a transaction pg_stat_activity is a snapshot taken at first use: take a new one."""
    admin.execute("SELECT pg_stat_clear_snapshot()")


def blocked_claims(admin: psycopg.Connection[tuple[Any, ...]]) -> int:
    """How many of the daemon's backends wait on a lock inside the process runner's claim."""
    fresh_activity(admin)
    row = admin.execute(BLOCKED_CLAIM).fetchone()
    return int(row[0]) if row else 0


def message_id(raw: bytes) -> str:
    return str(BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)["Message-ID"])


def customers(n: int) -> list[MailUser]:
    return [fresh_user("customer", domain=CUSTOMER_DOMAIN) for _ in range(n)]


def psycopg_url(db_url: str) -> str:
    return make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)


# -- the database connection is killed mid-pass ----------------------------------------------


@pytest.mark.parametrize("db_url", ["postgresql"], ids=["pg"], indirect=True)
def test_connections_killed_mid_pass_the_daemon_backs_off_and_recovers(
    tmp_path: Path, dovecot: Dovecot, smtp_relay: SmtpRelay, db_url: str, mail_users: MailUsers
) -> None:
    """Every backend of the daemon is terminated: first while the process runner is inside a
    transaction (it waits on a lock we hold: certain to hit it), then while it works through the
    mail until it backs off again, then once more while it waits (its pooled connections are
    then idle and dead, to be replaced without a word).

    The relay answers 451 while the kills go on: a kill between the relay's "250" and the commit
    marking the row sent repeats that mail with its Message-ID (the documented at-least-once
    window), which is not what this test is about; every other kill must cost nothing.
    """
    desk = make_desk(tmp_path, dovecot=dovecot, relay=smtp_relay, db_url=db_url, users=mail_users)
    db = Database(db_url)
    db.upgrade()
    people = customers(12)
    for n, customer in enumerate(people, start=1):
        desk.mail_waiting(customer, f"Connection trouble {n}", f"mail {n}\n")
    smtp_relay.refuse(451)
    try:
        with psycopg.connect(psycopg_url(db_url)) as admin:
            admin.execute("LOCK TABLE inbound IN EXCLUSIVE MODE")  # held from before the start
            with running(desk) as daemon:
                wait_until(
                    "the process runner waits on our lock",
                    lambda: blocked_claims(admin) >= 1,
                )
                fresh_activity(admin)
                killed = admin.execute(TERMINATE_OTHERS).fetchall()
                admin.rollback()
                assert killed, "no backend of the daemon was there to kill"
                daemon.wait_for_log(RUNNER_BACKED_OFF)

                admin.autocommit = True
                wait_until("processing under way", done_at_least(db, 1))
                kill_until_backed_off(admin, daemon, times=2)  # a kill that lands mid-pass
                admin.execute(TERMINATE_OTHERS)  # and one while it waits: idle connections
                smtp_relay.accept()

                wait_until(
                    "every mail acknowledged",
                    lambda: counts(db) == {"done": 12, "tickets": 12, "sent": 12},
                    timeout=20,
                )
                assert daemon.process.poll() is None, daemon.log
                status = daemon.terminate(timeout=20)
        assert status == 0, daemon.log
        one_ack_per_ticket(db, 12)
        no_claims_left(db)
        assert "quarantined" not in daemon.log
        with db.read() as session:  # a lost connection is nobody's fault: no attempt counted
            tries = session.execute(select(Inbound.attempts, Inbound.error)).all()
        assert {tuple(t) for t in tries} == {(0, None)}
        received = smtp_relay.received()
        assert sorted(r for e in received for r in e.rcpt_tos) == sorted(p.address for p in people)
        assert len({message_id(e.raw) for e in received}) == 12
        for customer in people:
            assert len(fetch_all(dovecot, customer.login)) == 1, customer.address
    finally:
        db.dispose()


# -- a runner's pass raises something unexpected ---------------------------------------------


@pytest.fixture
def recording_relay() -> Iterator[SmtpRelay]:
    with SmtpRelay(None) as relay:
        yield relay


@pytest.mark.parametrize(
    ("thread", "runner"),
    [("process", ProcessRunner), ("outgoing", OutgoingRunner)],
    ids=["process", "outgoing"],
)
def test_a_runner_that_crashes_is_restarted(
    tmp_path: Path,
    db_url: str,
    recording_relay: SmtpRelay,
    *,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    thread: str,
    runner: type[ProcessRunner] | type[OutgoingRunner],
) -> None:
    """A runner's pass raising outside any item (a bug, not the database) ends its thread's body:
    the supervisor logs it with the traceback and runs it again, and mail stored afterwards is
    processed and acknowledged as usual."""
    daemon = in_process_daemon(tmp_path, db_url, recording_relay)
    original = runner.run_pass
    passes: list[int] = []
    crashed = threading.Event()

    def crash_once(self: Any, stop: threading.Event) -> int:
        passes.append(1)
        if len(passes) == 1:
            crashed.set()
            raise RuntimeError("injected: a bug outside any item")
        return original(self, stop)

    monkeypatch.setattr(runner, "run_pass", crash_once)
    stop = threading.Event()
    main = threading.Thread(target=daemon.run_forever, args=(stop,), kwargs={"tick": 0.2})
    main.start()
    try:
        assert crashed.wait(10), "the runner never ran"
        raw = make_mail(
            sender="after.crash@customer.test", to="support@desk.test", subject="Later", body="x\n"
        )
        intake.store(daemon.db, raw, intake.Envelope(source="pipe", received_at=datetime.now(UTC)))
        recording_relay.wait_for(1, timeout=15)
        wait_until("the ack marked sent", lambda: counts(daemon.db).get("sent") == 1)
        assert len(passes) >= 2
        assert any(t.name == thread and t.is_alive() for t in threading.enumerate())
    finally:
        stop.set()
        main.join(timeout=20)
    try:
        assert not main.is_alive(), "run_forever did not stop"
        crashes = [r for r in caplog.records if f"{thread} crashed; restarting" in r.getMessage()]
        assert len(crashes) == 1
        assert crashes[0].exc_info is not None and "injected" in str(crashes[0].exc_info[1])
        one_ack_per_ticket(daemon.db, 1)
        no_claims_left(daemon.db)
        assert [e.rcpt_tos for e in recording_relay.received()] == [("after.crash@customer.test",)]
    finally:
        daemon.db.dispose()


# -- SIGTERM in the middle of a long pass ----------------------------------------------------


@pytest.mark.parametrize("phase", ["processing", "sending"])
def test_sigterm_mid_pass_leaves_no_half_done_work(
    tmp_path: Path,
    dovecot: Dovecot,
    smtp_relay: SmtpRelay,
    db_url: str,
    mail_users: MailUsers,
    *,
    phase: str,
) -> None:
    """SIGTERM while the process runner, or the outgoing one, is in the middle of 200 mails.

    The item in hand is finished and the rest given back untouched: each mail is either done
    (ticket and acknowledgement row) or still stored, unclaimed and with no attempt counted; each
    acknowledgement either sent (and marked: the relay saw exactly the rows marked sent) or
    pending, unclaimed, with no attempt counted. A `run --once` then does the rest, once.
    """
    total = 200
    desk = make_desk(tmp_path, dovecot=dovecot, relay=smtp_relay, db_url=db_url, users=mail_users)
    db = Database(db_url)
    db.upgrade()
    try:
        now = datetime.now(UTC)
        senders = [fresh_user("sender", domain=CUSTOMER_DOMAIN).address for _ in range(total)]
        for n, sender in enumerate(senders):
            raw = make_mail(
                sender=sender,
                to=mail_users.support.address,
                subject=f"Long pass {n}",
                body=f"mail {n}\n",
            )
            intake.store(db, raw, intake.Envelope(source="pipe", received_at=now))

        with running(desk) as daemon:
            key = "done" if phase == "processing" else "sent"
            wait_until(f"{phase} under way", lambda: counts(db).get(key, 0) >= 5, timeout=20)
            started = time.monotonic()
            status = daemon.terminate(timeout=20)
            stopped_in = time.monotonic() - started
        assert status == 0, daemon.log
        assert "replydesk stopped" in daemon.log
        assert stopped_in < 10, f"took {stopped_in:.1f} s to stop"

        with db.read() as session:
            rows = session.execute(select(Inbound.state, Inbound.ticket_id, Inbound.attempts)).all()
            acks = session.execute(
                select(Outbox.ticket_id, Outbox.state, Outbox.attempts, Outbox.last_error)
            ).all()
        done = [r for r in rows if r.state == InboundState.DONE]
        waiting = [r for r in rows if r.state == InboundState.STORED]
        assert len(done) + len(waiting) == total, "a mail in another state"
        assert Counter(r.ticket_id for r in done) == Counter(a.ticket_id for a in acks)
        assert all(r.ticket_id is None and r.attempts == 0 for r in waiting)
        sent = [a for a in acks if a.state == OutboxState.SENT]
        pending = [a for a in acks if a.state == OutboxState.PENDING]
        assert len(sent) + len(pending) == len(acks), "an acknowledgement in another state"
        assert all(a.attempts == 0 and a.last_error is None for a in pending)
        assert len(smtp_relay.received()) == len(sent)
        if phase == "processing":
            assert waiting, "processing ended before SIGTERM: the test proved nothing"
        else:
            assert pending, "sending ended before SIGTERM: the test proved nothing"
        no_claims_left(db)

        again = desk.run("run", "--once")
        assert again.returncode == 0, again.stderr
        assert f"processed {len(waiting)}, jobs 0, sent {total - len(sent)}," in again.stdout
        one_ack_per_ticket(db, total)
        no_claims_left(db)
        received = smtp_relay.received()
        assert sorted(r for e in received for r in e.rcpt_tos) == sorted(senders)
        assert len({message_id(e.raw) for e in received}) == total
    finally:
        db.dispose()
