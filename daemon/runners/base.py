"""The runner base: claim an item, handle it, record a failure apart, set poison aside, go on.

In the spirit of Mailman 3's runners. A subclass says how to `claim` items (rows named for this
runner's holder, in a short transaction of their own), how to `handle` one (in its own
transaction), and how to record a `failure` (in a third transaction, so the rollback of the
handling cannot erase the attempt). Errors are classified once, here:

- `DatabaseUnavailableError` (connection lost, server down, lock timeout): nobody's fault. The
  item is released untouched, the pass ends with that error, and the supervisor waits and tries
  again.
- Any other error, including the database refusing the item's data: the item's fault. It counts
  as an attempt; after `max_attempts` the subclass sets it aside with the error. (When the
  database refuses something and also fails a trivial query, it is the database after all.)

A pass runs until nothing is claimable or `stop` is set; the item in hand is always finished.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from functools import partial
from typing import Generic, TypeVar

from daemon.errors import DatabaseUnavailableError, StorageError
from daemon.storage.database import Database

Item = TypeVar("Item")
T = TypeVar("T")
log = logging.getLogger(__name__)


class Runner(ABC, Generic[Item]):
    name: str = "runner"

    def __init__(self, db: Database, *, holder_id: int, max_attempts: int = 3) -> None:
        self.db = db
        self.holder_id = holder_id
        self.max_attempts = max_attempts
        self.handled = 0
        """Items handled since this runner was made (a supervisor watches it for progress)."""
        self.on_progress: Callable[[], None] | None = None
        """Called after each item, e.g. to wake the next stage at once."""

    @abstractmethod
    def claim(self) -> Sequence[Item]:
        """Claim the next items for `holder_id` (empty when there is nothing to do)."""

    @abstractmethod
    def handle(self, item: Item) -> None:
        """Dispose of one item; raise if it cannot be done."""

    @abstractmethod
    def failure(self, item: Item, error: BaseException) -> None:
        """Record a failed attempt on the item, and set it aside if it has had enough."""

    @abstractmethod
    def release(self, items: Sequence[Item]) -> None:
        """Give claimed items back untouched (stop requested, or the database is down)."""

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Resources shared by the items of one claim (e.g. one SMTP connection)."""
        yield

    def run_pass(self, stop: threading.Event) -> int:
        """Handle claimable items until none is left; returns how many were handled."""
        handled = 0
        while not stop.is_set():
            items = self._guard(self.claim)
            if not items:
                return handled
            with self.batch():
                for index, item in enumerate(items):
                    if stop.is_set():
                        self._guard(partial(self.release, items[index:]))
                        return handled
                    self._one(item, items[index:])
                    handled += 1
                    self.handled += 1
                    if self.on_progress is not None:
                        self.on_progress()
        return handled

    def _one(self, item: Item, rest: Sequence[Item]) -> None:
        try:
            self.handle(item)
        except DatabaseUnavailableError as exc:
            self._back_off(rest, exc)
        except StorageError as exc:
            if not self.db.healthy():
                self._back_off(rest, exc)
            self._record(item, exc)
        except Exception as exc:
            self._record(item, exc)

    def _record(self, item: Item, error: BaseException) -> None:
        log.warning("%s: %r failed: %s: %s", self.name, item, type(error).__name__, error)
        self._guard(lambda: self.failure(item, error))

    def _back_off(self, rest: Sequence[Item], error: BaseException) -> None:
        with suppress(StorageError):  # if still ours, our holder takes them up again next pass
            self.release(rest)
        raise DatabaseUnavailableError(f"{self.name}: database unavailable: {error}") from error

    def _guard(self, action: Callable[[], T]) -> T:
        try:
            return action()
        except DatabaseUnavailableError as exc:
            raise DatabaseUnavailableError(f"{self.name}: {exc}") from exc
