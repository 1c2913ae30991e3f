"""How long `replydesk site build` takes, and how much memory, for 1,000 to 100,000 tickets.

For each size, a fresh database (SQLite in a temporary folder; PostgreSQL too with `--pg`, a
fresh `bench_site_<pid>` database) is filled in bulk with a synthetic, realistic event log
(`site_data.fill`: about 20 events a ticket over a year; filling is not timed), beside 1,000
knowledge-base articles of the standard shape written as Markdown files with front matter into a
copy of `site/` (docs, templates, hooks; a copied mkdocs.yml beside it). When the articles store
exists (`daemon.knowledge.articles`), the files are synced into it first, as the daemon does
(timed apart: `sync s`). Then `python -m daemon site build` runs in a subprocess, and its wall
time, peak RSS (`os.wait4`'s rusage of that child alone) and pages are printed.

The issue's target: 100,000 tickets and 1,000 articles in under 60 s on a 2-core machine,
growing no worse than linearly (the last column: seconds per 1,000 tickets should not grow).

    .venv/bin/python bench/site_build.py [--tickets 1000,10000,100000] [--articles 1000]
                                         [--pg [URL]] [--internal] [--seed S] [--json]

`--internal` sets `[site] internal_out`, so the internal part (per engineer, ticket lists) is
built too, in the same child, and the figures cover both parts.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import cast

from benchkit import BenchError, postgres_database, progress
from site_data import fill, write_articles

from daemon.storage.database import Database

ROOT = Path(__file__).resolve().parents[1]
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
TARGET_SECONDS = 60.0
TARGET_TICKETS = 100_000
CALENDARS = """
[[calendars]]
name = "office"
timezone = "UTC"
hours = "09:00-17:00"
days = ["mon", "tue", "wed", "thu", "fri"]
"""


def sources(folder: Path, articles: int, *, seed: int) -> Path:
    """A copy of the site's sources with `articles` generated articles; its mkdocs.yml."""
    shutil.copytree(ROOT / "site", folder / "site")
    shutil.copy(ROOT / "mkdocs.yml", folder / "mkdocs.yml")
    write_articles(folder / "site" / "docs" / "kb" / "bench", articles, seed=seed)
    return folder / "mkdocs.yml"


def config_file(folder: Path, url: str, mkdocs: Path, *, internal: bool) -> Path:
    """The bench desk's config; `internal` adds `[site] internal_out`, so both parts build."""
    path = folder / "replydesk.toml"
    inside = f'internal_out = "{folder / "internal"}"\n' if internal else ""
    path.write_text(
        f'[desk]\nname = "Bench Desk"\naddresses = ["support@desk.test"]\n\n'
        f'[database]\nurl = "{url}"\n\n[outbox]\nmaildir = "{folder / "outbox"}"\n\n'
        f'[site]\ntitle = "Bench Support"\nmkdocs = "{mkdocs}"\n{inside}{CALENDARS}',
        encoding="utf-8",
    )
    return path


def sync_articles(db: Database, docs: Path, *, now: datetime) -> float | None:
    """Sync the article files into the articles store, as the daemon does; None without one."""
    if importlib.util.find_spec("daemon.knowledge.articles") is None:
        return None
    from daemon.knowledge.articles import sync_files  # noqa: PLC0415

    began = time.perf_counter()
    with db.transaction() as session:
        sync_files(session, docs, now=now)
    return time.perf_counter() - began


def timed_build(config: Path, out: Path, at: datetime) -> tuple[float, int, dict[str, object]]:
    """`replydesk site build` in a child process: its wall seconds, peak RSS (KiB, of that child
    alone: `os.wait4`'s rusage) and its JSON report."""
    command = [sys.executable, "-m", "daemon", "--config", str(config), "site", "build"]
    command += ["--out", str(out), "--at", at.isoformat()]
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        began = time.perf_counter()
        child = subprocess.Popen(command, cwd=ROOT, stdout=stdout, stderr=stderr)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - began
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        stdout.seek(0)
        stderr.seek(0)
        if child.returncode != 0:
            raise BenchError(f"site build failed ({child.returncode}): {stderr.read()[-3000:]}")
        parts = [json.loads(line) for line in stdout.read().splitlines() if line.startswith("{")]
    report: dict[str, object] = {  # one JSON line per part built
        "seconds": round(sum(float(part["seconds"]) for part in parts), 3),
        "pages": sum(int(part["pages"]) for part in parts),
        "parts": [str(part.get("part", "public")) for part in parts],
    }
    return seconds, usage.ru_maxrss, report


def run(
    url: str, folder: Path, *, tickets: int, articles: int, seed: int, internal: bool
) -> dict[str, object]:
    db = Database(url)
    db.upgrade()
    try:
        events, at = fill(db, tickets, seed=seed)
        mkdocs = sources(folder, articles, seed=seed)
        synced = sync_articles(db, folder / "site" / "docs", now=at)
    finally:
        db.dispose()
    progress(f"building the site of {tickets} tickets")
    seconds, rss, report = timed_build(
        config_file(folder, url, mkdocs, internal=internal), folder / "out", at
    )
    return {
        "backend": url.split(":", 1)[0].split("+", 1)[0],
        "tickets": tickets,
        "events": events,
        "articles": articles,
        "sync_seconds": None if synced is None else round(synced, 2),
        "build_seconds": round(seconds, 2),
        "inner_seconds": report["seconds"],
        "pages": report["pages"],
        "parts": report["parts"],
        "peak_rss_mb": round(rss / 1024),
        "seconds_per_1k_tickets": round(seconds / tickets * 1000, 3),
    }


def line(result: dict[str, object]) -> str:
    synced = "-" if result["sync_seconds"] is None else result["sync_seconds"]
    parts = "+".join(str(part) for part in cast(list[str], result["parts"]))
    return (
        f"{result['backend']:<10} {result['tickets']:>8} tickets {result['events']:>9} events "
        f"{result['articles']:>5} articles | build {result['build_seconds']:>7} s "
        f"(in-process {result['inner_seconds']} s) | peak RSS {result['peak_rss_mb']:>5} MB | "
        f"{result['pages']:>5} pages ({parts}) | sync {synced} s | "
        f"{result['seconds_per_1k_tickets']} s per 1k tickets"
    )


def verdict(results: list[dict[str, object]]) -> str:
    largest = [r for r in results if r["tickets"] == TARGET_TICKETS]
    if not largest:
        return f"target not measured ({TARGET_TICKETS} tickets not among the sizes)"
    worst = max(float(str(r["build_seconds"])) for r in largest)
    met = "met" if worst < TARGET_SECONDS else "MISSED"
    return f"target ({TARGET_TICKETS} tickets under {TARGET_SECONDS:g} s): {met}, worst {worst} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", default="1000,10000,100000")
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--pg", "--postgres", nargs="?", const=PG_SERVER, default=None)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--internal", action="store_true", help="build the internal part too")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.tickets.split(","))
    results = []
    for tickets in sizes:
        with ExitStack() as stack:
            base = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-site-")))
            urls = [("sqlite", f"sqlite:///{base / 'site.db'}")]
            if args.pg:
                urls.append(
                    ("pg", stack.enter_context(postgres_database(args.pg, prefix="bench_site")))
                )
            for name, url in urls:
                folder = base / name
                folder.mkdir()
                result = run(
                    url,
                    folder,
                    tickets=tickets,
                    articles=args.articles,
                    seed=args.seed,
                    internal=args.internal,
                )
                results.append(result)
                print(json.dumps(result) if args.json else line(result), flush=True)
    if not args.json:
        print(verdict(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
