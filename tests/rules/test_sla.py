"""SLA clocks by the one table: start, pause, resume, stop; segments; outcomes once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from rules import sla
from rules.calendar import WALL, Calendar, Holidays, week_from

H = sla.Happening
OFFICE = Calendar(
    "office",
    "Europe/Berlin",
    week=week_from("09:00-17:00", ("mon", "tue", "wed", "thu", "fri")),
    holidays=Holidays("DE"),
)
FRIDAY_16 = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)  # 16:00 in Berlin


def test_every_happening_has_a_rule_for_both_targets_or_none() -> None:
    assert set(sla.CLOCK_RULES) == set(H)
    assert sla.effect(H.INTERNAL_NOTE, "first_response") is None
    assert sla.effect(H.ACKNOWLEDGED, "first_response") is None
    assert sla.effect(H.CUSTOMER_AUTOREPLY, "resolution") is None
    assert sla.effect(H.ENGINEER_REPLIED, "first_response") == "stop"
    assert sla.effect(H.ENGINEER_REPLIED, "resolution") is None


def test_a_business_hours_deadline_skips_the_weekend() -> None:
    clock = sla.start("first_response", 2 * 3600, FRIDAY_16)
    # one hour on Friday, one on Monday: Monday 10:00 Berlin, 09:00 UTC
    assert clock.deadline(OFFICE) == datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    assert clock.due(50, OFFICE) == datetime(2026, 12, 4, 16, 0, tzinfo=UTC)


def test_waiting_on_the_customer_pauses_and_their_answer_resumes() -> None:
    clock = sla.start("resolution", 4 * 3600, FRIDAY_16)
    paused = sla.step(clock, H.WAITING_ON_CUSTOMER, FRIDAY_16 + timedelta(minutes=30), OFFICE)
    assert paused.clock.state == "paused" and paused.clock.used == 1800
    assert paused.segments == (
        sla.Segment("resolution", FRIDAY_16, FRIDAY_16 + timedelta(minutes=30), True, 1800),
    )
    assert paused.clock.deadline(OFFICE) is None
    monday = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    resumed = sla.step(paused.clock, H.CUSTOMER_REPLIED, monday, OFFICE)
    [gap] = resumed.segments
    assert (gap.ran, gap.business_seconds) == (False, 5400)  # Fri 16:30-17:00, Mon 09:00-10:00
    assert resumed.clock.used == 1800  # the pause did not count
    assert resumed.clock.deadline(OFFICE) == monday + timedelta(hours=3, minutes=30)


def test_an_auto_reply_or_a_note_never_moves_a_clock() -> None:
    clock = sla.step(
        sla.start("first_response", 3600, FRIDAY_16), H.WAITING_ON_CUSTOMER, FRIDAY_16, OFFICE
    ).clock
    later = FRIDAY_16 + timedelta(minutes=10)
    for happening in (H.CUSTOMER_AUTOREPLY, H.INTERNAL_NOTE, H.ACKNOWLEDGED, H.REOPENED):
        assert sla.step(clock, happening, later, OFFICE).clock == clock


def test_the_outcome_is_recorded_once_met_or_missed() -> None:
    clock = sla.start("first_response", 3600, FRIDAY_16)
    met = sla.step(clock, H.ENGINEER_REPLIED, FRIDAY_16 + timedelta(minutes=59), WALL)
    assert met.outcome is not None and met.outcome.met and met.clock.outcome == "met"
    assert sla.step(met.clock, H.RESOLVED, FRIDAY_16 + timedelta(days=9), WALL).outcome is None
    late = FRIDAY_16 + timedelta(hours=1, seconds=1)
    assert (
        sla.breach(clock, FRIDAY_16 + timedelta(hours=1), WALL).outcome is None
    )  # at the deadline
    missed = sla.breach(clock, late, WALL)
    assert missed.outcome is not None and not missed.outcome.met
    assert missed.clock.state == "running"  # a missed clock still measures
    assert sla.breach(missed.clock, late + timedelta(hours=1), WALL).outcome is None
    stopped = sla.step(missed.clock, H.ENGINEER_REPLIED, late + timedelta(hours=1), WALL)
    assert stopped.outcome is None and stopped.clock.outcome == "missed"


def test_a_new_goal_keeps_the_recorded_outcome() -> None:
    clock = sla.step(
        sla.start("first_response", 60, FRIDAY_16), H.ENGINEER_REPLIED, FRIDAY_16, WALL
    ).clock
    assert sla.regoal(clock, 1).outcome == "met"


def test_policies_are_picked_in_order_by_severity_domain_and_queue() -> None:
    def policy(name: str) -> sla.Policy:
        return sla.Policy(name, WALL, 60, 120)

    rules = (
        sla.PolicyRule(policy("vip"), domains=("bigcorp.com",)),
        sla.PolicyRule(policy("critical"), severities=frozenset({1})),
        sla.PolicyRule(policy("billing"), queues=frozenset({"billing"})),
        sla.PolicyRule(policy("standard")),
    )

    def pick(severity: int, domain: str, queue: str = "general") -> str | None:
        found = sla.pick_policy(rules, severity=severity, domain=domain, queue=queue)
        return found.name if found else None

    assert pick(3, "eu.bigcorp.com") == "vip"
    assert pick(1, "small.example") == "critical"
    assert pick(3, "small.example", "billing") == "billing"
    assert pick(3, "notbigcorp.com") == "standard"
    assert sla.pick_policy((), severity=1, domain="x", queue="q") is None
    assert sla.marks((sla.Warning(50), sla.Warning(80))) == (50, 80, 100)


instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=150, deadline=None)
@given(
    start=instants,
    goal=st.integers(min_value=60, max_value=5 * 8 * 3600),
    ran=st.integers(min_value=0, max_value=3 * 86400),
    paused=st.integers(min_value=0, max_value=10 * 86400),
)
def test_a_pause_never_shortens_a_deadline(
    start: datetime, goal: int, ran: int, paused: int
) -> None:
    clock = sla.start("resolution", goal, start)
    unpaused = clock.deadline(OFFICE)
    assert unpaused is not None
    pause_at = start + timedelta(seconds=ran)
    stopped = sla.step(clock, H.WAITING_ON_CUSTOMER, pause_at, OFFICE)
    resumed = sla.step(
        stopped.clock, H.CUSTOMER_REPLIED, pause_at + timedelta(seconds=paused), OFFICE
    )
    deadline = resumed.clock.deadline(OFFICE)
    assert deadline is not None and deadline >= unpaused
    segments = stopped.segments + resumed.segments
    assert sum(s.business_seconds for s in segments if s.ran) == resumed.clock.used
