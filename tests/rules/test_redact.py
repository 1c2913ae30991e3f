from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.redact import ADDRESS, redact

NAMES = ("Alice Smith", "王小明", "Bob O'Neil")


@pytest.mark.parametrize(
    ("text", "expected", "kind"),
    [
        ("write to alice.smith@example.com today", "write to [address] today", "address"),
        ("Grüße an jürgen@bücher.de", "Grüße an [address]", "address"),
        ("call +49 30 1234567 now", "call [phone] now", "phone"),
        ("call +1 (555) 123-4567.", "call [phone].", "phone"),
        ("call 0049 30 1234567", "call [phone]", "phone"),
        ("Tel. 030 1234567", "Tel. [phone]", "phone"),
        ("Tel. (030) 123 45 67", "Tel. [phone]", "phone"),
        ("call 555-123-4567", "call [phone]", "phone"),
        ("手机 13800138000 联系", "手机 [phone] 联系", "phone"),
        ("password: hunter2", "password: [secret]", "secret"),
        ("Passwort = geheim99", "Passwort = [secret]", "secret"),
        ("token=abc123", "token=[secret]", "secret"),
        (
            "reset at https://x.example/r?token=abc123&user=5#top",
            "reset at https://x.example/r?token=[secret]&user=5#top",
            "secret",
        ),
        ("password: a&b9x", "password: [secret]", "secret"),  # outside a URL, & is kept in
        ("llame al 612 345 678", "llame al [phone]", "phone"),  # 3-3-3: a Spanish mobile
        ("call 555 123 4567", "call [phone]", "phone"),
        ('api_key: "sk live 123"', "api_key: [secret]", "secret"),
        ("密码：abc123，请改", "密码：[secret]，请改", "secret"),
        ("Authorization: Bearer abc.def-123_x", "Authorization: Bearer [secret]", "secret"),
        ("key AKIAIOSFODNN7EXAMPLE set", "key [secret] set", "secret"),
        ("id aB3dE5gH7jK9mN1pQ3sT5vX7 set", "id [secret] set", "secret"),
        ("jwt eyJhbGciOi.eyJzdWIiOi.SflKxwRJSM", "jwt [secret]", "secret"),
        ("host 192.168.1.20 down", "host [ip] down", "ip"),
        ("host fe80::1 and", "host [ip] and", "ip"),
        ("at 2001:db8::8a2e:370:7334.", "at [ip].", "ip"),
        ("Hi Alice, fixed.", "Hi [name], fixed.", "name"),
        ("thanks SMITH", "thanks [name]", "name"),
        ("王小明的电脑", "[name]的电脑", "name"),
    ],
)
def test_each_kind_is_replaced_by_its_marker(text: str, expected: str, kind: str) -> None:
    result = redact(text, names=NAMES)
    assert result.text == expected
    assert result.counts == {kind: 1}


@pytest.mark.parametrize(
    "text",
    [
        "released on 2026-12-03 at 12:30:45",
        "on 03.12.2026 and 12/03/2026",
        "version 10.0.19045.1234 and v1.2.3.4",
        "see ticket #123456789 and order 12345678",
        "the basic troubleshooting steps and a bearer of news",
        "configuration_file_internationalisation stays",
        "Alison and Alicea are other people",
        "a ratio 3:2 and 999.1.1.1",
        "Invoice 2024-118 charged twice, order 4711-20931",
        "we refunded 1 000 000 JPY and 12 345 678 EUR",
        "USD 150 000 000 raised, ¥ 300 000 000 spent, 250 000 000 元",
        "a table of 1 234 567 rows",
    ],
)
def test_lookalikes_are_kept(text: str) -> None:
    result = redact(text, names=NAMES)
    assert result.text == text
    assert result.total == 0


def test_counts_add_up_over_kinds() -> None:
    text = "Alice (alice@x.org, +44 20 7946 0958) gave password: pw1 from 10.0.0.7; Alice again"
    result = redact(text, names=NAMES)
    assert result.counts == {"name": 2, "address": 1, "phone": 1, "secret": 1, "ip": 1}
    assert "alice@x.org" not in result.text and "pw1" not in result.text


def test_an_address_wins_over_the_name_inside_it() -> None:
    result = redact("from alice@smith.example", names=("Alice Smith",))
    assert result.text == "from [address]"


_pieces = st.sampled_from(
    ["a@b.co", "x.y+z@example.org", "@", ".", " ", "Alice", "+49 30 1234567", "[", "]", "pw"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=20), _pieces), max_size=30), st.lists(st.text()))
def test_never_raises_and_no_address_survives(parts: list[str], names: list[str]) -> None:
    result = redact("".join(parts), names=names)
    assert ADDRESS.search(result.text) is None
    assert all(count > 0 for count in result.counts.values())
