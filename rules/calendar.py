"""Business hours: when a calendar is open, and how many of its seconds lie between two moments.

SLA clocks (`rules/sla.py`) and assignment (`rules/assign.py`) measure time in a `Calendar`: a
weekly table of opening hours in local wall time (`Week`, Monday first, minutes of the day), an
IANA timezone, and public holidays (the `holidays` package, by country and subdivision, plus
listed dates). A wall calendar counts every second and ignores week and holidays. Everything here
is pure: no clock, no I/O. Datetimes passed in must be aware; datetimes returned are aware UTC.

How local hours become moments, per local date and interval:

- A local time that occurs twice (autumn fall-back) means its first occurrence (fold=0). An
  interval that spans the repeated hour holds it twice, as real elapsed time: a 00:00-24:00
  Sunday in Berlin on 2026-10-25 holds 25 hours.
- A local time the clocks skip (spring-forward gap) means the moment they jump, the first local
  time that exists: 02:30 in Berlin on 2026-03-29 is 03:00 CEST, and a 00:00-24:00 Sunday holds 23
  hours. (Not fold=0's "an hour later": that would put 02:30 after 03:15, so two intervals of one
  day could overlap; the jump keeps the mapping monotone.) An interval inside a gap is empty.
- 24:00 is midnight at the start of the next local date.

Seconds are whole: `business_seconds` counts from `start` and `end` taken to the second
(microseconds dropped). So it is exactly additive, bs(a, b) + bs(b, c) == bs(a, c), and the
segments of an SLA clock add up with no rounding drift; `add` is its inverse.

`next_open` and `add` walk local days, each in O(its intervals), and give up with ValueError after
`HORIZON_DAYS` days in a row without open time (a holiday list covering everything).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from holidays import country_holidays, list_supported_countries

Week = tuple[tuple[tuple[int, int], ...], ...]
Span = tuple[datetime, datetime]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_MINUTES = 1440
HORIZON_DAYS = 3 * 366
_ONE_DAY = timedelta(days=1)
_SECOND = timedelta(seconds=1)
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")


def _minute(text: str, *, end: bool) -> int:
    """`"09:30"` as 570; `"24:00"` only as an end."""
    match = _CLOCK.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"bad time {text.strip()!r}: expected HH:MM, such as 09:00")
    hour, minute = int(match[1]), int(match[2])
    if minute > 59 or hour > 24 or (hour == 24 and (minute > 0 or not end)):
        raise ValueError(
            f"bad time {text.strip()!r}: expected 00:00 to 23:59, or 24:00 as the end of a day"
        )
    return hour * 60 + minute


def _day_hours(hours: str) -> tuple[tuple[int, int], ...]:
    """`"09:00-12:00,13:00-17:00"` as minutes of the day, sorted, touching intervals joined."""
    spans: list[tuple[int, int]] = []
    for part in hours.split(","):
        start, dash, end = part.partition("-")
        if not dash:
            raise ValueError(
                f"bad hours {part.strip()!r}: expected HH:MM-HH:MM, such as 09:00-17:00"
            )
        first, last = _minute(start, end=False), _minute(end, end=True)
        if first >= last:
            raise ValueError(
                f"bad hours {part.strip()!r}: the start must be before the end "
                "(to work past midnight, give the next day its own hours from 00:00)"
            )
        spans.append((first, last))
    spans.sort()
    joined = [spans[0]]
    for first, last in spans[1:]:
        if first < joined[-1][1]:
            raise ValueError(f"bad hours {hours!r}: intervals overlap")
        if first == joined[-1][1]:
            joined[-1] = (joined[-1][0], last)
        else:
            joined.append((first, last))
    return tuple(joined)


def _day_index(day: str) -> int:
    name = day.strip().lower()
    if name not in DAYS:
        raise ValueError(f"unknown day {day!r}: expected one of {', '.join(DAYS)}")
    return DAYS.index(name)


def week_from(hours: str, days: Iterable[str]) -> Week:
    """The same `hours` ("09:00-17:00", or several joined by commas) on each of `days`."""
    if isinstance(days, str):
        raise ValueError(f"days must be a list of day names such as ('mon', 'tue'), not {days!r}")
    spans = _day_hours(hours)
    open_days = {_day_index(day) for day in days}
    return tuple(spans if index in open_days else () for index in range(7))


def week_from_table(table: Mapping[str, str]) -> Week:
    """Hours per day (`{"mon": "09:00-17:00"}`); a missing day or "" is closed."""
    week: list[tuple[tuple[int, int], ...]] = [()] * 7
    for day, hours in table.items():
        index = _day_index(day)
        if hours.strip():
            try:
                week[index] = _day_hours(hours)
            except ValueError as exc:
                raise ValueError(f"{DAYS[index]}: {exc}") from None
    return tuple(week)


def _week_problem(week: Week) -> str | None:
    if len(week) != 7:
        return f"a week needs 7 days, Monday first; got {len(week)}"
    for name, spans in zip(DAYS, week, strict=True):
        previous = 0
        for first, last in spans:
            if not 0 <= first < last <= DAY_MINUTES:
                return (
                    f"{name}: bad interval ({first}, {last}): "
                    f"expected minutes with 0 <= start < end <= {DAY_MINUTES}"
                )
            if first < previous:
                return f"{name}: intervals must be sorted and must not overlap"
            previous = last
    return None


OFFICE_HOURS: Week = week_from("09:00-17:00", DAYS[:5])
ALWAYS: Week = week_from("00:00-24:00", DAYS)


def check_holidays(country: str | None, subdivision: str | None) -> str | None:
    """None if the `holidays` package knows this country and subdivision, else why not."""
    if country is None:
        return None if subdivision is None else f"subdivision {subdivision!r} without a country"
    supported = list_supported_countries()
    if country not in supported:
        return f"unknown country {country!r}: expected an ISO 3166 code such as 'DE' or 'US'"
    if subdivision is None:
        return None
    try:
        country_holidays(country, subdiv=subdivision)
    except NotImplementedError:
        known = supported[country]
        if not known:
            return f"unknown subdivision {subdivision!r} of {country} (it has none)"
        shown = ", ".join(known[:10]) + (", ..." if len(known) > 10 else "")
        return f"unknown subdivision {subdivision!r} of {country} (known: {shown})"
    return None


@lru_cache(maxsize=512)
def _public_holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    """One year's public holidays, frozen: a fresh `holidays` object per call, never shared."""
    return frozenset(country_holidays(country, subdiv=subdivision, years=year).keys())


