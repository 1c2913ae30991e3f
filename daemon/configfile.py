"""Finding and reading the config file, without validating it: cheap enough for an MTA pipe.

`daemon.config` validates the whole file with pydantic; `replydesk ingest` needs only the
database URL and must start fast, so it reads the TOML here and takes `[database] url` alone,
resolved the same way (a relative SQLite path is taken from the config file's folder).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daemon.storage.schema import is_memory_url

ENV_VAR = "REPLYDESK_CONFIG"
DEFAULT_PATH = Path("replydesk.toml")
DEFAULT_DATABASE = "sqlite:///replydesk.db"


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    file: str
    key: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.reason}"


class ConfigError(Exception):
    """One or more problems in the configuration, each naming file, key and reason."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def locate(explicit: str | os.PathLike[str] | None) -> Path:
    """The config path: `--config`, else `$REPLYDESK_CONFIG`, else `./replydesk.toml`."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(ENV_VAR)
    return Path(env) if env else DEFAULT_PATH


def read(path: Path, *, required: bool = True) -> dict[str, Any]:
    """The file's TOML as data (empty when absent and not required)."""
    name = str(path)
    if not path.exists():
        if required:
            raise ConfigError([ConfigProblem(name, "-", "file not found (run `replydesk init`)")])
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([ConfigProblem(name, "-", f"cannot read: {exc}")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([ConfigProblem(name, "-", f"not valid TOML: {exc}")]) from None


def database_url(data: dict[str, Any], *, source: Path) -> str:
    """`[database] url`, checked and resolved against the config file's folder."""
    table = data.get("database", {})
    url = table.get("url", DEFAULT_DATABASE) if isinstance(table, dict) else None
    if not isinstance(url, str) or "://" not in url:
        raise ConfigError([ConfigProblem(str(source), "database.url", "not a database URL")])
    if is_memory_url(url):
        reason = f"{url!r} is an in-memory database: it would keep nothing"
        raise ConfigError([ConfigProblem(str(source), "database.url", reason)])
    return resolve_sqlite(url, source.parent)


def resolve_sqlite(url: str, base: Path) -> str:
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        relative = url.removeprefix("sqlite:///")
        if relative:
            return f"sqlite:///{base / relative}"
    return url
