"""What the whole-command benchmarks share: progress on a terminal, throwaway PostgreSQL databases.

They drive replydesk through its command line (so they can time an older checkout too) and read
results with `psql`, never importing the code under test.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

DESK = "support@desk.test"


class BenchError(Exception):
    """The benchmark could not run, or what it timed was wrong."""


def progress(text: str) -> None:
    """One status line on a terminal; nothing when piped."""
    if sys.stderr.isatty():
        print(f"\r{text:<60}", end="", file=sys.stderr, flush=True)


def done_progress() -> None:
    if sys.stderr.isatty():
        print("\r" + " " * 60 + "\r", end="", file=sys.stderr, flush=True)


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL (`postgresql+psycopg://...`) as libpq takes it."""
    return urlunsplit(urlsplit(url)._replace(scheme="postgresql"))


def psql(url: str, statement: str) -> str:
    done = subprocess.run(
        ["psql", libpq_url(url), "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", statement],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"psql: {done.stderr.strip()}")
    return done.stdout.strip()


@contextmanager
def postgres_database(server: str, *, prefix: str) -> Iterator[str]:
    """A fresh `<prefix>_<pid>` database on the server of `server`, dropped afterwards."""
    if shutil.which("psql") is None:
        raise BenchError("--postgres needs psql on the PATH")
    parts = urlsplit(server)
    name = f"{prefix}_{os.getpid()}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    psql(admin, f"DROP DATABASE IF EXISTS {name}")
    psql(admin, f"CREATE DATABASE {name}")
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        psql(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def write_config(workdir: Path, url: str, *, desk: str = "") -> Path:
    """A replydesk.toml (and its reply secret) for a benchmark; `desk` adds `[desk]` lines."""
    secret = workdir / "reply.secret"
    secret.write_text(secrets.token_hex(24) + "\n")
    secret.chmod(0o600)
    path = workdir / "replydesk.toml"
    path.write_text(
        "[desk]\n"
        'name = "Bench Desk"\n'
        f'addresses = ["{DESK}"]\n'
        'reply_secret_file = "reply.secret"\n'
        f"{desk}\n"
        "[database]\n"
        f'url = "{url}"\n\n'
        "[outbox]\n"
        f'maildir = "{workdir / "outbox"}"\n'
    )
    return path


def engineer_rows(count: int) -> list[dict[str, Any]]:
    """`count` tier-1 engineers e0..e{count-1}@desk.example, 9 to 5 on weekdays in UTC, as
    rows for a bulk insert into the engineers table."""
    return [
        {
            "address": f"e{i}@desk.example",
            "name": f"E{i}",
            "tier": 1,
            "skills": [],
            "timezone": "UTC",
            "hours_start": "09:00",
            "hours_end": "17:00",
            "days": ["mon", "tue", "wed", "thu", "fri"],
            "active": True,
        }
        for i in range(count)
    ]