@dataclass(frozen=True, slots=True)
class Holidays:
    """Public holidays of a country (and subdivision) from the `holidays` package, plus listed
    dates.

    Checked on construction (ValueError with `check_holidays`' reason), so an unknown country
    fails at start-up, not on the first ticket.
    """

    country: str | None = None
    subdivision: str | None = None
    extra: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        problem = check_holidays(self.country, self.subdivision)
        if problem:
            raise ValueError(problem)

    def __contains__(self, day: object) -> bool:
        if isinstance(day, datetime):
            day = day.date()
        if not isinstance(day, date):
            return False
        if day in self.extra:
            return True
        if self.country is None:
            return False
        return day in _public_holidays(self.country, self.subdivision, day.year)


@functools.lru_cache(maxsize=65_536)
def _open_on(calendar: Calendar, day: date) -> tuple[Span, ...]:
    """`Calendar._spans_of`, remembered: a day's spans depend on the calendar and the day only."""
    return calendar._spans_of(day)


def _utc(at: datetime, what: str) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {at.isoformat()}")
    return at.astimezone(UTC)


def _instant(zone: ZoneInfo, day: date, minute: int) -> datetime:
    """Local `day` at `minute` (1440: the next midnight) in UTC, as the module docstring says."""
    local = datetime.combine(day, time()) + timedelta(minutes=minute)
    moment = local.replace(tzinfo=zone).astimezone(UTC)
    if moment.astimezone(zone).replace(tzinfo=None) == local:
        return moment
    return _jump(zone, local.replace(tzinfo=zone, fold=1).astimezone(UTC), moment)


def _jump(zone: ZoneInfo, before: datetime, after: datetime) -> datetime:
    """The moment in (before, after] where the UTC offset changes: where the clocks jumped."""
    offset = before.astimezone(zone).utcoffset()
    low, high = 0, int((after - before).total_seconds())
    while high - low > 1:
        middle = (low + high) // 2
        if (before + timedelta(seconds=middle)).astimezone(zone).utcoffset() == offset:
            low = middle
        else:
            high = middle
    return before + timedelta(seconds=high)


def _joined(spans: Iterable[Span]) -> Iterator[Span]:
    """Ordered spans with touching ones (a day open to 24:00, the next from 00:00) joined."""
    current: Span | None = None
    for first, last in spans:
        if current is not None and first <= current[1]:
            current = (current[0], max(current[1], last))
            continue
        if current is not None:
            yield current
        current = (first, last)
    if current is not None:
        yield current


