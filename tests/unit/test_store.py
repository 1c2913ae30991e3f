from __future__ import annotations

from email.message import EmailMessage

from sqlalchemy import func, select

from daemon.storage import dbapi, intake
from daemon.storage.database import Database
from daemon.storage.intake import Envelope, message_key
from daemon.storage.models import Inbound, InboundState, Receipt
from tests.unit.conftest import Clock


def raw_mail(message_id: str | None = "<a1@cust.test>", body: str = "hello") -> bytes:
    msg = EmailMessage()
    msg["From"] = "ann@cust.test"
    msg["To"] = "support@desk.test"
    msg["Subject"] = "Hi"
    if message_id:
        msg["Message-ID"] = message_id
    msg.set_content(body)
    return msg.as_bytes()


def counts(db: Database) -> tuple[int, int]:
    with db.transaction() as session:
        return (
            session.scalar(select(func.count(Inbound.id))) or 0,
            session.scalar(select(func.count(Receipt.id))) or 0,
        )


def test_replaying_the_same_receipt_is_a_no_op(db: Database, clock: Clock) -> None:
    envelope = Envelope(source="main", source_key="7:42", received_at=clock())
    first = intake.store(db, raw_mail(), envelope)
    again = intake.store(db, raw_mail(), envelope)
    assert first.created and not again.created and again.duplicate_of_receipt
    assert first.inbound_id == again.inbound_id
    assert counts(db) == (1, 1)


def test_same_message_in_two_mailboxes_is_stored_once(db: Database, clock: Clock) -> None:
    a = intake.store(db, raw_mail(), Envelope(source="a", source_key="1:1", received_at=clock()))
    b = intake.store(db, raw_mail(), Envelope(source="b", source_key="9:5", received_at=clock()))
    assert a.inbound_id == b.inbound_id and a.created and not b.created
    assert counts(db) == (1, 2)


def test_new_uidvalidity_does_not_store_a_second_copy(db: Database, clock: Clock) -> None:
    intake.store(db, raw_mail(), Envelope(source="a", source_key="1:1", received_at=clock()))
    again = intake.store(
        db, raw_mail(), Envelope(source="a", source_key="2:1", received_at=clock())
    )
    assert not again.created
    assert counts(db)[0] == 1


def test_raw_bytes_are_kept_exactly(db: Database, clock: Clock) -> None:
    raw = raw_mail(body="caf\u00e9 \u4e2d\u6587") + b"\r\n\xff\x00trailing"
    stored = intake.store(db, raw, Envelope(source="pipe", received_at=clock()))
    with db.transaction() as session:
        assert session.get_one(Inbound, stored.inbound_id).raw == raw


def test_the_key_is_the_content_without_trace_headers() -> None:
    raw = raw_mail("<x@y>")
    relayed = b"Received: from mx2 by mx1; Mon, 1 Dec 2026 10:00:00 +0000\r\n" + raw
    assert message_key(raw).startswith("fp:")
    assert message_key(relayed) == message_key(raw)
    assert message_key(raw.replace(b"\r\n", b"\n")) == message_key(raw)
    assert message_key(raw_mail("<x@y>", body="other")) != message_key(raw)


def test_a_reused_message_id_with_other_content_is_a_new_mail(db: Database, clock: Clock) -> None:
    first = intake.store(db, raw_mail("<reused@brokenclient>"), Envelope("pipe", clock()))
    second = intake.store(
        db, raw_mail("<reused@brokenclient>", body="another question"), Envelope("pipe", clock())
    )
    assert first.created and second.created and first.inbound_id != second.inbound_id
    with db.read() as session:
        row = session.get_one(Inbound, second.inbound_id)
        assert row.message_id == "<reused@brokenclient>"
        assert row.notes and "already used by inbound" in row.notes[0]


def test_one_mail_delivered_twice_with_other_line_ends_is_stored_once(
    db: Database, clock: Clock
) -> None:
    raw = raw_mail(None)
    first = intake.store(db, raw, Envelope("pipe", clock()))
    second = intake.store(db, raw.replace(b"\r\n", b"\n"), Envelope("pipe", clock()))
    third = intake.store(db, raw.replace(b"hello", b"hello "), Envelope("pipe", clock()))
    assert first.inbound_id == second.inbound_id == third.inbound_id
    assert counts(db) == (1, 3)


def test_the_plain_connection_path_stores_the_same_way(db: Database, clock: Clock) -> None:
    plain = dbapi.connect(db.url, timeout=5)
    try:
        stored = intake.store(plain, raw_mail("<plain@x>"), Envelope("pipe", clock()))
        again = intake.store(plain, raw_mail("<plain@x>"), Envelope("pipe", clock()))
    finally:
        plain.close()
    assert stored.created and not again.created
    with db.read() as session:
        row = session.get_one(Inbound, stored.inbound_id)
        assert row.received_at == clock() and row.state == InboundState.STORED
        receipt = session.scalars(select(Receipt)).first()
        assert receipt is not None and receipt.envelope["rcpt_to"] == []


def test_mail_without_message_id_is_deduplicated_by_hash(db: Database, clock: Clock) -> None:
    raw = raw_mail(None)
    first = intake.store(db, raw, Envelope(source="pipe", received_at=clock()))
    clock.advance(seconds=5)
    second = intake.store(db, raw, Envelope(source="pipe", received_at=clock()))
    assert first.inbound_id == second.inbound_id and not second.created
