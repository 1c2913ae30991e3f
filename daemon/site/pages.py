"""The public metric pages as Markdown, from measured ticket lives: pure, so a test can read them.

`metric_pages(measured, at=..., templates=...)` gives `{path: markdown}` for the pages the
site's hook adds in memory (`PAGES`), as the event log stood at `at`:

- `metrics/index.md`: this week (Monday 00:00 UTC until `at`) against last week;
- `metrics/breakdowns.md`: the last `BREAKDOWN_WEEKS` weeks by product module, problem type,
  severity, tier and queue. Per-engineer numbers belong to the internal part: `PUBLIC_BY` leaves
  out every breakdown that `rules.metrics.PER_PERSON` names;
- `metrics/trends.md`: the last `TREND_WEEKS` ISO weeks, one row each.

`no_data_pages(reason, templates=...)` gives the same pages saying why there are no numbers.
Every number is printed with its sentence from `rules.metrics.DEFINITIONS`.

The templates (`site/templates/*.md.j2`) hold the pages' shape and the formatting; Python only
chooses the periods. Every value a template prints is escaped for Markdown by `markdown_text`
(the environment's `finalize`, under Jinja's autoescape), whoever wrote it: labels, queues and
SLA target names come from configured strings and, later, from mail. What is already markup (a
macro's output, a value wrapped in `markupsafe.Markup`) passes as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from rules import metrics
from rules.metrics_summary import utc

PAGES = ("metrics/index.md", "metrics/breakdowns.md", "metrics/trends.md")
TREND_WEEKS = 12
BREAKDOWN_WEEKS = 4
PUBLIC_BY = tuple(name for name in metrics.BY if name not in metrics.PER_PERSON)
BY_LABEL: Mapping[str, str] = {
    "module": "product module",
    "problem_type": "problem type",
    "severity": "severity",
    "tier": "tier",
    "queue": "queue",
    "engineer": "engineer",
}
_WEEK = timedelta(days=7)
_MARKUP = "&<>\"'\\`*_{}[]()#+!|~"
_ESCAPES = str.maketrans(
    {**{c: f"&#{ord(c)};" for c in _MARKUP}, **{chr(i): " " for i in range(32)}, "\x7f": " "}
)


def markdown_text(value: object) -> str:
    """`value` as Markdown that shows it as text and nothing else: what `html.escape` does for
    HTML, done for Markdown too. HTML's special characters and Markdown's (links, emphasis,
    code, table cells, escapes) become numeric character references, control characters and
    line breaks spaces; `Markup` passes as it is, None prints as nothing."""
    if value is None:
        return ""
    if isinstance(value, Markup):
        return str(value)
    return str(value).translate(_ESCAPES)


def _escaped(value: object) -> Markup:
    """The `finalize` of the page templates: escaped here, so autoescape leaves it alone."""
    return Markup(markdown_text(value))


def duration(seconds: int | None) -> str:
    """A duration for people: "40 s", "45 min", "2 h 5 min", "3 d 4 h"; "–" for none."""
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{seconds} s"
    minutes = (seconds + 30) // 60
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60} min" if minutes % 60 else f"{minutes // 60} h"
    hours = (minutes + 30) // 60
    return f"{hours // 24} d {hours % 24} h" if hours % 24 else f"{hours // 24} d"


def spread(value: metrics.Spread) -> str:
    """Median / 90th percentile with n: "45 min / 2 h (n=3)"."""
    if value.n == 0:
        return "– (n=0)"
    return f"{duration(value.median)} / {duration(value.p90)} (n={value.n})"


def median(value: metrics.Spread) -> str:
    return duration(value.median)


def rate(value: metrics.Rate | None) -> str:
    """A share with what it counts: "67% (2 of 3)"; "– (n=0)" when nothing was counted."""
    if value is None or value.share is None:
        return "– (n=0)"
    return f"{value.share:.0%} ({value.hits} of {value.n})"


def average(value: metrics.Csat) -> str:
    return "– (n=0)" if value.average is None else f"{value.average:.1f} (n={value.n})"


def words(name: str) -> str:
    """An identifier as words: "first_response" -> "first response"."""
    return name.replace("_", " ")


def day(at: datetime) -> str:
    return at.strftime("%Y-%m-%d")


def moment(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True, slots=True)
class Week:
    """One column of the overview: a period's label, its bounds and its summary."""

    label: str
    start: datetime
    end: datetime
    summary: metrics.Summary


def monday(at: datetime) -> datetime:
    """00:00 UTC of the Monday that begins `at`'s ISO week."""
    start = utc(at, "at").replace(hour=0, minute=0, second=0, microsecond=0)
    return start - timedelta(days=start.weekday())


def metric_pages(
    measured: tuple[metrics.Measured, ...], *, at: datetime, templates: Path
) -> dict[str, str]:
    """The metric pages for the log as it stood at `at` (lives measured, events up to `at`)."""
    at = utc(at, "at")
    this = monday(at)
    weeks = [
        Week("This week", this, at, metrics.summarise(measured, start=this, end=at)),
        Week(
            "Last week",
            this - _WEEK,
            this,
            metrics.summarise(measured, start=this - _WEEK, end=this),
        ),
    ]
    since = this - (BREAKDOWN_WEEKS - 1) * _WEEK
    breakdowns = {
        name: metrics.breakdown(measured, metrics.BY[name], start=since, end=at)
        for name in PUBLIC_BY
    }
    trend = metrics.trend(measured, metrics.weeks(this - (TREND_WEEKS - 1) * _WEEK, at))
    common = {"at": at, "tickets": len(measured), "definitions": metrics.DEFINITIONS}
    return _render(
        templates,
        {
            "metrics/index.md": (
                "overview.md.j2",
                {"weeks": weeks, "targets": _targets(w.summary for w in weeks)},
            ),
            "metrics/breakdowns.md": (
                "breakdowns.md.j2",
                {
                    "since": since,
                    "breakdowns": breakdowns,
                    "labels": BY_LABEL,
                    "targets": _targets(
                        s for groups in breakdowns.values() for s in groups.values()
                    ),
                },
            ),
            "metrics/trends.md": (
                "trends.md.j2",
                {"trend": trend, "targets": _targets(summary for _, summary in trend)},
            ),
        },
        common,
    )


def no_data_pages(reason: str, *, templates: Path) -> dict[str, str]:
    """The metric pages of a site built without a database: why, and what they would show."""
    common = {"reason": reason, "definitions": metrics.DEFINITIONS}
    pages = {
        "metrics/index.md": "Metrics",
        "metrics/breakdowns.md": "Breakdowns",
        "metrics/trends.md": "Trends",
    }
    return _render(
        templates,
        {path: ("no_data.md.j2", {"title": title}) for path, title in pages.items()},
        common,
    )


def _targets(summaries: Iterable[metrics.Summary]) -> list[str]:
    """The SLA targets any of these summaries has outcomes for, sorted."""
    return sorted({target for summary in summaries for target in summary.sla})


def _render(
    templates: Path,
    pages: Mapping[str, tuple[str, Mapping[str, Any]]],
    common: Mapping[str, Any],
) -> dict[str, str]:
    environment = Environment(
        loader=FileSystemLoader(templates),
        autoescape=True,
        finalize=_escaped,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters.update(
        duration=duration,
        spread=spread,
        median=median,
        rate=rate,
        average=average,
        words=words,
        day=day,
        moment=moment,
    )
    return {
        path: environment.get_template(template).render(**common, **context)
        for path, (template, context) in pages.items()
    }
