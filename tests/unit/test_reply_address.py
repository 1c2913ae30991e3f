"""Signed reply addresses: only the engineer a notice went to can answer through it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from daemon.mail.reply_address import ReplyTag, mac, reply_address, reply_tag, verify

SECRET = "a-secret-of-enough-length"
OURS = frozenset({"support@desk.test"})


def test_a_reply_address_names_the_ticket_and_verifies_for_its_engineer_only() -> None:
    address = reply_address("support@desk.test", SECRET, 123, "Eve@Desk.test")
    assert address.startswith("support+t123.") and address.endswith("@desk.test")
    tag = reply_tag(address, OURS)
    assert tag is not None and tag.ticket == 123
    assert verify(tag, SECRET, "eve@desk.test")
    assert not verify(tag, SECRET, "max@desk.test")
    assert not verify(tag, "another-secret-entirely", "eve@desk.test")
    assert not verify(ReplyTag(124, tag.mac), SECRET, "eve@desk.test")


def test_a_ticket_wide_signature_counts_only_when_allowed() -> None:
    tag = reply_tag(reply_address("support@desk.test", SECRET, 7, "*"), OURS)
    assert tag is not None
    assert not verify(tag, SECRET, "max@desk.test")
    assert verify(tag, SECRET, "max@desk.test", for_ticket=True)


def test_case_folding_mail_systems_do_not_break_it() -> None:
    address = reply_address("support@desk.test", SECRET, 42, "eve@desk.test").upper()
    tag = reply_tag(address, OURS)
    assert tag is not None and verify(tag, SECRET, "eve@desk.test")


def test_addresses_that_are_not_our_reply_addresses_say_nothing() -> None:
    good = mac(SECRET, 5, "eve@desk.test")
    for address in (
        f"support+t5.{good}@other.test",
        f"sales+t5.{good}@desk.test",
        "support@desk.test",
        f"support+t0.{good}@desk.test",
        f"support+t99999999999.{good}@desk.test",
        f"support+t5.{good[:-1]}@desk.test",
        "support+t5.!!!!!!!!!!!!!!!!@desk.test",
    ):
        assert reply_tag(address, OURS) is None, address


@given(st.text(max_size=300))
def test_any_text_is_parsed_or_refused_never_raises(text: str) -> None:
    tag = reply_tag(text, OURS)
    assert tag is None or (1 <= tag.ticket <= 2_147_483_647 and len(tag.mac) == 16)


@given(st.integers(min_value=1, max_value=2_147_483_647), st.emails())
def test_every_signed_address_round_trips(ticket: int, engineer: str) -> None:
    tag = reply_tag(reply_address("support@desk.test", SECRET, ticket, engineer), OURS)
    assert tag == ReplyTag(ticket, mac(SECRET, ticket, engineer))
    assert verify(tag, SECRET, engineer)
