"""Header layer: encoded-words in any charset, broken ones kept, addresses, dates, ids."""

from __future__ import annotations

import base64
import email.parser
import email.policy
from datetime import UTC, datetime
from email.message import Message

import pytest

from parsers.headers import addresses, decode_words, read_headers, split_addresses
from parsers.message import Address
from parsers.message_ids import message_ids


def _msg(raw: bytes) -> Message:
    return email.parser.BytesParser(policy=email.policy.default).parsebytes(raw)


@pytest.mark.parametrize(
    ("encoded", "decoded"),
    [
        ("=?utf-8?q?Gr=C3=BC=C3=9Fe?=", "Grüße"),
        ("=?ISO-8859-1?Q?J=FCrgen_Schm=FCrgen?=", "Jürgen Schmürgen"),
        ("=?gb2312?B?tqm1pc7KzOI=?=", "订单问题"),
        ("=?big5?B?rXGz5rDdw0Q=?=", "訂單問題"),
        ("=?ISO-2022-JP?B?GyRCOCtAUSRiJGokTjdvGyhC?=", "見積もりの件"),
        ("=?utf-8?b?5L2g5aW9?= =?utf-8?b?5LiW55WM?=", "你好世界"),
        ("=?utf-8?B?4oKs?==?utf-8?B?4oKs?=", "€€"),
        ("=?utf-8?b?5L2g?=\r\n =?utf-8?b?5aW9?=", "你好"),
        ("Re: =?utf-8?q?caf=C3=A9?= menu", "Re: café menu"),
        ("=?UTF-8*en?Q?hello?=", "hello"),
    ],
)
def test_encoded_words(encoded: str, decoded: str) -> None:
    defects: list[str] = []
    assert decode_words(encoded.replace("\r\n", ""), defects=defects) == decoded


def test_character_split_across_two_words_survives() -> None:
    first, second = "€".encode()[:1], "€".encode()[1:]
    words = [f"=?utf-8?b?{base64.b64encode(b).decode()}?=" for b in (first, second)]
    assert decode_words(" ".join(words), defects=[]) == "€"


@pytest.mark.parametrize(
    "broken",
    ["=?utf-8?b?!!!?=", "=?utf-8?b?QUJDR?="],
)
def test_broken_encoded_word_is_kept_literally_and_reported(broken: str) -> None:
    defects: list[str] = []
    assert decode_words(f"x {broken} y", defects=defects) == f"x {broken} y"
    assert defects and "broken encoded-word" in defects[0]


def test_unterminated_encoded_word_is_kept_and_reported() -> None:
    defects: list[str] = []
    assert decode_words("=?utf-8?q?never_ends", defects=defects) == "=?utf-8?q?never_ends"
    assert defects


def test_unknown_charset_in_encoded_word_falls_back() -> None:
    defects: list[str] = []
    assert decode_words("=?x-unknown?q?Gr=C3=BC=C3=9Fe?=", defects=defects) == "Grüße"
    assert defects


def test_control_characters_removed_from_decoded_text() -> None:
    assert decode_words("=?utf-8?q?a=00b=0Ac?=", defects=[]) == "ab c"


def test_read_headers_basic_fields() -> None:
    head = read_headers(
        _msg(
            b"From: =?utf-8?q?Ren=C3=A9e?= <RENEE@Example.COM>\r\n"
            b'To: a@x.org, "Doe, John" <john@x.org>\r\n'
            b"To: second@x.org\r\n"
            b"Cc: Team: c@x.org, d@x.org;\r\n"
            b"Reply-To: <help@x.org>\r\n"
            b"Subject: Re: =?utf-8?q?caf=C3=A9?=\r\n  menu\r\n"
            b"Date: Tue, 4 Sep 2012 13:35:00 +0200\r\n"
            b"Message-ID: <abc@x.org>\r\n"
            b"In-Reply-To: <prev@x.org>\r\n"
            b"References: <one@x.org>\r\n <two@x.org> <one@x.org>\r\n"
            b"\r\nbody\r\n"
        )
    )
    assert head.from_ == Address("Renée", "renee@example.com")
    assert head.to == (
        Address("", "a@x.org"),
        Address("Doe, John", "john@x.org"),
        Address("", "second@x.org"),
    )
    assert [a.address for a in head.cc] == ["c@x.org", "d@x.org"]
    assert head.reply_to == (Address("", "help@x.org"),)
    assert head.subject == "Re: café menu"
    assert head.date == datetime(2012, 9, 4, 11, 35, tzinfo=UTC)
    assert head.message_id == "<abc@x.org>"
    assert head.in_reply_to == ("<prev@x.org>",)
    assert head.references == ("<one@x.org>", "<two@x.org>")
    assert ("Subject", "Re: café menu") in head.all


