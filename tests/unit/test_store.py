from __future__ import annotations

from email.message import EmailMessage

from sqlalchemy import func, select

from daemon.storage import intake
from daemon.storage.database import Database
from daemon.storage.intake import Envelope, message_key
from daemon.storage.models import Inbound, Receipt
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


def test_message_key_falls_back_to_a_hash() -> None:
    assert message_key(raw_mail("<x@y>")) == "mid:<x@y>"
    no_id = message_key(raw_mail(None))
    assert no_id.startswith("sha256:") and no_id != message_key(raw_mail(None, body="other"))
    folded = b"Subject: a\r\nMessage-ID:\r\n <folded@id>\r\n\r\nbody"
    assert message_key(folded) == "mid:<folded@id>"
    assert message_key(b"Subject: x\n\nMessage-ID: <in-body@x>\n").startswith("sha256:")


def test_mail_without_message_id_is_deduplicated_by_hash(db: Database, clock: Clock) -> None:
    raw = raw_mail(None)
    first = intake.store(db, raw, Envelope(source="pipe", received_at=clock()))
    clock.advance(seconds=5)
    second = intake.store(db, raw, Envelope(source="pipe", received_at=clock()))
    assert first.inbound_id == second.inbound_id and not second.created
