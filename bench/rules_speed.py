"""How long the rules take per mail: triage with 100 rules and 50 engineers.

Builds a rule book of `--rules` classification rules (default 100: the starter rules, then
generated ones with five keywords each in several languages, some with a regular expression,
an attachment glob or a header condition) and `--engineers` engineers (default 50, in several
timezones, with skills and levels), then times `rules.triage.triage()` (classification, required
facts, assignment over every engineer, SLA policy and clocks) over parsed mails: the corpus in
`../shared/corpus` when present, else the golden mails of `tests/`. Parsing is done before the
clock starts; only the rules are timed. Prints microseconds per mail (median, 90th percentile,
mean) and, with `--json`, one JSON object. The target: under 1 ms per mail.

    .venv/bin/python bench/rules_speed.py [--rules N] [--engineers N] [--rounds N] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import tomllib
from dataclasses import replace
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from zoneinfo import ZoneInfo

from benchkit import done_progress, progress

from daemon import config
from daemon.config import Settings
from daemon.workflow.assignment import engineer_facts
from parsers import ParsedMessage, parse
from rules.assign import EngineerFacts
from rules.triage import mail_facts_of, triage

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
GOLDEN = (ROOT / "tests" / "parsers" / "golden", ROOT / "tests" / "rules" / "golden")
WORDS = [
    "printer",
    "scanner",
    "vpn",
    "firewall",
    "proxy",
    "dns",
    "certificate",
    "backup",
    "restore",
    "license",
    "upgrade",
    "install",
    "crash",
    "freeze",
    "slow",
    "timeout",
    "sync",
    "calendar",
    "mailbox",
    "quota",
    "storage",
    "disk",
    "network",
    "wifi",
    "bluetooth",
    "driver",
    "update",
    "rollback",
    "migration",
    "import",
    "export",
    "schema",
    "index",
    "query",
    "drucker",
    "netzwerk",
    "zertifikat",
    "lizenz",
    "sauvegarde",
    "réseau",
    "licence",
    "impresora",
    "copia",
    "red",
    "打印机",
    "网络",
    "证书",
    "备份",
    "许可证",
    "同步",
    "プリンター",
    "ネットワーク",
    "証明書",
    "バックアップ",
]
STARTER_MODULES = ("billing", "login", "api", "reports")
SKILLS = (*STARTER_MODULES, *(f"module{i}" for i in range(12)))
ZONES = ("Europe/London", "Europe/Berlin", "America/New_York", "Asia/Shanghai", "Asia/Tokyo")


def rule_tables(count: int, seed: int) -> list[dict[str, object]]:
    starter = tomllib.loads(files("daemon").joinpath("starter.toml").read_text(encoding="utf-8"))
    tables: list[dict[str, object]] = list(starter["rules"]["classify"])
    rng = random.Random(seed)
    for i in range(count - len(tables)):
        when: dict[str, object] = {"words": rng.sample(WORDS, 5)}
        if i % 10 == 0:
            when = {"patterns": [rf"\b(?:case|ticket)\s*#?{i}\d+\b"]}
        elif i % 10 == 1:
            when["attachments"] = ["*.log"]
        elif i % 10 == 2:
            when = {"headers": {"X-Priority": "^1"}}
        tables.append(
            {
                "name": f"generated-{i}",
                "when": when,
                "set": {"module": f"module{i % 12}", "tags": [f"t{i % 7}"], "severity": 1 + i % 4},
            }
        )
    return tables


def settings_for(rules: int, engineers: int, seed: int) -> Settings:
    starter = tomllib.loads(files("daemon").joinpath("starter.toml").read_text(encoding="utf-8"))
    starter["desk"].pop("reply_secret_file")
    starter["rules"]["classify"] = rule_tables(rules, seed)
    rng = random.Random(seed)
    starter["engineers"] = [
        {
            "name": f"Engineer {i}",
            "address": f"e{i}@desk.example",
            "tier": 1 if i % 5 else 2,
            "timezone": ZONES[i % len(ZONES)],
            "skills": [f"{rng.choice(SKILLS)}:{rng.randint(1, 3)}" for _ in range(3)]
            + [f"{STARTER_MODULES[i % len(STARTER_MODULES)]}:2"],
            "holidays": "DE" if i % 3 == 0 else None,
        }
        for i in range(engineers)
    ]
    for engineer in starter["engineers"]:
        if engineer["holidays"] is None:
            del engineer["holidays"]
    starter["queues"] = [{"name": "general", "strategy": "skills"}]
    return config.validate(starter, source=ROOT / "bench" / "rules_speed.toml")


def team_of(settings: Settings, seed: int) -> list[EngineerFacts]:
    rng = random.Random(seed)
    return [
        replace(
            engineer_facts(settings, e),
            load=float(rng.randint(0, 20)),
            open_tickets=rng.randint(0, 12),
            capacity=15,
        )
        for e in settings.engineers
    ]


def messages() -> tuple[str, list[ParsedMessage]]:
    if (CORPUS / "index.json").exists():
        index = json.loads((CORPUS / "index.json").read_text(encoding="utf-8"))
        paths = [
            CORPUS / e["path"] for e in index if str(e.get("format", "rfc822")).startswith("rfc822")
        ]
        source = f"{len(paths)} corpus mails"
    else:
        paths = [p for folder in GOLDEN for p in sorted(folder.glob("*.eml"))]
        source = f"{len(paths)} golden test mails (no ../shared/corpus)"
    parsed = []
    for i, path in enumerate(paths):
        progress(f"parsing {i + 1}/{len(paths)}")
        try:
            parsed.append(parse(path.read_bytes()))
        except Exception:
            continue
    done_progress()
    return source, parsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=100)
    parser.add_argument("--engineers", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    settings = settings_for(args.rules, args.engineers, args.seed)
    book = settings.rulebook()
    team = team_of(settings, args.seed)
    source, mails = messages()
    at = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
    local = at.astimezone(ZoneInfo(book.timezone))
    timings: list[float] = []
    for round_ in range(args.rounds):
        for i, message in enumerate(mails):
            if i % 200 == 0:
                progress(f"round {round_ + 1}/{args.rounds}: {i}/{len(mails)}")
            began = time.perf_counter()
            facts = mail_facts_of(message, mailbox="support", local_time=local)
            triage(facts, book=book, engineers=team, at=at)
            timings.append(time.perf_counter() - began)
    done_progress()
    micro = sorted(t * 1e6 for t in timings)
    result = {
        "mails": len(mails),
        "source": source,
        "rules": len(book.ruleset.rules),
        "engineers": len(team),
        "rounds": args.rounds,
        "median_us": round(statistics.median(micro), 1),
        "p90_us": round(micro[int(len(micro) * 0.9)], 1),
        "max_us": round(micro[-1], 1),
        "mean_us": round(statistics.fmean(micro), 1),
        "target_us": 1000,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"rules triage over {result['mails']} mails ({source}), {result['rules']} rules, "
            f"{result['engineers']} engineers, {args.rounds} rounds:\n"
            f"  median {result['median_us']} µs, p90 {result['p90_us']} µs, "
            f"mean {result['mean_us']} µs, max {result['max_us']} µs per mail (target < 1000 µs)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
