"""Support metrics from a small scripted event history, every number worked out by hand.

The history, in UTC (Berlin is UTC+1 in November 2026; the office is open Mon-Fri 09:00-17:00
Berlin, that is 08:00-16:00 UTC):

1. Mon 2 Nov 09:00: answered at 09:40, resolved 11:00, closed on Wednesday; rated 3, then 5.
2. Fri 6 Nov 14:00: answered 15:30 asking for logs (pending over the weekend); the customer
   answers Mon 08:00, resolved 08:30, reopened 10:00, resolved again 12:00; rated 2.
3. Fri 6 Nov 15:30: first response target missed (answered Mon 08:30), escalated and reassigned
   on Friday, relabelled by hand, resolved Mon 09:30; surveyed, no answer.
4. Mon 9 Nov 10:30: merged into 5 at 11:00 without a reply.
5. Mon 9 Nov 10:00: tier 2 by a rule, answered 10:20, still open.
6. Mon 9 Nov 13:00: unclassified, unassigned, no reply, still open.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.calendar import WALL, Calendar, week_from
from rules.metrics import (
    BY,
    DEFINITIONS,
    NONE,
    Csat,
    Duration,
    EventRow,
    Rate,
    Spread,
    Summary,
    Timing,
    breakdown,
    fcr,
    first_response,
    fold,
    is_open,
    measure,
    months,
    percentile,
    resolution,
    summarise,
    trend,
    weeks,
)

OFFICE = Calendar(
    "office", "Europe/Berlin", week=week_from("09:00-17:00", ("mon", "tue", "wed", "thu", "fri"))
)
ANA, EVE = "contact:ana@example.com", "engineer:eve@desk.example"


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=UTC)


def ev(ticket: int, when: datetime, kind: str, *, by: str = "system", **data: Any) -> EventRow:
    return EventRow(ticket, when, kind, by, data)


def status(ticket: int, when: datetime, was: str, to: str) -> EventRow:
    return ev(ticket, when, "status_changed", **{"from": was, "to": to, "reason": "test"})


def assigned(ticket: int, when: datetime, was: int | None, to: int | None) -> EventRow:
    data: dict[str, Any] = {
        "from": was,
        "to": to,
        "strategy": "least loaded",
        "considered": [],
        "reason": "",
    }
    return EventRow(ticket, when, "assigned", "system", data)


def labels(ticket: int, when: datetime, **overrides: Any) -> EventRow:
    data: dict[str, Any] = {"module": None, "problem_type": None, "severity": 3, "tags": []}
    data |= {"queue": "default", "tier": 1, "hits": []} | overrides
    return ev(ticket, when, "classified", **data)


def opened(ticket: int, when: datetime, engineer: int | None, **classified: Any) -> list[EventRow]:
    """created, classified, the SLA clock, an acknowledgement, the assignment, open."""
    second = timedelta(seconds=1)
    clock = {"target": "first_response", "policy": "std", "calendar": "office", "state": "running"}
    return [
        ev(ticket, when, "created", by=ANA, inbound=ticket, mailbox="INBOX"),
        labels(ticket, when + second, **classified),
        ev(ticket, when + 2 * second, "sla_clock", **clock, goal_seconds=3600, used_seconds=0),
        ev(ticket, when + 3 * second, "acknowledged", outbox=100 + ticket),
        assigned(ticket, when + 4 * second, None, engineer),
        status(ticket, when + 5 * second, "new", "open"),
    ]


def reply(ticket: int, when: datetime, *, first: bool) -> EventRow:
    return ev(ticket, when, "reply_sent", by=EVE, message=1, outbox=1, to=[], cc=[], first=first)


def outcome(ticket: int, when: datetime, target: str, met: bool) -> EventRow:
    return ev(ticket, when, "sla_outcome", target=target, met=met, used_seconds=0, goal_seconds=1)


def answer(ticket: int, when: datetime, rating: int) -> EventRow:
    return ev(ticket, when, "survey_answered", by=ANA, message=9, rating=rating, comment="")


def merged(on: int, when: datetime) -> EventRow:
    return ev(on, when, "merged", by=EVE, into=5, source=4)


HISTORY: list[EventRow] = [
    *opened(1, at(2, 9), 7, module="billing", problem_type="question"),
    reply(1, at(2, 9, 40), first=True),
    outcome(1, at(2, 9, 40, 1), "first_response", True),
    status(1, at(2, 11), "open", "resolved"),
    outcome(1, at(2, 11, 0, 1), "resolution", True),
    status(1, at(4, 11), "resolved", "closed"),
    ev(1, at(4, 11, 0, 1), "survey_sent", outbox=50, to="ana@example.com"),
    answer(1, at(4, 12), 3),
    answer(1, at(4, 12, 30), 5),
    *opened(2, at(6, 14), 8, module="sync", problem_type="bug", severity=2),
    reply(2, at(6, 15, 30), first=True),
    outcome(2, at(6, 15, 30, 1), "first_response", True),
    status(2, at(6, 15, 30, 2), "open", "pending"),
    ev(2, at(9, 8), "message_received", by=ANA, message=3, inbound=3, public=True),
    status(2, at(9, 8, 0, 1), "pending", "open"),
    reply(2, at(9, 8, 30), first=False),
    status(2, at(9, 8, 30, 1), "open", "resolved"),
    outcome(2, at(9, 8, 30, 2), "resolution", True),
    ev(2, at(9, 10), "message_received", by=ANA, message=4, inbound=4, public=True),
    status(2, at(9, 10, 0, 1), "resolved", "open"),
    reply(2, at(9, 11), first=False),
    status(2, at(9, 12), "open", "resolved"),
    ev(2, at(9, 12, 0, 1), "survey_sent", outbox=51, to="ana@example.com"),
    answer(2, at(9, 13), 2),
    *opened(3, at(6, 15, 30), 7, module="mail", problem_type="bug"),
    ev(3, at(6, 16), "escalated", from_tier=1, to_tier=2, reason="80% of first response"),
    assigned(3, at(6, 16, 0, 1), 7, 9),
    ev(3, at(6, 16, 30), "labels_changed", by=EVE, field="severity", to="1", **{"from": "3"}),
    ev(3, at(6, 16, 31), "labels_changed", by=EVE, field="category", to="billing", **{"from": "m"}),
    reply(3, at(9, 8, 30), first=True),
    outcome(3, at(9, 8, 30, 1), "first_response", False),
    status(3, at(9, 9, 30), "open", "resolved"),
    outcome(3, at(9, 9, 30, 1), "resolution", True),
    ev(3, at(9, 9, 30, 2), "survey_sent", outbox=52, to="bo@example.com"),
    *opened(4, at(9, 10, 30), 8, module="sync"),
    status(4, at(9, 11), "open", "closed"),
    merged(4, at(9, 11, 0, 1)),
    *opened(5, at(9, 10), 7, module="billing", severity=2, queue="enterprise", tier=2),
    ev(5, at(9, 10, 0, 10), "escalated", from_tier=1, to_tier=2, reason="a rule"),
    reply(5, at(9, 10, 20), first=True),
    outcome(5, at(9, 10, 20, 1), "first_response", True),
    merged(5, at(9, 11, 0, 1)),
    ev(6, at(9, 13), "created", by=ANA, inbound=6, mailbox="INBOX"),
    labels(6, at(9, 13, 0, 1)),
    ev(6, at(9, 13, 0, 2), "unassigned", queue="default", lead_told=None, considered=[]),
]
LIVES = fold(HISTORY)
CALENDARS = dict.fromkeys(LIVES, OFFICE)
WEEK_1, WEEK_2 = (at(2, 0), at(9, 0)), (at(9, 0), at(16, 0))


def test_each_life_is_folded_from_its_events() -> None:
    one, two, three, four, five, six = (LIVES[t] for t in range(1, 7))
    assert (one.first_response_at, one.resolved_at) == (at(2, 9, 40), at(2, 11))  # ack ignored
    assert one.rating == 5 and one.surveyed  # the later answer counts
    assert (two.reopened, two.public_replies, two.resolved_at) == (1, 3, at(9, 12))
    assert two.done == ((at(9, 8, 30, 1), at(9, 10, 0, 1)), (at(9, 12), None))
    assert (three.module, three.severity, three.tier, three.engineer) == ("billing", 1, 2, "9")
    assert three.outcomes == {"first_response": False, "resolution": True}
    assert three.rating is None and three.surveyed
    assert four.closed_as == "merged" and four.merged
    assert five.closed_as is None and five.resolved_at is None  # merged into, not merged
    assert (five.queue, five.tier, five.escalations, five.calendar) == (
        "enterprise",
        2,
        1,
        "office",
    )
    assert (six.module, six.engineer, six.first_response_at) == (None, None, None)


def test_durations_by_hand() -> None:
    one, two, three = LIVES[1], LIVES[2], LIVES[3]
    # Mon 10:00-10:40 Berlin, all open
    assert first_response(one, OFFICE) == Duration(2400, 2400)
    # Mon 10:00-12:00 Berlin; the close on Wednesday keeps the time it was resolved
    assert resolution(one, OFFICE) == Duration(7200, 7200)
    # Fri 15:00-16:30 Berlin
    assert first_response(two, OFFICE) == Duration(5400, 5400)
    # Fri 15:00-17:00 (7,200) + Mon 09:00-13:00 (14,400) = 21,600; Fri 14:00 to Mon 12:00 UTC
    # = 70 h = 252,000 (the weekend pending on the customer counts: it is the customer's wait)
    assert resolution(two, OFFICE) == Duration(21600, 252000)
    # Fri 16:30-17:00 (1,800) + Mon 09:00-09:30 (1,800) = 3,600; Fri 15:30 to Mon 08:30 UTC = 65 h
    assert first_response(three, OFFICE) == Duration(3600, 65 * 3600)
    # Fri 16:30-17:00 (1,800) + Mon 09:00-10:30 (5,400) = 7,200; 66 h in calendar time
    assert resolution(three, OFFICE) == Duration(7200, 66 * 3600)
    assert first_response(three, WALL) == Duration(65 * 3600, 65 * 3600)
    assert resolution(LIVES[4], OFFICE) is None  # merged
    assert resolution(LIVES[5], OFFICE) is None and first_response(LIVES[6], OFFICE) is None


def test_first_contact_resolution() -> None:
    verdicts = {ticket: fcr(life) for ticket, life in LIVES.items()}
    # one reply, never reopened: 1 and 3 (3 breached its first response, still FCR)
    assert verdicts == {1: True, 2: False, 3: True, 4: None, 5: None, 6: None}


def test_the_whole_history() -> None:
    assert summarise(LIVES.values(), calendars=CALENDARS) == Summary(
        created=6,
        resolved=3,  # 1, 2, 3
        merged=1,  # 4
        backlog=2,  # 5 and 6 are open now
        escalations=2,  # 3 by an SLA warning, 5 by a rule
        first_response=Timing(
            # business [1200, 2400, 3600, 5400]: median rank ceil(0.5*4)=2, p90 rank ceil(3.6)=4
            business=Spread(4, 2400, 5400),
            # calendar [1200, 2400, 5400, 234000]
            calendar=Spread(4, 2400, 234000),
        ),
        resolution=Timing(
            # business [7200, 7200, 21600]: median rank ceil(1.5)=2, p90 rank ceil(2.7)=3
            business=Spread(3, 7200, 21600),
            # calendar [7200, 237600, 252000]
            calendar=Spread(3, 237600, 252000),
        ),
        fcr=Rate(2, 3),  # 1 and 3 of the resolved 1, 2, 3
        sla={"first_response": Rate(3, 4), "resolution": Rate(3, 3)},  # 3 missed its first
        # ratings 5 (the later of 3 and 5) and 2: (5 + 2) / 2 = 3.5; one of two is 4-5;
        # answered 2 of the 3 surveyed (1, 2, 3)
        csat=Csat(average=3.5, n=2, satisfied=Rate(1, 2), response=Rate(2, 3)),
    )
    walled = summarise(LIVES.values(), calendars=lambda _: WALL)
    assert walled.first_response.business == walled.first_response.calendar
    assert Rate(2, 3).share == pytest.approx(2 / 3) and Rate(0, 0).share is None


def test_week_by_week() -> None:
    first = summarise(LIVES.values(), calendars=CALENDARS, start=WEEK_1[0], end=WEEK_1[1])
    # created 1, 2, 3; resolved 1 only; open at Monday 9 Nov 00:00: 2 (pending) and 3
    assert (first.created, first.resolved, first.merged, first.backlog) == (3, 1, 0, 2)
    assert first.first_response.business == Spread(3, 3600, 5400)  # [2400, 3600, 5400]
    assert first.fcr == Rate(2, 3) and first.escalations == 1
    second = summarise(LIVES.values(), calendars=CALENDARS, start=WEEK_2[0], end=WEEK_2[1])
    # created 4, 5, 6; resolved 2 and 3 (of the week before), merged 4; open: 5 and 6
    assert (second.created, second.resolved, second.merged, second.backlog) == (3, 2, 1, 2)
    assert second.first_response.business == Spread(1, 1200, 1200)  # 5 only
    assert second.resolution.business == Spread(0, None, None)
    assert second.fcr == Rate(0, 0) and second.sla == {"first_response": Rate(1, 1)}
    assert second.csat == Csat(None, 0, Rate(0, 0), Rate(0, 0))
    periods = weeks(at(4, 12), at(10, 0))
    assert periods == (WEEK_1, WEEK_2)
    assert trend(LIVES.values(), periods, calendars=CALENDARS) == (
        (WEEK_1, first),
        (WEEK_2, second),
    )


def test_measured_once_summarised_alike() -> None:
    measured = measure(LIVES.values(), calendars=CALENDARS)
    assert measure(measured) == measured  # measured lives pass through, no calendar needed
    assert measured[1].resolution == Duration(21600, 252000)  # ticket 2
    assert summarise(measured) == summarise(LIVES.values(), calendars=CALENDARS)
    assert breakdown(measured, BY["queue"]) == breakdown(
        LIVES.values(), BY["queue"], calendars=CALENDARS
    )
    with pytest.raises(ValueError, match="needs its calendar"):
        summarise(LIVES.values())


def test_backlog_at_a_moment_follows_reopenings() -> None:
    # Mon 9 Nov 09:00 UTC: 2 resolved at 08:30 (not yet reopened), 3 open; 4-6 not created
    assert [t for t, life in LIVES.items() if is_open(life, at(9, 9))] == [3]
    # 10:45: 2 reopened at 10:00, 3 resolved at 09:30, 4 (until 11:00) and 5 created
    assert [t for t, life in LIVES.items() if is_open(life, at(9, 10, 45))] == [2, 4, 5]
    assert summarise(LIVES.values(), calendars=CALENDARS, end=at(9, 10, 45)).backlog == 3
    # what happens at a moment counts from just after it
    assert is_open(LIVES[2], at(9, 8, 30, 1)) and not is_open(LIVES[2], at(9, 8, 30, 2))


def test_breakdowns() -> None:
    modules = breakdown(LIVES.values(), BY["module"], calendars=CALENDARS)
    assert list(modules) == [NONE, "billing", "sync"]
    billing = modules["billing"]  # 1, 3 (relabelled) and 5
    assert billing.first_response.business == Spread(3, 2400, 3600)  # [1200, 2400, 3600]
    assert (billing.fcr, billing.backlog) == (Rate(2, 2), 1)
    assert (modules["sync"].fcr, modules["sync"].merged) == (Rate(0, 1), 1)  # 2, 4
    assert modules[NONE].first_response.business == Spread(0, None, None)  # 6
    people = breakdown(LIVES.values(), BY["engineer"], calendars=CALENDARS, per_person=True)
    assert list(people) == [NONE, "7", "8", "9"]
    eve = people["7"]  # 1 and 5
    assert (eve.created, eve.fcr, eve.escalations) == (2, None, 1)  # FCR: a team measure
    assert eve.first_response.business == Spread(2, 1200, 2400)  # [1200, 2400]
    assert eve.csat == Csat(5.0, 1, Rate(1, 1), Rate(1, 1))
    severities = breakdown(LIVES.values(), BY["severity"], calendars=CALENDARS)
    assert {name: s.created for name, s in severities.items()} == {"1": 1, "2": 2, "3": 3}
    tiers = breakdown(LIVES.values(), BY["tier"], calendars=CALENDARS)
    assert {name: s.created for name, s in tiers.items()} == {"1": 4, "2": 2}


def test_events_out_of_order_fold_the_same() -> None:
    shuffled = list(HISTORY)
    random.Random(10).shuffle(shuffled)
    assert fold(shuffled) == LIVES
    assert fold(reversed(HISTORY)) == LIVES


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([15, 20, 35, 40, 50], 5, 15),
        ([15, 20, 35, 40, 50], 30, 20),
        ([15, 20, 35, 40, 50], 40, 20),
        ([50, 40, 35, 20, 15], 50, 35),
        ([15, 20, 35, 40, 50], 100, 50),
        ([3, 6, 7, 8, 8, 10, 13, 15, 16, 20], 25, 7),
        ([3, 6, 7, 8, 8, 10, 13, 15, 16, 20], 50, 8),
        ([3, 6, 7, 8, 8, 10, 13, 15, 16, 20], 90, 16),
        ([3, 6, 7, 8, 8, 10, 13, 15, 16, 20], 0, 3),
        ([1, 2, 3, 4], 50, 2),  # the lower middle: a real value, never an average
        ([7], 90, 7),
        ([], 50, None),
    ],
)
def test_percentile_is_nearest_rank(values: list[int], p: float, expected: int | None) -> None:
    assert percentile(values, p) == expected


def test_empty_inputs_give_none_not_errors() -> None:
    assert fold([]) == {}
    empty = summarise([], calendars={})
    assert (empty.created, empty.backlog, empty.fcr, empty.sla) == (0, 0, Rate(0, 0), {})
    assert empty.first_response == Timing(Spread(0, None, None), Spread(0, None, None))
    assert empty.csat.average is None and empty.csat.response.share is None
    assert breakdown([], BY["queue"], calendars={}) == {}
    assert trend([], weeks(at(2, 0), at(2, 0)), calendars={}) == ()


def test_periods_and_their_mistakes() -> None:
    december, january = datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    assert months(at(15, 12), at(16, 0)) == ((at(1, 0), december),)
    assert months(december + timedelta(days=14), january + timedelta(days=1)) == (
        (december, january),
        (january, datetime(2027, 2, 1, tzinfo=UTC)),
    )
    assert weeks(at(9, 0), at(9, 0)) == ()
    with pytest.raises(ValueError, match="timezone-aware"):
        summarise(LIVES.values(), calendars=CALENDARS, start=datetime(2026, 11, 2))
    with pytest.raises(KeyError, match="no calendar for ticket 2"):
        summarise(LIVES.values(), calendars={1: OFFICE})
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile([1], 101)


def test_every_metric_has_its_definition() -> None:
    for name in ("first_response", "resolution", "fcr", "sla", "csat", "backlog", "percentiles"):
        assert DEFINITIONS[name].endswith(".")
    assert "not a per-engineer target" in DEFINITIONS["fcr"]
    assert "response rate" in DEFINITIONS["csat"]
    for name in ("resolution", "fcr", "csat"):
        assert "merged" in DEFINITIONS[name]


STATUSES = ("new", "open", "pending", "resolved", "closed")
PAYLOADS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "created": st.just({"inbound": 1, "mailbox": "INBOX"}),
    "status_changed": st.fixed_dictionaries(
        {"from": st.sampled_from(STATUSES), "to": st.sampled_from(STATUSES), "reason": st.just("")}
    ),
    "assigned": st.fixed_dictionaries({"from": st.none(), "to": st.none() | st.integers(1, 3)}),
    "reply_sent": st.fixed_dictionaries({"first": st.booleans(), "to": st.just([])}),
    "sla_outcome": st.fixed_dictionaries(
        {"target": st.sampled_from(("first_response", "resolution")), "met": st.booleans()}
    ),
    "escalated": st.fixed_dictionaries({"from_tier": st.just(1), "to_tier": st.integers(1, 3)}),
    "classified": st.fixed_dictionaries(
        {"module": st.none() | st.just("billing"), "severity": st.integers(1, 4)}
    ),
    "labels_changed": st.fixed_dictionaries(
        {
            "field": st.sampled_from(("severity", "category", "tags", "cc")),
            "from": st.just("-"),
            "to": st.sampled_from(("-", "2", "sync", "")),
        }
    ),
    "survey_sent": st.just({"outbox": 1, "to": "a@example.com"}),
    "survey_answered": st.fixed_dictionaries({"rating": st.integers(1, 5)}),
    "merged": st.fixed_dictionaries({"into": st.integers(1, 3), "source": st.integers(1, 3)}),
    "sla_clock": st.just({"target": "resolution", "calendar": "office"}),
    "note_added": st.just({"message": 1}),
}


@st.composite
def histories(draw: st.DrawFn) -> list[EventRow]:
    """Events of up to three tickets, each at its own second within four weeks."""
    moments = draw(st.lists(st.integers(0, 28 * 86400), min_size=1, max_size=30, unique=True))
    rows = []
    for second in moments:
        kind = draw(st.sampled_from(sorted(PAYLOADS)))
        when = at(2, 0) + timedelta(seconds=second)
        rows.append(EventRow(draw(st.integers(1, 3)), when, kind, "system", draw(PAYLOADS[kind])))
    return rows


@settings(max_examples=150, deadline=None)
@given(histories(), st.randoms(use_true_random=False))
def test_fold_never_raises_and_the_order_never_matters(
    history: list[EventRow], rnd: random.Random
) -> None:
    shuffled = list(history)
    rnd.shuffle(shuffled)
    lives = fold(shuffled)
    assert lives == fold(history)
    summary = summarise(lives.values(), calendars=lambda _: OFFICE)
    for timing in (summary.first_response, summary.resolution):
        for spread in (timing.business, timing.calendar):
            assert (spread.median is None) == (spread.p90 is None) == (spread.n == 0)
            if spread.median is not None and spread.p90 is not None:
                assert spread.median <= spread.p90
    for life in lives.values():
        duration = resolution(life, OFFICE)
        assert duration is None or 0 <= duration.business_seconds <= duration.calendar_seconds


@settings(max_examples=100, deadline=None)
@given(histories())
def test_a_trend_is_the_summaries_of_its_periods(history: list[EventRow]) -> None:
    twins = [dataclasses.replace(one, ticket=one.ticket + 100) for one in LIVES.values()]
    lives = [*fold(history).values(), *LIVES.values(), *twins]  # ties on purpose
    measured = measure(lives, calendars=lambda _: OFFICE)
    periods = (*weeks(at(1, 0), at(30, 0) + timedelta(days=8)), (at(3, 5), at(5, 7)))
    assert trend(measured, periods) == tuple(
        (period, summarise(lives, calendars=lambda _: OFFICE, start=period[0], end=period[1]))
        for period in periods
    )


@given(st.lists(st.integers(0, 10**7), min_size=1))
def test_the_median_is_never_above_the_90th_percentile(values: list[int]) -> None:
    median, p90 = percentile(values, 50), percentile(values, 90)
    assert median is not None and p90 is not None
    assert median <= p90 and median in values and p90 in values
