"""Support metrics over many ticket lives: one period's summary, and each metric's definition.

`summarise` answers for one period [start, end) (either end open):

- the period's tickets, those created in it, give the durations, first contact resolution, SLA
  compliance, CSAT and escalations; the log as it stands decides what became of them;
- the flow counts look at every ticket: `resolved` and `merged` are those whose last resolution
  or closing falls in the period, `backlog` those open at its end (open now when it has none).

Durations are reported as median and 90th percentile (`percentile`: nearest rank, so each is a
real ticket's time), in the ticket's business hours and in wall time. Every share comes with its
`n`, and is None when n == 0, so a page says "n=0" instead of dividing by zero. First contact
resolution is a team measure: `per_person=True` (per engineer) leaves it out.
`DEFINITIONS` holds the sentence the site prints beside each number; the code below is what it
says. Measuring a ticket (its first response and resolution in its calendar) is the costly
step, so `measure` can do it once for a whole build; every function here takes measured lives or
plain ones with `calendars` (by ticket id). Pure: nothing reads the clock.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType

from rules.calendar import Calendar
from rules.metrics_life import Duration, TicketLife, fcr, first_response, is_open, resolution

Calendars = Mapping[int, Calendar] | Callable[[int], Calendar]
SATISFIED = 4  # ratings of 4 and 5 count as satisfied

DEFINITIONS: Mapping[str, str] = MappingProxyType(
    {
        "period": (
            "Durations, first contact resolution, SLA compliance, CSAT and escalations are of "
            "the tickets created in the period, as the event log stands at the build."
        ),
        "created": "Tickets created in the period: each ticket's first customer mail.",
        "resolved": (
            "Tickets whose last move to resolved or closed falls in the period, merged tickets "
            "left out (they are counted as merged)."
        ),
        "backlog": (
            "Tickets open at the end of the period: created before it and not resolved or closed "
            "at that moment, a reopened ticket being open again."
        ),
        "first_response": (
            "Time from the first customer mail to the first public reply by an engineer, in "
            "business hours of the ticket's calendar and in calendar time, auto-acknowledgements "
            "not counted and tickets still without a reply left out."
        ),
        "resolution": (
            "Time from the first customer mail to the last time the ticket was resolved or "
            "closed, time waiting on the customer included, in business hours of the ticket's "
            "calendar and in calendar time, open and merged tickets left out."
        ),
        "percentiles": (
            "Median and 90th percentile by the nearest-rank method: the smallest value with at "
            "least half (nine tenths) of the values at or below it, always a real ticket's time."
        ),
        "fcr": (
            "First contact resolution: the share of resolved tickets solved with exactly one "
            "public engineer reply and never reopened, merged tickets left out; a team measure, "
            "not a per-engineer target."
        ),
        "sla": (
            "SLA compliance per target (first response, resolution): the share of the outcomes "
            "recorded when each target was met or missed that met it, time paused while waiting "
            "on the customer not counted."
        ),
        "csat": (
            "Customer satisfaction: the average survey rating (1 to 5, the last answer per "
            "ticket) and the share of 4 and 5 ratings, shown with the response rate (tickets "
            "answered out of tickets surveyed), merged tickets left out."
        ),
        "escalations": "Moves of a ticket to a higher tier, a rule's at intake included.",
        "deflection": (
            "Deflection: of the tickets whose acknowledgement suggested knowledge-base articles, "
            "the share the customer marked solved by answering it, with the number of distinct "
            "articles suggested."
        ),
        "opened": (
            "Articles opened from the site: readings of published article pages in the web "
            "server's access log ([site] access_logs), a GET answered 200 or 304 by a client "
            'that does not call itself a robot, counted in the hour it was read; "from a '
            "mail\" are those that followed a link in one of the desk's mails."
        ),
        "breaches": (
            "Open breaches: tickets open at the moment shown with at least one SLA target "
            "(first response, resolution) recorded as missed."
        ),
    }
)


def percentile(values: Sequence[int], p: float) -> int | None:
    """The nearest-rank p-th percentile (0 <= p <= 100): the value at rank ceil(p/100 * n) of
    the sorted values (rank 1 for p = 0), so it is always one of them; None for no values."""
    if not 0 <= p <= 100:
        raise ValueError(f"a percentile is between 0 and 100, got {p}")
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p * len(ordered) / 100)) - 1]


@dataclass(frozen=True, slots=True)
class Spread:
    """Median and 90th percentile of n values, in seconds (None when n == 0)."""

    n: int
    median: int | None
    p90: int | None


@dataclass(frozen=True, slots=True)
class Timing:
    """One duration metric in the ticket's business hours and in wall time."""

    business: Spread
    calendar: Spread


@dataclass(frozen=True, slots=True)
class Rate:
    """`hits` out of `n`; `share` is None when n == 0."""

    hits: int
    n: int

    @property
    def share(self) -> float | None:
        return None if self.n == 0 else self.hits / self.n


@dataclass(frozen=True, slots=True)
class Csat:
    """Average rating of n answers, the share of 4-5 ratings, and the response rate."""

    average: float | None
    n: int
    satisfied: Rate
    response: Rate


@dataclass(frozen=True, slots=True)
class Opens:
    """Article pages read on the site in a period (`rules.kb_opens`): how many readings, how
    many by a link from the desk's mails, of how many articles."""

    opened: int
    from_mail: int
    articles: int


@dataclass(frozen=True, slots=True)
class Deflection:
    """Tickets with suggested articles, how many articles that was, the share deflected, and
    the article pages read on the site (None: not counted, the desk reads no access log)."""

    suggested: int
    articles: int
    deflected: Rate
    opens: Opens | None = None


