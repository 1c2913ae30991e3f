"""The IMAP source against a real Dovecot on loopback, on SQLite and on PostgreSQL.

Stored once, moved after the commit, bytes unchanged; one row for a mail seen in two mailboxes;
the keyword path (MOVE hidden from the client); a UIDVALIDITY change; IDLE waking `wait()`; and a
server that dies, hangs or refuses the password, with recovery afterwards.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from imapclient import IMAPClient
from sqlalchemy import func, select

from daemon.config import Mailbox
from daemon.errors import SourceError
from daemon.sources import run_forever
from daemon.sources.imap import STORED_KEYWORD, ImapClient, ImapSource
from daemon.storage.database import Database
from daemon.storage.models import Inbound, Receipt
from tests.support.dovecot import DOVECOT_BINARY, PASSWORD, Dovecot
from tests.support.mailboxes import (
    MailUsers,
    append,
    deliver,
    fetch_all,
    imap_login,
    make_mail,
)

pytestmark = pytest.mark.integration
PW_ENV = "REPLYDESK_TEST_IMAP_PASSWORD"


def utc_now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    database.upgrade()
    yield database
    database.dispose()


@pytest.fixture(autouse=True)
def _imap_password(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every user of a test Dovecot has the same password; the source reads it from here."""
    monkeypatch.setenv(PW_ENV, PASSWORD)


@pytest.fixture
def private_dovecot() -> Iterator[Dovecot]:
    """A Dovecot of this test's own, which the test may kill, freeze and restart."""
    with Dovecot() as server:
        yield server


def imap_source(dovecot: Dovecot, db: Database, user: str, **overrides: Any) -> ImapSource:
    fields: dict[str, Any] = {
        "name": "support",
        "host": dovecot.host,
        "port": dovecot.imap_port,
        "tls": "none",
        "user": user,
        "password_env": PW_ENV,
        "timeout": 5.0,
    }
    factory = overrides.pop("client_factory", None)
    mailbox = Mailbox(**(fields | overrides))
    if factory is None:
        return ImapSource(mailbox, db, clock=utc_now)
    return ImapSource(mailbox, db, clock=utc_now, client_factory=factory)


def mails(users: MailUsers, count: int, *, start: int = 0) -> list[bytes]:
    return [
        make_mail(
            sender=users.alice.address,
            to=users.support.address,
            subject=f"Case {n}",
            body=f"Printer {n} is on fire.\n",
        )
        for n in range(start, start + count)
    ]


def stored(db: Database) -> tuple[list[bytes], list[str]]:
    """The raw bytes of every inbound row, and every receipt key, in order."""
    with db.transaction() as session:
        raws = list(session.scalars(select(Inbound.raw).order_by(Inbound.id)))
        keys = list(session.scalars(select(Receipt.source_key).order_by(Receipt.id)))
    return raws, keys


def append_many(dovecot: Dovecot, user: str, raws: list[bytes], *, folder: str = "INBOX") -> None:
    with imap_login(dovecot, user) as client:
        for raw in raws:
            client.append(folder, raw)


# -- stored once, moved after ------------------------------------------------------------------


def test_mails_are_stored_once_then_moved(
    dovecot: Dovecot, db: Database, mail_users: MailUsers
) -> None:
    user = mail_users.support.login
    raws = mails(mail_users, 5)
    for raw in raws:
        append(dovecot, user, raw)
    source = imap_source(dovecot, db, user)
    try:
        assert source.poll() == 5
        assert source.poll() == 0
    finally:
        source.close()
    assert fetch_all(dovecot, user) == []
    assert fetch_all(dovecot, user, folder="Processed") == raws
    bodies, keys = stored(db)
    assert bodies == raws  # byte for byte
    with imap_login(dovecot, user) as client:
        uidvalidity = client.folder_status("INBOX", ["UIDVALIDITY"])[b"UIDVALIDITY"]
    assert keys == [f"{uidvalidity}:{uid}" for uid in range(1, 6)]


