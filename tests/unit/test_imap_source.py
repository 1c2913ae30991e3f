"""Unit tests of the IMAP source against `FakeServer` (imapclient's types, no imaplib mocks)."""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError
from sqlalchemy import func, select

from daemon.config import Mailbox
from daemon.errors import SourceError, StorageError
from daemon.sources import imap
from daemon.sources.imap import STORED_KEYWORD, Ack, ImapSource, ack_mode, is_news, plan_batches
from daemon.storage import intake
from daemon.storage.database import Database
from daemon.storage.models import Inbound, Receipt
from tests.unit.conftest import Clock
from tests.unit.fake_imap import FakeServer

PASSWORD = "Pa55-w0rd-unlikely-elsewhere"
PW_ENV = "REPLYDESK_TEST_IMAP_PASSWORD"


def mail(n: int, *, message_id: bool = True) -> bytes:
    head = f"From: c{n}@customer.test\r\nTo: support@desk.test\r\nSubject: case {n}\r\n"
    if message_id:
        head += f"Message-ID: <{n}.case@customer.test>\r\n"
    return (head + f"\r\nbody {n}\r\n").encode()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path}/t.db")
    database.upgrade()
    yield database
    database.dispose()


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> FakeServer:
    monkeypatch.setenv(PW_ENV, PASSWORD)
    return FakeServer(password=PASSWORD)


def mailbox(**overrides: Any) -> Mailbox:
    fields: dict[str, Any] = {
        "name": "support",
        "host": "imap.desk.test",
        "port": 1143,
        "tls": "none",
        "user": "desk",
        "password_env": PW_ENV,
        "timeout": 7.0,
    }
    return Mailbox(**(fields | overrides))


def source(server: FakeServer, db: Database, clock: Clock, **overrides: Any) -> ImapSource:
    return ImapSource(mailbox(**overrides), db, clock=clock, client_factory=server.connect)


def counts(db: Database) -> tuple[int, int]:
    with db.transaction() as session:
        inbound = session.scalar(select(func.count(Inbound.id))) or 0
        receipts = session.scalar(select(func.count(Receipt.id))) or 0
    return inbound, receipts


def body_fetches(server: FakeServer) -> list[str]:
    return [c for c in server.calls if c.startswith("fetch") and "BODY.PEEK[]" in c]


# -- store, then move --------------------------------------------------------------------------


def test_mails_are_committed_before_the_move(
    server: FakeServer, db: Database, clock: Clock
) -> None:
    raws = [mail(1), mail(2), mail(3, message_id=False)]
    for raw in raws:
        server.add(raw)
    seen_at_move: list[tuple[list[int], int]] = []
    server.on_move = lambda uids: seen_at_move.append((uids, counts(db)[0]))

    assert source(server, db, clock).poll() == 3

    assert seen_at_move == [([1, 2, 3], 3)]  # one MOVE, after all three rows were committed
    assert server.raws("INBOX") == []
    assert server.raws("Processed") == raws
    with db.transaction() as session:
        stored = {
            r.source_key: (r.envelope, r.inbound_id) for r in session.scalars(select(Receipt))
        }
        bodies = list(session.scalars(select(Inbound.raw).order_by(Inbound.id)))
    assert bodies == raws
    assert set(stored) == {"1700000001:1", "1700000001:2", "1700000001:3"}
    envelope = stored["1700000001:2"][0]
    assert envelope["uid"] == 2 and envelope["uidvalidity"] == 1700000001
    assert envelope["folder"] == "INBOX"
    assert envelope["internaldate"] == "2026-11-02T08:00:00+00:00"  # aware, as stored


def test_a_second_poll_stores_nothing(server: FakeServer, db: Database, clock: Clock) -> None:
    server.add(mail(1))
    reader = source(server, db, clock)
    assert reader.poll() == 1
    assert reader.poll() == 0
    assert counts(db) == (1, 1)
    assert len(server.clients) == 1  # the connection is kept between polls


