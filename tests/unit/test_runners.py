"""The runner base: attempts survive rollbacks, poison is set aside, the database's own failures
count against nobody, and a stop lets the item in hand finish."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from daemon.errors import DatabaseUnavailableError, DataRefusedError
from daemon.runners.base import Runner
from daemon.storage.database import Database


@dataclass
class Ledger:
    waiting: list[int]
    attempts: dict[int, int] = field(default_factory=dict)
    done: list[int] = field(default_factory=list)
    set_aside: list[int] = field(default_factory=list)
    released: list[int] = field(default_factory=list)


class Toy(Runner[int]):
    """Items are ints; `fail` maps an item to the exception its handling raises."""

    name = "toy"

    def __init__(self, db: Database, ledger: Ledger, fail: dict[int, BaseException]) -> None:
        super().__init__(db, holder_id=1, max_attempts=3)
        self.ledger, self.fail = ledger, fail
        self.stop_after: threading.Event | None = None

    def claim(self) -> Sequence[int]:
        batch, self.ledger.waiting = self.ledger.waiting[:2], self.ledger.waiting[2:]
        return batch

    def handle(self, item: int) -> None:
        if item in self.fail:
            raise self.fail[item]
        self.ledger.done.append(item)
        if self.stop_after is not None:
            self.stop_after.set()

    def failure(self, item: int, error: BaseException) -> None:
        count = self.ledger.attempts[item] = self.ledger.attempts.get(item, 0) + 1
        if count >= self.max_attempts:
            self.ledger.set_aside.append(item)
        else:
            self.ledger.waiting.insert(0, item)

    def release(self, items: Sequence[int]) -> None:
        self.ledger.released += items
        self.ledger.waiting = [*items, *self.ledger.waiting]


class Healthy:
    def healthy(self) -> bool:
        return True


class Sick:
    def healthy(self) -> bool:
        return False


def toy(ledger: Ledger, fail: dict[int, BaseException], db: object = Healthy()) -> Toy:
    return Toy(db, ledger, fail)  # type: ignore[arg-type]


def test_a_poison_item_is_set_aside_after_three_tries_and_the_others_go_on() -> None:
    ledger = Ledger(waiting=[1, 2, 3])
    runner = toy(ledger, {2: ValueError("bad mail")})
    assert runner.run_pass(threading.Event()) == 5
    assert ledger.done == [1, 3] and ledger.set_aside == [2] and ledger.attempts == {2: 3}


def test_refused_data_counts_against_the_item() -> None:
    ledger = Ledger(waiting=[1, 2])
    runner = toy(ledger, {1: DataRefusedError("value too long")})
    runner.run_pass(threading.Event())
    assert ledger.set_aside == [1] and ledger.done == [2]


def test_an_unavailable_database_counts_against_nobody_and_ends_the_pass() -> None:
    ledger = Ledger(waiting=[1, 2, 3])
    runner = toy(ledger, {1: DatabaseUnavailableError("connection lost")})
    with pytest.raises(DatabaseUnavailableError):
        runner.run_pass(threading.Event())
    assert ledger.attempts == {} and ledger.released == [1, 2] and ledger.done == []


def test_a_refusal_while_the_database_is_sick_is_the_databases_fault() -> None:
    ledger = Ledger(waiting=[1])
    runner = toy(ledger, {1: DataRefusedError("odd")}, db=Sick())
    with pytest.raises(DatabaseUnavailableError):
        runner.run_pass(threading.Event())
    assert ledger.attempts == {} and ledger.released == [1]


def test_stop_finishes_the_item_in_hand_and_gives_the_rest_back() -> None:
    ledger = Ledger(waiting=[1, 2, 3, 4])
    runner = toy(ledger, {})
    stop = threading.Event()
    runner.stop_after = stop
    assert runner.run_pass(stop) == 1
    assert ledger.done == [1] and ledger.released == [2] and ledger.waiting == [2, 3, 4]


def test_progress_is_reported_after_each_item() -> None:
    ledger = Ledger(waiting=[1, 2, 3])
    runner = toy(ledger, {})
    seen: list[list[int]] = []
    runner.on_progress = lambda: seen.append(list(ledger.done))
    runner.run_pass(threading.Event())
    assert seen == [[1], [1, 2], [1, 2, 3]] and runner.handled == 3
