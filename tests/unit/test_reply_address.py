"""Signed reply addresses: only the engineer a notice went to can answer through it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from daemon.mail.reply_address import (
    ReplyTag,
    bounce_address,
    bounce_id,
    bounce_mac,
    mac,
    reply_address,
    reply_tag,
    verify,
)

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


def test_a_reply_address_with_an_idna_domain_is_still_ours() -> None:
    address = reply_address("hilfe@bücher.example", SECRET, 9, "eve@desk.test")
    ascii_form = address.replace("bücher", "xn--bcher-kva")
    tag = reply_tag(ascii_form, frozenset({"hilfe@bücher.example"}))
    assert tag is not None and tag.ticket == 9 and verify(tag, SECRET, "eve@desk.test")


# Bounce addresses (VERP).


def test_a_bounce_address_names_its_outbox_row() -> None:
    address = bounce_address("support@desk.test", SECRET, 314)
    assert address.startswith("support+b314.") and address.endswith("@desk.test")
    assert len(address.partition("+b314.")[2].partition("@")[0]) == 10
    assert bounce_id(address, OURS, SECRET) == 314


def test_a_bounce_address_for_another_row_desk_or_secret_says_nothing() -> None:
    good = bounce_mac(SECRET, 314)
    assert bounce_id(f"support+b315.{good}@desk.test", OURS, SECRET) is None
    assert bounce_id(f"support+b314.{good}@other.test", OURS, SECRET) is None
    assert bounce_id(f"sales+b314.{good}@desk.test", OURS, SECRET) is None
    assert bounce_id(f"support+b314.{good}@desk.test", OURS, "another-secret-entirely") is None


def test_a_tampered_bounce_mac_is_refused() -> None:
    good = bounce_mac(SECRET, 314)
    flipped = ("a" if good[0] != "a" else "b") + good[1:]
    for extension in (f"b314.{flipped}", f"b314.{good[:-1]}", f"b314.{good}a", "b314"):
        assert bounce_id(f"support+{extension}@desk.test", OURS, SECRET) is None, extension


def test_bounce_and_reply_macs_cannot_stand_in_for_each_other() -> None:
    reply = reply_address("support@desk.test", SECRET, 314, "*")
    assert bounce_id(reply, OURS, SECRET) is None
    bounce = bounce_address("support@desk.test", SECRET, 314)
    assert reply_tag(bounce, OURS) is None
    assert bounce_mac(SECRET, 314) != mac(SECRET, 314, "*")[:10]


def test_bounce_addresses_survive_case_folding() -> None:
    address = bounce_address("support@desk.test", SECRET, 77)
    assert bounce_id(address.upper(), OURS, SECRET) == 77
    assert bounce_id(address, frozenset({"Support@Desk.TEST"}), SECRET) == 77


def test_a_huge_or_odd_outbox_id_is_refused_without_error() -> None:
    huge = 2**63
    assert bounce_id(bounce_address("support@desk.test", SECRET, huge), OURS, SECRET) is None
    biggest = 2**63 - 1
    assert bounce_id(bounce_address("support@desk.test", SECRET, biggest), OURS, SECRET) == biggest
    digits = "9" * 400
    assert bounce_id(f"support+b{digits}.{'a' * 10}@desk.test", OURS, SECRET) is None
    assert bounce_id(f"support+b0.{bounce_mac(SECRET, 0)}@desk.test", OURS, SECRET) is None
    assert bounce_id(f"support+b07.{bounce_mac(SECRET, 7)}@desk.test", OURS, SECRET) is None


@given(st.text(max_size=300))
def test_any_text_is_a_bounce_id_or_none_never_raises(text: str) -> None:
    assert bounce_id(text, OURS, SECRET) is None


@given(st.integers(min_value=1, max_value=2**63 - 1))
def test_every_bounce_address_round_trips(outbox_id: int) -> None:
    assert bounce_id(bounce_address("support@desk.test", SECRET, outbox_id), OURS, SECRET) == (
        outbox_id
    )
