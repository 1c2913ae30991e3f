"""The test servers themselves: Dovecot, the SMTP → LMTP relay, PostgreSQL, and the helpers."""

from __future__ import annotations

import asyncio
import time
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import aiosmtplib
import pytest
from imapclient import IMAPClient
from imapclient.exceptions import LoginError
from sqlalchemy import Connection, create_engine, inspect, text

from tests.support import dovecot as dovecot_module
from tests.support.dovecot import Dovecot, DovecotError
from tests.support.mailboxes import (
    MailUsers,
    append,
    deliver,
    fetch_all,
    imap_login,
    make_mail,
    wait_for_messages,
    without_delivery_headers,
)
from tests.support.smtp import SmtpRelay


def send(
    relay: SmtpRelay,
    raw: bytes,
    *,
    sender: str,
    to: list[str],
    username: str | None = None,
    password: str | None = None,
) -> None:
    asyncio.run(
        aiosmtplib.send(
            raw,
            sender=sender,
            recipients=to,
            hostname=relay.host,
            port=relay.port,
            start_tls=False,
            timeout=10,
            username=username,
            password=password,
        )
    )


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes in process group ``pgid``, read from /proc."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


# --- Dovecot -------------------------------------------------------------------------------------


@pytest.mark.integration
def test_dovecot_starts_fast_and_stops_its_whole_process_group() -> None:
    started = time.monotonic()
    server = Dovecot()
    server.start()
    startup = time.monotonic() - started
    root, pgid = server.root, server.process_group
    deliver(server, make_mail(sender="a@x.test", to="u@x.test", subject="s", body="b"), to="u")
    client = imap_login(server, "u")  # a live session must not keep its imap process alive
    client.select_folder("INBOX")
    assert len(group_members(pgid)) >= 4
    started = time.monotonic()
    server.stop()
    shutdown = time.monotonic() - started
    assert startup < 2.0, f"start took {startup:.3f} s"
    assert shutdown < 2.0, f"stop took {shutdown:.3f} s"
    assert group_members(pgid) == []
    assert not root.exists()
    client.shutdown()


def test_dovecot_folder_is_enterable_by_nobody(dovecot: Dovecot) -> None:
    for folder in (dovecot.root, *dovecot.root.parents):
        assert folder.stat().st_mode & 0o005 == 0o005, folder
    assert len(str(dovecot.root)) < 40


def test_missing_dovecot_fails_with_the_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dovecot_module, "DOVECOT_BINARY", Path("/nonexistent/dovecot"))
    with pytest.raises(DovecotError, match=r"test command.*dovecot-imapd"):
        Dovecot().start()


def test_wrong_password_is_refused_at_once(dovecot: Dovecot, mail_users: MailUsers) -> None:
    for _ in range(2):  # a second failure would meet Dovecot's per-IP auth penalty (2-15 s)
        client = IMAPClient(dovecot.host, port=dovecot.imap_port, ssl=False, timeout=10)
        started = time.monotonic()
        with pytest.raises(LoginError):
            client.login(mail_users.alice.login, "not-the-password")
        assert time.monotonic() - started < 1.0
        client.shutdown()
    started = time.monotonic()
    with imap_login(dovecot, mail_users.alice.login):
        assert time.monotonic() - started < 0.5


def test_login_with_full_address_reaches_the_same_mailbox(
    dovecot: Dovecot, mail_users: MailUsers
) -> None:
    raw = make_mail(sender="x@x.test", to=mail_users.bob.address, subject="hello", body="hi\n")
    deliver(dovecot, raw, to=mail_users.bob.address)
    with imap_login(dovecot, mail_users.bob.address.upper()) as client:
        assert client.select_folder("INBOX")[b"EXISTS"] == 1
    assert len(list(dovecot.maildir(mail_users.bob.login).glob("[nc][eu][wr]/*"))) == 1


def test_append_is_byte_exact_and_auto_folders_exist(
    dovecot: Dovecot, mail_users: MailUsers
) -> None:
    user = mail_users.support.login
    raw = make_mail(
        sender=mail_users.alice.address,
        to=mail_users.support.address,
        subject="Grüße, printer on fire",
        body="Ünïcode body\n" * 3,
        headers={"X-Ticket": "12"},
    )
    first = append(dovecot, user, raw, folder="Processed")
    second = append(dovecot, user, raw + b"again\r\n", folder="Processed")
    assert second == first + 1
    assert fetch_all(dovecot, user, folder="Processed") == [raw, raw + b"again\r\n"]
    assert fetch_all(dovecot, user) == []
    with imap_login(dovecot, user) as client:
        names = {name for _flags, _sep, name in client.list_folders()}
        assert {"INBOX", "Processed", "Sent"} <= names
        assert client.find_special_folder(b"\\Sent") == "Sent"


