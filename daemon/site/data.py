"""What the site is built from: the replydesk config it finds, and the lives it reads, read-only.

`locate` decides which replydesk config a build uses, in this order:

1. `extra.replydesk.config` in mkdocs.yml (relative to mkdocs.yml's folder); `replydesk site
   build` sets it to the config it was given;
2. `$REPLYDESK_CONFIG`;
3. `replydesk.toml` beside mkdocs.yml, if there is one.

A config named by 1 or 2 must exist (a build that was pointed at data and cannot read it fails,
so the last good site stays); with none of the three the site is built without numbers and says
why. `measured` reads the event log through `daemon.storage.reader.Reader`, whose connections
the database holds to reading, folds it and measures every ticket once, in its SLA calendar.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from daemon import config, configfile
from daemon.config import Settings
from daemon.storage.reader import Reader
from rules import metrics


@dataclass(frozen=True, slots=True)
class Source:
    """The replydesk config a build reads (None: none found) and the moment it is built as at."""

    config: Path | None
    at: datetime
    why: str  # how the config was found, or why there is none


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
    at = _at(table.get("at"))
    folder = mkdocs_file.parent
    named = table.get("config")
    if named:
        path = Path(str(named))
        return Source(path if path.is_absolute() else folder / path, at, "extra.replydesk.config")
    if environ.get(configfile.ENV_VAR):
        return Source(Path(environ[configfile.ENV_VAR]), at, f"${configfile.ENV_VAR}")
    beside = folder / configfile.DEFAULT_PATH
    if beside.is_file():
        return Source(beside, at, f"{configfile.DEFAULT_PATH} beside mkdocs.yml")
    return Source(
        None,
        at,
        f"no replydesk configuration was found (extra.replydesk.config in mkdocs.yml, "
        f"${configfile.ENV_VAR}, or {configfile.DEFAULT_PATH} beside mkdocs.yml).",
    )


def settings(source: Source) -> Settings | None:
    """The validated config of `source`; `ConfigError` when it is missing or wrong."""
    return None if source.config is None else config.load(source.config)


def measured(settings: Settings, *, until: datetime) -> tuple[metrics.Measured, ...]:
    """Every ticket's life as the event log stood at `until`, measured in its SLA calendar
    (wall time for a ticket without clocks). Read-only; one pass over the events."""
    reader = Reader(settings.database.url)
    try:
        lives = metrics.fold(reader.events(until=until)).values()
    finally:
        reader.dispose()
    book = settings.rulebook()
    return metrics.measure(
        lives, calendars={life.ticket: book.calendar(life.calendar or "wall") for life in lives}
    )


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
