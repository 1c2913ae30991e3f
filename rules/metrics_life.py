"""One ticket's life, folded from its events: the facts every support metric is computed from.

The event log is append-only, so folding it again always gives the same lives, and the site's
numbers are reproducible. `fold` takes the `events` rows of any number of tickets, in any order,
groups them by ticket, sorts each ticket's events by time (ties keep the order given: the query
layer hands rows over in id order) and walks them once. What it keeps, per ticket:

- `created_at`: the `created` event (the first customer mail); the earliest event if it is missing.
- labels: the latest of `classified`, then `labels_changed` (`category` is the module; severity
  is parsed from its shown text) and `escalated` (`to_tier`) override it; a ticket never
  classified keeps the rule set's defaults (severity 3, queue "default", tier 1).
- `engineer`: the latest `assigned.to`, as text (None: unassigned).
- `first_response_at`: the first `reply_sent`; acknowledgements are `acknowledged` events and never
  count.
- `done`: the stretches in which the ticket was resolved or closed. A move into resolved or closed
  from an open status starts one; resolved -> closed keeps it (as the tickets table keeps
  `resolved_at`); a move back out ends it and counts as a reopening. `resolved_at` is the start of
  the last stretch while it lasts, None while the ticket is open.
- `outcomes`: per SLA target, the latest `sla_outcome.met`.
- `rating`: the last `survey_answered` (a later answer replaces an earlier one); `surveyed`: a
  `survey_sent` exists.
- `suggested`: the articles the acknowledgements listed (`kb_suggested`, each counted once per
  ticket); `deflected`: a `deflected` event exists (the customer answered "solved" to them).
- `closed_as`: "merged" once a `merged` event names this ticket as its source (the event is written
  on both tickets), cleared by a reopening, as `lifecycle.reopened` clears the column.

Durations (`first_response`, `resolution`) are measured in the ticket's calendar and in wall
time, both in whole seconds (`Calendar.business_seconds`). Pure: no clock, no database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from rules.calendar import WALL, Calendar

DONE = frozenset({"resolved", "closed"})
MERGED = "merged"
DEFAULT_SEVERITY, DEFAULT_QUEUE, DEFAULT_TIER = 3, "default", 1  # as rules.classify's RuleSet
Stretch = tuple[datetime, datetime | None]


@dataclass(frozen=True, slots=True)
class EventRow:
    """One `events` row as the query layer hands it over; `data` is the stored JSON payload."""

    ticket_id: int
    at: datetime
    kind: str
    actor: str
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class TicketLife:
    """What the metrics need to know about one ticket, as its events stand now."""

    ticket: int
    created_at: datetime
    module: str | None = None
    problem_type: str | None = None
    severity: int = DEFAULT_SEVERITY
    queue: str = DEFAULT_QUEUE
    tier: int = DEFAULT_TIER
    engineer: str | None = None
    calendar: str | None = None  # the SLA calendar's name (latest `sla_clock`), to pick a Calendar
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    done: tuple[Stretch, ...] = ()
    reopened: int = 0
    public_replies: int = 0
    escalations: int = 0
    outcomes: Mapping[str, bool] = field(default_factory=lambda: MappingProxyType({}))
    rating: int | None = None
    surveyed: bool = False
    closed_as: str | None = None
    suggested: frozenset[int] = frozenset()
    deflected: bool = False

    @property
    def merged(self) -> bool:
        return self.closed_as == MERGED


@dataclass(frozen=True, slots=True)
class Duration:
    """A stretch of time in the ticket's business hours and in wall time, whole seconds."""

    business_seconds: int
    calendar_seconds: int


def _shown(text: object) -> str | None:
    """A label as `labels_changed` shows it: "-" (or nothing) is no value."""
    value = str(text).strip() if text is not None else ""
    return None if value in ("", "-", "(none)") else value


@dataclass(slots=True)
class _Walk:
    """A ticket's life while its events are walked: the one mutable thing here, and private
    (a fresh frozen life per event made folding 100,000 tickets several times slower)."""

    ticket: int
    created_at: datetime
    module: str | None = None
    problem_type: str | None = None
    severity: int = DEFAULT_SEVERITY
    queue: str = DEFAULT_QUEUE
    tier: int = DEFAULT_TIER
    engineer: str | None = None
    calendar: str | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    done: list[Stretch] = field(default_factory=list)
    reopened: int = 0
    public_replies: int = 0
    escalations: int = 0
    outcomes: dict[str, bool] = field(default_factory=dict)
    rating: int | None = None
    surveyed: bool = False
    closed_as: str | None = None
    suggested: set[int] = field(default_factory=set)
    deflected: bool = False

    def freeze(self) -> TicketLife:
        return TicketLife(
            ticket=self.ticket,
            created_at=self.created_at,
            module=self.module,
            problem_type=self.problem_type,
            severity=self.severity,
            queue=self.queue,
            tier=self.tier,
            engineer=self.engineer,
            calendar=self.calendar,
            first_response_at=self.first_response_at,
            resolved_at=self.resolved_at,
            done=tuple(self.done),
            reopened=self.reopened,
            public_replies=self.public_replies,
            escalations=self.escalations,
            outcomes=MappingProxyType(dict(self.outcomes)),
            rating=self.rating,
            surveyed=self.surveyed,
            closed_as=self.closed_as,
            suggested=frozenset(self.suggested),
            deflected=self.deflected,
        )


def _classified(walk: _Walk, data: Mapping[str, Any], at: datetime) -> None:
    walk.module, walk.problem_type = data.get("module"), data.get("problem_type")
    walk.severity = int(data.get("severity", walk.severity))
    walk.queue = str(data.get("queue", walk.queue))
    walk.tier = int(data.get("tier", walk.tier))


