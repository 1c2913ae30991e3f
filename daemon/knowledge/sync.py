"""The article files brought into the database, where the daemon needs them numbered.

A file article gets its number from its row (`articles.sync_files`, matched by path): `#kb N`
cites it by that number, the acknowledgement's suggestions search the rows, and review reminders
are jobs on the rows. So the daemon syncs the files of the site's docs folder at start-up and
before each site build (`daemon.runners.site`), and schedules the reminders of what is published
(`reviews.schedule_all`). The docs folder is mkdocs.yml's `docs_dir` (default `docs`), beside
mkdocs.yml; the file is read as plain YAML, so the daemon does not import MkDocs for it.

A file that does not parse is logged and its row kept as it was (the site build itself fails on
it, with the file, key and reason, and keeps the last good site). A sync that cannot read
mkdocs.yml, or finds no docs folder, syncs nothing and says why; it never stops the daemon.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import yaml

from daemon.config import Settings
from daemon.knowledge import articles, reviews
from daemon.knowledge.urls import REPOSITORY_MKDOCS, read_mkdocs
from daemon.storage.database import Database

log = logging.getLogger(__name__)


def docs_folder(mkdocs_file: Path) -> Path | None:
    """mkdocs.yml's `docs_dir`, resolved beside it; None (with a log line) when unreadable."""
    try:
        loaded = read_mkdocs(mkdocs_file)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        log.warning("articles not synced: cannot read %s: %s", mkdocs_file, exc)
        return None
    named = loaded.get("docs_dir", "docs")
    folder = mkdocs_file.parent / str(named)
    if not folder.is_dir():
        log.warning("articles not synced: %s names no folder %s", mkdocs_file, folder)
        return None
    return folder


def sync(db: Database, settings: Settings, *, now: datetime) -> articles.SyncReport | None:
    """Sync the site's article files into the database and schedule their review reminders,
    in one transaction; what changed (None when there was nothing to read)."""
    folder = docs_folder(settings.site.mkdocs or REPOSITORY_MKDOCS)
    if folder is None:
        return None
    with db.transaction() as session:
        report = articles.sync_files(session, folder, now=now)
        reviews.schedule_all(session, now=now)
    for error in report.errors:
        log.warning("article file not synced: %s", error)
    if report.created or report.updated or report.retired:
        log.info(
            "articles synced from %s: %d new, %d changed, %d retired",
            folder,
            len(report.created),
            len(report.updated),
            len(report.retired),
        )
    return report
