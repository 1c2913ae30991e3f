from __future__ import annotations

import operator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.calendar import (
    ALWAYS,
    DAYS,
    WALL,
    Calendar,
    Holidays,
    check_holidays,
    week_from,
    week_from_table,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
AUCKLAND = ZoneInfo("Pacific/Auckland")
HOUR = 3600

OFFICE = Calendar("office", "Europe/Berlin", holidays=Holidays("DE"))
NY = Calendar(
    "ny",
    "America/New_York",
    week=week_from_table({d: "08:00-12:00,13:00-18:00" for d in DAYS[:5]} | {"sat": "10:00-14:00"}),
    holidays=Holidays("US"),
)
BERLIN_ALWAYS = Calendar("berlin-24", "Europe/Berlin", week=ALWAYS)


def berlin(year: int, month: int, day: int, *clock: int) -> datetime:
    """A Berlin wall time; `clock` is hour, minute, second, microsecond."""
    hour, minute, second, micro = (*clock, 0, 0, 0, 0)[:4]
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=BERLIN)


def local(at: datetime, zone: ZoneInfo = BERLIN) -> tuple[int, ...]:
    return at.astimezone(zone).timetuple()[:5]


def test_week_from_one_interval_on_listed_days() -> None:
    week = week_from("09:00-17:00", ("mon", "Wed"))
    assert week == (((540, 1020),), (), ((540, 1020),), (), (), (), ())


def test_week_from_several_intervals_sorted_and_touching_joined() -> None:
    week = week_from("13:00-17:00, 09:00-12:00,17:00-18:00", ("fri",))
    assert week[4] == ((540, 720), (780, 1080))


def test_week_from_24_00_end() -> None:
    assert week_from("18:00-24:00", ("sun",))[6] == ((1080, 1440),)
    assert tuple(((0, 1440),) for _ in range(7)) == ALWAYS


@pytest.mark.parametrize(
    ("hours", "days", "message"),
    [
        ("9-17", ("mon",), "expected HH:MM, such as 09:00"),
        ("09:00", ("mon",), "expected HH:MM-HH:MM"),
        ("09:00-25:00", ("mon",), "24:00 as the end"),
        ("09:60-10:00", ("mon",), "expected 00:00 to 23:59"),
        ("24:00-24:00", ("mon",), "24:00 as the end"),
        ("17:00-09:00", ("mon",), "start must be before the end"),
        ("09:00-12:00,11:00-13:00", ("mon",), "overlap"),
        ("", ("mon",), "bad hours ''"),
        ("09:00-17:00", ("mon", "funday"), "unknown day 'funday': expected one of mon"),
        ("09:00-17:00", "mon", "list of day names"),
    ],
)
def test_week_from_rejects_bad_input(hours: str, days: tuple[str, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        week_from(hours, days)


def test_week_from_table() -> None:
    week = week_from_table({"mon": "09:00-17:00", "sat": "10:00-14:00", "sun": ""})
    assert week == (((540, 1020),), (), (), (), (), ((600, 840),), ())


def test_week_from_table_rejects_unknown_day_and_names_the_day_of_bad_hours() -> None:
    with pytest.raises(ValueError, match="unknown day 'monday'"):
        week_from_table({"monday": "09:00-17:00"})
    with pytest.raises(ValueError, match=r"^tue: bad hours"):
        week_from_table({"tue": "17:00-09:00"})


def test_holidays_of_a_country_subdivisions_and_extra_dates() -> None:
    germany = Holidays("DE")
    assert date(2026, 12, 25) in germany and date(2026, 12, 26) in germany
    assert date(2026, 12, 24) not in germany
    assert date(2026, 1, 6) in Holidays("DE", "BY")
    assert date(2026, 1, 6) not in Holidays("DE", "BE")
    assert date(2026, 3, 8) in Holidays("DE", "BE")
    listed = Holidays(extra=frozenset({date(2026, 7, 1)}))
    assert date(2026, 7, 1) in listed and date(2026, 12, 25) not in listed
    assert datetime(2026, 12, 25, 10, tzinfo=BERLIN) in germany
    assert "2026-12-25" not in germany


def test_holidays_are_checked_on_construction() -> None:
    with pytest.raises(ValueError, match="unknown country 'XX'"):
        Holidays("XX")
    with pytest.raises(ValueError, match="unknown subdivision 'ZZ' of DE"):
        Holidays("DE", "ZZ")


def test_check_holidays_reasons() -> None:
    assert check_holidays(None, None) is None
    assert check_holidays("DE", None) is None
    assert check_holidays("DE", "BY") is None
    assert check_holidays("XX", None) == (
        "unknown country 'XX': expected an ISO 3166 code such as 'DE' or 'US'"
    )
    reason = check_holidays("DE", "ZZ")
    assert reason is not None
    assert reason.startswith("unknown subdivision 'ZZ' of DE (known: BB, BE, BW, BY,")
    assert reason.endswith(", ...)") and reason.count(",") == 10
    assert check_holidays(None, "BY") == "subdivision 'BY' without a country"


def test_holidays_from_many_threads_agree() -> None:
    bavaria = Holidays("DE", "BY")
    days = [date(2020, 1, 1) + timedelta(days=n) for n in range(0, 3000, 7)]
    expected = [day in Holidays("DE", "BY") for day in days]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda day: day in bavaria, days * 4))
    assert results == expected * 4
    assert any(expected)