@dataclass(frozen=True, slots=True)
class Calendar:
    """When a desk (or an engineer) is at work: weekly hours in a timezone, minus holidays."""

    name: str
    timezone: str
    week: Week = OFFICE_HOURS
    holidays: Holidays = Holidays()
    wall: bool = False

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(
                f"calendar {self.name!r}: unknown timezone {self.timezone!r}: "
                "expected an IANA name such as Europe/Berlin"
            ) from None
        problem = _week_problem(self.week)
        if problem:
            raise ValueError(f"calendar {self.name!r}: {problem}")
        if not self.wall and not any(self.week):
            raise ValueError(f"calendar {self.name!r} is never open: no hours on any day")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_open(self, at: datetime) -> bool:
        """True if `at` lies in one of the open intervals."""
        moment = _utc(at, "at")
        if self.wall:
            return True
        local = moment.astimezone(self.zone)
        day = local.date()
        if not local.fold:  # a local time that occurs once: its wall time says it all
            if day in self.holidays:
                return False
            second = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
            return any(a * 60 <= second < b * 60 for a, b in self.week[day.weekday()])
        return any(
            first <= moment < last
            for near in (day - _ONE_DAY, day, day + _ONE_DAY)
            for first, last in self._open_on(near)
        )

    def next_open(self, at: datetime) -> datetime:
        """`at` itself if open, else the start of the next open interval."""
        moment = _utc(at, "at")
        if self.wall:
            return moment
        return next(self._ahead(moment))[0]

    def business_seconds(self, start: datetime, end: datetime) -> int:
        """Open seconds in [start, end), both taken to the whole second; 0 if end <= start."""
        first = _utc(start, "start").replace(microsecond=0)
        last = _utc(end, "end").replace(microsecond=0)
        if last <= first:
            return 0
        if self.wall:
            return (last - first) // _SECOND
        total = sum((b - a for a, b in self._between(first, last)), timedelta())
        return total // _SECOND

    def add(self, start: datetime, seconds: int) -> datetime:
        """The earliest t >= start with business_seconds(start, t) == seconds; 0 adds nothing."""
        moment = _utc(start, "start")
        if seconds < 0:
            raise ValueError(f"cannot add a negative time ({seconds} seconds)")
        if seconds == 0:
            return moment
        left, first = timedelta(seconds=seconds), moment.replace(microsecond=0)
        if self.wall:
            return first + left
        spans = self._ahead(first)
        while True:
            opens, closes = next(spans)
            if closes - opens >= left:
                return opens + left
            left -= closes - opens

    def intervals(self, start: datetime, end: datetime) -> Iterator[Span]:
        """The open intervals clipped to [start, end), in UTC, touching ones joined."""
        first, last = _utc(start, "start"), _utc(end, "end")
        if last <= first:
            return iter(())
        if self.wall:
            return iter(((first, last),))
        return _joined(self._between(first, last))

    def _open_on(self, day: date) -> tuple[Span, ...]:
        """The open intervals of one local date, in UTC; none on a holiday."""
        return _open_on(self, day)

    def _spans_of(self, day: date) -> tuple[Span, ...]:
        if day in self.holidays:
            return ()
        zone = self.zone
        spans = (
            (_instant(zone, day, first), _instant(zone, day, last))
            for first, last in self.week[day.weekday()]
        )
        return tuple((opens, closes) for opens, closes in spans if opens < closes)

    def _between(self, first: datetime, last: datetime) -> Iterator[Span]:
        """Open spans clipped to [first, last), in order (not joined)."""
        zone = self.zone
        day = first.astimezone(zone).date() - _ONE_DAY
        final = last.astimezone(zone).date() + _ONE_DAY
        while day <= final:
            for opens, closes in self._open_on(day):
                clipped = (max(opens, first), min(closes, last))
                if clipped[0] < clipped[1]:
                    yield clipped
            day += _ONE_DAY

    def _ahead(self, first: datetime) -> Iterator[Span]:
        """Open spans from `first` on, clipped, forever; ValueError after a long closed stretch."""
        day, closed = first.astimezone(self.zone).date() - _ONE_DAY, 0
        while closed < HORIZON_DAYS:
            spans = [(max(a, first), b) for a, b in self._open_on(day) if b > first]
            closed = 0 if spans else closed + 1
            yield from spans
            day += _ONE_DAY
        raise ValueError(
            f"calendar {self.name!r} has no open time in the {HORIZON_DAYS} days "
            f"after {first.isoformat()}"
        )


WALL = Calendar("wall", "UTC", wall=True)
