"""Outgoing mail as a row: written in the transaction of the change that caused it."""

from __future__ import annotations

from datetime import datetime

from daemon.storage.models import Outbox, OutboxState
from parsers.address_parts import address_key


def outbox_row(
    *,
    ticket_id: int | None,
    kind: str,
    message_id: str,
    envelope_from: str,
    recipients: tuple[str, ...],
    raw: bytes,
    now: datetime,
) -> Outbox:
    """A mail to send, with its first recipient normalised for the acknowledgement limits."""
    key = address_key(recipients[0]) if recipients else ""
    return Outbox(
        ticket_id=ticket_id,
        kind=kind,
        message_id=message_id,
        envelope_from=envelope_from,
        recipients=list(recipients),
        to_key=key,
        to_domain=key.rpartition("@")[2],
        raw=raw,
        state=OutboxState.PENDING,
        attempts=0,
        next_attempt_at=now,
        refused={},
        created_at=now,
    )
