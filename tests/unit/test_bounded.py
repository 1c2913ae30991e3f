"""Any value a mail brings fits its column on every backend: cut, cleaned, or hashed into a key."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from daemon.storage.bounded import clean, fit, fit_key
from daemon.storage.database import Database
from daemon.storage.models import Contact, Event


def test_clean_removes_nul_and_lone_surrogates() -> None:
    assert clean("a\x00b") == "ab"
    assert clean("x\udcff y") == "x? y"
    assert clean("plain ünïcode 中文") == "plain ünïcode 中文"


def test_fit_cuts_readable_text_with_a_mark() -> None:
    assert fit("short", 10) == "short"
    cut = fit("x" * 500, 200)
    assert len(cut) == 200 and cut.endswith("…")


def test_fit_key_keeps_long_values_distinct_and_stable() -> None:
    a, b = "a" * 400 + "1", "a" * 400 + "2"
    assert len(fit_key(a, 300)) == 300
    assert fit_key(a, 300) != fit_key(b, 300)
    assert fit_key(a, 300) == fit_key(a, 300)
    assert fit_key("<short@x>", 300) == "<short@x>"


def test_hostile_values_round_trip_through_the_columns(db: Database) -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    long_address = "l" * 300 + "@example.com"
    with db.transaction() as session:
        session.add(
            Contact(address=long_address, name="N\x00ame\udc80" + "n" * 500, created_at=now)
        )
        session.add(
            Event(
                ticket_id=None,
                at=now,
                actor="a" * 999,
                kind="created",
                cause="c\x00",
                data={"k\x00": ["v\x00", "\udcff"]},
            )
        )
    with db.read() as session:
        contact = session.scalars(select(Contact)).one()
        assert len(contact.address) == 254 and contact.address.startswith("llll")
        assert "\x00" not in contact.name and len(contact.name) == 200
        found = session.scalars(select(Contact).where(Contact.address == long_address)).one()
        assert found.id == contact.id  # a lookup with the long value binds the same key
        event = session.scalars(select(Event)).one()
        assert event.data == {"k": ["v", "?"]} and event.cause == "c"