def test_fresh_users_never_share_mail(dovecot: Dovecot, mail_users: MailUsers) -> None:
    logins = [u.login for u in (mail_users.support, *mail_users.customers, *mail_users.engineers)]
    assert len(set(logins)) == 5
    deliver(dovecot, b"Subject: one\r\n\r\nx\r\n", to=mail_users.erin.address)
    assert len(wait_for_messages(dovecot, mail_users.erin.login, 1)) == 1
    assert fetch_all(dovecot, mail_users.frank.login) == []


# --- SMTP relay ----------------------------------------------------------------------------------


def test_mail_sent_to_the_relay_arrives_over_imap_unchanged(
    dovecot: Dovecot, smtp_relay: SmtpRelay, mail_users: MailUsers
) -> None:
    alice, support = mail_users.alice, mail_users.support
    raw = make_mail(sender=alice.address, to=support.address, subject="Help", body="It broke.\n")
    send(smtp_relay, raw, sender=alice.address, to=[support.address])
    [delivered] = wait_for_messages(dovecot, support.login, 1)
    assert without_delivery_headers(delivered) == raw
    assert delivered.startswith(b"Return-Path: <" + alice.address.encode() + b">")
    [envelope] = smtp_relay.received()
    assert (envelope.mail_from, envelope.rcpt_tos, envelope.raw) == (
        alice.address,
        (support.address,),
        raw,
    )
    assert envelope.login is None


def test_detail_address_lands_in_the_base_users_inbox(
    dovecot: Dovecot, smtp_relay: SmtpRelay, mail_users: MailUsers
) -> None:
    support = mail_users.support
    tagged = f"{support.login}+t12.abc@example.test"
    raw = make_mail(sender=mail_users.alice.address, to=tagged, subject="Re: [#12]", body="ok\n")
    send(smtp_relay, raw, sender=mail_users.alice.address, to=[tagged])
    [delivered] = wait_for_messages(dovecot, support.login, 1)
    assert without_delivery_headers(delivered) == raw
    assert not (dovecot.root / "mail" / f"{support.login}+t12.abc").exists()
    with imap_login(dovecot, support.login) as client:
        assert {name for *_, name in client.list_folders()} == {"INBOX", "Processed", "Sent"}


def test_idle_client_is_told_of_new_mail(
    dovecot: Dovecot, smtp_relay: SmtpRelay, mail_users: MailUsers
) -> None:
    support = mail_users.support
    with imap_login(dovecot, support.login) as client:
        client.select_folder("INBOX")
        client.idle()
        raw = make_mail(sender=mail_users.bob.address, to=support.address, subject="s", body="b")
        send(smtp_relay, raw, sender=mail_users.bob.address, to=[support.address])
        deadline = time.monotonic() + 5
        responses: list[tuple[object, ...]] = []
        while time.monotonic() < deadline and (1, b"EXISTS") not in responses:
            responses += client.idle_check(timeout=5)
        client.idle_done()
    assert (1, b"EXISTS") in responses


@pytest.mark.parametrize("code", [451, 550])
def test_refusal_at_rcpt_raises_with_the_code(
    dovecot: Dovecot, smtp_relay: SmtpRelay, mail_users: MailUsers, code: int
) -> None:
    alice, support = mail_users.alice, mail_users.support
    raw = make_mail(sender=alice.address, to=support.address, subject="s", body="b")
    smtp_relay.refuse(code)
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as caught:
        send(smtp_relay, raw, sender=alice.address, to=[support.address])
    assert [r.code for r in caught.value.recipients] == [code]
    assert [(r.code, r.stage) for r in smtp_relay.refused()] == [(code, "rcpt")]
    assert smtp_relay.received() == []
    smtp_relay.accept()
    send(smtp_relay, raw, sender=alice.address, to=[support.address])
    assert len(wait_for_messages(dovecot, support.login, 1)) == 1


@pytest.mark.parametrize("code", [451, 550])
def test_refusal_at_data_raises_with_the_code(
    dovecot: Dovecot, smtp_relay: SmtpRelay, mail_users: MailUsers, code: int
) -> None:
    alice, support = mail_users.alice, mail_users.support
    raw = make_mail(sender=alice.address, to=support.address, subject="s", body="b")
    smtp_relay.refuse(code, stage="data")
    with pytest.raises(aiosmtplib.SMTPResponseException) as caught:
        send(smtp_relay, raw, sender=alice.address, to=[support.address])
    assert caught.value.code == code
    assert fetch_all(dovecot, support.login) == []


def test_refusing_one_address_delivers_to_the_others(
    dovecot: Dovecot, smtp_relay: SmtpRelay, mail_users: MailUsers
) -> None:
    alice, bob, support = mail_users.alice, mail_users.bob, mail_users.support
    raw = make_mail(
        sender=support.address, to=f"{alice.address}, {bob.address}", subject="s", body="b"
    )
    smtp_relay.refuse(550, only=(bob.address.upper(),))
    send(smtp_relay, raw, sender=support.address, to=[alice.address, bob.address])
    assert len(wait_for_messages(dovecot, alice.login, 1)) == 1
    assert fetch_all(dovecot, bob.login) == []
    assert [r.rcpt_tos for r in smtp_relay.refused()] == [(bob.address,)]
    assert smtp_relay.received()[0].rcpt_tos == (alice.address,)