def _relabelled(walk: _Walk, data: Mapping[str, Any], at: datetime) -> None:
    """`labels_changed`; tags and cc do not shape a metric."""
    name, value = str(data.get("field", "")), _shown(data.get("to"))
    if name in ("category", "module"):
        walk.module = value
    elif name == "problem_type":
        walk.problem_type = value
    elif name == "queue" and value is not None:
        walk.queue = value
    elif name == "severity" and value is not None and value.isdigit():
        walk.severity = int(value)
    elif name == "tier" and value is not None and value.isdigit():
        walk.tier = int(value)


def _status(walk: _Walk, data: Mapping[str, Any], at: datetime) -> None:
    """The open/done state machine of the module docstring."""
    to = str(data.get("to", ""))
    if to in DONE and walk.resolved_at is None:
        walk.resolved_at = at
        walk.done.append((at, None))
    elif to and to not in DONE and walk.resolved_at is not None:
        walk.done[-1] = (walk.resolved_at, at)
        walk.resolved_at, walk.closed_as = None, None
        walk.reopened += 1


def _assigned(walk: _Walk, data: Mapping[str, Any], at: datetime) -> None:
    to = data.get("to")
    walk.engineer = None if to is None else str(to)


def _replied(walk: _Walk, data: Mapping[str, Any], at: datetime) -> None:
    if walk.first_response_at is None:
        walk.first_response_at = at
    walk.public_replies += 1


def _escalated(walk: _Walk, data: Mapping[str, Any], at: datetime) -> None:
    walk.tier = int(data.get("to_tier", walk.tier))
    walk.escalations += 1


def _outcome(walk: _Walk, data: Mapping[str, Any], at: datetime) -> None:
    walk.outcomes[str(data["target"])] = bool(data["met"])


def _clock(walk: _Walk, data: Mapping[str, Any], at: datetime) -> None:
    if data.get("calendar") is not None:
        walk.calendar = str(data["calendar"])


def _answered(walk: _Walk, data: Mapping[str, Any], at: datetime) -> None:
    walk.rating = int(data["rating"])


def _surveyed(walk: _Walk, data: Mapping[str, Any], at: datetime) -> None:
    walk.surveyed = True


def _merged(walk: _Walk, data: Mapping[str, Any], at: datetime) -> None:
    if data.get("source") == walk.ticket:  # not the ticket merged into: its life goes on
        walk.closed_as = MERGED


def _suggested(walk: _Walk, data: Mapping[str, Any], at: datetime) -> None:
    walk.suggested.update(int(article) for article in data.get("articles", ()))


def _deflected(walk: _Walk, data: Mapping[str, Any], at: datetime) -> None:
    walk.deflected = True


STEPS: Mapping[str, Callable[[_Walk, Mapping[str, Any], datetime], None]] = MappingProxyType(
    {
        "classified": _classified,
        "labels_changed": _relabelled,
        "status_changed": _status,
        "assigned": _assigned,
        "reply_sent": _replied,
        "escalated": _escalated,
        "sla_outcome": _outcome,
        "sla_clock": _clock,
        "survey_answered": _answered,
        "survey_sent": _surveyed,
        "merged": _merged,
        "kb_suggested": _suggested,
        "deflected": _deflected,
    }
)


def life_of(ticket: int, events: Iterable[EventRow]) -> TicketLife:
    """One ticket's life from its events (any order; ties in `at` keep the order given)."""
    ordered = sorted(events, key=_at)  # a stable sort: ties keep their order
    if not ordered:
        raise ValueError(f"ticket {ticket} has no events")
    created = next((e.at for e in ordered if e.kind == "created"), ordered[0].at)
    walk = _Walk(ticket=ticket, created_at=created)
    for event in ordered:
        step = STEPS.get(event.kind)
        if step is not None:
            step(walk, event.data, event.at)
    return walk.freeze()


def _at(event: EventRow) -> datetime:
    return event.at


def fold(events: Iterable[EventRow]) -> dict[int, TicketLife]:
    """The lives of every ticket the events name, by ticket id in ascending order."""
    by_ticket: dict[int, list[EventRow]] = {}
    for event in events:
        by_ticket.setdefault(event.ticket_id, []).append(event)
    return {ticket: life_of(ticket, by_ticket[ticket]) for ticket in sorted(by_ticket)}


def _between(start: datetime, end: datetime, calendar: Calendar) -> Duration:
    return Duration(calendar.business_seconds(start, end), WALL.business_seconds(start, end))


def first_response(life: TicketLife, calendar: Calendar) -> Duration | None:
    """From the first customer mail to the first public reply; None while nobody replied."""
    if life.first_response_at is None:
        return None
    return _between(life.created_at, life.first_response_at, calendar)


def resolution(life: TicketLife, calendar: Calendar) -> Duration | None:
    """From the first customer mail to the last resolution, time waiting on the customer
    included; None while open, and for a merged ticket (it was not solved, it moved)."""
    if life.resolved_at is None or life.merged:
        return None
    return _between(life.created_at, life.resolved_at, calendar)


def fcr(life: TicketLife) -> bool | None:
    """First contact resolution: resolved with exactly one public reply and never reopened.
    None while open and for a merged ticket."""
    if life.resolved_at is None or life.merged:
        return None
    return life.public_replies == 1 and life.reopened == 0


def is_open(life: TicketLife, at: datetime | None = None) -> bool:
    """Open at the moment `at`, counting what happened before it (None: as the log stands).
    Created before `at` and in no resolved-or-closed stretch that started before it."""
    if at is None:
        return life.resolved_at is None
    if life.created_at >= at:
        return False
    return not any(start < at and (end is None or end >= at) for start, end in life.done)
