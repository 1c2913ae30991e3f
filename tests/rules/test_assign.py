"""Assignment: who is at work, who has room and skills, and who else was considered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rules.assign import EngineerFacts, QueuePolicy, assign, availability, load_of
from rules.calendar import ALWAYS, Calendar, Holidays, week_from

MONDAY_10 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
OFFICE = Calendar(
    "office", "UTC", week=week_from("09:00-17:00", ("mon", "tue", "wed", "thu", "fri"))
)
TOKYO = Calendar(
    "tokyo", "Asia/Tokyo", week=week_from("09:00-17:00", ("mon", "tue", "wed", "thu", "fri"))
)


def eng(address: str, **kw: object) -> EngineerFacts:
    base: dict[str, object] = {"address": address, "name": address, "tier": 1, "calendar": OFFICE}
    base.update(kw)
    return EngineerFacts(**base)  # type: ignore[arg-type]


def test_least_loaded_takes_the_lightest_and_says_who_else_was_considered() -> None:
    team = [eng("ann@x", load=4.0, open_tickets=2), eng("bob@x", load=1.0, open_tickets=1)]
    decision = assign(queue=QueuePolicy("general"), tier=1, needs=(), engineers=team, at=MONDAY_10)
    assert decision.engineer == "bob@x"
    assert decision.strategy == "least_loaded"
    assert [c.address for c in decision.considered] == ["ann@x", "bob@x"]
    assert "load 4" in decision.considered[0].why


def test_ties_go_round_robin_to_whoever_waited_longest() -> None:
    earlier = MONDAY_10 - timedelta(hours=3)
    team = [
        eng("ann@x", last_assigned_at=MONDAY_10 - timedelta(hours=1)),
        eng("bob@x", last_assigned_at=earlier),
        eng("cid@x", last_assigned_at=MONDAY_10 - timedelta(hours=2)),
    ]
    decision = assign(queue=QueuePolicy("q"), tier=1, needs=(), engineers=team, at=MONDAY_10)
    assert decision.engineer == "bob@x"
    never = [*team, eng("dan@x")]
    assert (
        assign(queue=QueuePolicy("q"), tier=1, needs=(), engineers=never, at=MONDAY_10).engineer
        == "dan@x"
    )
    rr = QueuePolicy("q", strategy="round_robin")
    heavy = [eng("ann@x", load=9.0), eng("bob@x", load=0.0, last_assigned_at=MONDAY_10)]
    assert assign(queue=rr, tier=1, needs=(), engineers=heavy, at=MONDAY_10).engineer == "ann@x"


def test_only_engineers_at_work_with_room_count() -> None:
    team = [
        eng("tokyo@x", calendar=TOKYO),  # 19:00 in Tokyo
        eng("away@x", away_until=MONDAY_10 + timedelta(days=2)),
        eng("full@x", capacity=2, open_tickets=2),
        eng("gone@x", active=False),
        eng("expert@x", tier=2),
        eng("here@x", load=10.0),
    ]
    decision = assign(queue=QueuePolicy("q"), tier=1, needs=(), engineers=team, at=MONDAY_10)
    assert decision.engineer == "here@x"
    why = {c.address: c.why for c in decision.considered}
    assert why["tokyo@x"].startswith("off work (Mon 19:00 in Asia/Tokyo")
    assert why["away@x"] == "away until 2026-12-09"
    assert why["full@x"] == "at capacity (2/2 open)"
    assert why["gone@x"] == "inactive"
    assert why["expert@x"] == "tier 2, the ticket is tier 1"


def test_holidays_keep_an_engineer_off() -> None:
    christmas = datetime(2026, 12, 25, 10, 0, tzinfo=UTC)
    german = Calendar("de", "Europe/Berlin", week=ALWAYS, holidays=Holidays("DE"))
    assert availability(eng("hans@x", calendar=german), christmas) is not None
    assert availability(eng("hans@x", calendar=german), MONDAY_10) is None


def test_skills_prefer_the_higher_level_and_fall_back_when_nobody_has_them() -> None:
    team = [
        eng("ann@x", skills={"billing": 1}),
        eng("bob@x", skills={"billing": 3}, load=3.0),
        eng("cid@x", skills={"api": 2}),
    ]
    skills = QueuePolicy("q", strategy="skills")
    decision = assign(queue=skills, tier=1, needs=("billing",), engineers=team, at=MONDAY_10)
    assert decision.engineer == "bob@x"
    assert "lacks skill billing" in {c.address: c.why for c in decision.considered}["cid@x"]
    strict = QueuePolicy("q", strategy="skills", min_level=2)
    assert (
        assign(queue=strict, tier=1, needs=("billing",), engineers=team, at=MONDAY_10).engineer
        == "bob@x"
    )
    nobody = assign(queue=skills, tier=1, needs=("vpn",), engineers=team, at=MONDAY_10)
    assert nobody.strategy == "least_loaded" and nobody.engineer in {"ann@x", "cid@x"}
    assert "nobody at work has vpn" in nobody.reason


def test_nobody_available_leaves_the_ticket_waiting_with_a_reason() -> None:
    team = [eng("tokyo@x", calendar=TOKYO)]
    decision = assign(queue=QueuePolicy("night"), tier=1, needs=(), engineers=team, at=MONDAY_10)
    assert decision.engineer is None
    assert "it waits" in decision.reason and decision.hits[0].rule == "unassigned"


def test_members_and_exclusion_narrow_the_queue() -> None:
    team = [eng("ann@x"), eng("bob@x", load=5.0)]
    queue = QueuePolicy("vip", members=frozenset({"bob@x"}))
    assert assign(queue=queue, tier=1, needs=(), engineers=team, at=MONDAY_10).engineer == "bob@x"
    handed = assign(
        queue=QueuePolicy("q"),
        tier=1,
        needs=(),
        engineers=team,
        at=MONDAY_10,
        exclude=frozenset({"ann@x"}),
    )
    assert handed.engineer == "bob@x"


def test_load_weighs_severity() -> None:
    assert load_of([1, 4]) == 5.0
    assert load_of([]) == 0.0
    assert load_of([2, 2]) > load_of([3, 3, 4])
