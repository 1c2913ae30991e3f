"""How long `replydesk ingest` keeps an MTA waiting: spawn to exit, one small mail per call.

Writes a fresh config and database (SQLite in a temporary folder; with `--postgres`, also a fresh
`bench_pipe_<pid>` database made and dropped with psql), brings the schema up once with
`replydesk db upgrade`, then runs `python -m daemon ingest` N times in a subprocess, each with a
distinct small mail on stdin, exactly as a Postfix pipe alias would, and times each call from
spawn to exit with `time.perf_counter`. It reports median, p95 and max, the exit codes seen, and
checks that every mail was stored (a wrong count exits 1).

The code under test is whichever `daemon` package the subprocess imports: `--python` picks the
interpreter, `--code DIR` (or `$PYTHONPATH`) puts another checkout first on its path, and the
subprocess runs in the temporary folder so the current directory cannot shadow it. The ingest
command line is the same across versions, but its default differs: before the layout rewrite
`ingest` also processed and sent (`--no-process` stored only); after it, `ingest` only stores and
`--process` asks for the rest. The script reads `ingest --help` and passes what gives the mode
asked for (`--mode store|process|both`, default both).

    .venv/bin/python bench/pipe_latency.py [--mails N] [--postgres [URL]] [--python PY]
                                           [--code DIR] [--mode store|process|both] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from benchkit import (
    DESK,
    BenchError,
    done_progress,
    postgres_database,
    progress,
    psql,
    write_config,
)

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
TIMEOUT = 120.0


@dataclass(frozen=True, slots=True)
class Code:
    """The interpreter and search path the ingest subprocess runs with."""

    python: str
    env: dict[str, str]
    daemon_file: str
    has_process_flag: bool  # the new CLI: `ingest` stores only unless `--process`

    def ingest_flags(self, mode: str) -> list[str]:
        if mode == "store":
            return ["--no-process"]  # accepted by both (hidden in the new CLI)
        return ["--process"] if self.has_process_flag else []


@dataclass(slots=True)
class Result:
    backend: str
    mode: str
    mails: int
    seconds: list[float] = field(default_factory=list)
    exit_codes: Counter[int] = field(default_factory=Counter)
    stored: int = 0
    acknowledged: int | None = None

    def figures(self) -> dict[str, float]:
        ms = sorted(s * 1000 for s in self.seconds)
        if not ms:
            return {}
        p95 = ms[min(len(ms) - 1, max(0, round(0.95 * len(ms)) - 1))]
        return {
            "min_ms": ms[0],
            "median_ms": statistics.median(ms),
            "p95_ms": p95,
            "max_ms": ms[-1],
            "mean_ms": statistics.fmean(ms),
        }

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["exit_codes"] = {str(k): v for k, v in sorted(self.exit_codes.items())}
        data.update(self.figures())
        return data


def code_under_test(python: str, code: str | None, workdir: Path) -> Code:
    env = dict(os.environ)
    if code:
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(Path(code).resolve()), env.get("PYTHONPATH", "")) if p
        )
    where = subprocess.run(
        [python, "-c", "import daemon; print(daemon.__file__)"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if where.returncode != 0:
        raise BenchError(f"{python} cannot import daemon: {where.stderr.strip()}")
    usage = subprocess.run(
        [python, "-m", "daemon", "ingest", "--help"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if usage.returncode != 0:
        raise BenchError(f"`daemon ingest --help` failed: {usage.stderr.strip()}")
    flags = usage.stdout.replace(",", " ").split()
    return Code(python, env, where.stdout.strip(), has_process_flag="--process" in flags)


def mail(index: int, run: str, *, kind: str = "pipe") -> bytes:
    message = EmailMessage()
    message["From"] = f"Customer {index} <customer{index}@example.com>"
    message["To"] = f"Support <{DESK}>"
    message["Subject"] = f"Printer {index} jams on page two"
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = f"<{kind}.{run}.{index}@example.com>"
    message.set_content(f"Hello,\n\nprinter {index} jams whenever I print two pages.\n\nThanks\n")
    return message.as_bytes()


def cli(
    code: Code, config: Path, *args: str, stdin: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [code.python, "-m", "daemon", "--config", str(config), *args],
        input=stdin,
        cwd=config.parent,
        env=code.env,
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )


def run_backend(
    code: Code, backend: str, url: str, *, mode: str, mails: int, warmup: int, workdir: Path
) -> Result:
    config = write_config(workdir, url, desk="max_acks_per_sender_per_hour = 1000\n")
    upgrade = cli(code, config, "db", "upgrade")
    if upgrade.returncode != 0:
        raise BenchError(f"{backend}: db upgrade exited {upgrade.returncode}: {upgrade.stderr!r}")
    flags = code.ingest_flags(mode)
    run = f"{os.getpid()}{backend[0]}{mode[0]}"
    for index in range(warmup):
        cli(code, config, "ingest", *flags, stdin=mail(index, run, kind="warmup"))
    result = Result(backend, mode, mails)
    first_error = ""
    for index in range(mails):
        progress(f"{backend} {mode}: ingest {index + 1}/{mails}")
        raw = mail(index, run)
        start = time.perf_counter()
        child = subprocess.run(
            [code.python, "-m", "daemon", "--config", str(config), "ingest", *flags],
            input=raw,
            cwd=workdir,
            env=code.env,
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
        )
        elapsed = time.perf_counter() - start
        result.exit_codes[child.returncode] += 1
        if child.returncode == 0:
            result.seconds.append(elapsed)
        elif not first_error:
            first_error = child.stderr.decode("utf-8", "replace").strip()[-400:]
    done_progress()
    result.stored, result.acknowledged = count_rows(url, run)
    if first_error:
        print(f"{backend} {mode}: first failure: {first_error}", file=sys.stderr)
    if result.stored != mails:
        raise BenchError(f"{backend} {mode}: {result.stored} of {mails} mails stored")
    return result


def count_rows(url: str, run: str) -> tuple[int, int | None]:
    """Inbound rows of this run, and outbox rows (acknowledgements) in the database."""
    pattern = f"%pipe.{run}.%"
    stored = f"SELECT count(*) FROM inbound WHERE message_key LIKE '{pattern}'"
    acks = "SELECT count(*) FROM outbox"
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            count = conn.execute(stored).fetchone()[0]
            if count == 0:  # the new key is a fingerprint: find the run by the raw bytes
                count = conn.execute(
                    "SELECT count(*) FROM inbound WHERE CAST(raw AS TEXT) LIKE ?", (pattern,)
                ).fetchone()[0]
            return int(count), int(conn.execute(acks).fetchone()[0])
    count = int(psql(url, stored))
    if count == 0:
        count = int(
            psql(url, f"SELECT count(*) FROM inbound WHERE encode(raw, 'escape') LIKE '{pattern}'")
        )
    return count, int(psql(url, acks))


def print_table(code: Code, results: list[Result]) -> None:
    print(f"code: {code.daemon_file}  ({'new' if code.has_process_flag else 'before'} ingest CLI)")
    print(
        f"{'backend':<11}{'mode':<9}{'mails':>6}{'median ms':>11}{'p95 ms':>9}{'max ms':>9}"
        f"{'min ms':>9}  exit codes"
    )
    for r in results:
        f = r.figures()
        codes = ", ".join(f"{k}: {v}" for k, v in sorted(r.exit_codes.items()))
        print(
            f"{r.backend:<11}{r.mode:<9}{r.mails:>6}{f.get('median_ms', 0):>11.1f}"
            f"{f.get('p95_ms', 0):>9.1f}{f.get('max_ms', 0):>9.1f}{f.get('min_ms', 0):>9.1f}"
            f"  {codes}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--mails", type=int, default=50, help="ingests per backend and mode")
    parser.add_argument("--warmup", type=int, default=1, help="untimed ingests first")
    parser.add_argument(
        "--postgres",
        nargs="?",
        const=PG_SERVER,
        default=None,
        metavar="URL",
        help=f"also PostgreSQL on this server (default {PG_SERVER}); a fresh database is made",
    )
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--mode", choices=("store", "process", "both"), default="both")
    parser.add_argument("--no-process", action="store_true", help="same as --mode store")
    parser.add_argument("--python", default=os.environ.get("REPLYDESK_PYTHON", sys.executable))
    parser.add_argument("--code", default=None, help="checkout to put first on PYTHONPATH")
    parser.add_argument("--json", action="store_true", help="one JSON object for scripts")
    args = parser.parse_args(argv)
    modes = (
        ("store",)
        if args.no_process
        else ("store", "process")
        if args.mode == "both"
        else (args.mode,)
    )
    results: list[Result] = []
    try:
        with tempfile.TemporaryDirectory(prefix="replydesk-pipe-") as tmp:
            code = code_under_test(args.python, args.code, Path(tmp))
            for mode in modes:
                if not args.no_sqlite:
                    workdir = Path(tmp, f"sqlite-{mode}")
                    workdir.mkdir()
                    url = f"sqlite:///{workdir / 'replydesk.db'}"
                    results.append(
                        run_backend(
                            code,
                            "sqlite",
                            url,
                            mode=mode,
                            mails=args.mails,
                            warmup=args.warmup,
                            workdir=workdir,
                        )
                    )
                if args.postgres:
                    workdir = Path(tmp, f"postgresql-{mode}")
                    workdir.mkdir()
                    with postgres_database(args.postgres, prefix="bench_pipe") as url:
                        results.append(
                            run_backend(
                                code,
                                "postgresql",
                                url,
                                mode=mode,
                                mails=args.mails,
                                warmup=args.warmup,
                                workdir=workdir,
                            )
                        )
    except (BenchError, subprocess.TimeoutExpired) as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(
            json.dumps(
                {
                    "daemon": code.daemon_file,
                    "python": code.python,
                    "new_cli": code.has_process_flag,
                    "results": [r.to_json() for r in results],
                }
            )
        )
    else:
        print_table(code, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
