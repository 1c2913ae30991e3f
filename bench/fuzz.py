"""A long mutation fuzz run of `parsers.parse()` over the shared corpus (not part of the tests).

    .venv/bin/python bench/fuzz.py [--corpus PATH] [--runs N] [--seed S] [--save DIR]

Takes every corpus file that starts with a header block, applies a few random byte-level edits
(flips, cuts, inserted MIME punctuation, repeated slices, truncation, spliced halves of two
mails), and parses the result. Anything raised other than `NotAMailError` is a crash; a parse
slower than one second is reported as slow. Prints counts by outcome and the first crashes; with
`--save` writes each crashing input there for replay. Exit status: 0 when nothing crashed, 1 when
something did, 2 when the corpus is missing.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from parse_speed import DEFAULT_CORPUS, load_mails

from parsers import NotAMailError, parse

SLOW_SECONDS = 1.0
_INSERTS = (
    b"\r\n",
    b"\n\n",
    b"--",
    b"=?utf-8?b?",
    b"=?iso-2022-jp?q?",
    b"<",
    b">",
    b"@",
    b":",
    b";",
    b'"',
    b"\x00",
    b"\xff",
    b"\x1b$B",
    b"Content-Type: multipart/mixed; boundary=x\n",
)


def mutate(rng: random.Random, raw: bytes, other: bytes) -> bytes:
    """Up to eight random edits of one mail (sometimes spliced with another)."""
    data = bytearray(raw)
    for _ in range(rng.randint(1, 8)):
        if not data:
            break
        at = rng.randrange(len(data))
        edit = rng.choice(("flip", "cut", "insert", "repeat", "truncate", "splice"))
        if edit == "flip":
            data[at] = rng.randrange(256)
        elif edit == "cut":
            del data[at : at + rng.randint(1, 400)]
        elif edit == "insert":
            data[at:at] = rng.choice(_INSERTS)
        elif edit == "repeat":
            data[at:at] = data[at : at + rng.randint(1, 200)] * rng.randint(2, 200)
        elif edit == "truncate":
            del data[at:]
        else:
            data[at:] = other[rng.randrange(max(1, len(other))) :]
    return bytes(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--runs", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--save", type=Path, help="write crashing inputs into this folder")
    args = parser.parse_args(argv)
    if not (args.corpus / "index.json").is_file():
        print(
            f"corpus not found: {args.corpus / 'index.json'} (use --corpus PATH)", file=sys.stderr
        )
        return 2
    mails = load_mails(args.corpus)
    rng = random.Random(args.seed)
    outcomes: Counter[str] = Counter()
    crashes: list[str] = []
    started = time.perf_counter()
    for run in range(args.runs):
        raw = mutate(rng, rng.choice(mails), rng.choice(mails))
        outcome = _one(raw)
        outcomes[outcome.split(":", 1)[0]] += 1
        if outcome.startswith("crash"):
            crashes.append(f"run {run}: {outcome}")
            if args.save:
                args.save.mkdir(parents=True, exist_ok=True)
                (args.save / f"crash-{args.seed}-{run}.eml").write_bytes(raw)
    elapsed = time.perf_counter() - started
    print(
        f"{args.runs} mutated mails from {len(mails)} samples in {elapsed:.1f} s (seed {args.seed})"
    )
    for outcome, count in sorted(outcomes.items()):
        print(f"  {outcome:<14} {count:>7}")
    for line in crashes[:20]:
        print(line)
    return 1 if crashes else 0


def _one(raw: bytes) -> str:
    start = time.perf_counter()
    try:
        parse(raw).to_json()
    except NotAMailError:
        return "not a mail"
    except Exception as error:
        where = traceback.extract_tb(error.__traceback__)[-1]
        return f"crash: {type(error).__name__} at {where.filename}:{where.lineno}: {error}"[:300]
    if time.perf_counter() - start > SLOW_SECONDS:
        return "slow"
    return "parsed"


if __name__ == "__main__":
    raise SystemExit(main())
