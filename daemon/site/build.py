"""The site built through MkDocs' Python API and swapped in whole, or not at all.

`build` loads mkdocs.yml, points its hook at the replydesk config and the moment to build as
at (`extra.replydesk`, see `daemon.site.data`), and builds into a fresh folder beside the target
(`.NAME.new-...`, so that the renames stay on one filesystem). Only a build that succeeded is
swapped in (`swap`): the old folder is renamed aside, the new one renamed in, the old one
removed. A reader finds the old site or the new one, never half of one (at most, for the instant
between the two renames, no folder). A failed build removes its folder and leaves the last good
site as it was; it raises `BuildError` with the reason. Builds into one target take turns (a
lock file, `.NAME.lock`, beside it), so two of them never swap at once.

The target must be a folder of its own: an existing one that is not empty and holds no
`index.html` (not a site built before) is refused, and so is one inside the docs folder or
holding it, since the old folder is deleted after the swap.
"""

from __future__ import annotations

import fcntl
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from mkdocs.commands.build import build as mkdocs_build
from mkdocs.config import load_config
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import Abort, MkDocsException

from daemon.errors import ReplydeskError
from daemon.site import data

SITE_MODE = 0o755  # mkdtemp makes 0700 folders; a web server must be able to read the site


class BuildError(ReplydeskError):
    """The site could not be built; the last good site was kept."""


@dataclass(frozen=True, slots=True)
class Built:
    out: Path
    pages: int
    seconds: float


def build(
    mkdocs_file: Path,
    *,
    config_file: Path | None = None,
    out: Path | None = None,
    at: datetime | None = None,
    part: data.Part = "public",
) -> Built:
    """Build the site of `mkdocs_file` into `out` (default: its `site_dir`), from the event log
    of `config_file` (default: what the hook finds) as it stood `at` (default: now); `part`:
    the public part or the internal one (`extra.replydesk.part`), each into its own folder."""
    started = time.monotonic()
    config = _load(mkdocs_file)
    target = (out or Path(config.site_dir)).resolve()
    _check_target(target, Path(config.docs_dir).resolve())
    options = dict(data.options(config.extra))
    if config_file is not None:
        options["config"] = str(config_file.resolve())
    if at is not None:
        options["at"] = at.isoformat()
    options["part"] = part
    config.extra["replydesk"] = options
    target.parent.mkdir(parents=True, exist_ok=True)
    with _turn(target):
        fresh = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))
        try:
            fresh.chmod(SITE_MODE)
            config.site_dir = str(fresh)
            try:
                mkdocs_build(config)
            except Exception as exc:
                raise BuildError(f"the site was not built: {_reason(exc)}") from exc
            pages = count_pages(fresh)
            swap(fresh, target)
        except BaseException:
            shutil.rmtree(fresh, ignore_errors=True)
            raise
    return Built(target, pages, round(time.monotonic() - started, 3))


@contextmanager
def _turn(target: Path) -> Iterator[None]:
    """Hold the target's lock file (blocking) while building into it and swapping."""
    with (target.parent / f".{target.name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def swap(fresh: Path, target: Path) -> None:
    """Put `fresh` where `target` is: old aside, new in, old removed."""
    if not target.exists():
        fresh.rename(target)
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    target.rename(aside)  # onto the empty folder mkdtemp made
    try:
        fresh.rename(target)
    except OSError:
        aside.rename(target)
        raise
    shutil.rmtree(aside, ignore_errors=True)


def count_pages(site: Path) -> int:
    """The HTML pages of a built site, the 404 page left out."""
    return sum(1 for page in site.rglob("*.html") if page.relative_to(site) != Path("404.html"))


def _reason(exc: BaseException) -> str:
    """What went wrong: MkDocs wraps a hook's error in "Aborted with a BuildError!"."""
    while isinstance(exc, Abort) and exc.__context__ is not None:
        exc = exc.__context__
    return str(exc) if isinstance(exc, MkDocsException) else f"{type(exc).__name__}: {exc}"


def _load(mkdocs_file: Path) -> MkDocsConfig:
    if not mkdocs_file.is_file():
        raise BuildError(f"no mkdocs.yml at {mkdocs_file}")
    try:
        return load_config(str(mkdocs_file))
    except Exception as exc:
        raise BuildError(f"{mkdocs_file}: {type(exc).__name__}: {exc}") from exc


def _check_target(target: Path, docs: Path) -> None:
    if target == docs or target.is_relative_to(docs) or docs.is_relative_to(target):
        raise BuildError(f"{target}: the site cannot be built into or around the docs ({docs})")
    if target.exists() and not target.is_dir():
        raise BuildError(f"{target}: not a folder")
    if target.is_dir() and any(target.iterdir()) and not (target / "index.html").is_file():
        raise BuildError(f"{target}: not empty and not a built site (no index.html); not replaced")