def test_a_failed_store_leaves_the_mail_untouched(
    server: FakeServer, db: Database, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in (1, 2, 3):
        server.add(mail(n))
    real_store = intake.store

    def store_failing_on_2(db: Database, raw: bytes, envelope: intake.Envelope) -> intake.Stored:
        if b"case 2" in raw:
            raise StorageError("database error: OperationalError: disk I/O error")
        return real_store(db, raw, envelope)

    monkeypatch.setattr(intake, "store", store_failing_on_2)
    reader = source(server, db, clock)
    with pytest.raises(StorageError):
        reader.poll()
    assert not [c for c in server.calls if c.startswith(("move", "add_flags"))]
    assert server.raws("INBOX") == [mail(1), mail(2), mail(3)]
    assert counts(db) == (1, 1)

    monkeypatch.setattr(intake, "store", real_store)
    server.calls.clear()
    assert reader.poll() == 2
    assert body_fetches(server) == ["fetch 2,3 BODY.PEEK[] INTERNALDATE RFC822.SIZE"]
    assert server.raws("Processed") == [mail(1), mail(2), mail(3)]
    assert counts(db) == (3, 3)


def test_stored_but_not_moved_is_moved_without_fetching_again(
    server: FakeServer, db: Database, clock: Clock
) -> None:
    server.add(mail(1))
    reader = source(server, db, clock)
    server.fail("move", IMAPClientAbortError("socket error: EOF"))
    with pytest.raises(SourceError, match="move 1 mail"):
        reader.poll()
    assert server.raws("INBOX") == [mail(1)]
    server.calls.clear()
    assert reader.poll() == 0
    assert body_fetches(server) == []
    assert server.raws("Processed") == [mail(1)]
    assert counts(db) == (1, 1)


def test_batches_bound_the_mails_held_at_once(
    server: FakeServer, db: Database, clock: Clock
) -> None:
    for n in range(120):
        server.add(mail(n))
    assert source(server, db, clock).poll() == 120
    fetched = [len(c.split()[1].split(",")) for c in body_fetches(server)]
    assert fetched == [50, 50, 20]
    assert len([c for c in server.calls if c.startswith("move")]) == 3
    assert len(server.raws("Processed")) == 120


def test_plan_batches_bounds_count_and_bytes() -> None:
    sizes = [(1, 10), (2, 10), (3, 10), (4, 25), (5, 1), (6, 100), (7, 1)]
    assert plan_batches(sizes, max_count=2, max_bytes=1000) == [[1, 2], [3, 4], [5, 6], [7]]
    assert plan_batches(sizes, max_count=50, max_bytes=30) == [[1, 2, 3], [4, 5], [6], [7]]
    assert plan_batches([], max_count=5, max_bytes=5) == []


def test_the_same_mail_in_two_mailboxes_is_one_inbound_row(db: Database, clock: Clock) -> None:
    first, second = FakeServer(password=PASSWORD), FakeServer(password=PASSWORD)
    first.add(mail(7))
    second.add(mail(7))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(PW_ENV, PASSWORD)
        created = [
            ImapSource(mailbox(name=name), db, clock=clock, client_factory=server.connect).poll()
            for name, server in (("sales", first), ("support", second))
        ]
    assert created == [1, 0]
    assert counts(db) == (1, 2)
    assert second.raws("Processed") == [mail(7)]  # acknowledged in both


# -- servers without MOVE ----------------------------------------------------------------------


def test_without_move_mail_is_flagged_never_deleted(
    server: FakeServer, db: Database, clock: Clock
) -> None:
    server.capabilities = (b"IMAP4REV1", b"IDLE", b"UIDPLUS")
    server.add(mail(1))
    server.add(mail(2))
    reader = source(server, db, clock)
    assert reader.poll() == 2
    assert [m.flags for m in server.folders["INBOX"]] == [{STORED_KEYWORD.encode()}] * 2
    assert server.raws("Processed") == []
    server.add(mail(3))
    server.calls.clear()
    assert reader.poll() == 1
    assert body_fetches(server) == ["fetch 3 BODY.PEEK[] INTERNALDATE RFC822.SIZE"]
    assert f"search NOT KEYWORD {STORED_KEYWORD}" in server.calls
    assert f"add_flags 3 {STORED_KEYWORD}" in server.calls
    assert len(server.raws("INBOX")) == 3
    assert not any(b"\\Deleted" in m.flags for m in server.folders["INBOX"])
    assert not [c for c in server.calls if "expunge" in c or "delete" in c]


def test_without_move_or_keywords_receipts_stop_refetching(
    server: FakeServer, db: Database, clock: Clock
) -> None:
    server.capabilities = (b"IMAP4REV1",)
    server.permanent_flags = (b"\\Seen", b"\\Deleted")
    server.add(mail(1))
    reader = source(server, db, clock)
    assert reader.poll() == 1
    server.calls.clear()
    assert reader.poll() == 0
    assert body_fetches(server) == []
    assert not [c for c in server.calls if c.startswith(("move", "add_flags"))]


def test_ack_mode_follows_capabilities_and_permanent_flags() -> None:
    assert ack_mode(frozenset({b"MOVE"}), {}) is Ack.MOVE
    assert ack_mode(frozenset(), {b"PERMANENTFLAGS": (b"\\Seen", b"\\*")}) is Ack.KEYWORD
    keyword = {b"PERMANENTFLAGS": (b"$replydeskstored",)}
    assert ack_mode(frozenset(), keyword) is Ack.KEYWORD
    assert ack_mode(frozenset(), {b"PERMANENTFLAGS": (b"\\Seen",)}) is Ack.NONE


# -- UIDVALIDITY -------------------------------------------------------------------------------


def test_a_uidvalidity_change_makes_no_second_row(
    server: FakeServer, db: Database, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    server.capabilities = (b"IMAP4REV1", b"IDLE")  # keyword mode: mail stays in INBOX
    server.add(mail(1))
    server.add(mail(2, message_id=False))
    reader = source(server, db, clock)
    assert reader.poll() == 2
    server.renumber()  # keywords lost, UIDs new: everything looks unseen
    with caplog.at_level(logging.WARNING, logger="daemon.sources.imap"):
        assert reader.poll() == 0
    assert "UIDVALIDITY" in caplog.text and "1700000001 to 1700000002" in caplog.text
    assert counts(db) == (2, 4)  # two receipts per mail, still one row each
    with db.transaction() as session:
        keys = sorted(session.scalars(select(Receipt.source_key)))
    assert keys == ["1700000001:1", "1700000001:2", "1700000002:3", "1700000002:4"]


# -- errors and reconnection -------------------------------------------------------------------


@pytest.mark.parametrize(
    "case",
    [
        ("select_folder", IMAPClientAbortError("socket error: EOF"), "select 'INBOX' failed"),
        ("search", TimeoutError("timed out"), "search failed: TimeoutError"),  # socket.timeout
        ("fetch", ConnectionResetError(104, "Connection reset by peer"), "fetch sizes failed"),
        ("move", IMAPClientError("MOVE command error: NO [b'Over quota']"), "Over quota"),
        ("login", ssl.SSLError(1, "record layer failure"), "login failed: SSLError"),
        ("connect", ConnectionRefusedError(111, "Connection refused"), "connect failed"),
    ],
    ids=["select-eof", "search-timeout", "fetch-reset", "move-no", "login-tls", "refused"],
)
def test_errors_become_source_errors_and_the_next_poll_reconnects(
    server: FakeServer,
    db: Database,
    clock: Clock,
    case: tuple[str, BaseException, str],
) -> None:
    command, error, what = case
    server.add(mail(1))
    server.fail(command, error)
    reader = source(server, db, clock)
    with pytest.raises(SourceError) as caught:
        reader.poll()
    message = str(caught.value)
    assert "imap mailbox 'support' (imap.desk.test:1143, user 'desk')" in message
    assert what in message
    assert all(c.closed_by == "shutdown" for c in server.clients)  # broken: dropped, no LOGOUT
    assert reader.poll() == (0 if command == "move" else 1)
    assert server.raws("Processed") == [mail(1)]
    assert counts(db) == (1, 1)


def test_a_failed_poll_leaves_no_connection_to_reuse(
    server: FakeServer, db: Database, clock: Clock
) -> None:
    server.add(mail(1))
    reader = source(server, db, clock)
    server.fail("search", IMAPClientAbortError("socket error: EOF"))
    with pytest.raises(SourceError):
        reader.poll()
    assert reader.poll() == 1
    assert len(server.clients) == 2
    assert server.calls[0] == "connect imap.desk.test:1143 ssl=False timeout=7.0"


def test_the_password_never_appears_in_errors_or_logs(
    server: FakeServer, db: Database, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    server.password = "another"  # ours is wrong
    server.login_error_echoes_password = True  # and the server repeats it back
    reader = source(server, db, clock)
    with caplog.at_level(logging.DEBUG), pytest.raises(SourceError) as caught:
        reader.poll()
    assert "login failed" in str(caught.value) and "AUTHENTICATIONFAILED" in str(caught.value)
    assert PASSWORD not in str(caught.value) and PASSWORD not in repr(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert PASSWORD not in caplog.text
    reader.close()


def test_missing_password_is_a_source_error(
    db: Database, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PW_ENV, raising=False)
    reader = ImapSource(mailbox(), db, clock=clock, client_factory=FakeServer("x").connect)
    with pytest.raises(SourceError, match=f"no password: environment variable {PW_ENV}"):
        reader.poll()


def test_starttls_comes_before_login_and_is_required(
    server: FakeServer, db: Database, clock: Clock
) -> None:
    assert source(server, db, clock, tls="starttls").poll() == 0
    assert server.calls[1:4] == ["capabilities", "starttls", "login"]
    server.pre_login_capabilities = (b"IMAP4REV1", b"AUTH=PLAIN")
    server.calls.clear()
    with pytest.raises(SourceError, match="does not offer STARTTLS"):
        source(server, db, clock, tls="starttls").poll()
    assert "login" not in server.calls  # the password is never sent in clear


def test_implicit_tls_asks_for_ssl(server: FakeServer, db: Database, clock: Clock) -> None:
    source(server, db, clock, tls="tls", port=993).poll()
    assert server.calls[0] == "connect imap.desk.test:993 ssl=True timeout=7.0"


def test_the_processed_folder_is_created_when_missing(
    server: FakeServer, db: Database, clock: Clock
) -> None:
    del server.folders["Processed"]
    server.add(mail(1))
    assert source(server, db, clock, processed_folder="Done").poll() == 1
    assert server.raws("Done") == [mail(1)]


def test_close_never_raises(server: FakeServer, db: Database, clock: Clock) -> None:
    reader = source(server, db, clock)
    reader.poll()
    server.fail("logout", OSError("broken pipe"))
    reader.close()
    reader.close()
    assert server.clients[0].closed_by == "shutdown"


# -- waiting -----------------------------------------------------------------------------------


def test_idle_returns_on_exists(server: FakeServer, db: Database, clock: Clock) -> None:
    reader = source(server, db, clock)
    reader.poll()
    server.idle_script = [[(b"OK", b"Still here")], [(0, b"RECENT")], [(1, b"EXISTS")]]
    started = time.monotonic()
    reader.wait(threading.Event(), 30)
    assert time.monotonic() - started < 1
    assert server.calls[-5:] == ["idle", "idle_check", "idle_check", "idle_check", "idle_done"]
    assert server.idle_script == []


def test_idle_is_renewed_and_stop_is_honoured(
    server: FakeServer, db: Database, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imap, "IDLE_SLICE", 0.01)
    monkeypatch.setattr(imap, "IDLE_RENEW", 0.05)
    reader = source(server, db, clock)
    reader.poll()
    reader.wait(threading.Event(), 0.3)
    assert server.calls.count("idle") >= 4
    assert server.calls.count("idle") == server.calls.count("idle_done")
    stop = threading.Event()
    threading.Timer(0.1, stop.set).start()
    started = time.monotonic()
    reader.wait(stop, 30)
    assert time.monotonic() - started < 1
    assert reader.poll() == 0  # the connection is usable again: IDLE was ended


def test_no_idle_when_unoffered_or_disabled(server: FakeServer, db: Database, clock: Clock) -> None:
    reader = source(server, db, clock, idle=False)
    reader.poll()
    started = time.monotonic()
    reader.wait(threading.Event(), 0.05)
    assert time.monotonic() - started >= 0.05
    server.capabilities = (b"IMAP4REV1", b"MOVE")
    other = source(server, db, clock)
    other.poll()
    other.wait(threading.Event(), 0.05)
    assert "idle" not in server.calls


def test_mail_that_came_during_a_poll_ends_the_wait_at_once(
    server: FakeServer, db: Database, clock: Clock
) -> None:
    reader = source(server, db, clock)
    reader.poll()
    server.add(mail(1))
    started = time.monotonic()
    reader.wait(threading.Event(), 30)
    assert time.monotonic() - started < 1
    assert "idle" not in server.calls


def test_a_connection_lost_in_idle_is_a_source_error(
    server: FakeServer, db: Database, clock: Clock
) -> None:
    reader = source(server, db, clock)
    reader.poll()
    server.idle_script = [[]]  # woken with nothing to read: EOF
    server.fail("idle_done", IMAPClientAbortError("socket error: EOF"))
    started = time.monotonic()
    with pytest.raises(SourceError, match="IDLE failed"):
        reader.wait(threading.Event(), 30)
    assert time.monotonic() - started < 1  # noticed at once, not at the end of the wait
    assert server.clients[0].closed_by == "shutdown"


def test_is_news() -> None:
    assert is_news((3, b"EXISTS")) and is_news((1, b"RECENT"))
    assert not is_news((0, b"RECENT")) and not is_news((b"OK", b"Still here"))
    assert not is_news((2, b"EXPUNGE")) and not is_news((2,))
