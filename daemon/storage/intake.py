"""Intake: the one durable first step every source takes with a mail.

`store()` commits the raw bytes and where they were seen, in one transaction, before the source
acknowledges the mail (moves or flags it on the server, moves the Maildir file, exits 0 to the
MTA). Two keys make a replay a no-op:

- the receipt (source, source key): for IMAP "UIDVALIDITY:UID", for a Maildir the file name and
  a hash of its bytes (a reused name with other bytes is another mail);
- the message key: a fingerprint of the content with the trace headers each delivery adds
  dropped (`parsers.fingerprint`), so one mail delivered to two watched mailboxes, or twice with
  other line ends, is stored once and becomes one ticket.

The Message-ID is kept beside the key, not as it: a second mail with a reused Message-ID and
other content is a new mail, stored with a note. `store()` is plain SQL over `dbapi.Plain` so
`replydesk ingest` never imports SQLAlchemy; the daemon passes its own pooled connection.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from daemon.errors import ConflictError, StorageError
from daemon.storage.bounded import clean_json, fit, fit_key
from daemon.storage.dbapi import Plain, from_database
from parsers.fingerprint import fingerprint
from parsers.message_ids import head_message_id

if TYPE_CHECKING:
    from daemon.storage.database import Database

ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Envelope:
    """Transport facts about one mail: where it came from and when."""

    source: str
    received_at: datetime
    source_key: str | None = None
    mail_from: str | None = None
    rcpt_to: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"mail_from": self.mail_from, "rcpt_to": list(self.rcpt_to), **self.extra}


@dataclass(frozen=True, slots=True)
class Stored:
    """What `store()` did: the inbound row, and whether this call created it."""

    inbound_id: int
    created: bool
    duplicate_of_receipt: bool


def message_key(raw: bytes) -> str:
    return "fp:" + fingerprint(raw)


def store(db: Plain | Database, raw: bytes, envelope: Envelope) -> Stored:
    """Commit the raw mail and its receipt; idempotent under replays and races."""
    if isinstance(db, Plain):
        return _store_plain(db, raw, envelope)
    plain = from_database(db)
    try:
        return _store_plain(plain, raw, envelope)
    finally:
        plain.close()


def _store_plain(db: Plain, raw: bytes, envelope: Envelope) -> Stored:
    key = message_key(raw)
    message_id = head_message_id(raw)
    for _attempt in range(ATTEMPTS):
        try:
            with db.transaction():
                return _store(db, raw, envelope, key, message_id)
        except ConflictError:
            continue  # another process stored the same mail between our look-up and insert
    raise StorageError("could not store mail: repeated key conflicts")


def _store(db: Plain, raw: bytes, envelope: Envelope, key: str, message_id: str | None) -> Stored:
    source = fit(envelope.source, 40)
    own_key = f"{key}@{envelope.received_at.isoformat()}#{secrets.token_hex(6)}"
    source_key = fit_key(envelope.source_key or own_key, 300)
    if envelope.source_key is not None:
        seen = db.scalar(
            "SELECT inbound_id FROM receipts WHERE source = :source AND source_key = :key",
            {"source": source, "key": source_key},
        )
        if seen is not None:
            return Stored(inbound_id=seen, created=False, duplicate_of_receipt=True)
    inbound_id = db.scalar("SELECT id FROM inbound WHERE message_key = :key", {"key": key})
    created = inbound_id is None
    if inbound_id is None:
        inbound_id = _insert(db, raw, envelope, key=key, message_id=message_id, source=source)
    db.execute(
        "INSERT INTO receipts (source, source_key, inbound_id, received_at, envelope) "
        "VALUES (:source, :key, :inbound, :at, :envelope)",
        {
            "source": source,
            "key": source_key,
            "inbound": inbound_id,
            "at": db.time(envelope.received_at),
            "envelope": db.json(clean_json(envelope.to_json(), text=2000, items=100)),
        },
    )
    return Stored(inbound_id=inbound_id, created=created, duplicate_of_receipt=False)


def _insert(
    db: Plain, raw: bytes, envelope: Envelope, *, key: str, message_id: str | None, source: str
) -> int:
    notes = []
    mid = fit_key(message_id, 300) if message_id else None
    if mid is not None:
        earlier = db.scalar(
            "SELECT id FROM inbound WHERE message_id = :mid ORDER BY id LIMIT 1", {"mid": mid}
        )
        if earlier is not None:
            notes.append(
                f"Message-ID {fit(message_id or '', 200)} was already used by inbound "
                f"{earlier}, with other content: stored as a new mail"
            )
    return int(
        db.scalar(
            "INSERT INTO inbound (message_key, message_id, raw, size, source, received_at, "
            "state, attempts, notes, forced) VALUES (:key, :mid, :raw, :size, :source, :at, "
            "'stored', 0, :notes, :forced) RETURNING id",
            {
                "key": key,
                "mid": mid,
                "raw": raw,
                "size": len(raw),
                "source": source,
                "at": db.time(envelope.received_at),
                "notes": db.json(notes),
                "forced": False,
            },
        )
    )
