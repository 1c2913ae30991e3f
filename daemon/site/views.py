"""What the metric pages choose, apart from drawing them: periods, chart rows and ticket lists.

Pure functions over measured lives and summaries, so a test can check each choice:

- `charts`: the trend charts of a page section (tickets in and out, first response and
  resolution median and 90th percentile, first contact resolution and SLA compliance, CSAT,
  deflection), each as an SVG (`daemon.site.charts`) and the table of the same numbers;
- `baseline_periods`: the configured baseline period and the latest full period of the same
  length before the build's day, for the baseline page;
- `ticket_rows`: the internal part's ticket lists (open tickets, open breaches), with the
  subject and the engineer's address; never used on the public part.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from markupsafe import Markup

from daemon.cli.report import person
from daemon.site import charts
from rules import metrics

Trend = Sequence[tuple[metrics.Period, metrics.Summary]]
Value = Callable[[metrics.Summary], float | None]
HOUR = 3600


@dataclass(frozen=True, slots=True)
class Chart:
    """A chart and its numbers: the SVG, the table's header and its rows (first cell: period)."""

    title: str
    svg: Markup
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def _hours(seconds: int | None) -> float | None:
    return None if seconds is None else round(seconds / HOUR, 2)


def _percent(value: metrics.Rate | None) -> float | None:
    return None if value is None or value.share is None else round(100 * value.share, 1)


def _shown(value: float | None, unit: str) -> str:
    return "–" if value is None else f"{value:g}{unit}"


def _chart(
    kind: charts.Kind,
    title: str,
    labels: Sequence[str],
    trend: Trend,
    *,
    lines: Mapping[str, Value],
    unit: str,
) -> Chart:
    series = [
        charts.Series(name, [value(summary) for _, summary in trend])
        for name, value in lines.items()
    ]
    svg = charts.chart(kind, title, labels, series, fmt=lambda v: f"{v:g}{unit}")
    rows = tuple(
        (label, *(_shown(one.values[i], unit) for one in series)) for i, label in enumerate(labels)
    )
    return Chart(title, Markup(svg), tuple(lines), rows)


def _sla_share(target: str) -> Value:
    def share(summary: metrics.Summary) -> float | None:
        return _percent(summary.sla.get(target))

    return share


def _durations(timing: Callable[[metrics.Summary], metrics.Timing]) -> dict[str, Value]:
    """A duration's median and 90th percentile in business hours, as two chart lines."""
    return {
        "Median": lambda s: _hours(timing(s).business.median),
        "90th percentile": lambda s: _hours(timing(s).business.p90),
    }


def charts_of(trend: Trend, labels: Sequence[str], targets: Sequence[str]) -> list[Chart]:
    """The charts of one trend (weeks or months), in the order the page shows them."""
    shares: dict[str, Value] = {"FCR": lambda s: _percent(s.fcr)}
    for target in targets:
        shares[f"SLA {target.replace('_', ' ')}"] = _sla_share(target)
    drawn: list[tuple[charts.Kind, str, dict[str, Value], str]] = [
        ("bar", "Tickets in and out", {"In": lambda s: s.created, "Out": lambda s: s.resolved}, ""),
        (
            "line",
            "First response, business hours (hours)",
            _durations(lambda s: s.first_response),
            " h",
        ),
        ("line", "Resolution, business hours (hours)", _durations(lambda s: s.resolution), " h"),
        ("line", "First contact resolution and SLA compliance", shares, "%"),
        (
            "line",
            "CSAT and deflection",
            {
                "CSAT rated 4 or 5": lambda s: _percent(s.csat.satisfied),
                "Deflected": lambda s: _percent(s.deflection.deflected),
            },
            "%",
        ),
    ]
    return [
        _chart(kind, title, labels, trend, lines=lines, unit=unit)
        for kind, title, lines, unit in drawn
    ]


def baseline_periods(
    start: date, end: date, *, at: datetime
) -> tuple[metrics.Period, metrics.Period]:
    """The baseline [start, end) in UTC days, and the latest full period of as many days that
    ends at 00:00 UTC of the build's day (so no day of it is still going on)."""
    first = datetime(start.year, start.month, start.day, tzinfo=UTC)
    last = datetime(end.year, end.month, end.day, tzinfo=UTC)
    today = at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (first, last), (today - (last - first), today)


@dataclass(frozen=True, slots=True)
class TicketRow:
    """One line of an internal ticket list."""

    ticket: int
    subject: str
    engineer: str
    severity: int
    queue: str
    created_at: datetime
    missed: tuple[str, ...]  # SLA targets missed


def ticket_rows(
    lives: Sequence[metrics.TicketLife],
    *,
    subjects: Mapping[int, str],
    people: Mapping[int, str],
) -> list[TicketRow]:
    """The internal list's rows for these lives, by ticket number."""
    return [
        TicketRow(
            ticket=one.ticket,
            subject=subjects.get(one.ticket, ""),
            engineer=person(one.engineer, people) if one.engineer else "(unassigned)",
            severity=one.severity,
            queue=one.queue,
            created_at=one.created_at,
            missed=tuple(sorted(t for t, met in one.outcomes.items() if not met)),
        )
        for one in sorted(lives, key=lambda one: one.ticket)
    ]


def open_lives(measured: Sequence[metrics.Measured]) -> list[metrics.TicketLife]:
    """The tickets open as the log stands, by number."""
    return sorted((m.life for m in measured if metrics.is_open(m.life)), key=lambda o: o.ticket)


def month_label(period: metrics.Period) -> str:
    return period[0].strftime("%Y-%m")


def week_label(period: metrics.Period) -> str:
    return period[0].strftime("%Y-%m-%d")


def ago(at: datetime, months: int) -> datetime:
    """The 1st of the month `months` - 1 before `at`'s, 00:00 UTC: where a trend of `months`
    months ending with `at`'s month begins."""
    first = at.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    total = first.year * 12 + first.month - 1 - (months - 1)
    return first.replace(year=total // 12, month=total % 12 + 1)