def test_construction_is_validated() -> None:
    with pytest.raises(ValueError, match="unknown timezone 'Mars/Base'"):
        Calendar("x", "Mars/Base")
    with pytest.raises(ValueError, match="calendar 'x' is never open"):
        Calendar("x", "UTC", week=((),) * 7)
    with pytest.raises(ValueError, match="a week needs 7 days"):
        Calendar("x", "UTC", week=ALWAYS[:6])
    with pytest.raises(ValueError, match="mon: bad interval"):
        Calendar("x", "UTC", week=(((600, 600),), *ALWAYS[1:]))
    with pytest.raises(ValueError, match="tue: intervals must be sorted"):
        Calendar("x", "UTC", week=((), ((600, 700), (650, 800)), *ALWAYS[2:]))
    assert Calendar("w", "UTC", week=((),) * 7, wall=True).is_open(datetime(2026, 1, 1, tzinfo=UTC))


def test_default_week_is_monday_to_friday_nine_to_five() -> None:
    calendar = Calendar("plain", "Europe/Berlin")
    assert calendar.week[:5] == (((540, 1020),),) * 5 and calendar.week[5:] == ((), ())


@pytest.mark.parametrize(
    "call",
    [
        OFFICE.is_open,
        OFFICE.next_open,
        lambda at: OFFICE.add(at, 60),
        lambda at: OFFICE.business_seconds(at, at),
        lambda at: list(OFFICE.intervals(at, at)),
        lambda at: WALL.add(at, 0),
    ],
)
def test_naive_datetimes_are_refused(call: object) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        call(datetime(2026, 3, 2, 10))  # type: ignore[operator]


def test_is_open() -> None:
    assert OFFICE.is_open(berlin(2026, 3, 2, 9, 0))
    assert OFFICE.is_open(berlin(2026, 3, 2, 16, 59, 59))
    assert not OFFICE.is_open(berlin(2026, 3, 2, 8, 59, 59))
    assert not OFFICE.is_open(berlin(2026, 3, 2, 17, 0))
    assert not OFFICE.is_open(berlin(2026, 3, 7, 12, 0))
    assert not OFFICE.is_open(berlin(2026, 12, 25, 12, 0))
    assert OFFICE.is_open(datetime(2026, 3, 2, 8, 30, tzinfo=UTC))


def test_next_open() -> None:
    inside = berlin(2026, 3, 2, 11, 15, 30, 5)
    assert OFFICE.next_open(inside) == inside and OFFICE.next_open(inside).tzinfo is UTC
    assert local(OFFICE.next_open(berlin(2026, 3, 2, 7, 0))) == (2026, 3, 2, 9, 0)
    assert local(OFFICE.next_open(berlin(2026, 3, 2, 17, 0))) == (2026, 3, 3, 9, 0)
    assert local(OFFICE.next_open(berlin(2026, 3, 6, 18, 0))) == (2026, 3, 9, 9, 0)
    assert local(OFFICE.next_open(berlin(2026, 12, 24, 18, 0))) == (2026, 12, 28, 9, 0)
    assert WALL.next_open(berlin(2026, 3, 7, 3, 0)) == datetime(2026, 3, 7, 2, 0, tzinfo=UTC)


