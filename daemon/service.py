"""The daemon: sources store mail; runners process, send and run jobs; a supervisor keeps them.

`run_once()` is one pass: every source, then processing until nothing is stored, then due jobs,
then sending, then a site build if one is due (for cron and tests; `ingest` drains without the
build). `run_forever()` runs each stage in its own thread,
so sending never waits for processing and processing never waits for sending:

- one thread per source (IDLE or polling; `daemon.sources.run_forever` reconnects with backoff);
- one per runner (process, outgoing, jobs), woken when there may be work, and every few seconds;
- when `[site] out` is set (and `debounce` is not 0), one for the site runner, which rebuilds the
  site in a child process once a change is `debounce` old (`daemon.site.schedule` asks for it
  where changes commit; `daemon.runners.site` builds), so a build never stalls the mail;
- a heartbeat that keeps our holder alive and takes back the work of holders that are gone.

A runner that meets an unavailable database backs off and says so; one that raises anything else
is logged and restarted with doubling delays. Setting `stop` (SIGTERM) lets every thread finish
the item in hand; the claims left are given back when the holder stops.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from daemon.config import Settings
from daemon.errors import DatabaseUnavailableError, ReplydeskError, StorageError
from daemon.knowledge import opens
from daemon.knowledge import sync as knowledge
from daemon.mail.transports import Transport, transport_for
from daemon.runners.base import Runner
from daemon.runners.jobs import JobRunner
from daemon.runners.outgoing import OutgoingRunner, SendReport
from daemon.runners.process import Outcome, ProcessRunner
from daemon.runners.site import Builder, SiteRunner, subprocess_build
from daemon.site import schedule
from daemon.sources import Source, run_forever
from daemon.sources.imap import ImapSource
from daemon.sources.maildir import MaildirSourceReader
from daemon.storage import holders
from daemon.storage.database import Database
from daemon.workflow.team import sync_engineers

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
MAX_RESTART_DELAY = 60.0


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class PassReport:
    stored: dict[str, int] = field(default_factory=dict)
    source_errors: dict[str, str] = field(default_factory=dict)
    outcomes: list[Outcome] = field(default_factory=list)
    jobs: int = 0
    sent: SendReport = field(default_factory=SendReport)
    site_built: int = 0


@dataclass(slots=True)
class Stages:
    """The runners of one holder."""

    process: ProcessRunner
    outgoing: OutgoingRunner
    jobs: JobRunner
    site: SiteRunner | None = None

    def hand_to(self, holder_id: int) -> None:
        """Every runner claims for `holder_id` from now on."""
        self.process.holder_id = self.outgoing.holder_id = self.jobs.holder_id = holder_id
        if self.site is not None:
            self.site.holder_id = holder_id


class Daemon:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        clock: Clock = utc_now,
        transport: Transport | None = None,
        sources: list[Source] | None = None,
        site_builder: Builder | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.transport = transport or transport_for(settings.smtp, settings.outbox)
        self.sources = sources if sources is not None else build_sources(settings, db, clock)
        self.site_builder = site_builder
        if site_builder is None and rebuilds_site(settings):
            self.site_builder = subprocess_build(settings.source.resolve())
        if self.site_builder is not None:
            debounce = timedelta(seconds=settings.site.debounce)
            schedule.watch(db, debounce=debounce, clock=clock)

    def start(self) -> None:
        """Bring the schema up to date and the team in line with the configuration."""
        self.db.upgrade()
        sync_engineers(self.db, self.settings)
        self.sync_articles()
        opens.arm(self.db, self.settings, now=self.clock())

    def sync_articles(self) -> None:
        """The site's article files numbered in the database (`daemon.knowledge.sync`)."""
        knowledge.sync(self.db, self.settings, now=self.clock())

    def stages(self, holder_id: int) -> Stages:
        return Stages(
            process=ProcessRunner(self.settings, self.db, holder_id=holder_id, clock=self.clock),
            outgoing=OutgoingRunner(
                self.db,
                self.transport,
                self.settings.outbox,
                holder_id=holder_id,
                clock=self.clock,
            ),
            jobs=JobRunner(
                self.db,
                holder_id=holder_id,
                clock=self.clock,
                settings=self.settings,
                max_attempts=self.settings.runners.max_attempts,
            ),
            site=None
            if self.site_builder is None
            else SiteRunner(
                self.db,
                self.site_builder,
                holder_id=holder_id,
                clock=self.clock,
                max_attempts=self.settings.runners.max_attempts,
                before_build=self.sync_articles,
            ),
        )

    def run_once(self) -> PassReport:
        report = PassReport()
        for source in self.sources:
            try:
                report.stored[source.name] = source.poll()
            except ReplydeskError as exc:
                report.source_errors[source.name] = str(exc)
                log.warning("source %s: %s", source.name, exc)
            finally:
                source.close()
        report.outcomes, report.jobs, report.sent = self.drain()
        report.site_built = self.build_site_if_due()
        return report

    def build_site_if_due(self) -> int:
        """Run the site build if one is due (`run --once`; `ingest` and the CLI's releases
        drain without it, so an MTA's delivery never waits for a build)."""
        if self.site_builder is None:
            return 0
        with self._once() as holder_id:
            site = self.stages(holder_id).site
            return 0 if site is None else site.run_pass(threading.Event())

    def drain(self) -> tuple[list[Outcome], int, SendReport]:
        """Process every stored mail, run due jobs (and what they released), send what is due."""
        with self._once() as holder_id:
            holders.reap(self.db, max_attempts=self.settings.runners.max_attempts)
            stages = self.stages(holder_id)
            never = threading.Event()
            stages.process.run_pass(never)
            if stages.jobs.run_pass(never):
                stages.process.run_pass(never)
            stages.outgoing.run_pass(never)
            return stages.process.outcomes, stages.jobs.done, stages.outgoing.report

    @contextmanager
    def _once(self) -> Iterator[int]:
        """A holder for one pass, given back after it (a restart reaps it if that fails)."""
        holder_id = holders.register(self.db, "once")
        try:
            yield holder_id
        finally:
            try:
                holders.stop(self.db, holder_id)
            except StorageError as exc:
                log.warning("could not give back our claims (a restart reaps them): %s", exc)

    def run_forever(self, stop: threading.Event, *, tick: float = 2.0) -> None:
        holder_id = holders.register(self.db, "daemon")
        stages = self.stages(holder_id)
        wake = {name: threading.Event() for name in ("process", "outgoing", "jobs", "site")}
        threads = [
            _thread(
                f"source-{source.name}",
                stop,
                run_forever,
                source,
                stop,
                on_stored=wake["process"].set,
                poll_seconds=source.poll_seconds,
            )
            for source in self.sources
        ]
        stages.process.on_progress = wake["outgoing"].set  # an ack goes out as soon as it exists
        stages.jobs.on_progress = wake["process"].set  # a released mail is processed at once
        runners: list[tuple[str, Runner[Any]]] = [
            ("process", stages.process),
            ("outgoing", stages.outgoing),
            ("jobs", stages.jobs),
        ]
        if stages.site is not None:
            runners.append(("site", stages.site))
            site = self.settings.site
            log.info("site: rebuilt into %s %d s after a change", site.out, site.debounce)
        threads += [
            _thread(name, stop, _runner_loop, runner, stop, wake[name], tick=tick)
            for name, runner in runners
        ]
        threads.append(_thread("heartbeat", stop, self._heartbeat, stages, stop))
        for thread in threads:
            thread.start()
        log.info("replydesk running: %d source(s), holder %d", len(self.sources), holder_id)
        stop.wait()
        for event in wake.values():
            event.set()
        for thread in threads:
            thread.join(timeout=60)
        try:
            holders.stop(self.db, stages.process.holder_id)
        except StorageError as exc:
            log.warning("could not give back our claims (a restart reaps them): %s", exc)
        log.info("replydesk stopped")

    def _heartbeat(self, stages: Stages, stop: threading.Event) -> None:
        max_attempts = self.settings.runners.max_attempts
        while not stop.wait(holders.HEARTBEAT_SECONDS):
            try:
                if not holders.beat(self.db, stages.process.holder_id):
                    holder_id = holders.register(self.db, "daemon")
                    log.error(
                        "our holder was reaped (heartbeat stalled?); now holder %d", holder_id
                    )
                    stages.hand_to(holder_id)
                holders.reap(self.db, max_attempts=max_attempts)
            except StorageError as exc:
                log.warning("heartbeat: %s", exc)


