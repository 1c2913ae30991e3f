"""The site stage: run the due `site_build` job, one build at a time, outside any transaction.

A build takes seconds of CPU-bound Python (MkDocs, Jinja2, the metrics), so it runs in a child
process, `replydesk --config FILE site build` (`subprocess_build`), while this runner's own
thread only waits: the threads that store, process and send mail do not share the interpreter
lock with it, MkDocs' process-wide state (logging, plugins, caches) never accumulates in the
daemon, and a build that hangs is killed at `BUILD_TIMEOUT`. The build is exactly what the
command line does, so whatever parts `site build` builds, the job builds too.

The job is claimed in a short transaction (the row names our holder; `FOR UPDATE SKIP LOCKED`,
so of several daemons on one PostgreSQL only one builds), built with no transaction open, and
finished in a third: done, unless a change arrived during the build (`again`, see
`daemon.site.schedule`), which leaves it pending for one more build. A failed build keeps the
last good site (the build swaps only a finished site in); the failure is logged and recorded as
other jobs record theirs (`JobRunner.failure`: retried with doubling delays, then failed with a
`job_failed` event), and the next change asks again.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from daemon.errors import ReplydeskError
from daemon.runners.jobs import Clock, JobRunner
from daemon.storage import jobs
from daemon.storage.database import Database
from daemon.storage.models import Job, JobState

log = logging.getLogger(__name__)
BUILD_TIMEOUT = 900.0
Builder = Callable[[], str]
"""Builds the site, returns what to log about it (`site build`'s JSON lines, one per part
built: the public part, and the internal one when `[site] internal_out` is set), raises
`SiteBuildError` if it failed."""


class SiteBuildError(ReplydeskError):
    """The site was not rebuilt (the last good one is still in place)."""


def subprocess_build(config_file: Path, *, timeout: float = BUILD_TIMEOUT) -> Builder:
    """A builder running `replydesk --config CONFIG site build` in a child process."""
    command = [sys.executable, "-m", "daemon", "--config", str(config_file), "site", "build"]

    def run() -> str:
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise SiteBuildError(f"the build took over {timeout:.0f} s and was stopped") from exc
        if done.returncode != 0:
            said = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
            raise SiteBuildError(said[-1])
        for line in done.stderr.splitlines():  # e.g. an article that lacks a section
            if " WARNING " in line or " ERROR " in line:
                log.warning("site build: %s", line)
        return done.stdout.strip()

    return run


class SiteRunner(JobRunner):
    name = "site"

    def __init__(
        self,
        db: Database,
        builder: Builder,
        *,
        holder_id: int,
        clock: Clock,
        max_attempts: int = 3,
        before_build: Callable[[], object] | None = None,
    ) -> None:
        super().__init__(db, holder_id=holder_id, clock=clock, max_attempts=max_attempts)
        self.builder = builder
        self.before_build = before_build
        """Run before each build, in transactions of its own (the service syncs the article
        files): a change it makes marks the claimed job `again`, which `_start` then clears."""
        self.built: list[str] = []
        """What each build of this runner reported (its JSON line), for the log and tests."""

    def claim(self) -> Sequence[int]:
        with self.db.transaction() as session:
            return jobs.claim_due(
                session, [jobs.SITE_BUILD], holder_id=self.holder_id, now=self.clock(), limit=1
            )

    def handle(self, item: int) -> None:
        if self.before_build is not None:
            self.before_build()
        if not self._start(item):
            return
        report = self.builder()  # no transaction open: the build reads for seconds
        with self.db.transaction() as session:
            job = session.get(Job, item, with_for_update=True)
            if job is None or job.holder_id != self.holder_id:
                return
            job.holder_id = None
            if job.payload.get("again"):  # changed meanwhile: due again (schedule set when)
                job.payload = {}
            else:
                job.state, job.done_at = JobState.DONE, self.clock()
        self.built.append(report)
        self.done += 1
        log.info("site rebuilt: %s", _summary(report))

    def _start(self, item: int) -> bool:
        """Whether the job is still ours to build; clears `again` so that a change during this
        build is seen."""
        with self.db.transaction() as session:
            job = session.get(Job, item, with_for_update=True)
            if job is None or job.state != JobState.PENDING or job.holder_id != self.holder_id:
                return False
            if job.payload:
                job.payload = {}
            return True


def _summary(report: str) -> str:
    """`site build`'s JSON lines as one log line: "out DIR, pages N, seconds S; ..."."""
    said = []
    for line in report.splitlines():
        try:
            found = json.loads(line)
        except ValueError:
            found = None
        if isinstance(found, dict):
            said.append(", ".join(f"{key} {value}" for key, value in found.items()))
        else:
            said.append(line)
    return "; ".join(said)
