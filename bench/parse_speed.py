"""Messages per second of replydesk's full parse, beside the bare standard library floor.

    .venv/bin/python bench/parse_speed.py [--corpus PATH] [--repeat N]

Reads every file of the shared corpus index (default `../shared/corpus` beside the repository)
that starts with a header block (the RFC 822 samples, not the plain-text or HTML bodies), keeps
them in memory, and times, in the same run over the same files, `--repeat` rounds (default 5) of:

- floor: `BytesParser(policy=default).parsebytes(raw)` then `msg.get_body()`;
- replydesk: `parsers.parse(raw)` (headers, structure, text, quotes, commands, auto verdict).

It prints the median messages/s of each, and their ratio. The target is a ratio of at least 0.5
(replydesk's full parse at least half as fast as the bare floor); the script reports it and does
not fail on it. Exit status: 0 after a run, 2 when the corpus is missing.
"""

from __future__ import annotations

import argparse
import contextlib
import email.parser
import email.policy
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from parsers import NotAMailError, parse

DEFAULT_CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"
TARGET_RATIO = 0.5


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    index = args.corpus / "index.json"
    if not index.is_file():
        print(f"corpus not found: {index} (use --corpus PATH)", file=sys.stderr)
        return 2
    raws = load_mails(args.corpus)
    total = sum(len(r) for r in raws)
    print(f"{len(raws)} RFC 822 samples, {total / 1e6:.1f} MB, {args.repeat} rounds each")
    floor = median_rate(raws, bare_floor, args.repeat)
    ours, errors = median_rate(raws, replydesk, args.repeat), count_errors(raws)
    print(f"stdlib floor (parsebytes + get_body): {floor:>9.0f} messages/s")
    print(f"replydesk parse():                    {ours:>9.0f} messages/s")
    ratio = ours / floor if floor else 0.0
    verdict = "meets" if ratio >= TARGET_RATIO else "misses"
    print(f"ratio: {ratio:.2f} ({verdict} the target of {TARGET_RATIO})")
    if errors:
        print(f"{len(errors)} samples raised in parse():", file=sys.stderr)
        for line in errors[:20]:
            print(f"  {line}", file=sys.stderr)
    return 0


def load_mails(corpus: Path) -> list[bytes]:
    """The raw bytes of every indexed file that starts with a header block."""
    entries = json.loads((corpus / "index.json").read_text(encoding="utf-8"))
    raws: list[bytes] = []
    for entry in entries:
        path = corpus / entry["path"]
        if path.is_file():
            raw = path.read_bytes()
            if starts_with_header(raw):
                raws.append(raw)
    return raws


def starts_with_header(raw: bytes) -> bool:
    """The first non-blank line is an mbox `From ` line or a `Name:` header field."""
    first = raw.lstrip(b"\r\n").split(b"\n", 1)[0]
    if first.startswith(b"From "):
        return True
    name, colon, _ = first.partition(b":")
    return bool(colon) and 0 < len(name) <= 76 and all(33 <= b <= 126 for b in name)


def bare_floor(raw: bytes) -> None:
    msg = email.parser.BytesParser(policy=email.policy.default).parsebytes(raw)
    with contextlib.suppress(Exception):  # the floor measures time, not correctness
        msg.get_body()


def replydesk(raw: bytes) -> None:
    with contextlib.suppress(Exception):
        parse(raw)


def median_rate(raws: list[bytes], work: Callable[[bytes], None], repeat: int) -> float:
    """Median messages per second over `repeat` rounds of `work` on every sample."""
    rates: list[float] = []
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        for raw in raws:
            work(raw)
        elapsed = time.perf_counter() - start
        rates.append(len(raws) / elapsed if elapsed > 0 else float("inf"))
    return statistics.median(rates)


def count_errors(raws: list[bytes]) -> list[str]:
    """Samples on which `parse()` raised anything but `NotAMailError` (which must be none)."""
    errors: list[str] = []
    for number, raw in enumerate(raws):
        try:
            parse(raw)
        except NotAMailError:
            continue
        except Exception as error:
            errors.append(f"sample {number}: {type(error).__name__}: {error}")
    return errors


if __name__ == "__main__":
    raise SystemExit(main())
