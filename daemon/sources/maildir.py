"""A Maildir folder as a mail source: stored first, then moved into its `.Processed` folder.

A file's receipt is its unique name (up to the `:2,` flags) plus a hash of its bytes, so a name
reused for another mail (a careless writer, a restored backup) is another mail, and a move into
`.Processed` never overwrites a file already there: it takes a new name instead.
"""

from __future__ import annotations

import hashlib
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
        key = f"{file.name.split(':', 1)[0]}:{hashlib.sha256(raw).hexdigest()[:32]}"
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
            move_without_overwrite(file, processed)
        except FileNotFoundError:
            pass  # another reader moved it after we both stored it
        except OSError as exc:
            raise SourceError(f"maildir {self.name}: cannot move {file.name}: {exc}") from exc
        return int(stored.created)

    def wait(self, stop: threading.Event, timeout: float) -> None:
        stop.wait(timeout)

    def close(self) -> None:
        return None


def move_without_overwrite(file: Path, folder: Path) -> Path:
    """Move `file` into `folder` under its name, or under a new one if that name is taken."""
    name = file.name
    for attempt in range(1000):
        target = folder / (name if attempt == 0 else _renamed(name, attempt))
        try:
            os.link(file, target)
        except FileExistsError:
            continue
        os.unlink(file)
        return target
    raise OSError(f"no free name for {name} in {folder}")


def _renamed(name: str, attempt: int) -> str:
    base, sep, flags = name.partition(":")
    return f"{base}.dup{attempt}{sep}{flags}"
