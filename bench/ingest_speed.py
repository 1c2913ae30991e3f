"""How fast replydesk takes in mail: store, process into tickets, send acknowledgements.

Generates a seeded, varied set of mails in memory (new requests from many senders, replies that
thread by In-Reply-To or by subject tag, attachments, HTML-only and CJK mail, auto-replies, bulk,
bounces, our own mail coming back, re-deliveries), then on a fresh database per backend times each
stage on its own and checks the work it timed: a benchmark of broken work is worthless, so a wrong
count exits 1. The roadmap's target is 300 mails/s per process under 200 MB; it is reported, not
enforced.

    .venv/bin/python bench/ingest_speed.py [--mails N] [--backend sqlite|postgresql|both]
                                           [--seed S] [--profile store|process|send]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from ingest_mails import DESK, NOW, Corpus, Expected, Sample
from psycopg import sql
from sqlalchemy import func, select

from daemon import config
from daemon.mail.transports import MaildirTransport
from daemon.runners.outgoing import OutgoingRunner
from daemon.runners.process import ProcessRunner
from daemon.storage import holders, intake
from daemon.storage.database import Database
from daemon.storage.models import Inbound, Message, Outbox, OutboxState, Ticket

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432"
TARGET = 300.0


class BenchError(Exception):
    """The work measured was not the work expected."""


@dataclass(frozen=True, slots=True)
class Phase:
    backend: str
    name: str
    mails: int
    seconds: float
    peak_rss_kib: int

    @property
    def rate(self) -> float:
        return self.mails / self.seconds if self.seconds else float("inf")


def peak_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


@contextmanager
def profiled(enabled: bool, title: str) -> Iterator[None]:
    """Profile the block when asked, and print its top cumulative entries."""
    if not enabled:
        yield
        return
    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        print(f"\n--- profile: {title} (top 25 by cumulative time) ---")
        pstats.Stats(profile, stream=sys.stdout).sort_stats("cumulative").print_stats(25)


def run_backend(
    backend: str,
    url: str,
    *,
    samples: list[Sample],
    expected: Expected,
    workdir: Path,
    profile: str,
) -> list[Phase]:
    """Store, process and send the samples on a fresh database; check each stage's counts."""
    settings = config.validate(
        {
            "desk": {"name": "Bench Desk", "addresses": [DESK]},
            "database": {"url": url},
            "outbox": {"maildir": str(workdir / "outbox")},
            "engineers": [{"name": "Eve", "address": "eve@desk.test"}],
        },
        source=workdir / "replydesk.toml",
    )
    db = Database(url)
    try:
        db.upgrade()
        start = time.perf_counter()
        with profiled(profile == "store", f"{backend} store"):
            created = sum(
                intake.store(db, s.raw, _envelope(i, s)).created for i, s in enumerate(samples)
            )
        stored = _phase(backend, "store", len(samples), start)
        _check("stored mails", created, expected.stored)
        holder = holders.register(db, "bench")
        start = time.perf_counter()
        with profiled(profile == "process", f"{backend} process"):
            runner = ProcessRunner(settings, db, holder_id=holder, clock=lambda: NOW)
            processed = runner.run_pass(threading.Event())
        processing = _phase(backend, "process", processed, start)
        check_processed(db, expected)
        start = time.perf_counter()
        with profiled(profile == "send", f"{backend} send"):
            transport = MaildirTransport(settings.outbox.maildir)
            sender = OutgoingRunner(
                db, transport, settings.outbox, holder_id=holder, clock=lambda: NOW
            )
            sender.run_pass(threading.Event())
            report = sender.report
        sending = _phase(backend, "send", report.sent, start)
        check_sent(db, settings.outbox.maildir, expected, report.sent)
        holders.stop(db, holder)
    finally:
        db.dispose()
    total = stored.seconds + processing.seconds + sending.seconds
    whole = Phase(backend, "end-to-end", len(samples), total, peak_rss_kib())
    return [stored, processing, sending, whole]


def _envelope(index: int, sample: Sample) -> intake.Envelope:
    return intake.Envelope(
        source="bench",
        source_key=f"bench:{index}",
        received_at=NOW,
        mail_from=sample.sender or None,
        rcpt_to=(DESK,),
    )


def _phase(backend: str, name: str, mails: int, start: float) -> Phase:
    return Phase(backend, name, mails, time.perf_counter() - start, peak_rss_kib())


