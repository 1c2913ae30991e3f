"""The metric pages as Markdown, from measured ticket lives: pure, so a test can read them.

`metric_pages(measured, at=..., templates=..., extras=...)` gives `{path: markdown}` for the
pages the site's hook adds in memory, as the event log stood at `at`; `extras` (`Extras`) says
which part is built, the baseline period, and for the internal part engineers' addresses and
tickets' subjects. Both parts (`PAGES`):

- `metrics/index.md`: this week (Monday 00:00 UTC until `at`) against last week, deflection,
  and the open breaches now (a count; the internal part lists them);
- `metrics/breakdowns.md`: the last `BREAKDOWN_WEEKS` weeks by product module, problem type,
  severity, tier and queue (`PUBLIC_BY`: never a breakdown `rules.metrics.PER_PERSON` names);
- `metrics/trends.md`: the last `TREND_WEEKS` ISO weeks and `TREND_MONTHS` months, one row
  each, then the SVG charts (`daemon.site.views.charts_of`), each followed by its numbers;
- `metrics/baseline.md`: `[site] baseline_from`..`baseline_to` beside the latest full period
  as long (`rules.metrics.report`, as `replydesk report baseline`).

The internal part adds (`INTERNAL_PAGES`) `metrics/engineers.md` (per engineer, no FCR) and
`metrics/tickets.md` (every open ticket). `no_data_pages(reason, templates=...)` gives the
public pages saying why there are no numbers. Every number is printed with its sentence from
`rules.metrics.DEFINITIONS`.

The templates (`site/templates/*.md.j2`) hold the pages' shape and the formatting; Python only
chooses the periods. Every value a template prints is escaped for Markdown by `markdown_text`
(the environment's `finalize`, under Jinja's autoescape), whoever wrote it: labels, queues and
SLA target names come from configured strings and, later, from mail. What is already markup (a
macro's output, a value wrapped in `markupsafe.Markup`) passes as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from daemon.cli.report import person
from daemon.site import views
from rules import metrics
from rules.kb_opens import Opened, with_opens
from rules.metrics_summary import utc

PAGES = ("metrics/index.md", "metrics/breakdowns.md", "metrics/trends.md", "metrics/baseline.md")
INTERNAL_PAGES = (*PAGES, "metrics/engineers.md", "metrics/tickets.md")
TREND_WEEKS = 12
TREND_MONTHS = 12
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


def opened(value: metrics.Deflection) -> str:
    """Article pages read: "12 (5 from a mail; 3 articles)"; "not counted" without an access log."""
    opens = value.opens
    if opens is None:
        return "not counted (no [site] access_logs)"
    articles = f"{opens.articles} article{'' if opens.articles == 1 else 's'}"
    return f"{opens.opened} ({opens.from_mail} from a mail; {articles})"


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


@dataclass(frozen=True, slots=True)
class Extras:
    """What a build adds to the lives: the part it builds, the baseline period it was given,
    and, for the internal part only, engineers' addresses by id and tickets' subjects; the
    article pages read on the site (`rules.kb_opens`) when the desk reads access logs."""

    part: str = "public"
    baseline: tuple[date, date] | None = None
    people: Mapping[int, str] = field(default_factory=dict)
    subjects: Mapping[int, str] = field(default_factory=dict)
    opens: tuple[Opened, ...] | None = None  # article pages read; None: no access log read


def metric_pages(
    measured: tuple[metrics.Measured, ...],
    *,
    at: datetime,
    templates: Path,
    extras: Extras | None = None,
) -> dict[str, str]:
    """The metric pages for the log as it stood at `at` (lives measured, events up to `at`)."""
    at, extras = utc(at, "at"), extras or Extras()
    internal = extras.part == "internal"
    common = {
        "at": at,
        "tickets": len(measured),
        "definitions": metrics.DEFINITIONS,
        "internal": internal,
    }
    built = {
        "metrics/index.md": ("overview.md.j2", _overview(measured, at, extras)),
        "metrics/breakdowns.md": ("breakdowns.md.j2", _breakdowns(measured, at)),
        "metrics/trends.md": ("trends.md.j2", _trends(measured, at, extras)),
        "metrics/baseline.md": ("baseline.md.j2", _baseline(measured, at, extras)),
    }
    if internal:
        built["metrics/engineers.md"] = ("engineers.md.j2", _engineers(measured, at, extras))
        built["metrics/tickets.md"] = ("tickets.md.j2", _tickets(measured, extras))
    return _render(templates, built, common)


def _overview(
    measured: tuple[metrics.Measured, ...], at: datetime, extras: Extras
) -> dict[str, Any]:
    this = monday(at)
    weeks = [
        Week(label, start, end, _summary(measured, extras, start, end))
        for label, start, end in (("This week", this, at), ("Last week", this - _WEEK, this))
    ]
    breaches = metrics.breaches(measured)
    listed = (
        views.ticket_rows(breaches, subjects=extras.subjects, people=extras.people)
        if extras.part == "internal"
        else []
    )
    return {
        "weeks": weeks,
        "targets": _targets(w.summary for w in weeks),
        "breaches": len(breaches),
        "breach_rows": listed,
    }


def _summary(
    measured: tuple[metrics.Measured, ...], extras: Extras, start: datetime, end: datetime
) -> metrics.Summary:
    summary = metrics.summarise(measured, start=start, end=end)
    return with_opens(summary, extras.opens, start, end)


def _opened(
    trend: tuple[tuple[metrics.Period, metrics.Summary], ...], extras: Extras
) -> tuple[tuple[metrics.Period, metrics.Summary], ...]:
    return tuple(
        ((start, end), with_opens(summary, extras.opens, start, end))
        for (start, end), summary in trend
    )


def _breakdowns(measured: tuple[metrics.Measured, ...], at: datetime) -> dict[str, Any]:
    since = monday(at) - (BREAKDOWN_WEEKS - 1) * _WEEK
    breakdowns = {
        name: metrics.breakdown(measured, metrics.BY[name], start=since, end=at)
        for name in PUBLIC_BY
    }
    return {
        "since": since,
        "breakdowns": breakdowns,
        "labels": BY_LABEL,
        "targets": _targets(s for groups in breakdowns.values() for s in groups.values()),
    }


def _trends(measured: tuple[metrics.Measured, ...], at: datetime, extras: Extras) -> dict[str, Any]:
    first_week = monday(at) - (TREND_WEEKS - 1) * _WEEK
    weekly = _opened(metrics.trend(measured, metrics.weeks(first_week, at)), extras)
    monthly = _opened(
        metrics.trend(measured, metrics.months(views.ago(at, TREND_MONTHS), at)), extras
    )
    targets = _targets(summary for _, summary in (*weekly, *monthly))
    return {
        "sections": [
            ("By week", "Week of", weekly, views.week_label),
            ("By month", "Month", monthly, views.month_label),
        ],
        "charts": [
            (title, views.charts_of(trend, [label(p) for p, _ in trend], targets))
            for title, trend, label in (
                ("Charts by week", weekly, views.week_label),
                ("Charts by month", monthly, views.month_label),
            )
        ],
        "targets": targets,
    }


def _baseline(
    measured: tuple[metrics.Measured, ...], at: datetime, extras: Extras
) -> dict[str, Any]:
    if extras.baseline is None:
        return {"periods": []}
    periods = views.baseline_periods(*extras.baseline, at=at)
    reports = [metrics.report(measured, start=a, end=b) for a, b in periods]
    summaries = [
        with_opens(summary, extras.opens, a, b)
        for (a, b), (summary, _) in zip(periods, reports, strict=True)
    ]
    names = [n for n in metrics.BY if n not in metrics.PER_PERSON or extras.part == "internal"]
    return {
        "periods": [(a, b - timedelta(days=1)) for a, b in periods],
        "summaries": summaries,
        "breakdowns": {
            name: _side_by_side(reports[0][1][name], reports[1][1][name], extras.people)
            for name in names
        },
        "labels": BY_LABEL,
        "targets": _targets(summaries),
    }


def _side_by_side(
    base: Mapping[str, metrics.Summary],
    latest: Mapping[str, metrics.Summary],
    people: Mapping[int, str],
) -> list[tuple[str, metrics.Summary | None, metrics.Summary | None]]:
    """One row per group of either period: its summary in the baseline and in the latest."""
    return [
        (person(group, people), base.get(group), latest.get(group))
        for group in sorted({*base, *latest})
    ]


def _engineers(
    measured: tuple[metrics.Measured, ...], at: datetime, extras: Extras
) -> dict[str, Any]:
    since = monday(at) - (BREAKDOWN_WEEKS - 1) * _WEEK
    groups = metrics.breakdown(
        measured, metrics.BY["engineer"], start=since, end=at, per_person=True
    )
    named = [(person(group, extras.people), s) for group, s in groups.items()]
    return {
        "since": since,
        "groups": named,
        "targets": _targets(s for _, s in named),
    }


def _tickets(measured: tuple[metrics.Measured, ...], extras: Extras) -> dict[str, Any]:
    rows = views.ticket_rows(
        views.open_lives(measured), subjects=extras.subjects, people=extras.people
    )
    return {"rows": rows}


def no_data_pages(reason: str, *, templates: Path, part: str = "public") -> dict[str, str]:
    """The metric pages of a site built without a database: why, and what they would show
    (the internal part's too, so that its nav finds them)."""
    common = {"reason": reason, "definitions": metrics.DEFINITIONS}
    pages = {
        "metrics/index.md": "Metrics",
        "metrics/breakdowns.md": "Breakdowns",
        "metrics/trends.md": "Trends",
        "metrics/baseline.md": "Baseline",
    }
    if part == "internal":
        pages |= {"metrics/engineers.md": "Engineers", "metrics/tickets.md": "Open tickets"}
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
        opened=opened,
        words=words,
        day=day,
        moment=moment,
    )
    return {
        path: environment.get_template(template).render(**common, **context)
        for path, (template, context) in pages.items()
    }
