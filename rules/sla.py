"""SLA clocks: what starts, pauses, resumes and stops them, written down in one place.

A ticket has two clocks, `first_response` and `resolution`, each measured in business time of the
policy's calendar (or wall time). What happens on the ticket moves them, by this table and
nothing else (`CLOCK_RULES`):

| what happened                         | first_response | resolution |
| ------------------------------------- | -------------- | ---------- |
| ticket created                        | start          | start      |
| engineer's public reply               | stop           | -          |
| internal note                         | -              | -          |
| auto-acknowledgement (ours)           | -              | -          |
| ticket waits on the customer          | pause          | pause      |
| customer's reply (a person)           | resume         | resume     |
| customer's auto-reply                 | -              | -          |
| ticket resolved                       | stop           | stop       |
| ticket reopened                       | -              | -          |
| engineer ends the wait (#status)      | resume         | resume     |

Waiting on the customer includes a ticket whose acknowledgement asked for missing facts. A
reopened ticket keeps the outcomes it had: an outcome is recorded once, at the moment a target
is met (the clock stops within its goal) or missed (its deadline passes while it runs, or it
stops over its goal), and is never recomputed, not even under a later calendar or policy.

Every stretch a clock spends running or paused becomes a `Segment` when it ends, so the metrics
can recompute compliance from the event log alone. Zero-length stretches are not recorded.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from rules.calendar import Calendar

Target = Literal["first_response", "resolution"]
TARGETS: tuple[Target, ...] = ("first_response", "resolution")
Effect = Literal["start", "pause", "resume", "stop"]


class Happening(enum.StrEnum):
    CREATED = "created"
    ENGINEER_REPLIED = "engineer_replied"
    INTERNAL_NOTE = "internal_note"
    ACKNOWLEDGED = "acknowledged"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    CUSTOMER_REPLIED = "customer_replied"
    CUSTOMER_AUTOREPLY = "customer_autoreply"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    ENGINEER_RESUMED = "engineer_resumed"


CLOCK_RULES: dict[Happening, dict[Target, Effect]] = {
    Happening.CREATED: {"first_response": "start", "resolution": "start"},
    Happening.ENGINEER_REPLIED: {"first_response": "stop"},
    Happening.INTERNAL_NOTE: {},
    Happening.ACKNOWLEDGED: {},
    Happening.WAITING_ON_CUSTOMER: {"first_response": "pause", "resolution": "pause"},
    Happening.CUSTOMER_REPLIED: {"first_response": "resume", "resolution": "resume"},
    Happening.CUSTOMER_AUTOREPLY: {},
    Happening.RESOLVED: {"first_response": "stop", "resolution": "stop"},
    Happening.REOPENED: {},
    Happening.ENGINEER_RESUMED: {"first_response": "resume", "resolution": "resume"},
}
"""The one table of what moves each clock (see the module docstring)."""

State = Literal["running", "paused", "stopped"]


@dataclass(frozen=True, slots=True)
class Policy:
    """Targets for one kind of ticket, in seconds of its calendar."""

    name: str
    calendar: Calendar
    first_response: int
    resolution: int
    update_interval: int | None = None

    def goal(self, target: Target) -> int:
        return self.first_response if target == "first_response" else self.resolution


@dataclass(frozen=True, slots=True)
class Clock:
    """One target's clock: `used` business seconds before `since`, the start of its state."""

    target: Target
    goal: int
    used: int
    state: State
    since: datetime
    outcome: Literal["met", "missed"] | None = None

    def used_at(self, at: datetime, calendar: Calendar) -> int:
        if self.state != "running":
            return self.used
        return self.used + calendar.business_seconds(self.since, at)

    def deadline(self, calendar: Calendar) -> datetime | None:
        """When the goal is used up, if the clock keeps running; None while it does not run.
        A reply at the deadline itself is in time; the breach check runs a second later."""
        if self.state != "running":
            return None
        return calendar.add(self.since, max(self.goal - self.used, 0))

    def due(self, percent: int, calendar: Calendar) -> datetime | None:
        """When `percent` of the goal will be used, if the clock keeps running from now."""
        if self.state != "running":
            return None
        mark = -(-self.goal * percent // 100)  # ceiling: 50% of 3 s is due at 2 s
        if percent >= 100:
            mark += 1  # missed means over the goal: a reply at the deadline itself is in time
        return calendar.add(self.since, max(mark - self.used, 0))


@dataclass(frozen=True, slots=True)
class Segment:
    target: Target
    start: datetime
    end: datetime
    ran: bool
    business_seconds: int


@dataclass(frozen=True, slots=True)
class Outcome:
    target: Target
    met: bool
    at: datetime
    used: int
    goal: int


@dataclass(frozen=True, slots=True)
class Step:
    clock: Clock
    segments: tuple[Segment, ...] = ()
    outcome: Outcome | None = None


def start(target: Target, goal: int, at: datetime) -> Clock:
    return Clock(target=target, goal=goal, used=0, state="running", since=at)


def effect(happening: Happening, target: Target) -> Effect | None:
    return CLOCK_RULES[happening].get(target)


def step(clock: Clock, happening: Happening, at: datetime, calendar: Calendar) -> Step:
    """Move one clock by what happened, by `CLOCK_RULES`."""
    what = effect(happening, clock.target)
    if what == "pause" and clock.state == "running":
        return _end_segment(clock, at, calendar, to="paused")
    if what == "resume" and clock.state == "paused":
        return _end_segment(clock, at, calendar, to="running")
    if what == "stop" and clock.state != "stopped":
        return _end_segment(clock, at, calendar, to="stopped")
    return Step(clock)


def breach(clock: Clock, at: datetime, calendar: Calendar) -> Step:
    """The deadline check: a running clock past its goal records `missed`, once, and runs on."""
    if clock.outcome is not None or clock.state != "running":
        return Step(clock)
    used = clock.used_at(at, calendar)
    if used <= clock.goal:
        return Step(clock)
    outcome = Outcome(clock.target, met=False, at=at, used=used, goal=clock.goal)
    return Step(replace(clock, outcome="missed"), outcome=outcome)


def regoal(clock: Clock, goal: int) -> Clock:
    """A new goal (the severity or the policy changed); an outcome already recorded stands."""
    return replace(clock, goal=goal)


def _end_segment(clock: Clock, at: datetime, calendar: Calendar, *, to: State) -> Step:
    at = max(at, clock.since)
    seconds = calendar.business_seconds(clock.since, at)
    ran = clock.state == "running"
    used = clock.used + seconds if ran else clock.used
    segments = (Segment(clock.target, clock.since, at, ran, seconds),) if at > clock.since else ()
    outcome = None
    if to == "stopped" and clock.outcome is None:
        outcome = Outcome(clock.target, met=used <= clock.goal, at=at, used=used, goal=clock.goal)
    verdict = clock.outcome or (("met" if outcome.met else "missed") if outcome else None)
    return Step(replace(clock, used=used, state=to, since=at, outcome=verdict), segments, outcome)


@dataclass(frozen=True, slots=True)
class PolicyRule:
    """Which tickets a policy covers; an empty condition covers every ticket."""

    policy: Policy
    severities: frozenset[int] = frozenset()
    domains: tuple[str, ...] = ()
    queues: frozenset[str] = frozenset()

    def covers(self, *, severity: int, domain: str, queue: str) -> bool:
        if self.severities and severity not in self.severities:
            return False
        if self.queues and queue not in self.queues:
            return False
        domain = domain.lower()
        return not self.domains or any(
            domain == d or domain.endswith("." + d) for d in self.domains
        )


@dataclass(frozen=True, slots=True)
class Warning:
    """What happens when a clock has used `percent` of its goal (100: the target is missed)."""

    percent: int
    notify: tuple[str, ...] = ("assignee",)
    escalate: bool = False


def pick_policy(
    rules: tuple[PolicyRule, ...], *, severity: int, domain: str, queue: str
) -> Policy | None:
    """The first policy, in configured order, that covers the ticket."""
    for rule in rules:
        if rule.covers(severity=severity, domain=domain, queue=queue):
            return rule.policy
    return None


def marks(warnings: tuple[Warning, ...]) -> tuple[int, ...]:
    """The percentages at which a clock is checked: every warning's, and always 100 (breach)."""
    return tuple(sorted({w.percent for w in warnings} | {100}))