def test_business_seconds() -> None:
    assert OFFICE.business_seconds(berlin(2026, 3, 2), berlin(2026, 3, 3)) == 8 * HOUR
    assert OFFICE.business_seconds(berlin(2026, 3, 6, 16), berlin(2026, 3, 9, 10)) == 2 * HOUR
    assert OFFICE.business_seconds(berlin(2026, 3, 3), berlin(2026, 3, 2)) == 0
    assert OFFICE.business_seconds(berlin(2026, 3, 3), berlin(2026, 3, 3)) == 0
    assert OFFICE.business_seconds(berlin(2026, 12, 24, 16), berlin(2026, 12, 28, 10)) == 2 * HOUR
    assert (
        OFFICE.business_seconds(berlin(2026, 3, 2, 10, 0, 0, 900_000), berlin(2026, 3, 2, 10, 0, 1))
        == 1
    )
    assert WALL.business_seconds(berlin(2026, 3, 7), berlin(2026, 3, 8, 0, 0, 1)) == 86401


def test_business_seconds_over_a_year_counts_working_days() -> None:
    germany = Holidays("DE")
    days = [date(2026, 1, 1) + timedelta(days=n) for n in range(365)]
    working = [d for d in days if d.weekday() < 5 and d not in germany]
    seconds = OFFICE.business_seconds(berlin(2026, 1, 1), berlin(2027, 1, 1))
    assert seconds == len(working) * 8 * HOUR and len(working) == 254


def test_add_across_a_weekend_and_holidays() -> None:
    assert local(OFFICE.add(berlin(2026, 3, 6, 16), 2 * HOUR)) == (2026, 3, 9, 10, 0)
    assert local(OFFICE.add(berlin(2026, 12, 24, 16), 2 * HOUR)) == (2026, 12, 28, 10, 0)
    assert local(OFFICE.add(berlin(2026, 12, 25, 10), HOUR)) == (2026, 12, 28, 10, 0)
    assert local(OFFICE.add(berlin(2026, 3, 2, 9), 40 * HOUR)) == (2026, 3, 6, 17, 0)
    assert OFFICE.add(berlin(2026, 3, 2, 9), 40 * HOUR).tzinfo is UTC


def test_add_from_before_inside_and_after_hours() -> None:
    assert local(OFFICE.add(berlin(2026, 3, 2, 7), HOUR)) == (2026, 3, 2, 10, 0)
    assert local(OFFICE.add(berlin(2026, 3, 2, 12, 30), HOUR)) == (2026, 3, 2, 13, 30)
    assert local(OFFICE.add(berlin(2026, 3, 2, 18), HOUR)) == (2026, 3, 3, 10, 0)


def test_add_zero_adds_nothing_and_negative_is_refused() -> None:
    closed = berlin(2026, 3, 7, 12, 0, 0, 123)
    assert OFFICE.add(closed, 0) == closed
    with pytest.raises(ValueError, match="negative"):
        OFFICE.add(closed, -1)


def test_bavaria_loses_epiphany_berlin_does_not() -> None:
    bavaria = Calendar("by", "Europe/Berlin", holidays=Holidays("DE", "BY"))
    berlin_state = Calendar("be", "Europe/Berlin", holidays=Holidays("DE", "BE"))
    monday, wednesday = berlin(2026, 1, 5, 16), berlin(2026, 1, 7, 10)
    assert bavaria.business_seconds(monday, wednesday) == 2 * HOUR
    assert berlin_state.business_seconds(monday, wednesday) == 10 * HOUR
    assert local(bavaria.add(monday, 2 * HOUR)) == (2026, 1, 7, 10, 0)


