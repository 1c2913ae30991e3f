"""Golden decisions: sample mails, the starter rule set and a sample team, expected triage.

Each `golden/NAME.eml` is triaged at a fixed time (Thursday 2026-12-03 10:00 UTC: London at
work, Shanghai and Tokyo gone home) with the rules of `daemon/starter.toml` and the team of
`golden/team.toml`; `golden/NAME.json` is the expected `Triage.to_json()`. After an intended
change, rewrite them with `pytest tests/rules/test_golden.py --regen-golden` and read the diff.
"""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from daemon import config
from daemon.config import Settings
from daemon.workflow.assignment import engineer_facts
from parsers import parse
from rules.assign import EngineerFacts
from rules.triage import mail_facts_of, triage

GOLDEN = Path(__file__).parent / "golden"
AT = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
MAILS = sorted(p.stem for p in GOLDEN.glob("*.eml"))


def golden_settings() -> Settings:
    starter = tomllib.loads(files("daemon").joinpath("starter.toml").read_text(encoding="utf-8"))
    starter["desk"].pop("reply_secret_file")
    team = tomllib.loads((GOLDEN / "team.toml").read_text(encoding="utf-8"))
    return config.validate({**starter, **team}, source=GOLDEN / "team.toml")


def team_of(settings: Settings) -> list[EngineerFacts]:
    """The configured team, all at work per their hours, none loaded, none away."""
    return [engineer_facts(settings, e) for e in settings.engineers]


@pytest.mark.parametrize("name", MAILS)
def test_golden_triage(name: str, regen_golden: bool) -> None:
    settings = golden_settings()
    book = settings.rulebook()
    message = parse((GOLDEN / f"{name}.eml").read_bytes())
    facts = mail_facts_of(
        message, mailbox="support", local_time=AT.astimezone(ZoneInfo(book.timezone))
    )
    found = triage(facts, book=book, engineers=team_of(settings), at=AT).to_json()
    expected_path = GOLDEN / f"{name}.json"
    if regen_golden:
        text = json.dumps(found, ensure_ascii=False, indent=2) + "\n"
        expected_path.write_text(text, encoding="utf-8")
    expected = json.loads(expected_path.read_text(encoding="utf-8"))
    assert found == expected


def test_there_are_golden_mails_in_several_languages() -> None:
    assert len(MAILS) >= 6
    assert {p.suffix for p in GOLDEN.iterdir()} >= {".eml", ".json", ".toml"}
