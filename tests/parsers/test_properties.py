"""Properties of the whole parse: it never raises on any input, and it takes linear time.

`parse()` may raise only `NotAMailError` (input with no header block); random bytes, mutated
real mails, huge single lines and deep nesting must all give a `ParsedMessage`. Linear time is
checked without wall-clock limits that could flake: each hostile shape is parsed at size n and
4n, best of three, and the ratio must stay far below the 16 that quadratic work would show.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers import NotAMailError, ParsedMessage, parse, parse_head
from parsers.bounce_text import find_addresses, find_status

_HERE = Path(__file__).resolve().parent
_SAMPLES = sorted(
    p for p in _HERE.rglob("*") if p.suffix in {".eml", ".txt"} and p.stat().st_size < 200_000
)
_SEEDS = [p.read_bytes() for p in _SAMPLES if p.read_bytes()[:1] not in {b"", b"#"}]
_BOUNCE_HEAD = (
    b"From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\n"
    b"To: support@example.com\r\nSubject: Undelivered Mail Returned to Sender\r\n"
    b"X-Failed-Recipients: a@example.net\r\n"
)
_PLAIN_HEAD = b"From: Ann <ann@example.com>\r\nTo: support@example.com\r\nSubject: hi\r\n"


def _parse_or_not_a_mail(raw: bytes) -> ParsedMessage | None:
    try:
        message = parse(raw)
    except NotAMailError:
        return None
    message.to_json()
    return message


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_random_bytes_never_raise(raw: bytes) -> None:
    _parse_or_not_a_mail(raw)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_random_bodies_under_a_header_never_raise(body: bytes) -> None:
    assert _parse_or_not_a_mail(_BOUNCE_HEAD + b"\r\n" + body) is not None
    assert _parse_or_not_a_mail(_PLAIN_HEAD + b"\r\n" + body) is not None


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    """A real sample with a few byte-level edits: flips, cuts, insertions, repeated slices."""
    raw = bytearray(draw(st.sampled_from(_SEEDS)))
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        if not raw:
            break
        at = draw(st.integers(min_value=0, max_value=len(raw) - 1))
        edit = draw(st.sampled_from(["flip", "cut", "insert", "repeat", "truncate"]))
        if edit == "flip":
            raw[at] = draw(st.integers(min_value=0, max_value=255))
        elif edit == "cut":
            del raw[at : at + draw(st.integers(min_value=1, max_value=200))]
        elif edit == "insert":
            raw[at:at] = draw(
                st.sampled_from(
                    [b"\r\n", b"\n\n", b"--", b"=?utf-8?b?", b"<", b"@", b":", b"\x00", b"\xff"]
                )
            )
        elif edit == "repeat":
            raw[at:at] = raw[at : at + 64] * draw(st.integers(min_value=2, max_value=50))
        else:
            del raw[at:]
    return bytes(raw)


@pytest.mark.skipif(not _SEEDS, reason="no samples copied beside the tests")
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated())
def test_mutated_real_mails_never_raise(raw: bytes) -> None:
    _parse_or_not_a_mail(raw)


def _starts_with_header(raw: bytes) -> bool:
    first = raw.lstrip(b"\r\n").split(b"\n", 1)[0]
    name, colon, _ = first.partition(b":")
    return bool(colon) and 0 < len(name) <= 76 and all(33 <= b <= 126 for b in name)


def test_every_sample_mail_parses() -> None:
    mails = [raw for raw in _SEEDS if _starts_with_header(raw)]
    assert len(mails) >= 20
    for raw in mails:
        assert _parse_or_not_a_mail(raw) is not None


def _deep(levels: int) -> bytes:
    parts = [_PLAIN_HEAD, b"MIME-Version: 1.0\r\n"]
    for level in range(levels):
        parts.append(
            f'Content-Type: multipart/mixed; boundary="b{level}"\r\n\r\n--b{level}\r\n'.encode()
        )
    parts.append(b"Content-Type: text/plain\r\n\r\ndeep text\r\n")
    for level in reversed(range(levels)):
        parts.append(f"--b{level}--\r\n".encode())
    return b"".join(parts)


def _deep_messages(levels: int) -> bytes:
    inner = _PLAIN_HEAD + b"\r\ninnermost\r\n"
    for _ in range(levels):
        inner = _BOUNCE_HEAD + b"Content-Type: message/rfc822\r\n\r\n" + inner
    return inner


def test_deep_nesting_parses() -> None:
    assert _parse_or_not_a_mail(_deep(300)) is not None
    assert _parse_or_not_a_mail(_deep_messages(150)) is not None


def test_one_megabyte_single_line_body_parses() -> None:
    for head in (_BOUNCE_HEAD, _PLAIN_HEAD):
        message = _parse_or_not_a_mail(head + b"\r\n" + b"<a@b.c>: 5.1." * 80_000)
        assert message is not None


_HOSTILE: dict[str, Callable[[int], bytes]] = {
    "addresses in a bounce": lambda n: _BOUNCE_HEAD + b"\r\n" + b"a@" * (n // 2),
    "angle brackets": lambda n: _BOUNCE_HEAD + b"\r\n" + b"<" * n,
    "status-like digits": lambda n: _BOUNCE_HEAD + b"\r\n" + b"5.5." * (n // 4),
    "spaces then x": lambda n: _PLAIN_HEAD + b"\r\n" + b" " * n + b"x",
    "quote markers": lambda n: _PLAIN_HEAD + b"\r\n" + b"> " * (n // 2),
    "long subject": lambda n: b"Subject: " + b"Re: " * (n // 4) + b"\r\n" + _PLAIN_HEAD + b"\r\nx",
    "many recipients": lambda n: b"To: " + b"a@b.c, " * (n // 7) + b"\r\n" + _PLAIN_HEAD + b"\r\nx",
    "delivery status": lambda n: (
        _BOUNCE_HEAD
        + b'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        + b"--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        + b"Final-Recipient: rfc822; " * (n // 25)
        + b"\r\n--B--\r\n"
    ),
}


def _best_of_three(raw: bytes) -> float:
    times = []
    for _ in range(3):
        start = time.perf_counter()
        _parse_or_not_a_mail(raw)
        times.append(time.perf_counter() - start)
    return min(times)


def _ratio(build: Callable[[int], bytes], size: int) -> float:
    return _best_of_three(build(4 * size)) / max(_best_of_three(build(size)), 1e-4)


@pytest.mark.parametrize("shape", sorted(_HOSTILE))
def test_parse_time_grows_linearly(shape: str) -> None:
    ratio = _ratio(_HOSTILE[shape], 200_000)
    assert ratio < 10, f"{shape}: 4x input took {ratio:.1f}x the time"


def test_html_with_unclosed_tags_grows_linearly() -> None:
    def build(n: int) -> bytes:
        return _PLAIN_HEAD + b"Content-Type: text/html\r\n\r\n" + b"<div " * (n // 5)

    ratio = _ratio(build, 50_000)
    assert ratio < 10, f"unclosed tags: 4x input took {ratio:.1f}x the time"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=3000))
def test_scanners_accept_any_text(text: str) -> None:
    for address in find_addresses(text):
        assert "@" in address
        assert address == address.lower()
    status = find_status(text)
    assert status is None or status[0] in "245"


def test_a_mime_parameter_the_standard_library_crashes_on_still_parses() -> None:
    """Found by the property above: `charset*` with nothing after it raises IndexError inside
    Python 3.11's header parser; the mail is read without its MIME fields instead."""
    raw = (
        b"From: Anne Person <aperson@example.com>\nTo: support@desk.test\nSubject: Help\n"
        b"Mime-Version: 1.0\nContent-Type: text/plain; charset*\n\nThe printer is on fire.\n"
    )
    for message in (parse(raw), parse_head(raw)):
        assert message.from_ is not None and message.from_.address == "aperson@example.com"
        assert message.subject == "Help"
    assert parse(raw).body == "The printer is on fire."
    assert any("MIME parser failed (IndexError)" in d for d in parse(raw).defects)