def test_extra_dates_are_closed() -> None:
    calendar = Calendar(
        "x", "Europe/Berlin", holidays=Holidays(extra=frozenset({date(2026, 3, 3)}))
    )
    assert not calendar.is_open(berlin(2026, 3, 3, 12))
    assert local(calendar.add(berlin(2026, 3, 2, 16), 2 * HOUR)) == (2026, 3, 4, 10, 0)


def test_several_intervals_a_day() -> None:
    split = Calendar("split", "Europe/Berlin", week=week_from("09:00-12:00,13:00-17:00", DAYS))
    assert local(split.add(berlin(2026, 3, 2, 11), 2 * HOUR)) == (2026, 3, 2, 14, 0)
    assert split.business_seconds(berlin(2026, 3, 2), berlin(2026, 3, 3)) == 7 * HOUR
    assert not split.is_open(berlin(2026, 3, 2, 12, 30))
    assert local(split.next_open(berlin(2026, 3, 2, 12, 30))) == (2026, 3, 2, 13, 0)
    spans = list(split.intervals(berlin(2026, 3, 2, 10), berlin(2026, 3, 2, 14)))
    assert [(local(a), local(b)) for a, b in spans] == [
        ((2026, 3, 2, 10, 0), (2026, 3, 2, 12, 0)),
        ((2026, 3, 2, 13, 0), (2026, 3, 2, 14, 0)),
    ]
    assert all(a.tzinfo is UTC and b.tzinfo is UTC for a, b in spans)


def test_a_shift_through_midnight_with_a_24_00_end() -> None:
    night = Calendar(
        "night", "Europe/Berlin", week=week_from_table({"mon": "18:00-24:00", "tue": "00:00-06:00"})
    )
    assert local(night.add(berlin(2026, 3, 2, 23), 2 * HOUR)) == (2026, 3, 3, 1, 0)
    assert night.is_open(berlin(2026, 3, 2, 23, 59, 59)) and night.is_open(berlin(2026, 3, 3, 0))
    spans = list(night.intervals(berlin(2026, 3, 1), berlin(2026, 3, 5)))
    assert [(local(a), local(b)) for a, b in spans] == [((2026, 3, 2, 18, 0), (2026, 3, 3, 6, 0))]


def test_intervals_are_clipped_and_empty_for_an_empty_range() -> None:
    spans = list(OFFICE.intervals(berlin(2026, 3, 2, 12), berlin(2026, 3, 3, 10)))
    assert [(local(a), local(b)) for a, b in spans] == [
        ((2026, 3, 2, 12, 0), (2026, 3, 2, 17, 0)),
        ((2026, 3, 3, 9, 0), (2026, 3, 3, 10, 0)),
    ]
    assert list(OFFICE.intervals(berlin(2026, 3, 3), berlin(2026, 3, 2))) == []
    assert list(WALL.intervals(berlin(2026, 3, 2), berlin(2026, 3, 3))) == [
        (datetime(2026, 3, 1, 23, tzinfo=UTC), datetime(2026, 3, 2, 23, tzinfo=UTC))
    ]


def test_wall_calendar_counts_every_second() -> None:
    start = datetime(2026, 12, 25, 23, 30, tzinfo=UTC)
    assert WALL.add(start, 3 * HOUR) == datetime(2026, 12, 26, 2, 30, tzinfo=UTC)
    assert WALL.business_seconds(start, start + timedelta(days=2)) == 2 * 86400
    assert WALL.is_open(start)


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    [
        ("Europe/Berlin", date(2026, 3, 29), 23),
        ("Europe/Berlin", date(2026, 10, 25), 25),
        ("America/New_York", date(2026, 3, 8), 23),
        ("America/New_York", date(2026, 11, 1), 25),
        ("Pacific/Auckland", date(2026, 9, 27), 23),
        ("Pacific/Auckland", date(2026, 4, 5), 25),
        ("Europe/Berlin", date(2026, 3, 30), 24),
    ],
)
def test_a_whole_day_on_dst_change_days(zone: str, day: date, hours: int) -> None:
    tz = ZoneInfo(zone)
    one_day = Calendar("d", zone, week=week_from("00:00-24:00", (DAYS[day.weekday()],)))
    begin = datetime(day.year, day.month, day.day, tzinfo=tz)
    week_later = begin + timedelta(days=7)
    assert (
        one_day.business_seconds(begin - timedelta(days=3), week_later - timedelta(days=1))
        == hours * HOUR
    )
    assert local(one_day.add(begin, hours * HOUR), tz) == (
        *(day + timedelta(days=1)).timetuple()[:3],
        0,
        0,
    )


