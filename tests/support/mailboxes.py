"""Helpers for tests that put mail into, and read mail out of, the test Dovecot.

Users exist on first use, so a test isolates itself by taking fresh names from ``MailUsers``.
Dovecot's LMTP prepends ``Return-Path`` and ``Received`` fields; ``without_delivery_headers``
takes them off again to compare a delivered mail with what was sent.
"""

from __future__ import annotations

import itertools
import secrets
import smtplib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from imapclient import IMAPClient

from tests.support.dovecot import Dovecot

DESK_DOMAIN = "example.test"
CUSTOMER_DOMAIN = "customer.test"
_DELIVERY_FIELDS = (b"return-path:", b"delivered-to:")


@dataclass(frozen=True)
class MailUser:
    """A Dovecot login name and the address that delivers to it."""

    login: str
    address: str


@dataclass(frozen=True)
class MailUsers:
    """Fresh users for one test: the support mailbox, two customers and two engineers."""

    support: MailUser
    alice: MailUser
    bob: MailUser
    erin: MailUser
    frank: MailUser

    @property
    def customers(self) -> tuple[MailUser, ...]:
        return (self.alice, self.bob)

    @property
    def engineers(self) -> tuple[MailUser, ...]:
        return (self.erin, self.frank)


_serial = itertools.count(1)


def fresh_user(name: str, *, domain: str = DESK_DOMAIN) -> MailUser:
    """A user nobody has used yet in this Dovecot (``name-<n><random>``)."""
    login = f"{name}-{next(_serial)}{secrets.token_hex(2)}"
    return MailUser(login=login, address=f"{login}@{domain}")


def fresh_users() -> MailUsers:
    return MailUsers(
        support=fresh_user("support"),
        alice=fresh_user("alice", domain=CUSTOMER_DOMAIN),
        bob=fresh_user("bob", domain=CUSTOMER_DOMAIN),
        erin=fresh_user("erin"),
        frank=fresh_user("frank"),
    )


def imap_login(dovecot: Dovecot, user: str) -> IMAPClient:
    """A logged-in client (plain IMAP on loopback); use it as a context manager to log out."""
    client = IMAPClient(dovecot.host, port=dovecot.imap_port, ssl=False, timeout=10)
    client.login(user, dovecot.password)
    return client


def deliver(
    dovecot: Dovecot, raw: bytes, *, to: str, sender: str = f"mailer@{CUSTOMER_DOMAIN}"
) -> None:
    """Deliver ``raw`` to ``to`` over LMTP, as an MTA would (adds Return-Path and Received)."""
    with smtplib.LMTP(dovecot.host, dovecot.lmtp_port, timeout=10) as lmtp:
        refused = lmtp.sendmail(sender, [to], raw)
    if refused:
        raise smtplib.SMTPRecipientsRefused(refused)


def append(dovecot: Dovecot, user: str, raw: bytes, *, folder: str = "INBOX") -> int:
    """Store ``raw`` byte for byte with IMAP APPEND; returns the new UID."""
    with imap_login(dovecot, user) as client:
        reply = client.append(folder, raw)
    return _appended_uid(reply)


def _appended_uid(reply: bytes) -> int:
    """The UID in a reply like ``[APPENDUID <validity> <uid>] Append completed.``"""
    words = reply.split(b"]", 1)[0].split()
    if len(words) >= 3 and words[0].upper() == b"[APPENDUID" and words[2].isdigit():
        return int(words[2])
    raise AssertionError(f"no APPENDUID in the APPEND reply {reply!r}")


def fetch_all(dovecot: Dovecot, user: str, *, folder: str = "INBOX") -> list[bytes]:
    """Every mail in ``folder``, raw, in UID order (fetched by UID: imapclient 4.1 and ``1:*``)."""
    with imap_login(dovecot, user) as client:
        client.select_folder(folder, readonly=True)
        uids = sorted(client.search("ALL"))
        if not uids:
            return []
        fetched = client.fetch(uids, ["BODY.PEEK[]"])
    return [fetched[uid][b"BODY[]"] for uid in uids]


def wait_for_messages(
    dovecot: Dovecot, user: str, count: int, *, folder: str = "INBOX", timeout: float = 10.0
) -> list[bytes]:
    """The mails in ``folder`` once there are at least ``count`` of them (polls)."""
    deadline = time.monotonic() + timeout
    while True:
        raws = fetch_all(dovecot, user, folder=folder)
        if len(raws) >= count:
            return raws
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"{user}/{folder} holds {len(raws)} mail(s) after {timeout} s, wanted {count}"
            )
        time.sleep(0.05)


def make_mail(
    *,
    sender: str,
    to: str,
    subject: str,
    body: str,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> bytes:
    """A realistic RFC 5322 mail (CRLF line ends, Date, Message-ID, MIME headers)."""
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = message_id or make_msgid(domain=sender.rsplit("@", 1)[-1])
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    for name, value in (headers or {}).items():
        del message[name]  # a given header replaces the default one
        message[name] = value
    message.set_content(body)
    return message.as_bytes()


def without_delivery_headers(raw: bytes) -> bytes:
    """``raw`` minus the leading fields Dovecot's LMTP adds (Return-Path, its Received)."""
    lines = raw.splitlines(keepends=True)
    index = 0
    while index < len(lines):
        line = lines[index]
        lowered = line.lower()
        end = index + 1
        while end < len(lines) and lines[end][:1] in (b" ", b"\t"):
            end += 1
        field = b"".join(lines[index:end])
        added_by_lmtp = lowered.startswith(b"received:") and b"with LMTP" in field
        if not (lowered.startswith(_DELIVERY_FIELDS) or added_by_lmtp):
            break
        index = end
    return b"".join(lines[index:])
