"""What the site is built from: the replydesk config it finds, and the lives it reads, read-only.

`locate` decides which replydesk config a build uses, in this order:

1. `extra.replydesk.config` in mkdocs.yml (relative to mkdocs.yml's folder); `replydesk site
   build` sets it to the config it was given;
2. `$REPLYDESK_CONFIG`;
3. `replydesk.toml` beside mkdocs.yml, if there is one.

A config named by 1 or 2 must exist (a build that was pointed at data and cannot read it fails,
so the last good site stays); with none of the three the site is built without numbers and says
why. `extra.replydesk.part` says which part is built: "public" (the default: aggregate numbers)
or "internal" (adds per-engineer numbers and ticket lists, read by `team`). `measured` reads the
event log through `daemon.storage.reader.Reader`, whose connections the database holds to
reading, folds it and measures every ticket once, in its SLA calendar.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path
from typing import Any, Literal

from daemon import config, configfile
from daemon.config import Settings
from daemon.storage.reader import Reader
from rules import metrics
from rules.kb_opens import Opened

Part = Literal["public", "internal"]
PARTS: tuple[Part, ...] = ("public", "internal")


@dataclass(frozen=True, slots=True)
class Source:
    """The replydesk config a build reads (None: none found) and the moment it is built as at."""

    config: Path | None
    at: datetime
    why: str  # how the config was found, or why there is none
    part: Part = "public"  # which part of the site is built (`extra.replydesk.part`)


def options(extra: Mapping[str, Any]) -> Mapping[str, Any]:
    """mkdocs.yml's `extra.replydesk` table (empty when there is none)."""
    table = extra.get("replydesk")
    return table if isinstance(table, Mapping) else {}


def locate(
    mkdocs_file: Path,
    extra: Mapping[str, Any],
    *,
    environ: Mapping[str, str] | None = None,
) -> Source:
    """Which config a build of `mkdocs_file` reads, as the module docstring says, and as at when:
    `extra.replydesk.at` (ISO 8601), else now."""
    table = options(extra)
    environ = os.environ if environ is None else environ
    at, part = _at(table.get("at")), _part(table.get("part"))
    folder = mkdocs_file.parent
    named = table.get("config")
    if named:
        path = Path(str(named))
        found = path if path.is_absolute() else folder / path
        return Source(found, at, "extra.replydesk.config", part)
    if environ.get(configfile.ENV_VAR):
        return Source(Path(environ[configfile.ENV_VAR]), at, f"${configfile.ENV_VAR}", part)
    beside = folder / configfile.DEFAULT_PATH
    if beside.is_file():
        return Source(beside, at, f"{configfile.DEFAULT_PATH} beside mkdocs.yml", part)
    return Source(
        None,
        at,
        f"no replydesk configuration was found (extra.replydesk.config in mkdocs.yml, "
        f"${configfile.ENV_VAR}, or {configfile.DEFAULT_PATH} beside mkdocs.yml).",
        part,
    )


def _part(value: object) -> Part:
    """`extra.replydesk.part`: "public" (the default) or "internal"; anything else is refused,
    so a typo never builds the internal pages where the public site goes."""
    if value is None or value == "":
        return "public"
    if value not in PARTS:
        raise configfile.ConfigError(
            [configfile.ConfigProblem("mkdocs.yml", "extra.replydesk.part", "public or internal")]
        )
    return "internal" if value == "internal" else "public"


def settings(source: Source) -> Settings | None:
    """The validated config of `source`; `ConfigError` when it is missing or wrong."""
    return None if source.config is None else config.load(source.config)


_MEASURED: dict[tuple[object, ...], tuple[metrics.Measured, ...]] = {}
"""The last `measured` answer of this process: `site build` builds the public and the internal
part as at one moment, and the second build reuses the first one's reading of the log (half
the build time at 100,000 tickets). Keyed by config file, database, moment and the log's
`Reader.mark` (so a log that grew is read again); one entry."""


def measured(settings: Settings, *, until: datetime) -> tuple[metrics.Measured, ...]:
    """Every ticket's life as the event log stood at `until`, measured in its SLA calendar
    (wall time for a ticket without clocks). Read-only; one pass over the events."""
    reader = Reader(settings.database.url)
    try:
        key = (str(settings.source), settings.database.url, until, reader.mark(until=until))
        if key not in _MEASURED:
            _MEASURED.clear()
            _MEASURED[key] = _measure(settings, reader, until=until)
        return _MEASURED[key]
    finally:
        reader.dispose()


def _measure(
    settings: Settings, reader: Reader, *, until: datetime
) -> tuple[metrics.Measured, ...]:
    lives = folded(reader, until=until)
    book = settings.rulebook()
    return metrics.measure(
        lives, calendars={life.ticket: book.calendar(life.calendar or "wall") for life in lives}
    )


def folded(reader: Reader, *, until: datetime) -> list[metrics.TicketLife]:
    """Every ticket's life, as `metrics.fold` gives them, read ticket by ticket: the build holds
    one ticket's events at a time, not the whole log (1.5 GB for 100,000 tickets)."""
    rows = reader.events(until=until, by_ticket=True)
    return [metrics.life_of(ticket, list(events)) for ticket, events in groupby(rows, _ticket)]


def _ticket(row: metrics.EventRow) -> int:
    return row.ticket_id


def opens(settings: Settings, *, until: datetime) -> tuple[Opened, ...] | None:
    """The article pages read on the site up to `until` (`kb_opened` events), read-only; None
    when the desk reads no access log, so the pages say "not counted" rather than 0."""
    if not settings.site.access_logs:
        return None
    reader = Reader(settings.database.url)
    try:
        return tuple(reader.opens(until=until))
    finally:
        reader.dispose()


@dataclass(frozen=True, slots=True)
class Team:
    """What only the internal part shows: engineers' addresses by id, tickets' subjects."""

    people: dict[int, str]
    subjects: dict[int, str]


def team(settings: Settings) -> Team:
    """The engineers and ticket subjects, read-only, for the internal part's pages."""
    reader = Reader(settings.database.url)
    try:
        return Team(reader.engineers(), reader.subjects())
    finally:
        reader.dispose()


def _at(value: object) -> datetime:
    if value is None or value == "":
        return datetime.now(UTC)
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            raise configfile.ConfigError(
                [configfile.ConfigProblem("mkdocs.yml", "extra.replydesk.at", "not ISO 8601")]
            ) from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