def test_spring_forward_gap_opens_when_the_clocks_jump() -> None:
    calendar = Calendar("gap", "Europe/Berlin", week=week_from("02:30-04:00", ("sun",)))
    spans = list(calendar.intervals(berlin(2026, 3, 28), berlin(2026, 3, 30)))
    assert spans == [(datetime(2026, 3, 29, 1, tzinfo=UTC), datetime(2026, 3, 29, 2, tzinfo=UTC))]
    inside = Calendar("in-gap", "Europe/Berlin", week=week_from("02:00-03:00", ("sun",)))
    assert inside.business_seconds(berlin(2026, 3, 28), berlin(2026, 3, 30)) == 0
    assert inside.business_seconds(berlin(2026, 4, 4), berlin(2026, 4, 6)) == HOUR
    assert local(inside.next_open(berlin(2026, 3, 28))) == (2026, 4, 5, 2, 0)


def test_fall_back_uses_the_first_occurrence_and_counts_the_repeat() -> None:
    calendar = Calendar("fold", "Europe/Berlin", week=week_from("02:30-05:00", ("sun",)))
    spans = list(calendar.intervals(berlin(2026, 10, 24), berlin(2026, 10, 26)))
    assert spans == [
        (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 25, 4, tzinfo=UTC))
    ]
    assert calendar.is_open(datetime(2026, 10, 25, 1, 15, tzinfo=UTC))
    assert BERLIN_ALWAYS.is_open(datetime(2026, 10, 25, 1, 15, tzinfo=UTC))


def test_far_from_utc_intervals_span_utc_midnight() -> None:
    tokyo = Calendar("tokyo", "Asia/Tokyo", week=week_from("08:00-18:00", DAYS[:5]))
    monday = datetime(2026, 3, 2, 8, tzinfo=TOKYO)
    sunday_utc = datetime(2026, 3, 1, tzinfo=UTC)
    assert tokyo.is_open(datetime(2026, 3, 1, 23, 30, tzinfo=UTC))
    assert not tokyo.is_open(datetime(2026, 3, 6, 9, 30, tzinfo=UTC))
    assert tokyo.business_seconds(sunday_utc, sunday_utc + timedelta(days=1)) == HOUR
    assert tokyo.add(monday, 10 * HOUR) == datetime(2026, 3, 2, 9, tzinfo=UTC)
    auckland = Calendar(
        "akl",
        "Pacific/Auckland",
        week=week_from_table({"mon": "20:00-24:00", "tue": "00:00-04:00"}),
    )
    spans = list(
        auckland.intervals(datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 5, tzinfo=UTC))
    )
    assert spans == [(datetime(2026, 3, 2, 7, tzinfo=UTC), datetime(2026, 3, 2, 15, tzinfo=UTC))]
    assert auckland.next_open(datetime(2026, 3, 1, tzinfo=UTC)) == datetime(
        2026, 3, 2, 7, tzinfo=UTC
    )


def test_search_gives_up_on_a_calendar_that_is_never_open_in_practice() -> None:
    mondays = frozenset(date(2026, 1, 5) + timedelta(weeks=n) for n in range(52 * 5))
    closed = Calendar(
        "closed", "UTC", week=week_from("09:00-17:00", ("mon",)), holidays=Holidays(extra=mondays)
    )
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="calendar 'closed' has no open time in the 1098 days"):
        closed.next_open(start)
    with pytest.raises(ValueError, match="no open time"):
        closed.add(start, 60)
    assert closed.business_seconds(start, datetime(2029, 1, 1, tzinfo=UTC)) == 0


# Properties, over 2025-2028 and DST change days, in a few calendars.

