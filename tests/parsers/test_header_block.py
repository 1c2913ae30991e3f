"""Header block repair: folds without their leading blank become continuation lines."""

from __future__ import annotations

import email.parser
import email.policy

from parsers.header_block import repair_folding
from parsers.headers import read_headers
from parsers.message import Address

BROKEN = (
    b"Return-Path: <ann@example.org>\r\n"
    b"X-Tracker: H4sIAAAAAAAAA+NgFlrIKsWRWlGS\r\n"
    b"Ig5drOCwmrVzP5sDoseXbDeYAxij\r\n"
    b"Received: from relay.example.org\r\n"
    b"by mx.example.net with ESMTP\r\n"
    b"From: Ann <ann@example.org>\r\n"
    b"To: desk@example.net\r\n"
    b"Subject: printer broken\r\n"
    b"\r\n"
    b"body line\r\n"
    b"second: line that looks like a field\r\n"
)


def test_broken_folds_become_continuations() -> None:
    repaired = repair_folding(BROKEN)
    msg = email.parser.BytesParser(policy=email.policy.default).parsebytes(repaired)
    head = read_headers(msg)
    assert head.from_ == Address("Ann", "ann@example.org")
    assert head.subject == "printer broken"
    assert [name for name, _ in head.all][-3:] == ["From", "To", "Subject"]
    assert msg.get_content() == "body line\r\nsecond: line that looks like a field\r\n"


def test_body_after_a_missing_blank_line_is_left_alone() -> None:
    raw = b"From: a@example.org\nSubject: hi\nthis is the body\nno blank line above\n\nmore\n"
    assert repair_folding(raw) is raw


def test_well_formed_mail_is_returned_as_is() -> None:
    raw = b"From a@example.org Mon Jan  1 00:00:00 2024\nFrom: a@example.org\n\tx\n\nbody\n"
    assert repair_folding(raw) is raw


def test_block_without_end_is_returned_as_is() -> None:
    raw = b"From: a@example.org\n" + b"junk\nX-A: b\n" * 400
    assert repair_folding(raw) is raw