def _check(what: str, got: object, want: object) -> None:
    if got != want:
        raise BenchError(f"{what}: got {got}, expected {want}")


def check_processed(db: Database, expected: Expected) -> None:
    """Every stored mail handled as predicted: tickets, threads, internal notes, acks."""
    with db.transaction() as session:
        states = dict(
            session.execute(select(Inbound.state, func.count()).group_by(Inbound.state)).all()
        )
        tickets = session.scalar(select(func.count(Ticket.id)))
        rows = session.execute(
            select(Message.message_id, Message.ticket_id, Message.public).where(
                Message.direction == "in"
            )
        ).all()
        outbox = session.scalar(select(func.count(Outbox.id)))
    _check(
        "inbound states",
        {str(k): v for k, v in states.items()},
        {"done": expected.stored - expected.ignored, "ignored": expected.ignored},
    )
    _check("tickets created", tickets, expected.tickets)
    _check("message -> ticket", {r.message_id: r.ticket_id for r in rows}, expected.ticket_of)
    _check("internal notes", sum(not r.public for r in rows), expected.internal)
    _check("acknowledgements queued", outbox, expected.acks)


def check_sent(db: Database, maildir: Path, expected: Expected, sent: int) -> None:
    with db.transaction() as session:
        pending = session.scalar(
            select(func.count(Outbox.id)).where(Outbox.state != OutboxState.SENT)
        )
    _check("acknowledgements sent", sent, expected.acks)
    _check("outbox rows not sent", pending, 0)
    _check("files in the outbox Maildir", len(list((maildir / "new").iterdir())), expected.acks)


@contextmanager
def database_url(backend: str, workdir: Path) -> Iterator[str | None]:
    """An empty database for the backend, or None (with a message) where it cannot be had."""
    workdir.mkdir(parents=True)
    if backend == "sqlite":
        yield f"sqlite:///{workdir / 'replydesk.db'}"
    else:
        with postgres_database() as url:
            yield url


@contextmanager
def postgres_database() -> Iterator[str | None]:
    """A fresh `replydesk_bench_<pid>` database, dropped afterwards; None if PG is unreachable."""
    name = f"replydesk_bench_{os.getpid()}"
    try:
        with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        print(f"postgresql: skipped, {ADMIN_URL} unreachable ({exc})".strip())
        yield None
        return
    try:
        yield f"{PG_BASE}/{name}"
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def print_header() -> None:
    print(
        f"\n{'backend':<11}{'phase':<12}{'mails':>7}{'seconds':>10}{'mails/s':>10}"
        f"{'peak RSS MiB':>14}  target {TARGET:.0f}/s"
    )


def print_rows(phases: list[Phase]) -> None:
    for p in phases:
        verdict = "ok" if p.rate >= TARGET else "BELOW"
        print(
            f"{p.backend:<11}{p.name:<12}{p.mails:>7}{p.seconds:>10.2f}{p.rate:>10.1f}"
            f"{p.peak_rss_kib / 1024:>14.1f}  {verdict}",
            flush=True,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--mails", type=int, default=2000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--seed", type=int, default=20261102)
    parser.add_argument("--profile", choices=("store", "process", "send"), default="")
    args = parser.parse_args(argv)
    corpus = Corpus(args.seed, senders=max(20, args.mails // 4))
    samples = corpus.generate(args.mails)
    expected = corpus.expected
    print(
        f"{len(samples)} mails ({sum(len(s.raw) for s in samples) / 1e6:.1f} MB): "
        + ", ".join(f"{k} {v}" for k, v in sorted(expected.kinds.items()))
        + f"; expect {expected.tickets} tickets, {expected.acks} acks; "
        f"RSS before the first phase {peak_rss_kib() / 1024:.1f} MiB"
    )
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    print_header()
    try:
        with tempfile.TemporaryDirectory(prefix="replydesk-bench-") as tmp:
            for backend in backends:
                with database_url(backend, Path(tmp, backend)) as url:
                    if url is not None:
                        print_rows(
                            run_backend(
                                backend,
                                url,
                                samples=samples,
                                expected=expected,
                                workdir=Path(tmp, backend),
                                profile=args.profile,
                            )
                        )
    except BenchError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    print(
        "end-to-end = all mails delivered / (store + process + send seconds); "
        "peak RSS (ru_maxrss) is the whole process's, so it accumulates across backends"
    )
    if args.profile:
        print("(timings of the profiled phase include cProfile's overhead)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
