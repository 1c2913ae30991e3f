"""Article pages opened on the site: the web server's access logs read into the event log.

A job (`jobs.KB_OPENS`: one row, key `kb_opens`, re-armed every `[site] access_log_every`
seconds) reads what each file of `[site] access_logs` gained since its last reading, counts the
article readings in it (`rules.kb_opens`) and records them as `kb_opened` events, one per
article and hour, in the transaction that moves the files' cursors on. The cursors (each
file's inode and the offset read up to) live in the job's payload, so a crash reads again what
was not committed, nothing is counted twice, and two daemons never read at once (one row,
claimed with SKIP LOCKED).

A file that was replaced (another inode) or shrank is read from its start: rotation as
logrotate does it, by rename and a new file or by copytruncate. Lines the old file got after the
last reading are then not counted; read every few minutes, that is little. Only whole lines are
read (up to the last newline), at most `CHUNK` bytes a run (the job comes back a second later
for the rest), as bytes decoded with replacement: a log holds what strangers sent. A file that
cannot be read is logged and skipped, and the job goes on.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon.config import Settings
from daemon.knowledge.urls import page
from daemon.storage import events, jobs
from daemon.storage.database import Database
from daemon.storage.models import Article, Job, JobState
from parsers.access_log import parse_line
from rules import kb_opens

if TYPE_CHECKING:
    from daemon.runners.jobs import JobContext

log = logging.getLogger(__name__)
KEY = "kb_opens"
CHUNK = 8 * 1024 * 1024
SOON = timedelta(seconds=1)  # the next run when a file has more than one chunk to read


def arm(db: Database, settings: Settings, *, now: datetime) -> None:
    """The reading job, when the desk names access logs: scheduled once, and set going again
    when an earlier one failed for good (its cursors are kept)."""
    if not settings.site.access_logs:
        return
    with db.transaction() as session:
        if jobs.schedule(session, kind=jobs.KB_OPENS, key=KEY, due_at=now, now=now):
            return
        job = session.scalars(select(Job).where(Job.key == KEY)).one()
        if job.state != JobState.PENDING:
            job.state, job.attempts, job.due_at, job.done_at = JobState.PENDING, 0, now, None


def read_logs(ctx: JobContext, session: Session, job: Job, now: datetime) -> datetime | None:
    """The `kb_opens` job: one reading of every access log, the `kb_opened` events, the
    cursors moved on; when to read again (None: the desk names no access log any more)."""
    site = ctx.settings.site
    if not site.access_logs:
        return None
    pages = _pages(session)
    base = kb_opens.base_path(site.public_url)
    cursors: dict[str, Any] = dict(job.payload.get("files", {}))
    found: list[tuple[datetime, int, bool]] = []
    more = skipped = 0
    for path in site.access_logs:
        try:
            cursor, lines, full = _read_new(path, cursors.get(str(path)))
        except OSError as exc:
            log.warning("access log not read: %s: %s", path, exc)
            continue
        cursors[str(path)] = cursor
        more += full
        for line in lines:
            hit = parse_line(line)
            if hit is None:
                skipped += bool(line.strip())
                continue
            read = kb_opens.article_of(hit, base=base, pages=pages)
            if read is not None:
                found.append((hit.at, *read))
    for opened in kb_opens.tally(found):
        payload = events.KbOpened(
            article=opened.article, count=opened.count, from_mail=opened.from_mail
        )
        events.record(
            session, payload, ticket_id=None, at=opened.at, actor="site", cause="access-log"
        )
    if skipped:
        log.info("access logs: %d line(s) not in the Combined or Common Log Format", skipped)
    job.payload = {"files": cursors}
    return now + (SOON if more else timedelta(seconds=site.access_log_every))


def _pages(session: Session) -> dict[str, int]:
    """Each published article's page (relative to the site's root) and its number, in both
    of MkDocs' URL styles: a server may be serving a build of either."""
    published = session.scalars(select(Article).where(Article.status == "published"))
    return {
        page(article, directory_urls=style): article.id
        for article in published
        for style in (True, False)
    }


def _read_new(
    path: Path, cursor: Mapping[str, Any] | None
) -> tuple[dict[str, int], list[str], bool]:
    """The file's whole lines after `cursor`, the cursor after them, and whether a full
    chunk was read (there may be more)."""
    with path.open("rb") as file:
        status = os.fstat(file.fileno())
        offset = 0
        if cursor is not None and cursor.get("inode") == status.st_ino:
            known = int(cursor.get("offset", 0))
            offset = known if known <= status.st_size else 0
        file.seek(offset)
        chunk = file.read(CHUNK)
    full = len(chunk) == CHUNK
    end = chunk.rfind(b"\n") + 1
    if end == 0 and full:
        # One line longer than a chunk, and no log line of a page: skipped (its tail, read
        # next time, is no line of the format either).
        return {"inode": status.st_ino, "offset": offset + len(chunk)}, [], full
    lines = chunk[:end].decode("utf-8", "replace").splitlines()
    return {"inode": status.st_ino, "offset": offset + end}, lines, full
