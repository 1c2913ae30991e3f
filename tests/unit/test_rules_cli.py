"""`replydesk rules check|test|replay` on the starter rule set and a small team."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from daemon import config
from daemon.cli import EX_CONFIG, main
from daemon.storage.database import Database
from tests.unit.conftest import Clock, process
from tests.unit.test_pipeline import feed, mail

GOLDEN = Path(__file__).parent.parent / "rules" / "golden"
TEAM = """
[[engineers]]
name = "Ada"
address = "ada@desk.example"
skills = ["billing:3", "login:1"]
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
hours = "00:00-24:00"
"""


def starter(tmp_path: Path, db_url: str, extra: str = TEAM) -> Path:
    path = tmp_path / "replydesk.toml"
    assert main(["init", str(path)]) == 0
    text = path.read_text(encoding="utf-8")
    text = text.replace('url = "sqlite:///replydesk.db"', f'url = "{db_url}"')
    path.write_text(text + extra, encoding="utf-8")
    return path


def test_check_prints_the_rule_book(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = starter(tmp_path, "sqlite:///replydesk.db")
    capsys.readouterr()
    assert main(["--config", str(path), "rules", "check"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["ok"] and "outage" in found["rules"] and found["engineers"] == ["ada@desk.example"]
    assert found["policies"] == ["critical", "high", "standard"]


def test_check_reports_every_problem_with_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = (
        TEAM
        + 'delegate = "zed@desk.example"\n'
        + '[[queues]]\nname = "vip"\nmembers = ["ghost@desk.example"]\n'
        + '[[rules.classify]]\nname = "x"\nset.queue = "nowhere"\n'
    )
    path = starter(tmp_path, "sqlite:///replydesk.db", broken)
    capsys.readouterr()
    assert main(["--config", str(path), "rules", "check"]) == EX_CONFIG
    err = capsys.readouterr().err
    for key, reason in [
        ("engineers[0].delegate", "unknown engineer zed@desk.example"),
        ("queues[0].members", "unknown engineer ghost@desk.example"),
        ("queues[0]", "queue vip has nobody who can take it"),
        ("rules.default_queue", "unknown queue 'general'"),
        ("set.queue", "unknown queue 'nowhere'"),
    ]:
        assert key in err and reason in err, (key, err)
    assert err.count(str(path)) == 5


def test_a_bad_regular_expression_names_the_rule_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "more.toml").write_text(
        '[[classify]]\nname = "bad"\nwhen.patterns = ["(open"]\nset.severity = 1\n',
        encoding="utf-8",
    )
    path = starter(tmp_path, "sqlite:///replydesk.db", TEAM)
    text = path.read_text(encoding="utf-8").replace(
        'default_queue = "general"', 'default_queue = "general"\nfiles = ["more.toml"]'
    )
    path.write_text(text, encoding="utf-8")
    capsys.readouterr()
    assert main(["--config", str(path), "rules", "check"]) == EX_CONFIG
    err = capsys.readouterr().err
    assert f"{tmp_path / 'more.toml'}: classify[0].when.patterns" in err
    assert "bad regular expression" in err


def test_a_dry_run_prints_the_decisions_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = starter(tmp_path, "sqlite:///replydesk.db")
    eml = GOLDEN / "login-missing-facts.eml"
    capsys.readouterr()
    assert main(["--config", str(path), "rules", "test", str(eml), "--at", "2026-12-03T10:00"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["classification"]["module"] == "login"
    assert found["classification"]["hits"][0]["matched"] == "log in"
    assert found["facts"]["missing"] == ["customer", "environment"]
    assert found["assignment"]["engineer"] == "ada@desk.example"
    assert found["sla"]["policy"] == "standard" and found["sla"]["paused"] is True
    ack, notice = found["mails"]
    assert "Your customer number or company name" in ack["text"]
    assert notice["to"] == ["ada@desk.example"] and "Why you:" in notice["text"]
    assert found["history"].startswith("none")
    assert not (tmp_path / "replydesk.db").exists()


def test_replay_shows_what_todays_rules_would_change(
    tmp_path: Path, db_url: str, clock: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    path = starter(tmp_path, db_url)
    assert main(["--config", str(path), "db", "upgrade"]) == 0
    settings = config.load(path)
    db = Database(settings.database.url)
    feed(db, clock, mail(subject="Invoice twice", body="Customer: C-1\nIt fails.\n"))
    feed(db, clock, mail(subject="Printer", body="Customer: C-2\nIt fails.\n"))
    process(settings, db, clock)
    db.dispose()
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace('set.module = "billing"', 'set.module = "finance"'), encoding="utf-8"
    )
    capsys.readouterr()
    assert main(["--config", str(path), "rules", "replay", "--since", "2026-01-01"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    *changed, summary = lines
    assert [c["differs"]["category"] for c in changed] == [["billing", "finance"]]
    assert summary["tickets"] == 2 and summary["differing"] == 1
    assert summary["by_field"] == {"category": 1}
