"""Intake: the one durable first step every source takes with a mail.

`store()` commits the raw bytes and where they were seen, in one transaction, before the source
acknowledges the mail (moves or flags it on the server, deletes the Maildir file, exits 0 to the
MTA). Two keys make a replay a no-op: the receipt (source, source key — for IMAP
"UIDVALIDITY:UID") and the message key (Message-ID, or a hash of the raw bytes where it is
missing), so the same mail seen in two watched mailboxes is stored, and becomes a ticket, once.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon.errors import ConflictError, StorageError
from daemon.storage.database import Database
from daemon.storage.models import Inbound, InboundState, Receipt

_MESSAGE_ID = re.compile(
    rb"^message-id[ \t]*:[ \t]*(?:\r?\n[ \t]+)?(<[^<>\s]{1,250}>)", re.IGNORECASE | re.MULTILINE
)
_HEADER_END = re.compile(rb"\r?\n\r?\n")


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
        return {
            "mail_from": self.mail_from,
            "rcpt_to": list(self.rcpt_to),
            **self.extra,
        }


@dataclass(frozen=True, slots=True)
class Stored:
    """What `store()` did: the inbound row, and whether this call created it."""

    inbound_id: int
    created: bool
    duplicate_of_receipt: bool


def message_key(raw: bytes) -> str:
    """Message-ID from the header block, or a SHA-256 of the bytes where there is none."""
    match = _HEADER_END.search(raw)
    head = raw[: match.start()] if match else raw[:65536]
    found = _MESSAGE_ID.search(head)
    if found:
        return "mid:" + found.group(1).decode("ascii", "replace")
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def store(db: Database, raw: bytes, envelope: Envelope) -> Stored:
    """Commit the raw mail and its receipt; idempotent under replays and races."""
    for _attempt in range(3):
        try:
            with db.transaction() as session:
                return _store(session, raw, envelope)
        except ConflictError:
            continue  # another process stored the same mail between our look-up and insert
    raise StorageError("could not store mail: repeated key conflicts")


def _store(session: Session, raw: bytes, envelope: Envelope) -> Stored:
    if envelope.source_key is not None:
        seen = session.scalar(
            select(Receipt.inbound_id).where(
                Receipt.source == envelope.source, Receipt.source_key == envelope.source_key
            )
        )
        if seen is not None:
            return Stored(inbound_id=seen, created=False, duplicate_of_receipt=True)
    key = message_key(raw)
    inbound = session.scalar(select(Inbound).where(Inbound.message_key == key))
    created = inbound is None
    if inbound is None:
        inbound = Inbound(
            message_key=key,
            raw=raw,
            size=len(raw),
            source=envelope.source,
            received_at=envelope.received_at,
            state=InboundState.STORED,
            attempts=0,
        )
        session.add(inbound)
        session.flush()
    session.add(
        Receipt(
            source=envelope.source,
            source_key=envelope.source_key or f"{key}@{envelope.received_at.isoformat()}",
            inbound_id=inbound.id,
            received_at=envelope.received_at,
            envelope=envelope.to_json(),
        )
    )
    return Stored(inbound_id=inbound.id, created=created, duplicate_of_receipt=False)
