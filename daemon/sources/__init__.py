"""Mail sources: IMAP mailboxes, Maildir folders. Each stores a mail, then acknowledges it.

A source does one thing: find mail it has not handed over yet, `intake.store()` it, and only after
that commit, acknowledge it at the source (move or flag on the IMAP server, remove the Maildir
file). Processing the stored mail into tickets happens elsewhere (`daemon.runners.process`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

from daemon.errors import ReplydeskError

log = logging.getLogger(__name__)


class Source(Protocol):
    name: str
    poll_seconds: float

    def poll(self) -> int:
        """Store and acknowledge every waiting mail; return how many were newly stored."""

    def wait(self, stop: threading.Event, timeout: float) -> None:
        """Block until new mail may be waiting (IDLE push), `timeout` passes, or `stop` is set."""

    def close(self) -> None:
        """Release connections; the source may be polled again afterwards (it reconnects)."""


def run_forever(
    source: Source,
    stop: threading.Event,
    *,
    on_stored: Callable[[], None],
    poll_seconds: float = 60.0,
    max_backoff: float = 300.0,
) -> None:
    """A source's thread: poll, wait for news, and reconnect with backoff after failures."""
    backoff = 1.0
    while not stop.is_set():
        try:
            if source.poll():
                on_stored()
            backoff = 1.0
            source.wait(stop, poll_seconds)
        except ReplydeskError as exc:
            log.warning("source %s failed: %s; retrying in %.0f s", source.name, exc, backoff)
        except Exception:
            # A library surprise (an odd server reply) must not end this mailbox's thread.
            log.exception("source %s: unexpected error; retrying in %.0f s", source.name, backoff)
        else:
            continue
        source.close()
        stop.wait(backoff)
        backoff = min(backoff * 2, max_backoff)
    source.close()