def _runner_loop(
    runner: Runner[object], stop: threading.Event, wake: threading.Event, *, tick: float
) -> None:
    """Run passes when woken or every `tick`; back off while the database is unavailable.

    The back-off doubles only while nothing gets done: a pass that handled items before the
    database failed starts again from a short wait.
    """
    delay, seen = 1.0, runner.handled
    while not stop.is_set():
        wake.clear()
        try:
            runner.run_pass(stop)
        except DatabaseUnavailableError as exc:
            if runner.handled != seen:
                delay, seen = 1.0, runner.handled
            log.warning("%s; retrying in %.0f s", exc, delay)
            stop.wait(delay)
            delay = min(delay * 2, MAX_RESTART_DELAY)
            continue
        delay, seen = 1.0, runner.handled
        wake.wait(tick)


def _thread(
    name: str, stop: threading.Event, target: Callable[..., None], *args: object, **kwargs: object
) -> threading.Thread:
    """A thread whose body is restarted, with doubling delays, if it raises."""

    def supervised() -> None:
        delay = 1.0
        while not stop.is_set():
            try:
                target(*args, **kwargs)
                return
            except Exception:
                log.exception("%s crashed; restarting in %.0f s", name, delay)
                stop.wait(delay)
                delay = min(delay * 2, MAX_RESTART_DELAY)

    return threading.Thread(target=supervised, name=name)


def rebuilds_site(settings: Settings) -> bool:
    """Whether the daemon rebuilds the site: only when `[site] out` says where, and `debounce`
    is not 0."""
    return settings.site.out is not None and settings.site.debounce > 0


def build_sources(settings: Settings, db: Database, clock: Clock) -> list[Source]:
    sources: list[Source] = [ImapSource(m, db, clock=clock) for m in settings.mailboxes]
    sources += [MaildirSourceReader(m, db, clock=clock) for m in settings.maildirs]
    return sources
