"""Who takes a ticket: the queue's strategy over the engineers who are at work and have room.

Every engineer is considered and every one gets a verdict with its reason, so the assignment
event and the dry run say who else was considered and why not. In order, an engineer is out
when: inactive; not a member of the queue; of another tier than the ticket; excluded (the one
handing the ticket over); away (out of office, until a date); off work (outside their hours, on
their days off or a holiday, in their own timezone); at their capacity cap. The rest are ranked
by the queue's strategy:

- `skills`: those with every skill the ticket needs at the queue's minimum level, highest total
  level first, then least loaded; when nobody at work has the skills, least-loaded among all;
- `least_loaded`: the smallest load (open tickets whose clock runs, weighted by severity);
- `round_robin`: whoever was assigned longest ago.

Ties always go round-robin (longest since last assignment, never assigned first), then by name,
so the result never depends on the order the engineers were given in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from rules.calendar import Calendar
from rules.hits import Hit

Strategy = Literal["skills", "least_loaded", "round_robin"]
STRATEGIES: tuple[Strategy, ...] = ("skills", "least_loaded", "round_robin")
SEVERITY_WEIGHTS: Mapping[int, float] = {1: 4.0, 2: 3.0, 3: 2.0, 4: 1.0}
_NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class EngineerFacts:
    """One engineer as assignment sees them now; `load` counts only tickets whose clock runs."""

    address: str
    name: str
    tier: int
    calendar: Calendar
    skills: Mapping[str, int] = field(default_factory=dict)
    capacity: int | None = None
    load: float = 0.0
    open_tickets: int = 0
    away_until: datetime | None = None
    last_assigned_at: datetime | None = None
    active: bool = True


@dataclass(frozen=True, slots=True)
class QueuePolicy:
    name: str
    strategy: Strategy = "least_loaded"
    members: frozenset[str] = frozenset()
    lead: str | None = None
    min_level: int = 1


@dataclass(frozen=True, slots=True)
class Considered:
    address: str
    eligible: bool
    why: str

    def to_json(self) -> dict[str, object]:
        return {"address": self.address, "eligible": self.eligible, "why": self.why}


@dataclass(frozen=True, slots=True)
class Assignment:
    engineer: str | None
    strategy: str
    considered: tuple[Considered, ...]
    reason: str
    hits: tuple[Hit, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "engineer": self.engineer,
            "strategy": self.strategy,
            "reason": self.reason,
            "considered": [c.to_json() for c in self.considered],
        }


def load_of(severities: Sequence[int]) -> float:
    """The weighted load of the open tickets an engineer holds (their severities)."""
    return sum(SEVERITY_WEIGHTS.get(s, 1.0) for s in severities)


def availability(engineer: EngineerFacts, at: datetime) -> str | None:
    """None when the engineer is at work at `at`; else why not, in words."""
    if engineer.away_until is not None and at < engineer.away_until:
        return f"away until {engineer.away_until.date().isoformat()}"
    if not engineer.calendar.is_open(at):
        local = at.astimezone(ZoneInfo(engineer.calendar.timezone))
        return f"off work ({local:%a %H:%M} in {engineer.calendar.timezone})"
    return None


def assign(
    *,
    queue: QueuePolicy,
    tier: int,
    needs: Sequence[str],
    engineers: Sequence[EngineerFacts],
    at: datetime,
    exclude: frozenset[str] = frozenset(),
) -> Assignment:
    """Pick the engineer for a ticket of `tier` in `queue` needing `needs` skills, at `at`."""
    verdicts: dict[str, str | None] = {
        e.address: _excluded(e, queue, tier, exclude, at) for e in engineers
    }
    eligible = [e for e in engineers if verdicts[e.address] is None]
    strategy: str = queue.strategy
    ranked: list[EngineerFacts]
    note = ""
    if queue.strategy == "skills" and needs:
        skilled = [e for e in eligible if _has_skills(e, needs, queue.min_level)]
        for e in eligible:
            if e not in skilled:
                verdicts[e.address] = f"lacks skill {', '.join(needs)} at level {queue.min_level}"
        if skilled:
            ranked = sorted(skilled, key=lambda e: (-_level(e, needs), e.load, *_turn(e)))
        else:
            strategy, note = "least_loaded", f"nobody at work has {', '.join(needs)}; "
            ranked = sorted(eligible, key=lambda e: (e.load, *_turn(e)))
            verdicts.update({e.address: None for e in eligible})
    elif queue.strategy == "round_robin":
        ranked = sorted(eligible, key=_turn)
    else:
        strategy = "least_loaded" if queue.strategy == "skills" else queue.strategy
        ranked = sorted(eligible, key=lambda e: (e.load, *_turn(e)))
    considered = tuple(
        Considered(e.address, verdicts[e.address] is None, verdicts[e.address] or _standing(e))
        for e in engineers
    )
    if not ranked:
        reason = f"nobody in queue {queue.name} (tier {tier}) can take it now: it waits"
        hit = Hit("unassigned", "queue", queue.name, reason)
        return Assignment(None, strategy, considered, reason, (hit,))
    chosen = ranked[0]
    others = [c for c in considered if c.address != chosen.address]
    reason = f"{note}{strategy} in queue {queue.name}: {chosen.address} ({_standing(chosen)})"
    if others:
        reason += f"; also considered {len(others)}"
    hit = Hit(f"assign-{strategy.replace('_', '-')}", "queue", queue.name, reason)
    return Assignment(chosen.address, strategy, considered, reason, (hit,))


def _excluded(
    engineer: EngineerFacts, queue: QueuePolicy, tier: int, exclude: frozenset[str], at: datetime
) -> str | None:
    if not engineer.active:
        return "inactive"
    if queue.members and engineer.address not in queue.members:
        return f"not in queue {queue.name}"
    if engineer.tier != tier:
        return f"tier {engineer.tier}, the ticket is tier {tier}"
    if engineer.address in exclude:
        return "handing it over"
    away = availability(engineer, at)
    if away is not None:
        return away
    if engineer.capacity is not None and engineer.open_tickets >= engineer.capacity:
        return f"at capacity ({engineer.open_tickets}/{engineer.capacity} open)"
    return None


def _has_skills(engineer: EngineerFacts, needs: Sequence[str], level: int) -> bool:
    return all(engineer.skills.get(skill, 0) >= level for skill in needs)


def _level(engineer: EngineerFacts, needs: Sequence[str]) -> int:
    return sum(engineer.skills.get(skill, 0) for skill in needs)


def _turn(engineer: EngineerFacts) -> tuple[datetime, str]:
    return engineer.last_assigned_at or _NEVER, engineer.address


def _standing(engineer: EngineerFacts) -> str:
    skills = ", ".join(f"{k}:{v}" for k, v in sorted(engineer.skills.items()))
    return f"load {engineer.load:g}, {engineer.open_tickets} open" + (
        f", skills {skills}" if skills else ""
    )