NO_DEFLECTION = Deflection(0, 0, Rate(0, 0))


@dataclass(frozen=True, slots=True)
class Summary:
    """One period's numbers, each as `DEFINITIONS` says; `fcr` is None in per-person views."""

    created: int
    resolved: int
    merged: int
    backlog: int
    escalations: int
    first_response: Timing
    resolution: Timing
    fcr: Rate | None
    sla: Mapping[str, Rate]
    csat: Csat
    deflection: Deflection = NO_DEFLECTION


def spread(values: Sequence[int]) -> Spread:
    return Spread(len(values), percentile(values, 50), percentile(values, 90))


def timing(durations: Iterable[Duration | None]) -> Timing:
    """The spread of the durations that exist (None: not replied or not resolved yet)."""
    known = [d for d in durations if d is not None]
    return Timing(
        spread([d.business_seconds for d in known]), spread([d.calendar_seconds for d in known])
    )


@dataclass(frozen=True, slots=True)
class Measured:
    """A life with its durations measured in its calendar. Measuring is the costly part (two
    `business_seconds` each), so a site build measures every life once and summarises often."""

    life: TicketLife
    first_response: Duration | None
    resolution: Duration | None


Lives = Iterable[TicketLife | Measured]


def calendar_of(calendars: Calendars | None, ticket: int) -> Calendar:
    """The ticket's calendar; a mapping without it is the caller's mistake (KeyError)."""
    if calendars is None:
        raise ValueError(f"ticket {ticket} needs its calendar: pass calendars= or measure() first")
    if isinstance(calendars, Mapping):
        if ticket not in calendars:
            raise KeyError(f"no calendar for ticket {ticket}")
        return calendars[ticket]
    return calendars(ticket)


def measure(lives: Lives, *, calendars: Calendars | None = None) -> tuple[Measured, ...]:
    """Each life with its first response and resolution; measured ones are kept as they are."""
    return tuple(
        item
        if isinstance(item, Measured)
        else Measured(
            item,
            first_response(item, calendar_of(calendars, item.ticket))
            if item.first_response_at is not None
            else None,
            resolution(item, calendar_of(calendars, item.ticket))
            if item.resolved_at is not None and not item.merged
            else None,
        )
        for item in lives
    )


def life(item: TicketLife | Measured) -> TicketLife:
    return item.life if isinstance(item, Measured) else item


def utc(at: datetime, what: str) -> datetime:
    """`at` in UTC; ValueError for a naive datetime (it cannot be compared with the log's)."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {at.isoformat()}")
    return at.astimezone(UTC)


def aware(at: datetime | None, what: str) -> datetime | None:
    return None if at is None else utc(at, what)


def _within(at: datetime, start: datetime | None, end: datetime | None) -> bool:
    return (start is None or at >= start) and (end is None or at < end)


def _sla(lives: Sequence[TicketLife]) -> Mapping[str, Rate]:
    met: dict[str, list[bool]] = {}
    for one in lives:
        for target, outcome in one.outcomes.items():
            met.setdefault(target, []).append(outcome)
    return MappingProxyType({t: Rate(sum(met[t]), len(met[t])) for t in sorted(met)})


def _csat(lives: Sequence[TicketLife]) -> Csat:
    kept = [one for one in lives if not one.merged]
    ratings = [one.rating for one in kept if one.rating is not None]
    surveyed = [one for one in kept if one.surveyed]
    return Csat(
        average=sum(ratings) / len(ratings) if ratings else None,
        n=len(ratings),
        satisfied=Rate(sum(r >= SATISFIED for r in ratings), len(ratings)),
        response=Rate(sum(one.rating is not None for one in surveyed), len(surveyed)),
    )


def _deflection(lives: Sequence[TicketLife]) -> Deflection:
    helped = [one for one in lives if one.suggested]
    articles = len({article for one in helped for article in one.suggested})
    return Deflection(
        len(helped), articles, Rate(sum(one.deflected for one in helped), len(helped))
    )


def _fcr(lives: Sequence[TicketLife]) -> Rate:
    verdicts = [v for v in map(fcr, lives) if v is not None]
    return Rate(sum(verdicts), len(verdicts))


def assemble(
    cohort: Sequence[Measured], out: Sequence[TicketLife], backlog: int, *, per_person: bool
) -> Summary:
    """A summary from its parts: the period's tickets (measured), those resolved or merged in
    it, and the backlog at its end. `summarise` and `trend` choose the parts."""
    lives = [m.life for m in cohort]
    return Summary(
        created=len(cohort),
        resolved=sum(not one.merged for one in out),
        merged=sum(one.merged for one in out),
        backlog=backlog,
        escalations=sum(one.escalations for one in lives),
        first_response=timing(m.first_response for m in cohort),
        resolution=timing(m.resolution for m in cohort),
        fcr=None if per_person else _fcr(lives),
        sla=_sla(lives),
        csat=_csat(lives),
        deflection=_deflection(lives),
    )


def summarise(
    lives: Lives,
    *,
    calendars: Calendars | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    per_person: bool = False,
) -> Summary:
    """The numbers for [start, end), as the module docstring says; `per_person` leaves FCR out.
    Only the period's tickets are measured, and only if they were not measured before."""
    start, end = aware(start, "start"), aware(end, "end")
    everyone = tuple(lives)
    cohort = [item for item in everyone if _within(life(item).created_at, start, end)]
    out = [
        one
        for one in map(life, everyone)
        if one.resolved_at is not None and _within(one.resolved_at, start, end)
    ]
    backlog = sum(is_open(life(item), end) for item in everyone)
    return assemble(measure(cohort, calendars=calendars), out, backlog, per_person=per_person)
