"""How good the acknowledgement's article suggestions are, on a small labelled set.

`kb_suggest.json` beside this file holds 12 articles (English, Chinese, Japanese, German) and
32 requests, each labelled with the article that answers it, or `null` when none does. Every
request goes through `rules.kb_search.suggest` as a new ticket's text would (limit 3, the
default `min_score`). Prints precision@1 (the first suggestion is the labelled article, over
the requests that got one and have a label), recall@3 (the labelled article is among the
suggestions, over labelled requests), the share of "none" requests that got no suggestion, the
misses for reading, and the time per suggestion (median and mean over `--rounds` passes; the
index is built once, as the daemon does).

    .venv/bin/python bench/kb_suggest.py [--min-score X] [--rounds N] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from rules.kb_search import MIN_SCORE, KbDoc, build_index, suggest

DATA = Path(__file__).with_name("kb_suggest.json")


def load() -> tuple[list[KbDoc], list[tuple[str, int | None]]]:
    data = json.loads(DATA.read_text(encoding="utf-8"))
    docs = [
        KbDoc(int(a["number"]), a["title"], a["body"], tuple(a["tags"])) for a in data["articles"]
    ]
    return docs, [(r["text"], r["label"]) for r in data["requests"]]


def evaluate(min_score: float, rounds: int) -> dict[str, Any]:
    docs, requests = load()
    index = build_index(docs)
    hits1 = answered = found3 = labelled = quiet = nones = 0
    misses: list[str] = []
    for text, label in requests:
        got = [s.number for s in suggest(index, text, min_score=min_score)]
        if label is None:
            nones += 1
            quiet += not got
            if got:
                misses.append(f"none -> {got}: {text}")
            continue
        labelled += 1
        found3 += label in got
        if got:
            answered += 1
            hits1 += got[0] == label
        if not got or got[0] != label:
            misses.append(f"{label} -> {got}: {text}")
    times: list[float] = []
    for _ in range(rounds):
        for text, _ in requests:
            start = time.perf_counter()
            suggest(index, text, min_score=min_score)
            times.append(time.perf_counter() - start)
    return {
        "articles": len(docs),
        "requests": len(requests),
        "min_score": min_score,
        "precision_at_1": hits1 / answered if answered else 0.0,
        "recall_at_3": found3 / labelled if labelled else 0.0,
        "none_quiet": quiet / nones if nones else 1.0,
        "median_us": statistics.median(times) * 1e6,
        "mean_us": statistics.fmean(times) * 1e6,
        "misses": misses,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-score", type=float, default=MIN_SCORE)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = evaluate(args.min_score, args.rounds)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return
    print(
        f"{result['articles']} articles, {result['requests']} requests, min_score {args.min_score}"
    )
    print(f"precision@1            {result['precision_at_1']:.2f}")
    print(f"recall@3               {result['recall_at_3']:.2f}")
    print(f"'none' with no article {result['none_quiet']:.2f}")
    median, mean = result["median_us"], result["mean_us"]
    print(f"time per suggestion    {median:.0f} µs median, {mean:.0f} µs mean")
    for miss in result["misses"]:
        print(f"  miss: {miss}")


if __name__ == "__main__":
    main()
