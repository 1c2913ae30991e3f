"""Crash points for the crash tests: `REPLYDESK_FAILPOINT=name` kills the process right there.

The daemon calls `reached(name)` at the moments where a crash is most dangerous (after a mail is
stored but before it is acknowledged at the source; after an outbox row is committed but before it
is sent). In production the variable is unset and this is a dictionary look-up.
"""

from __future__ import annotations

import os
import signal

ENV_VAR = "REPLYDESK_FAILPOINT"


def reached(name: str) -> None:
    """SIGKILL this process when the crash test asked to die at `name`."""
    if os.environ.get(ENV_VAR) == name:
        os.kill(os.getpid(), signal.SIGKILL)
