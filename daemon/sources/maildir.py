"""A Maildir folder as a mail source: stored first, then moved into its `.Processed` folder."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from daemon import failpoints
from daemon.config import MaildirSource
from daemon.errors import SourceError
from daemon.storage import intake
from daemon.storage.database import Database


class MaildirSourceReader:
    """Reads `new/` and `cur/`; a file leaves them only after its bytes are committed."""

    def __init__(
        self, config: MaildirSource, db: Database, *, clock: Callable[[], datetime]
    ) -> None:
        self.name = config.name
        self.poll_seconds = 60.0
        self.path = config.path
        self.db = db
        self.clock = clock

    def poll(self) -> int:
        processed = self.path / ".Processed" / "cur"
        try:
            processed.mkdir(parents=True, exist_ok=True)
            for sub in ("tmp", "new"):
                (self.path / ".Processed" / sub).mkdir(exist_ok=True)
            files = sorted(
                entry
                for folder in ("new", "cur")
                if (self.path / folder).is_dir()
                for entry in (self.path / folder).iterdir()
                if entry.is_file() and not entry.name.startswith(".")
            )
        except OSError as exc:
            raise SourceError(f"maildir {self.name} ({self.path}): {exc}") from exc
        created = 0
        for file in files:
            created += self._take(file, processed)
        return created

    def _take(self, file: Path, processed: Path) -> int:
        try:
            raw = file.read_bytes()
        except FileNotFoundError:
            return 0  # another reader took it
        except OSError as exc:
            raise SourceError(f"maildir {self.name}: cannot read {file.name}: {exc}") from exc
        key = file.name.split(":", 1)[0]
        stored = intake.store(
            self.db,
            raw,
            intake.Envelope(
                source=self.name,
                source_key=f"maildir:{key}",
                received_at=self.clock(),
                extra={"file": file.name},
            ),
        )
        failpoints.reached("maildir-stored")
        try:
            os.replace(file, processed / file.name)
        except OSError as exc:
            raise SourceError(f"maildir {self.name}: cannot move {file.name}: {exc}") from exc
        return int(stored.created)

    def wait(self, stop: threading.Event, timeout: float) -> None:
        stop.wait(timeout)

    def close(self) -> None:
        return None