def test_relay_down_then_back_on_the_same_port(
    dovecot: Dovecot, smtp_relay: SmtpRelay, mail_users: MailUsers
) -> None:
    alice, support = mail_users.alice, mail_users.support
    raw = make_mail(sender=alice.address, to=support.address, subject="s", body="b")
    port = smtp_relay.port
    smtp_relay.stop()
    assert not smtp_relay.running
    with pytest.raises(aiosmtplib.SMTPConnectError):
        send(smtp_relay, raw, sender=alice.address, to=[support.address])
    smtp_relay.start()
    assert smtp_relay.port == port
    send(smtp_relay, raw, sender=alice.address, to=[support.address])
    assert len(wait_for_messages(dovecot, support.login, 1)) == 1


def test_relay_takes_logins_with_the_dovecot_password(
    dovecot: Dovecot, smtp_relay: SmtpRelay, mail_users: MailUsers
) -> None:
    support = mail_users.support
    raw = make_mail(sender=support.address, to=mail_users.alice.address, subject="s", body="b")
    to = [mail_users.alice.address]
    with pytest.raises(aiosmtplib.SMTPAuthenticationError):
        send(
            smtp_relay,
            raw,
            sender=support.address,
            to=to,
            username=support.address,
            password="wrong",
        )
    send(
        smtp_relay,
        raw,
        sender=support.address,
        to=to,
        username=support.address,
        password=dovecot.password,
    )
    assert [e.login for e in smtp_relay.received()] == [support.address]


def test_each_test_starts_with_a_clean_relay(smtp_relay: SmtpRelay) -> None:
    # The tests above left refusals, records and a stopped relay behind; the fixture undid them.
    assert smtp_relay.running
    assert smtp_relay.received() == []
    assert smtp_relay.refused() == []


# --- helpers -------------------------------------------------------------------------------------


def test_make_mail_builds_a_threaded_rfc5322_mail() -> None:
    raw = make_mail(
        sender="Alice <alice@customer.test>",
        to="support@example.test",
        subject="Re: printer",
        body="Thanks!\n",
        message_id="<m2@customer.test>",
        in_reply_to="<m1@example.test>",
        headers={"Auto-Submitted": "no", "Date": "Mon, 02 Nov 2026 09:00:00 +0000"},
    )
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    message = message_from_bytes(raw, policy=default)
    assert message["Message-ID"] == "<m2@customer.test>"
    assert message["In-Reply-To"] == message["References"] == "<m1@example.test>"
    assert message.get_all("Date") == ["Mon, 02 Nov 2026 09:00:00 +0000"]
    assert message.get_content().splitlines() == ["Thanks!"]


def test_without_delivery_headers_keeps_the_senders_received_fields() -> None:
    original = b"Received: from mx by relay with ESMTP\r\nSubject: x\r\n\r\nbody\r\n"
    delivered = (
        b"Return-Path: <a@b.test>\r\nReceived: from [127.0.0.1]\r\n\tby vm with LMTP\r\n"
        b"\tid X; Mon, 2 Nov 2026\r\n" + original
    )
    assert without_delivery_headers(delivered) == original
    assert without_delivery_headers(original) == original


# --- PostgreSQL and the per-backend database -----------------------------------------------------

_LEFT_OPEN: list[Connection] = []


def test_pg_url_is_an_empty_database_of_our_own(pg_url: str) -> None:
    engine = create_engine(pg_url)
    try:
        with engine.connect() as connection:
            name = connection.execute(text("SELECT current_database()")).scalar_one()
            assert connection.execute(text("SELECT 1")).scalar_one() == 1
        assert name.startswith("replydesk_test_")
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


def test_db_url_survives_a_connection_the_last_test_left_open(db_url: str) -> None:
    engine = create_engine(db_url)
    connection = engine.connect()
    connection.execute(text("CREATE TABLE held (id integer)"))
    connection.commit()
    connection.execute(text("SELECT * FROM held"))  # leaves a transaction open, holding a lock
    _LEFT_OPEN.append(connection)  # kept alive: the next test's reset must still drop the table


@pytest.mark.parametrize("round_", [1, 2])
def test_db_url_is_empty_for_every_test(db_url: str, round_: int) -> None:
    # Both rounds leave a table behind: whichever runs second fails unless the fixture cleans up.
    engine = create_engine(db_url)
    try:
        assert inspect(engine).get_table_names() == []
        with engine.begin() as connection:
            assert connection.execute(text("SELECT 1")).scalar_one() == 1
            connection.execute(text("CREATE TABLE leftover (id integer PRIMARY KEY)"))
            connection.execute(text("INSERT INTO leftover VALUES (:round)"), {"round": round_})
    finally:
        engine.dispose()


def test_integration_marker_follows_the_fixtures(
    request: pytest.FixtureRequest, db_url: str
) -> None:
    marked = request.node.get_closest_marker("integration") is not None
    assert marked == db_url.startswith("postgresql")
