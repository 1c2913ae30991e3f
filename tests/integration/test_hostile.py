"""Hostile input through the whole pipeline (store, process, send), on SQLite and PostgreSQL.

Every value a stranger controls that reaches a column is pushed past its limits of size, range
and bytes. None may stop the desk: each mail ends as a ticket, a note, ignored or quarantined
(with its raw bytes), and afterwards a normal mail from another sender is processed and its
acknowledgement reaches the relay. The relay offers SMTPUTF8, as modern relays do.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from datetime import timedelta
from importlib.resources import files
from pathlib import Path

import pytest
from sqlalchemy import select

from daemon.service import Daemon
from daemon.storage import intake
from daemon.storage.database import Database
from daemon.storage.models import Engineer, Inbound, InboundState, Outbox, OutboxState, Ticket
from tests.integration.desk import in_process_daemon
from tests.support.smtp import SmtpRelay
from tests.unit.conftest import Clock

LONG = "x" * 5000


def headers(*lines: str, body: bytes = b"Hello, I need help.\r\n") -> bytes:
    head = "\r\n".join(lines).encode("utf-8", "surrogateescape")
    return head + b"\r\n\r\n" + body


def base(
    subject: str = "Help", sender: str = "ann@cust.test", mid: str = "<h@cust.test>"
) -> list[str]:
    return [f"From: {sender}", "To: support@desk.test", f"Subject: {subject}", f"Message-ID: {mid}"]


def multipart(parts: list[str]) -> bytes:
    body = "".join(f"--b\r\n{p}\r\n" for p in parts) + "--b--\r\n"
    return headers(
        *base("parts", mid="<parts@cust.test>"),
        "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="b"',
        body=body.encode(),
    )


def nested(depth: int) -> bytes:
    body = ""
    for level in range(depth):
        body += f'--n{level}\r\nContent-Type: multipart/mixed; boundary="n{level + 1}"\r\n\r\n'
    body += "deep text\r\n" + "".join(f"--n{level}--\r\n" for level in reversed(range(depth)))
    return headers(
        *base("deep", mid="<deep@cust.test>"),
        "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="n0"',
        body=body.encode(),
    )


HOSTILE: dict[str, bytes] = {
    "tag out of range": headers(*base("Re: [#99999999999] printer", mid="<t1@c.test>")),
    "tag at the int32 edge": headers(*base("Re: [#2147483648] printer", mid="<t2@c.test>")),
    "tag zero": headers(*base("Re: [#0] printer", mid="<t3@c.test>")),
    "long local part": headers(*base(sender=f"{'l' * 400}@cust.test", mid="<t4@c.test>")),
    "long display name": headers(*base(sender=f'"{LONG}" <name@cust.test>', mid="<t5@c.test>")),
    "long domain": headers(*base(sender=f"d@{'d' * 300}.test", mid="<t6@c.test>")),
    "long message-id": headers(*base(mid=f"<{'m' * 2000}@cust.test>")),
    "long in-reply-to": headers(*base(mid="<t7@c.test>"), f"In-Reply-To: <{'r' * 3000}@x>"),
    "many references": headers(
        *base(mid="<t8@c.test>"), "References: " + " ".join(f"<r{i}@x>" for i in range(20000))
    ),
    "nul in subject": headers(*base("bad\x00subject", mid="<t9@c.test>")),
    "nul in name": headers(*base(sender='"A\x00nn" <nul@cust.test>', mid="<t10@c.test>")),
    "nul in body": headers(*base(mid="<t11@c.test>"), body=b"he\x00llo\r\n"),
    "raw 8-bit subject": headers(*base(mid="<t12@c.test>")).replace(b"Help", b"\xff\xfe\x80 x"),
    "undecodable encoded word": headers(
        *base("=?utf-8?b?/w==?= =?x-unknown?q?abc?=", mid="<t13@c.test>")
    ),
    "huge subject": headers(*base("S" * 100_000, mid="<t14@c.test>")),
    "long filename and type": multipart(
        [
            f'Content-Type: application/{"t" * 500}; name="{"f" * 5000}.pdf"\r\n'
            f"Content-ID: <{'c' * 2000}@x>\r\n"
            f'Content-Disposition: attachment; filename="{"f" * 5000}\x00.pdf"\r\n\r\nAAAA'
        ]
    ),
    "thousands of parts": multipart(
        [f"Content-Type: text/plain\r\n\r\npart {i}" for i in range(3000)]
    ),
    "deep nesting": nested(1000),
    "international sender": headers(*base(sender="jdöe@mächine.example", mid="<t15@c.test>")),
    "empty sender": headers(
        "From: <>", "To: support@desk.test", "Subject: who", "Message-ID: <t16@c.test>"
    ),
    "group sender": headers(
        "From: undisclosed-recipients:;",
        "To: support@desk.test",
        "Subject: group",
        "Message-ID: <t17@c.test>",
    ),
    "huge header line": headers(*base(mid="<t18@c.test>"), "X-Junk: " + "j" * 1_000_000),
    "not a mail": b"\x00\x01\x02\xff binary junk",
    "facts full of nul": headers(
        *base("urgent invoice \x00 login", mid="<t19@c.test>"),
        body=b"Customer: \x00AC\x00ME\r\nEnvironment: " + b"\x00" * 5000 + b"\r\n",
    ),
    "a megabyte of facts": headers(
        *base("API down", mid="<t20@c.test>"),
        body=b"Environment: " + b"e" * 1_000_000 + b"\r\nSteps\r\n" + b"step\r\n" * 50_000,
    ),
    "engineer away forever": headers(
        *base("Automatic reply", sender="eve@desk.test", mid="<t21@c.test>"),
        "Auto-Submitted: auto-replied",
        body=b"I am back on 31/02/9999 until 99.99. and back " + b"tomorrow " * 20_000,
    ),
}


@pytest.fixture
def relay() -> Iterator[SmtpRelay]:
    with SmtpRelay(None) as server:
        yield server


def starter_rules() -> dict[str, object]:
    """The rule tables of `replydesk init`'s starter config, and a team to assign to."""
    starter = tomllib.loads(files("daemon").joinpath("starter.toml").read_text(encoding="utf-8"))
    team = [
        {"name": "Eve", "address": "eve@desk.test", "skills": ["billing", "api", "login"]},
        {"name": "Max", "address": "max@desk.test", "tier": 2, "days": ["sat", "sun"]},
    ]
    return {
        "rules": starter["rules"],
        "calendars": starter["calendars"],
        "sla": starter["sla"],
        "engineers": team,
    }


