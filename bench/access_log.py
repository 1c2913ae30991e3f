"""How fast the daemon reads a web server's access log into `kb_opened` events.

Writes a seeded access log of `--lines` lines (default 1,000,000) in the Combined Log Format:
nine in ten hits on assets, the home page and other pages, the rest on the pages of `--articles`
published articles (a third with `?from=mail`), one hit in eight by a robot, and a few lines
that are not the format. Then, on a fresh SQLite database, runs the `kb_opens` job
(`daemon.knowledge.opens.read_logs`, through `JobRunner` as the daemon does) until the whole
file is read, times it, and checks that the events count exactly the readings the generator
predicted (exit 1 otherwise). Prints lines/s, MB/s, events written and the peak RSS.

    .venv/bin/python bench/access_log.py [--lines 1000000] [--articles 200] [--seed S] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchkit import BenchError, done_progress, progress
from sqlalchemy import func, insert, select

from daemon import config
from daemon.runners.jobs import JobRunner
from daemon.storage import holders, jobs
from daemon.storage.database import Database
from daemon.storage.models import Article, Event, Job, JobState
from parsers.access_log import combined_line

BROWSERS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 Version/18.1 Safari",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
)
ROBOTS = ("Googlebot/2.1 (+http://www.google.com/bot.html)", "curl/8.5.0", "AhrefsBot/7.0")
OTHER = ("/", "/assets/stylesheets/main.css", "/search/search_index.json", "/metrics/")
START = datetime(2026, 11, 1, tzinfo=UTC)


def write_log(path: Path, lines: int, articles: int, *, seed: int) -> int:
    """The log; how many lines are readings the job must count."""
    rng = random.Random(seed)
    readings = 0
    with path.open("w", encoding="utf-8") as out:
        for n in range(lines):
            at = START + timedelta(seconds=n * 2)
            robot = rng.random() < 1 / 8
            agent = rng.choice(ROBOTS if robot else BROWSERS)
            if rng.random() < 0.1:
                number = rng.randrange(1, articles + 1)
                target = f"/kb/{number}-article-{number}/"
                target += "?from=mail" if rng.random() < 1 / 3 else ""
                readings += not robot
            else:
                target = rng.choice(OTHER)
            if n % 10_000 == 0:
                out.write("a line a stranger sent \x00\xff\n")
            out.write(
                combined_line(
                    client=f"203.0.113.{n % 250}",
                    at=at,
                    request=f"GET {target} HTTP/1.1",
                    status=200,
                    size=str(rng.randrange(500, 50_000)),
                    referer="-",
                    agent=agent,
                )
            )
    return readings


def article_row(number: int, now: datetime) -> dict[str, object]:
    return {
        "id": number,
        "path": None,
        "slug": f"article-{number}",
        "title": f"Article {number}",
        "body": "x",
        "owner": "e@desk.test",
        "module": None,
        "tags": [],
        "tickets": [],
        "status": "published",
        "reviewed_at": now,
        "review_days": 180,
        "created_at": now,
        "updated_at": now,
    }


def run(lines: int, articles: int, *, seed: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-access-") as folder:
        root = Path(folder)
        log = root / "access.log"
        progress(f"writing {lines:,} log lines")
        expected = write_log(log, lines, articles, seed=seed)
        url = f"sqlite:///{root / 'desk.db'}"
        db = Database(url)
        db.upgrade()
        now = datetime(2027, 1, 1, tzinfo=UTC)
        with db.transaction() as session:
            session.execute(insert(Article), [article_row(n, now) for n in range(1, articles + 1)])
            jobs.schedule(session, kind=jobs.KB_OPENS, key="kb_opens", due_at=now, now=now)
        settings = config.validate(
            {"database": {"url": url}, "site": {"access_logs": [str(log)]}},
            source=root / "replydesk.toml",
        )
        holder = holders.register(db, "bench")
        clock = [now]
        runner = JobRunner(db, holder_id=holder, clock=lambda: clock[0], settings=settings)
        size = log.stat().st_size
        progress(f"reading {size / 1e6:.0f} MB")
        started = time.perf_counter()
        while True:
            runner.run_pass(threading.Event())
            with db.read() as session:
                job = session.scalars(select(Job).where(Job.kind == jobs.KB_OPENS)).one()
                offset = job.payload.get("files", {}).get(str(log), {}).get("offset", 0)
                assert job.state == JobState.PENDING, job.last_error
            if offset >= size:
                break
            clock[0] += timedelta(seconds=1)
        seconds = time.perf_counter() - started
        done_progress()
        with db.read() as session:
            counted = session.scalar(select(func.count(Event.id)).where(Event.kind == "kb_opened"))
            rows = session.scalars(select(Event.data).where(Event.kind == "kb_opened")).all()
        holders.stop(db, holder)
        db.dispose()
        total = sum(int(d["count"]) for d in rows)
        if total != expected:
            raise BenchError(f"counted {total} readings, the log holds {expected}")
        return {
            "lines": lines,
            "megabytes": round(size / 1e6, 1),
            "seconds": round(seconds, 2),
            "lines_per_second": round(lines / seconds),
            "megabytes_per_second": round(size / 1e6 / seconds, 1),
            "readings": total,
            "events": int(counted or 0),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--seed", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    try:
        figures = run(args.lines, args.articles, seed=args.seed)
    except BenchError as exc:
        print(f"access_log: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(figures))
    else:
        print(
            f"{figures['lines']:,} lines ({figures['megabytes']} MB) in {figures['seconds']} s: "
            f"{figures['lines_per_second']:,} lines/s, {figures['megabytes_per_second']} MB/s; "
            f"{figures['readings']:,} readings in {figures['events']:,} events; "
            f"peak RSS {figures['peak_rss_mb']} MB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