CALENDARS = st.sampled_from([OFFICE, NY, WALL, BERLIN_ALWAYS])
ZONES = st.sampled_from([UTC, BERLIN, NEW_YORK, TOKYO, AUCKLAND])
CHANGE_DAYS = [
    datetime(2025, 3, 30, tzinfo=BERLIN),
    datetime(2026, 10, 25, tzinfo=BERLIN),
    datetime(2026, 3, 8, tzinfo=NEW_YORK),
    datetime(2027, 11, 7, tzinfo=NEW_YORK),
    datetime(2026, 12, 25, tzinfo=BERLIN),
]
# Drawn in local zones, then taken to UTC: `+ timedelta` on a zoned datetime is wall arithmetic,
# and PEP 495 makes a time in a gap or fold compare unequal to every other zone's.
MOMENTS = st.one_of(
    st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=ZONES),
    st.builds(
        operator.add,
        st.sampled_from(CHANGE_DAYS),
        st.timedeltas(min_value=timedelta(hours=-30), max_value=timedelta(hours=30)),
    ),
).map(lambda at: at.astimezone(UTC))
SECONDS = st.integers(min_value=0, max_value=10 * 8 * HOUR)
GAPS = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=12))
PROPERTY = settings(max_examples=200, deadline=None)


@PROPERTY
@given(CALENDARS, MOMENTS, SECONDS)
def test_add_and_business_seconds_round_trip(
    calendar: Calendar, start: datetime, seconds: int
) -> None:
    deadline = calendar.add(start, seconds)
    assert calendar.business_seconds(start, deadline) == seconds
    assert deadline >= start and deadline.tzinfo is UTC
    if seconds > 0:
        assert calendar.business_seconds(start, deadline - timedelta(microseconds=1)) < seconds


@PROPERTY
@given(CALENDARS, MOMENTS, SECONDS, SECONDS)
def test_add_is_monotone_in_seconds(calendar: Calendar, start: datetime, a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert start <= calendar.add(start, low) <= calendar.add(start, high)


@PROPERTY
@given(CALENDARS, MOMENTS, GAPS, GAPS, SECONDS)
def test_a_pause_never_shortens_a_deadline(
    calendar: Calendar, start: datetime, running: timedelta, paused: timedelta, target: int
) -> None:
    pause, resume = start + running, start + running + paused
    left = max(target - calendar.business_seconds(start, pause), 0)
    unpaused = calendar.add(start, target)
    assert calendar.add(resume, left) >= calendar.add(pause, left) >= unpaused
    if left > 0:
        assert calendar.add(pause, left) == unpaused


@PROPERTY
@given(CALENDARS, MOMENTS, GAPS, GAPS)
def test_business_seconds_is_additive(
    calendar: Calendar, a: datetime, first: timedelta, second: timedelta
) -> None:
    b, c = a + first, a + first + second
    assert calendar.business_seconds(a, b) + calendar.business_seconds(
        b, c
    ) == calendar.business_seconds(a, c)


@PROPERTY
@given(CALENDARS, MOMENTS)
def test_next_open_is_open_with_nothing_open_before_it(calendar: Calendar, at: datetime) -> None:
    opens = calendar.next_open(at)
    assert opens >= at and calendar.is_open(opens)
    assert calendar.business_seconds(at, opens) == 0
    if opens > at:
        assert not calendar.is_open(at) and not calendar.is_open(at + (opens - at) / 2)


@PROPERTY
@given(CALENDARS, MOMENTS, GAPS)
def test_intervals_agree_with_is_open_and_business_seconds(
    calendar: Calendar, start: datetime, length: timedelta
) -> None:
    start = start.replace(microsecond=0)
    end = start + length - timedelta(microseconds=length.microseconds)
    spans = list(calendar.intervals(start, end))
    total = sum((b - a for a, b in spans), timedelta())
    assert total == timedelta(seconds=calendar.business_seconds(start, end))
    assert all(start <= a < b <= end for a, b in spans)
    assert all(b < c for (_, b), (c, _) in pairwise(spans))
    for a, b in spans:
        assert calendar.is_open(a) and calendar.is_open(b - timedelta(microseconds=1))
        assert b == end or not calendar.is_open(b)
