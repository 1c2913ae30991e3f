"""`replydesk report baseline --from DATE --to DATE [--at TIME]`: one period's numbers, as JSON.

A baseline is the service as it was before a change (new rules, a new team, a knowledge base),
to compare a later period against: the same numbers, computed the same way, from the event log
alone (`rules.metrics`), read through the read-only query layer (`daemon.storage.reader`). The
JSON holds the period's summary, its breakdowns by module, problem type, severity, tier, queue
and engineer (no first-contact resolution per engineer: it is a team measure), and the
definition of every number. The period's tickets are measured as the event log stands now (or
at `--at`), as `DEFINITIONS["period"]` says and as the site's baseline page does: a ticket of
the period resolved after its end counts with its resolution. Durations are seconds, in each
ticket's SLA calendar ("business") and in wall time ("calendar"). Progress goes to stderr on a
terminal only.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from daemon import config, configfile
from daemon.storage.reader import Reader
from rules import metrics
from rules.calendar import Calendar

EX_USAGE = 64


def main(args: argparse.Namespace) -> int:
    start, end = when(args.from_, "--from"), when(args.to, "--to")
    if end <= start:
        print(
            f"--to ({end.isoformat()}) must come after --from ({start.isoformat()})",
            file=sys.stderr,
        )
        return EX_USAGE
    at = when(args.at, "--at") if getattr(args, "at", None) else None
    settings = config.load(configfile.locate(args.config))
    book = settings.rulebook()
    reader = Reader(settings.database.url)
    try:
        rows = []
        for count, row in enumerate(reader.events(until=at), start=1):
            rows.append(row)
            if count % 50_000 == 0:
                _progress(f"read {count:,} events")
        people = reader.engineers()
    finally:
        reader.dispose()
    _progress("")
    lives = metrics.fold(rows).values()
    measured = metrics.measure(lives, calendars=_calendars(lives, book.calendar))
    report = baseline(measured, start=start, end=end, people=people)
    json.dump(report, sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0


def baseline(
    measured: tuple[metrics.Measured, ...],
    *,
    start: datetime,
    end: datetime,
    people: dict[int, str],
) -> dict[str, Any]:
    """The report as data: summary, breakdowns and definitions for [start, end)
    (`rules.metrics.report`, which the site's baseline page shows too)."""
    summary, groups = metrics.report(measured, start=start, end=end)
    breakdowns: dict[str, Any] = {}
    for name, by_group in groups.items():
        named = people if name == "engineer" else {}
        breakdowns[name] = {person(group, named): _plain(s) for group, s in by_group.items()}
    return {
        "period": {"from": start.isoformat(), "to": end.isoformat()},
        "summary": _plain(summary),
        "breakdowns": breakdowns,
        "definitions": dict(metrics.DEFINITIONS),
    }


def _calendars(lives: Any, calendar: Any) -> dict[int, Calendar]:
    """Each ticket's SLA calendar by name (wall time for a ticket without clocks)."""
    return {life.ticket: calendar(life.calendar or "wall") for life in lives}


def person(group: str, people: Mapping[int, str]) -> str:
    """An engineer as events name them (their id) shown by address, when it is known."""
    return people.get(int(group), group) if group.isdigit() else group


def _plain(value: Any) -> Any:
    """A summary as JSON data; each rate with its share (None when nothing was counted)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, metrics.Rate):
            out["share"] = None if value.share is None else round(value.share, 4)
        return out
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def when(value: str, flag: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise SystemExit(
            f"{flag}: not a date or time: {value!r} (ISO 8601, e.g. 2026-11-01)"
        ) from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _progress(text: str) -> None:
    if sys.stderr.isatty():
        print(f"\r{text:<40}", end="" if text else "\r", file=sys.stderr, flush=True)
