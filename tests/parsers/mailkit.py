"""Helpers for the auto/bounce tests: parse a sample or a literal mail into (message, headers)."""

from __future__ import annotations

import email.parser
import email.policy
from email.message import EmailMessage
from pathlib import Path

from parsers import parse
from parsers.headers import Headers, read_headers
from parsers.message import AutoVerdict

SAMPLES = Path(__file__).resolve().parent / "bounces"


def message(raw: bytes) -> tuple[EmailMessage, Headers]:
    msg = email.parser.BytesParser(policy=email.policy.default).parsebytes(raw)
    assert isinstance(msg, EmailMessage)
    return msg, read_headers(msg)


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def verdict(raw: bytes) -> AutoVerdict:
    """The auto layer's verdict, given the text as `parse` gives it (the whole mail's)."""
    return parse(raw).auto


def mail(headers: str, body: str = "Hello,\n\nplease help.\n") -> bytes:
    """A small mail from header lines (one per line, no trailing blank line) and a body."""
    lines = headers.strip("\n").splitlines()
    return ("\r\n".join(line.strip() for line in lines) + "\r\n\r\n" + body).encode()
