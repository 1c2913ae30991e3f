"""Metrics over time and by group: ISO weeks and calendar months, and breakdowns by label.

`weeks` and `months` cut a span into periods (Monday 00:00 UTC, the 1st 00:00 UTC), and `trend`
summarises each one as `summarise` would: a test holds the two equal. It does not rescan every
ticket per period: the lives are sorted once by creation and by resolution, each period takes its
slice by bisection, and the backlog at each period's end is counted from three sorted lists of
moments (created, became resolved or closed, reopened), so two years of weeks over 100,000
tickets cost one sort, not a hundred scans. Each ticket is measured once, in the one period it
was created in.

`breakdown` groups tickets by a key (`BY` holds the site's: module, problem type, severity,
tier, queue, engineer) and summarises each group. First contact resolution is a team measure,
not a per-engineer target, so `per_person=True` (for `BY["engineer"]`, listed in `PER_PERSON`)
leaves it out rather than trusting every page to.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import TypeVar

from rules.metrics_life import TicketLife, is_open
from rules.metrics_summary import (
    Calendars,
    Lives,
    Measured,
    Summary,
    assemble,
    life,
    measure,
    summarise,
    utc,
)

Period = tuple[datetime, datetime]
Key = Callable[[TicketLife], str | None]
NONE = "(none)"  # the group of tickets a breakdown's key gives no value for
_WEEK = timedelta(days=7)
T = TypeVar("T")

BY: Mapping[str, Key] = MappingProxyType(
    {
        "module": lambda one: one.module,
        "problem_type": lambda one: one.problem_type,
        "severity": lambda one: str(one.severity),
        "tier": lambda one: str(one.tier),
        "queue": lambda one: one.queue,
        "engineer": lambda one: one.engineer,
    }
)
PER_PERSON = frozenset({"engineer"})  # breakdowns that must leave FCR out


def breakdown(
    lives: Lives,
    key: Key,
    *,
    calendars: Calendars | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    per_person: bool = False,
) -> dict[str, Summary]:
    """A summary per value of `key` (tickets it gives None for under `NONE`), sorted by value."""
    groups: dict[str, list[TicketLife | Measured]] = {}
    for item in lives:
        value = key(life(item))
        groups.setdefault(NONE if value is None else value, []).append(item)
    return {
        name: summarise(
            groups[name], calendars=calendars, start=start, end=end, per_person=per_person
        )
        for name in sorted(groups)
    }


def _matters(one: TicketLife, first: datetime, last: datetime) -> bool:
    """Whether a ticket can count in [first, last). One created at or after the end is not in
    it, not resolved in it and not open at its end; one created before the start and resolved
    for good before it (its last resolution began then and lasts) is neither. Leaving both out
    before grouping keeps a baseline over two years of tickets to the few months it covers."""
    if one.created_at >= last:
        return False
    return not (one.created_at < first and one.resolved_at is not None and one.resolved_at < first)


def report(
    lives: Lives,
    *,
    start: datetime,
    end: datetime,
    calendars: Calendars | None = None,
) -> tuple[Summary, dict[str, dict[str, Summary]]]:
    """One period's summary and its breakdowns by every key of `BY` (FCR left out of those in
    `PER_PERSON`): the numbers of `replydesk report baseline` and of the site's baseline page."""
    first, last = utc(start, "start"), utc(end, "end")
    everyone = measure(
        (item for item in lives if _matters(life(item), first, last)), calendars=calendars
    )
    groups = {
        name: breakdown(everyone, key, start=start, end=end, per_person=name in PER_PERSON)
        for name, key in BY.items()
    }
    return summarise(everyone, start=start, end=end), groups


def breaches(lives: Lives) -> list[TicketLife]:
    """The open breaches as the log stands: open tickets with a missed SLA target, by number."""
    return sorted(
        (one for one in map(life, lives) if is_open(one) and not all(one.outcomes.values())),
        key=lambda one: one.ticket,
    )


def weeks(start: datetime, end: datetime) -> tuple[Period, ...]:
    """The ISO weeks (Monday 00:00 UTC to the next) that overlap [start, end), in order."""
    first, last = utc(start, "start"), utc(end, "end")
    monday = datetime(first.year, first.month, first.day, tzinfo=UTC)
    monday -= timedelta(days=monday.weekday())
    periods: list[Period] = []
    while monday < last:
        periods.append((monday, monday + _WEEK))
        monday += _WEEK
    return tuple(periods)


def _next_month(at: datetime) -> datetime:
    return at.replace(year=at.year + at.month // 12, month=at.month % 12 + 1)


def months(start: datetime, end: datetime) -> tuple[Period, ...]:
    """The calendar months (the 1st, 00:00 UTC, to the next) that overlap [start, end)."""
    first, last = utc(start, "start"), utc(end, "end")
    month = datetime(first.year, first.month, 1, tzinfo=UTC)
    periods: list[Period] = []
    while month < last:
        periods.append((month, _next_month(month)))
        month = _next_month(month)
    return tuple(periods)


def _backlog(lives: Sequence[TicketLife]) -> Callable[[datetime], int]:
    """`is_open` counted over all lives at a moment t, by bisection: created before t, minus
    resolved-or-closed stretches begun before t, plus those ended (reopened) before t. Moments
    before a ticket's creation are taken as its creation, as `is_open` ignores them."""
    created = sorted(one.created_at for one in lives)
    began = sorted(max(s, one.created_at) for one in lives for s, _ in one.done)
    ended = sorted(max(e, one.created_at) for one in lives for _, e in one.done if e is not None)

    def count(at: datetime) -> int:
        return bisect_left(created, at) - bisect_left(began, at) + bisect_left(ended, at)

    return count


def _between(
    moments: Sequence[datetime], items: Sequence[T], first: datetime, last: datetime
) -> Sequence[T]:
    """The items whose moment (sorted, alongside) lies in [first, last)."""
    return items[bisect_left(moments, first) : bisect_left(moments, last)]


def trend(
    lives: Lives,
    periods: Iterable[Period],
    *,
    calendars: Calendars | None = None,
    per_person: bool = False,
) -> tuple[tuple[Period, Summary], ...]:
    """A summary per period (from `weeks` or `months`), for the trend charts and their tables."""
    everyone = sorted(lives, key=lambda item: life(item).created_at)
    plain = [life(item) for item in everyone]
    creations = [one.created_at for one in plain]
    resolved = sorted(
        ((one.resolved_at, one) for one in plain if one.resolved_at is not None),
        key=lambda pair: pair[0],
    )
    resolutions, out = [at for at, _ in resolved], [one for _, one in resolved]
    backlog = _backlog(plain)
    summaries: list[tuple[Period, Summary]] = []
    for start, end in periods:
        first, last = utc(start, "start"), utc(end, "end")
        cohort = measure(_between(creations, everyone, first, last), calendars=calendars)
        summary = assemble(
            cohort, _between(resolutions, out, first, last), backlog(last), per_person=per_person
        )
        summaries.append(((start, end), summary))
    return tuple(summaries)
