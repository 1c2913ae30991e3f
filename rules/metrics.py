"""Support metrics computed from the event log alone, so a rebuild always gives the same numbers.

The site's overview, trends, breakdowns and baseline report all come from here, and every number
is printed with its sentence from `DEFINITIONS`. The work has two steps, each pure:

1. `fold`: `events` rows (`EventRow`, as the read-only query layer hands them over) into one
   `TicketLife` per ticket: when it was created, first answered and last resolved, its labels,
   assignee, reopenings, replies, escalations, SLA outcomes and survey answer
   (`rules.metrics_life`).
2. `summarise` (`rules.metrics_summary`), `breakdown` and `trend` (`rules.metrics_trends`):
   lives into `Summary` values for a period, per group, or per week and month, with durations
   in each ticket's `Calendar` and in wall time. `measure` does the costly part once per build.

    lives = measure(fold(rows).values(), calendars=calendars)
    week = summarise(lives, start=monday, end=monday + timedelta(days=7))
    week.first_response.business.median, week.fcr.share, DEFINITIONS["fcr"]
    by_module = breakdown(lives, BY["module"])
    people = breakdown(lives, BY["engineer"], per_person=True)    # no FCR per person
    weekly = trend(lives, weeks(first, last))

This module is the public surface; the three modules behind it hold the code.
"""

from __future__ import annotations

from rules.metrics_life import (
    Duration,
    EventRow,
    TicketLife,
    fcr,
    first_response,
    fold,
    is_open,
    life_of,
    resolution,
)
from rules.metrics_summary import (
    DEFINITIONS,
    Calendars,
    Csat,
    Deflection,
    Lives,
    Measured,
    Opens,
    Rate,
    Spread,
    Summary,
    Timing,
    measure,
    percentile,
    summarise,
)
from rules.metrics_trends import (
    BY,
    NONE,
    PER_PERSON,
    Key,
    Period,
    breaches,
    breakdown,
    months,
    report,
    trend,
    weeks,
)

__all__ = [
    "BY",
    "DEFINITIONS",
    "NONE",
    "PER_PERSON",
    "Calendars",
    "Csat",
    "Deflection",
    "Duration",
    "EventRow",
    "Key",
    "Lives",
    "Measured",
    "Opens",
    "Period",
    "Rate",
    "Spread",
    "Summary",
    "TicketLife",
    "Timing",
    "breaches",
    "breakdown",
    "fcr",
    "first_response",
    "fold",
    "is_open",
    "life_of",
    "measure",
    "months",
    "percentile",
    "report",
    "resolution",
    "summarise",
    "trend",
    "weeks",
]
