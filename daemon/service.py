"""The daemon: source threads store mail; one worker turns it into tickets and sends the outbox.

`run_once()` is one pass over every source, then processing, then sending (for cron and tests).
`run_forever()` keeps a thread per source (IDLE or polling) and a worker that wakes when a source
stored something, or every few seconds for due outbox mail. Setting `stop` (SIGTERM) lets each
thread finish the mail in hand; nothing half-done is left that a restart would not finish.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from daemon.config import Settings
from daemon.errors import ReplydeskError
from daemon.mail.outbox import SendReport, Transport, send_due, transport_for
from daemon.sources import Source, run_forever
from daemon.sources.imap import ImapSource
from daemon.sources.maildir import MaildirSourceReader
from daemon.storage.database import Database
from daemon.workflow.pipeline import Outcome, Pipeline, sync_engineers

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class PassReport:
    stored: dict[str, int] = field(default_factory=dict)
    source_errors: dict[str, str] = field(default_factory=dict)
    outcomes: list[Outcome] = field(default_factory=list)
    sent: SendReport = field(default_factory=SendReport)


class Daemon:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        clock: Clock = utc_now,
        transport: Transport | None = None,
        sources: list[Source] | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.transport = transport or transport_for(settings.smtp, settings.outbox)
        self.sources = sources if sources is not None else build_sources(settings, db, clock)
        self.pipeline = Pipeline(settings, db, clock=clock)
        self._wake = threading.Event()

    def start(self) -> None:
        """Bring the schema up to date and the team in line with the configuration."""
        self.db.upgrade()
        sync_engineers(self.db, self.settings)

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
        report.outcomes, report.sent = self.drain()
        return report

    def drain(self) -> tuple[list[Outcome], SendReport]:
        """Process every stored mail, then send every due outbox row."""
        return self.pipeline.process_pending(), self.send()

    def send(self) -> SendReport:
        return send_due(self.db, self.transport, self.settings.outbox, clock=self.clock)

    def run_forever(self, stop: threading.Event, *, tick: float = 5.0) -> None:
        threads = [
            threading.Thread(
                target=run_forever,
                args=(source, stop),
                kwargs={"on_stored": self._wake.set, "poll_seconds": source.poll_seconds},
                name=f"source-{source.name}",
                daemon=True,
            )
            for source in self.sources
        ]
        for thread in threads:
            thread.start()
        log.info("replydesk running: %d source(s)", len(threads))
        while not stop.is_set():
            self._wake.clear()
            try:
                self.drain()
            except ReplydeskError as exc:
                log.warning("worker pass failed: %s; retrying", exc)
            self._wake.wait(tick)
        for thread in threads:
            thread.join(timeout=60)
        log.info("replydesk stopped")


def build_sources(settings: Settings, db: Database, clock: Clock) -> list[Source]:
    sources: list[Source] = [ImapSource(m, db, clock=clock) for m in settings.mailboxes]
    sources += [MaildirSourceReader(m, db, clock=clock) for m in settings.maildirs]
    return sources
