"""Crash points for the crash tests: `REPLYDESK_FAILPOINT=name` kills the process right there.

The daemon calls `reached(name)` at the moments where a crash is most dangerous (after a mail is
stored but before it is acknowledged at the source; after an outbox row is committed but before it
is sent). `REPLYDESK_FAILPOINT=name:N` kills it the Nth time `name` is reached instead of the
first (e.g. `outbox-marked:3`: in the middle of a batch, after the third mail is marked sent).
In production the variable is unset and this is a dictionary look-up.
"""

from __future__ import annotations

import os
import signal
import threading
from collections import Counter

ENV_VAR = "REPLYDESK_FAILPOINT"
_hits: Counter[str] = Counter()
_lock = threading.Lock()


def reached(name: str) -> None:
    """SIGKILL this process when the crash test asked to die at `name` (or its Nth passage)."""
    wanted = os.environ.get(ENV_VAR)
    if not wanted:
        return
    point, _, nth = wanted.partition(":")
    if point != name:
        return
    with _lock:
        _hits[name] += 1
        hits = _hits[name]
    if hits >= (int(nth) if nth else 1):
        os.kill(os.getpid(), signal.SIGKILL)