def test_raw_8bit_headers_use_utf8_then_the_body_charset() -> None:
    utf8 = read_headers(_msg("Subject: Grüße\nFrom: Jürgen <j@x.de>\n\nx".encode()))
    assert utf8.subject == "Grüße"
    assert utf8.from_ == Address("Jürgen", "j@x.de")
    raw = "Subject: 订单问题\nContent-Type: text/plain; charset=gb2312\n\nx".encode("gb2312")
    assert read_headers(_msg(raw)).subject == "订单问题"
    latin = "Subject: Die Frösche\nContent-Type: text/plain; charset=latin1\n\n".encode("latin-1")
    assert read_headers(_msg(latin)).subject == "Die Frösche"


@pytest.mark.parametrize(
    "date",
    ["", "garbage", "Mon, 32 Foo 2020 99:99:99 +0000", "Tue, 4 Sep 10000 13:35:00 +0200"],
)
def test_broken_dates_are_none(date: str) -> None:
    head = read_headers(_msg(f"From: a@b.c\nDate: {date}\n\nx".encode()))
    assert head.date is None


def test_missing_date_is_none_without_defect_and_naive_date_is_utc() -> None:
    assert read_headers(_msg(b"From: a@b.c\n\nx")).date is None
    naive = read_headers(_msg(b"Date: 4 Sep 2012 13:35:00\n\nx")).date
    assert naive == datetime(2012, 9, 4, 13, 35, tzinfo=UTC)
    iso = read_headers(_msg(b"Date: 2012-09-04T13:35:00+02:00\n\nx")).date
    assert iso == datetime(2012, 9, 4, 11, 35, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("alice@example.com <bob@example.com>", [("alice@example.com", "bob@example.com")]),
        ("=?UTF-8?B?bm9yZXBseUBiYW5rLmV4?=", [("", "noreply@bank.ex")]),
        ("=?UTF-8?B?dG9ueUBleC5jb20=?= <tony@ex.com>", [("", "tony@ex.com")]),
        ("Foo Bar <foo@bar.com>>", [("Foo Bar", "foo@bar.com")]),
        ("foo bar@x.com", [("foo", "bar@x.com")]),
        ("undisclosed-recipients:;", []),
        ("a@b.c (Comment Name)", [("Comment Name", "a@b.c")]),
        ('"=?utf-8?q?Doe=2C_J?=" <j@x.com>', [("Doe, J", "j@x.com")]),
        ("=?iso-8859-1?Q?Last=DFName=2C_First?= <c@x.com>", [("Lastßname, First", "c@x.com")]),
    ],
)
def test_address_oddities(value: str, expected: list[tuple[str, str]]) -> None:
    got = [(a.name, a.address) for a in addresses([value])]
    assert [(n.lower(), a) for n, a in got] == [(n.lower(), a) for n, a in expected]


def test_huge_address_list_does_not_recurse_or_hang() -> None:
    value = ", ".join(f"=?utf-8?q?user{i}?= <u{i}@x.org>" for i in range(3000))
    found = addresses([value])
    assert len(found) == 1000
    assert found[0] == Address("user0", "u0@x.org")


def test_split_addresses_respects_quotes_angles_and_comments() -> None:
    assert split_addresses('"a, b" <x@y>, c@d (e, f), <g@h>') == [
        '"a, b" <x@y>',
        " c@d (e, f)",
        " <g@h>",
    ]


def test_message_ids() -> None:
    assert message_ids("<a@b> <c@d>\t<a@b>") == ("<a@b>", "<c@d>")
    assert message_ids("bare-id@host") == ("<bare-id@host>",)
    assert message_ids("Your message of Monday <x@y>") == ("<x@y>",)
    assert message_ids("") == ()


def test_garbage_header_block_never_raises() -> None:
    raw = (
        b"From: <<<>>>\r\nTo: ,,,;;;\r\nSubject: =?\r\nContent-Type: ;;;==\r\n"
        b"Date: \xff\xfe\r\nMessage-ID: <\r\n\r\nx"
    )
    head = read_headers(_msg(raw))
    assert head.from_ is None
    assert head.subject == "=?"


def test_comment_beside_a_display_name_is_not_part_of_it() -> None:
    msg = _msg(b"From: POSTMASTER (Delivery Robot) <robot@example.org>\n\nx\n")
    assert read_headers(msg).from_ == Address("POSTMASTER", "robot@example.org")


