from __future__ import annotations

import threading

from daemon.errors import SourceError
from daemon.sources import run_forever


class Flaky:
    """Fails with a library surprise, then a source error, then works and stops the loop."""

    name = "flaky"
    poll_seconds = 0.01

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.polls = 0
        self.closed = 0

    def poll(self) -> int:
        self.polls += 1
        if self.polls == 1:
            raise ValueError("odd server reply")
        if self.polls == 2:
            raise SourceError("connection refused")
        self.stop.set()
        return 1

    def wait(self, stop: threading.Event, timeout: float) -> None:
        stop.wait(timeout)

    def close(self) -> None:
        self.closed += 1


def test_the_loop_survives_errors_and_backs_off() -> None:
    stop = threading.Event()
    source = Flaky(stop)
    stored: list[int] = []
    run_forever(source, stop, on_stored=lambda: stored.append(1), max_backoff=0.01)
    assert source.polls == 3 and stored == [1]
    assert source.closed == 3  # after each failure, and once at the end
