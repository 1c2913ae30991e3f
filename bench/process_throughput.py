"""How fast stored mail becomes tickets: `replydesk run --once` over N mails already stored.

Stores N mails (default 1,000) into a fresh database with the project's own `intake.store()` (in
this process, timed too), then times `python -m daemon run --once` in a subprocess, with no
sources configured, until no mail is left in the `stored` state (a pass may take a bounded batch,
so several passes can be needed; each is counted). An idle pass (startup, migrations check, empty
queue) is timed afterwards, so the net figure can leave the per-run start-up out. The mails come
from `../shared/corpus` when present (every RFC 822 sample of its `index.json`, in a seeded
order, each given its own Message-ID so none is a duplicate of another), else from
`ingest_mails.Corpus`; `--mails-from` chooses. SQLite in a temporary folder, and PostgreSQL with
`--postgres` (a fresh `bench_process_<pid>` database, made and dropped with psql).

The code under test is the `daemon` package first on the path: `--code DIR` puts a checkout
first, for this process and for the subprocess (which runs in the temporary folder, so the
current directory cannot shadow it). `store()` is imported from `daemon.storage.intake` (the new
layout) or `daemon.intake` (before it); processing goes through the CLI, which both have.

    .venv/bin/python bench/process_throughput.py [--mails N] [--postgres [URL]] [--code DIR]
                                                 [--mails-from corpus|generated] [--json]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchkit import (
    DESK,
    BenchError,
    done_progress,
    postgres_database,
    progress,
    psql,
    write_config,
)

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
TIMEOUT = 1800.0
_MESSAGE_ID = re.compile(
    rb"^message-id[ \t]*:.*(?:\r?\n[ \t].*)*\r?\n", re.IGNORECASE | re.MULTILINE
)
_HEADER_END = re.compile(rb"\r?\n\r?\n")


@dataclass(frozen=True, slots=True)
class Sample:
    raw: bytes
    kind: str


@dataclass(slots=True)
class Result:
    backend: str
    mails: int
    stored: int = 0
    store_seconds: float = 0.0
    pass_seconds: list[float] = field(default_factory=list)
    idle_pass_seconds: float = 0.0
    states: dict[str, int] = field(default_factory=dict)
    outbox: int = 0

    @property
    def process_seconds(self) -> float:
        return sum(self.pass_seconds)

    @property
    def rate(self) -> float:
        return self.stored / self.process_seconds if self.process_seconds else 0.0

    @property
    def net_seconds(self) -> float:
        return max(1e-9, self.process_seconds - len(self.pass_seconds) * self.idle_pass_seconds)

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = asdict(self)
        data.update(
            process_seconds=self.process_seconds,
            mails_per_s=self.rate,
            ms_per_mail=1000 / self.rate if self.rate else None,
            net_mails_per_s=self.stored / self.net_seconds,
            store_mails_per_s=self.stored / self.store_seconds if self.store_seconds else None,
        )
        return data


def corpus_samples(root: Path, count: int, seed: int) -> list[Sample]:
    """Every RFC 822 sample of the corpus in a seeded order, cycled to `count`, each unique."""
    index = json.loads((root / "index.json").read_text(encoding="utf-8"))
    eligible = [
        e
        for e in index
        if str(e.get("format") or "rfc822").startswith("rfc822")
        and "plain text" not in str(e.get("format"))
    ]
    random.Random(seed).shuffle(eligible)
    if not eligible:
        raise BenchError(f"{root}: no RFC 822 samples in index.json")
    samples = []
    for i in range(count):
        entry = eligible[i % len(eligible)]
        raw = (root / entry["path"]).read_bytes()
        samples.append(Sample(unique(raw, f"{seed}.{i}"), str(entry["kind"])))
    return samples


def unique(raw: bytes, tag: str) -> bytes:
    """The mail with a Message-ID of its own, so that no sample is a replay of another."""
    if raw.startswith(b"From "):  # an mbox separator line
        raw = raw.split(b"\n", 1)[1] if b"\n" in raw else b""
    newline = b"\r\n" if b"\r\n" in raw[:2000] else b"\n"
    end = _HEADER_END.search(raw)
    split = end.start() if end else len(raw)
    head, body = raw[:split] + newline, raw[split:]
    head = _MESSAGE_ID.sub(b"", head, count=1)
    stamp = f"Message-ID: <bench.{tag}@bench.invalid>".encode() + newline
    return stamp + head.removesuffix(newline) + body


def generated_samples(count: int, seed: int) -> list[Sample]:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from ingest_mails import Corpus  # noqa: PLC0415 - a sibling module of the bench folder

    corpus = Corpus(seed, senders=max(20, count // 4))
    return [Sample(s.raw, s.kind) for s in corpus.generate(count)]


# --- the code under test --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Code:
    python: str
    env: dict[str, str]
    daemon_file: str
    store: Callable[[Any, bytes, Any], Any]
    envelope: Callable[..., Any]
    database: Callable[[str], Any]


def load_code(python: str, code: str | None) -> Code:
    """The store function and Database of the checkout first on the path, new layout or old."""
    env = dict(os.environ)
    if code:
        where = str(Path(code).resolve())
        sys.path.insert(0, where)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (where, env.get("PYTHONPATH", "")) if p)
    intake = _first("daemon.storage.intake", "daemon.intake")
    database = _first("daemon.storage.database", "daemon.database")
    daemon = importlib.import_module("daemon")
    return Code(
        python,
        env,
        str(daemon.__file__),
        intake.store,
        intake.Envelope,
        database.Database,
    )


def _first(*names: str) -> Any:
    errors = []
    for name in names:
        try:
            return importlib.import_module(name)
        except ImportError as exc:
            errors.append(f"{name}: {exc}")
    raise BenchError("cannot import " + "; ".join(errors))


def cli(code: Code, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [code.python, "-m", "daemon", "--config", str(config), *args],
        cwd=config.parent,
        env=code.env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def _tail(text: str) -> str:
    return " | ".join(text.strip().splitlines()[-3:])


# --- one backend ----------------------------------------------------------------------------


def run_backend(code: Code, backend: str, url: str, samples: list[Sample], workdir: Path) -> Result:
    config = write_config(workdir, url)
    upgrade = cli(code, config, "db", "upgrade")
    if upgrade.returncode != 0:
        raise BenchError(
            f"{backend}: db upgrade exited {upgrade.returncode}: {_tail(upgrade.stderr)}"
        )
    result = Result(backend, len(samples))
    db = code.database(url)
    now = datetime.now(UTC)
    start = time.perf_counter()
    try:
        for i, sample in enumerate(samples):
            if i % 50 == 0:
                progress(f"{backend}: store {i}/{len(samples)}")
            envelope = code.envelope(
                source="bench", source_key=f"bench:{i}", received_at=now, rcpt_to=(DESK,)
            )
            result.stored += bool(code.store(db, sample.raw, envelope).created)
    finally:
        result.store_seconds = time.perf_counter() - start
        db.dispose()
    done_progress()
    for n in range(len(samples) // 50 + 5):
        progress(f"{backend}: run --once, pass {n + 1}")
        start = time.perf_counter()
        done = cli(code, config, "run", "--once")
        result.pass_seconds.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise BenchError(
                f"{backend}: run --once exited {done.returncode}: {_tail(done.stderr)}"
            )
        if states(url).get("stored", 0) == 0:
            break
    else:
        raise BenchError(f"{backend}: mail left stored after {len(result.pass_seconds)} passes")
    start = time.perf_counter()
    idle = cli(code, config, "run", "--once")
    result.idle_pass_seconds = time.perf_counter() - start
    done_progress()
    if idle.returncode != 0:
        raise BenchError(f"{backend}: idle run --once exited {idle.returncode}")
    result.states = states(url)
    result.outbox = int(query(url, "SELECT count(*) FROM outbox")[0][0])
    if sum(result.states.values()) != result.stored:
        raise BenchError(f"{backend}: {result.states} for {result.stored} stored mails")
    return result


def states(url: str) -> dict[str, int]:
    rows = query(url, "SELECT state, count(*) FROM inbound GROUP BY state ORDER BY state")
    return {str(state).lower(): int(n) for state, n in rows}


def query(url: str, statement: str) -> list[tuple[str, ...]]:
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            return [tuple(str(v) for v in row) for row in conn.execute(statement)]
    out = psql(url, statement)
    return [tuple(line.split("|")) for line in out.splitlines() if line]


def print_table(code: Code, samples: list[Sample], results: list[Result]) -> None:
    kinds = Counter(s.kind for s in samples)
    print(f"code: {code.daemon_file}")
    print(f"{len(samples)} mails: " + ", ".join(f"{k} {v}" for k, v in kinds.most_common()))
    print(
        f"{'backend':<11}{'stored':>7}{'store/s':>9}{'passes':>7}{'seconds':>9}{'mails/s':>9}"
        f"{'ms/mail':>9}{'idle s':>8}{'net/s':>8}  outcome"
    )
    for r in results:
        outcome = ", ".join(f"{k} {v}" for k, v in r.states.items()) + f"; outbox {r.outbox}"
        print(
            f"{r.backend:<11}{r.stored:>7}{r.stored / r.store_seconds:>9.1f}"
            f"{len(r.pass_seconds):>7}{r.process_seconds:>9.2f}{r.rate:>9.1f}"
            f"{1000 / r.rate if r.rate else 0:>9.2f}{r.idle_pass_seconds:>8.2f}"
            f"{r.stored / r.net_seconds:>8.1f}  {outcome}"
        )
    print("mails/s = stored mails / wall time of every `run --once` pass; net/s leaves out one")
    print("idle pass (start-up with nothing to do) per pass")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--mails", type=int, default=1000)
    parser.add_argument("--mails-from", choices=("auto", "corpus", "generated"), default="auto")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--seed", type=int, default=20261102)
    parser.add_argument(
        "--postgres",
        nargs="?",
        const=PG_SERVER,
        default=None,
        metavar="URL",
        help=f"also PostgreSQL on this server (default {PG_SERVER}); a fresh database is made",
    )
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--python", default=os.environ.get("REPLYDESK_PYTHON", sys.executable))
    parser.add_argument("--code", default=None, help="checkout to put first on the path")
    parser.add_argument("--json", action="store_true", help="one JSON object for scripts")
    args = parser.parse_args(argv)
    source = args.mails_from
    if source == "auto":
        source = "corpus" if (args.corpus / "index.json").exists() else "generated"
    results: list[Result] = []
    try:
        code = load_code(args.python, args.code)
        if source == "corpus":
            samples = corpus_samples(args.corpus, args.mails, args.seed)
        else:
            samples = generated_samples(args.mails, args.seed)
        with tempfile.TemporaryDirectory(prefix="replydesk-process-") as tmp:
            if not args.no_sqlite:
                workdir = Path(tmp, "sqlite")
                workdir.mkdir()
                url = f"sqlite:///{workdir / 'replydesk.db'}"
                results.append(run_backend(code, "sqlite", url, samples, workdir))
            if args.postgres:
                workdir = Path(tmp, "postgresql")
                workdir.mkdir()
                with postgres_database(args.postgres, prefix="bench_process") as url:
                    results.append(run_backend(code, "postgresql", url, samples, workdir))
    except (BenchError, subprocess.TimeoutExpired) as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(
            json.dumps(
                {
                    "daemon": code.daemon_file,
                    "python": code.python,
                    "mails_from": source,
                    "kinds": dict(Counter(s.kind for s in samples)),
                    "results": [r.to_json() for r in results],
                }
            )
        )
    else:
        print_table(code, samples, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