def test_name_that_is_only_a_comment_is_the_name() -> None:
    msg = _msg(b"From: (Delivery Robot) <robot@example.org>\n\nx\n")
    assert read_headers(msg).from_ == Address("Delivery Robot", "robot@example.org")


def test_parentheses_inside_a_quoted_name_are_kept() -> None:
    msg = _msg(b'From: "Ann Lee (Sales)" <ann@example.org>\n\nx\n')
    assert read_headers(msg).from_ == Address("Ann Lee (Sales)", "ann@example.org")


def test_sender_without_domain_is_kept_and_reported() -> None:
    head = read_headers(_msg(b"From: postmaster (Local Robot)\nTo: a@example.org\n\nx\n"))
    assert head.from_ == Address("Local Robot", "postmaster")
    assert "From: address without domain" in head.defects


def test_recipient_without_domain_is_not_an_address() -> None:
    head = read_headers(_msg(b"From: a@example.org\nTo: root\n\nx\n"))
    assert head.to == ()


def test_missing_from_falls_back_to_reply_to() -> None:
    head = read_headers(_msg(b"To: a@example.org\nReply-To: <back@example.net>\n\nx\n"))
    assert head.from_ == Address("", "back@example.net")
    assert "From: no address; sender taken from Reply-To" in head.defects


def test_empty_from_falls_back_to_sender_before_reply_to() -> None:
    raw = b'From: "Bob" <>\nSender: s@example.net\nReply-To: r@example.net\n\nx\n'
    assert read_headers(_msg(raw)).from_ == Address("", "s@example.net")


def test_quoted_local_part_with_blanks_is_one_address() -> None:
    head = read_headers(_msg(b'From: "Lucky Winner Desk"@example.org>\n\nx\n'))
    assert head.from_ == Address("", '"lucky winner desk"@example.org')
    assert not any("malformed" in defect for defect in head.defects)


def test_blanks_inside_angle_brackets_keep_the_whole_address() -> None:
    head = read_headers(_msg(b'From: "Promo" <big sale team@example.org>\n\nx\n'))
    assert head.from_ == Address("Promo", "big sale team@example.org")
    assert "From: malformed address" in head.defects


def test_unbracketed_name_and_address_are_split() -> None:
    head = read_headers(_msg(b"From: Carla carla@example.org\n\nx\n"))
    assert head.from_ == Address("Carla", "carla@example.org")


def test_raw_gb2312_header_under_a_latin1_wrapper_uses_the_inner_charset() -> None:
    subject = "转发：报价单".encode("gb2312")
    raw = (
        b"From: a@example.org\nSubject: " + subject + b"\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="b"\n\n--b\n'
        b"Content-Type: text/plain; charset=iso-8859-1\n\nreport\n--b\n"
        b"Content-Type: text/plain; charset=gb2312\n\nhello\n--b--\n"
    )
    assert read_headers(_msg(raw), charset_hint="iso-8859-1").subject == "转发：报价单"


def test_raw_latin1_header_keeps_its_latin1_hint() -> None:
    raw = (
        b"From: a@example.org\nSubject: Gr\xfc\xdfe aus K\xf6ln\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="b"\n\n--b\n'
        b"Content-Type: text/plain; charset=iso-8859-1\n\nx\n--b\n"
        b"Content-Type: text/plain; charset=gb2312\n\ny\n--b--\n"
    )
    assert read_headers(_msg(raw), charset_hint="iso-8859-1").subject == "Grüße aus Köln"


def test_raw_koi8r_subject_without_any_charset_is_cyrillic() -> None:
    raw = b"From: a@example.org\nSubject: " + "привет мир".encode("koi8_r") + b"\n\nx\n"
    assert read_headers(_msg(raw), charset_hint="big5hkscs").subject == "привет мир"


def test_raw_utf7_headers_in_a_utf7_mail_are_decoded() -> None:
    raw = (
        b'To: "J+APw-rgen" <j@example.org>\nSubject: Gr+APw-+AN8-e\n'
        b"Message-ID: <a+b-c@example.org>\nContent-Type: text/plain; charset=utf-7\n\nx\n"
    )
    head = read_headers(_msg(raw), charset_hint="utf-7")
    assert head.subject == "Grüße"
    assert head.to == (Address("Jürgen", "j@example.org"),)
    assert head.message_id == "<a+b-c@example.org>"


def test_plus_signs_stay_when_the_mail_is_not_utf7() -> None:
    raw = b"Subject: C+AGs-d and C++ questions\nContent-Type: text/plain\n\nx\n"
    assert read_headers(_msg(raw)).subject == "C+AGs-d and C++ questions"