def test_big_folder_in_batches(dovecot: Dovecot, db: Database, mail_users: MailUsers) -> None:
    user = mail_users.support.login
    raws = mails(mail_users, 300)
    big = make_mail(
        sender=mail_users.bob.address,
        to=mail_users.support.address,
        subject="Logs",
        body=("0123456789" * 7 + "\n") * 280_000,  # about 20 MB
    )
    append_many(dovecot, user, [*raws, big])
    source = imap_source(dovecot, db, user)
    started = time.perf_counter()
    try:
        assert source.poll() == 301
    finally:
        source.close()
    elapsed = time.perf_counter() - started
    assert elapsed < 30, f"poll of 301 mails took {elapsed:.2f} s"
    assert len(fetch_all(dovecot, user, folder="Processed")) == 301
    assert stored(db)[0][-1] == big  # a 20 MB mail, in a batch of its own, unchanged


def test_one_mail_in_two_mailboxes_is_one_row(
    dovecot: Dovecot, db: Database, mail_users: MailUsers
) -> None:
    raw = mails(mail_users, 1)[0]
    support, erin = mail_users.support, mail_users.erin
    for user in (support, erin):
        deliver(dovecot, raw, to=user.address)  # each copy gets its own Received/Return-Path
    sources = [
        imap_source(dovecot, db, support.login, name="support"),
        imap_source(dovecot, db, erin.login, name="engineering"),
    ]
    try:
        assert [s.poll() for s in sources] == [1, 0]
    finally:
        for s in sources:
            s.close()
    with db.transaction() as session:
        assert session.scalar(select(func.count(Inbound.id))) == 1
        assert sorted(session.scalars(select(Receipt.source))) == ["engineering", "support"]
    for user in (support, erin):
        assert fetch_all(dovecot, user.login) == []
        assert len(fetch_all(dovecot, user.login, folder="Processed")) == 1


class WithoutMove(IMAPClient):  # type: ignore[misc]
    """A real client that hides MOVE, as servers without RFC 6851 would."""

    def capabilities(self) -> tuple[bytes, ...]:
        return tuple(c for c in super().capabilities() if c != b"MOVE")


def without_move(host: str, *, port: int, ssl: bool, timeout: float) -> ImapClient:
    client: ImapClient = WithoutMove(host, port=port, ssl=ssl, timeout=timeout)
    return client


def test_without_move_mail_is_flagged_and_left(
    dovecot: Dovecot, db: Database, mail_users: MailUsers
) -> None:
    user = mail_users.support.login
    first, second = mails(mail_users, 2)
    append(dovecot, user, first)
    source = imap_source(dovecot, db, user, client_factory=without_move)
    try:
        assert source.poll() == 1
        append(dovecot, user, second)
        assert source.poll() == 1
        assert source.poll() == 0
    finally:
        source.close()
    assert fetch_all(dovecot, user) == [first, second]  # nothing deleted or expunged
    assert fetch_all(dovecot, user, folder="Processed") == []
    with imap_login(dovecot, user) as client:
        client.select_folder("INBOX", readonly=True)
        flags = client.get_flags(client.search("ALL"))
    assert all(STORED_KEYWORD.encode() in f and b"\\Deleted" not in f for f in flags.values())
    assert len(stored(db)[1]) == 2


def test_a_recreated_folder_has_a_new_uidvalidity_and_no_new_rows(
    dovecot: Dovecot, db: Database, mail_users: MailUsers, caplog: pytest.LogCaptureFixture
) -> None:
    user = mail_users.support.login
    raws = mails(mail_users, 2)
    with imap_login(dovecot, user) as client:
        client.create_folder("Support")
    append_many(dovecot, user, raws, folder="Support")
    source = imap_source(dovecot, db, user, folder="Support")
    try:
        assert source.poll() == 2
        with imap_login(dovecot, user) as client:
            client.delete_folder("Support")
            time.sleep(1.1)  # Dovecot's UIDVALIDITY is a timestamp
            client.create_folder("Support")
        append_many(dovecot, user, raws, folder="Support")  # e.g. restored from a backup
        with caplog.at_level(logging.WARNING, logger="daemon.sources.imap"):
            assert source.poll() == 0
    finally:
        source.close()
    assert "UIDVALIDITY" in caplog.text
    bodies, keys = stored(db)
    assert bodies == raws
    assert len(keys) == 4 and len({k.split(":")[0] for k in keys}) == 2
    assert len(fetch_all(dovecot, user, folder="Processed")) == 4


# -- IDLE --------------------------------------------------------------------------------------