def desk(
    tmp_path: Path, db_url: str, relay: SmtpRelay, *, rules: bool = False
) -> tuple[Daemon, Database]:
    daemon = in_process_daemon(
        tmp_path,
        db_url,
        relay,
        clock=Clock(),
        runners={"quarantine_retry_seconds": 0},
        **(starter_rules() if rules else {}),
    )
    return daemon, daemon.db


@pytest.mark.parametrize("rules", [False, True], ids=["no-rules", "starter-rules"])
def test_hostile_mail_never_stalls_the_desk(
    tmp_path: Path, db_url: str, relay: SmtpRelay, rules: bool
) -> None:
    daemon, db = desk(tmp_path, db_url, relay, rules=rules)
    clock = Clock()
    ids = {
        name: intake.store(
            db,
            raw,
            intake.Envelope(source=f"pipe-{'s' * 60}", received_at=clock(), rcpt_to=("a\x00b@x",)),
        ).inbound_id
        for name, raw in HOSTILE.items()
    }
    normal = headers(*base("My printer is on fire", sender="bob@other.test", mid="<ok@o.test>"))
    ok_id = intake.store(db, normal, intake.Envelope(source="pipe", received_at=clock())).inbound_id
    outcomes, _jobs, sent = daemon.drain()

    handled = {o.inbound_id for o in outcomes}
    assert set(ids.values()) | {ok_id} <= handled
    with db.read() as session:
        rows = {row.id: row for row in session.scalars(select(Inbound))}
        assert all(row.state != InboundState.STORED for row in rows.values())
        assert all(row.holder_id is None for row in rows.values())
        for name, inbound_id in ids.items():
            assert rows[inbound_id].raw == HOSTILE[name], name  # nothing lost, byte for byte
        assert rows[ok_id].state == InboundState.DONE
        ticket = session.get_one(Ticket, rows[ok_id].ticket_id)
        assert ticket.subject == "My printer is on fire"
        quarantined = {n for n, i in ids.items() if rows[i].state == InboundState.QUARANTINED}
        assert quarantined <= {"not a mail"}, quarantined
        outbox = session.scalars(select(Outbox)).all()
        assert all(row.state == OutboxState.SENT for row in outbox), [
            (row.recipients, row.last_error) for row in outbox if row.state != OutboxState.SENT
        ]
    assert sent.failed == 0
    if rules:
        with db.read() as session:
            nul = session.get_one(Ticket, rows[ids["facts full of nul"]].ticket_id)
            assert nul.severity == 1 and nul.category == "billing"
            assert "\x00" not in nul.facts.get("customer", "") and nul.facts["customer"]
            big = session.get_one(Ticket, rows[ids["a megabyte of facts"]].ticket_id)
            assert all(len(v) <= 500 for v in big.facts.values())
            eve = session.scalars(select(Engineer).where(Engineer.address == "eve@desk.test")).one()
            assert eve.away_until is not None
            assert eve.away_until - clock() <= timedelta(days=367)
    received = {tuple(e.rcpt_tos) for e in relay.received()}
    assert ("bob@other.test",) in received
    assert ("jdöe@mächine.example",) in received
    db.dispose()


def test_an_out_of_range_tag_matches_no_ticket(
    tmp_path: Path, db_url: str, relay: SmtpRelay
) -> None:
    daemon, db = desk(tmp_path, db_url, relay)
    clock = Clock()
    for n, ref in enumerate(("99999999999", "2147483648", "-5", "0" * 50 + "1")):
        raw = headers(*base(f"Re: [#{ref}] printer", mid=f"<r{n}@c.test>"))
        intake.store(db, raw, intake.Envelope(source="pipe", received_at=clock()))
    outcomes, _jobs, _sent = daemon.drain()
    assert [o.action for o in outcomes] == ["new_ticket"] * 4
    db.dispose()