def test_idle_wakes_wait_soon_after_a_delivery(
    dovecot: Dovecot, db: Database, mail_users: MailUsers, record_property: Any
) -> None:
    support = mail_users.support
    source = imap_source(dovecot, db, support.login)
    delivered: list[float] = []

    def deliver_later() -> None:
        time.sleep(0.5)
        deliver(dovecot, mails(mail_users, 1)[0], to=support.address)
        delivered.append(time.monotonic())

    try:
        assert source.poll() == 0
        threading.Thread(target=deliver_later).start()
        started = time.monotonic()
        source.wait(threading.Event(), 20)
        woke = time.monotonic()
        assert woke - started < 5, "IDLE did not wake wait()"
        assert source.poll() == 1
    finally:
        source.close()
    latency = woke - delivered[0]
    record_property("idle_wake_seconds", round(latency, 3))
    assert 0 <= latency < 3


def test_run_forever_stores_pushed_mail(
    dovecot: Dovecot, db: Database, mail_users: MailUsers
) -> None:
    support = mail_users.support
    source = imap_source(dovecot, db, support.login)
    stop, news = threading.Event(), threading.Event()
    thread = threading.Thread(
        target=run_forever, args=(source, stop), kwargs={"on_stored": news.set, "poll_seconds": 60}
    )
    thread.start()
    try:
        time.sleep(0.3)
        deliver(dovecot, mails(mail_users, 1)[0], to=support.address)
        assert news.wait(5), "the mail was not stored within 5 s"
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive(), "the source thread did not stop within 5 s"
    assert len(stored(db)[0]) == 1


# -- failures ----------------------------------------------------------------------------------


def test_wrong_password_is_a_source_error_without_it(
    dovecot: Dovecot, tmp_path: Path, mail_users: MailUsers, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(f"sqlite:///{tmp_path}/t.db")
    source = imap_source(dovecot, db, mail_users.support.login)
    secret = "Wr0ng-secret-for-the-test"
    monkeypatch.setenv(PW_ENV, secret)
    with pytest.raises(SourceError) as caught:
        source.poll()
    assert "login failed" in str(caught.value)
    assert f"{dovecot.host}:{dovecot.imap_port}" in str(caught.value)
    assert secret not in str(caught.value) and secret not in repr(caught.value)
    source.close()
    db.dispose()


def kill(dovecot: Dovecot) -> None:
    """SIGKILL the whole server and reap its master (a zombie would look alive to a restart)."""
    os.killpg(dovecot.process_group, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(dovecot.process_group, 0)


@contextlib.contextmanager
def restarted(dovecot: Dovecot) -> Iterator[None]:
    """Dovecot again, on the same ports and mail store (the killed instance's config)."""
    process = subprocess.Popen(
        [str(DOVECOT_BINARY), "-F", "-c", str(dovecot.config_path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                imap_login(dovecot, "probe").logout()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


def test_server_dying_mid_idle_then_coming_back(
    private_dovecot: Dovecot, db: Database, mail_users: MailUsers
) -> None:
    server, user = private_dovecot, mail_users.support.login
    first, second = mails(mail_users, 2)
    append(server, user, first)
    source = imap_source(server, db, user)
    failures: list[BaseException] = []

    def waiting() -> None:
        try:
            source.wait(threading.Event(), 60)
        except SourceError as exc:
            failures.append(exc)

    assert source.poll() == 1
    thread = threading.Thread(target=waiting)
    thread.start()
    time.sleep(0.3)  # IDLE is in place
    kill(server)
    thread.join(5)
    assert not thread.is_alive(), "wait() did not notice the connection was gone"
    assert len(failures) == 1 and "IDLE failed" in str(failures[0])
    with pytest.raises(SourceError, match="connect failed: ConnectionRefusedError"):
        source.poll()
    with restarted(server):
        append(server, user, second)
        assert source.poll() == 1
        source.close()
        assert fetch_all(server, user, folder="Processed") == [first, second]
    assert stored(db)[0] == [first, second]


def test_a_frozen_server_times_out_then_recovers(
    private_dovecot: Dovecot, db: Database, mail_users: MailUsers
) -> None:
    server, user = private_dovecot, mail_users.support.login
    append(server, user, mails(mail_users, 1)[0])
    source = imap_source(server, db, user, timeout=1.0)
    os.killpg(server.process_group, signal.SIGSTOP)
    try:
        started = time.monotonic()
        with pytest.raises(SourceError, match=r"TimeoutError|timed out"):
            source.poll()
        assert time.monotonic() - started < 5
    finally:
        os.killpg(server.process_group, signal.SIGCONT)
    assert source.poll() == 1
    source.close()
    assert fetch_all(server, user) == []
