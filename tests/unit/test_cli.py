"""The command line as a user (or an MTA) meets it: exit codes, messages, what is stored."""

from __future__ import annotations

import io
import json
import sqlite3
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import func, select

from daemon.cli import EX_CONFIG, EX_TEMPFAIL, main
from daemon.storage.database import Database
from daemon.storage.models import Inbound, InboundState, Outbox, Ticket


def write_config(tmp_path: Path, db_url: str) -> Path:
    path = tmp_path / "replydesk.toml"
    path.write_text(
        f'[desk]\naddresses = ["support@desk.test"]\n[database]\nurl = "{db_url}"\n'
        f'[outbox]\nmaildir = "out"\n',
        encoding="utf-8",
    )
    return path


def a_mail(subject: str = "Help") -> bytes:
    msg = EmailMessage()
    msg["From"] = "ann@cust.test"
    msg["To"] = "support@desk.test"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{subject.replace(' ', '.')}@cust.test>"
    msg.set_content("body")
    return msg.as_bytes()


def pipe(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


def test_ingest_stores_processes_and_acknowledges(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(tmp_path, db_url)
    assert main(["--config", str(path), "db", "upgrade"]) == 0
    pipe(monkeypatch, a_mail())
    assert main(["--config", str(path), "ingest", "-", "--process"]) == 0
    pipe(monkeypatch, a_mail())
    assert main(["--config", str(path), "ingest"]) == 0  # the MTA retried: no second ticket
    assert main(["--config", str(path), "run", "--once"]) == 0
    db = Database(db_url)
    with db.transaction() as session:
        assert session.scalar(select(func.count(Ticket.id))) == 1
        assert session.scalar(select(func.count(Outbox.id))) == 1
    assert len(list((tmp_path / "out" / "new").iterdir())) == 1
    db.dispose()


def test_ingest_asks_the_mta_to_retry_when_it_cannot_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where a folder should be")
    path = write_config(tmp_path, f"sqlite:///{blocked}/sub/replydesk.db")
    pipe(monkeypatch, a_mail())
    assert main(["--config", str(path), "ingest", "-"]) == EX_TEMPFAIL
    assert "MTA should retry" in capsys.readouterr().err


def test_ingest_with_a_broken_config_is_a_temporary_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "replydesk.toml"
    path.write_text("[desk\nnope = 1\n")
    pipe(monkeypatch, a_mail())
    assert main(["--config", str(path), "ingest"]) == EX_TEMPFAIL
    assert "not valid TOML" in capsys.readouterr().err


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite:///:memory:"])
def test_ingest_refuses_an_in_memory_database(
    tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path, url)
    pipe(monkeypatch, a_mail())
    assert main(["--config", str(path), "ingest"]) == EX_TEMPFAIL
    assert "in-memory database" in capsys.readouterr().err
    assert main(["--config", str(path), "config", "check"]) == EX_CONFIG
    assert "database.url" in capsys.readouterr().err


def test_ingest_never_migrates_and_waits_for_the_schema(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path, db_url)
    pipe(monkeypatch, a_mail())
    assert main(["--config", str(path), "ingest"]) == EX_TEMPFAIL
    assert "replydesk db upgrade" in capsys.readouterr().err
    db = Database(db_url)
    assert db.revision() is None  # nothing was created behind the operator's back
    db.dispose()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://postgres@127.0.0.1:1/nothing",
        "mysql://nobody@127.0.0.1:1/x",
    ],
)
def test_ingest_with_an_unreachable_or_unknown_database_is_a_temporary_failure(
    tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path, url)
    pipe(monkeypatch, a_mail())
    assert main(["--config", str(path), "ingest"]) == EX_TEMPFAIL
    assert "MTA should retry" in capsys.readouterr().err


def test_ingest_waits_a_bounded_time_for_a_locked_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/locked.db"
    path = write_config(tmp_path, url)
    assert main(["--config", str(path), "db", "upgrade"]) == 0
    monkeypatch.setattr("daemon.cli.ingest.BUSY_SECONDS", 0.2)
    holder = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        pipe(monkeypatch, a_mail())
        assert main(["--config", str(path), "ingest"]) == EX_TEMPFAIL
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "locked" in capsys.readouterr().err


def test_config_check_connects_and_names_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path, "postgresql+psycopg://postgres@127.0.0.1:1/nothing")
    assert main(["--config", str(path), "config", "check"]) == EX_CONFIG
    err = capsys.readouterr().err
    assert "database.url: cannot connect" in err
    assert "desk.reply_secret_file: missing" in err


def test_init_writes_a_private_random_secret_and_a_config_that_checks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "desk" / "replydesk.toml"
    assert main(["init", str(path)]) == 0
    secret = tmp_path / "desk" / "reply_secret"
    assert secret.stat().st_mode & 0o777 == 0o600 and len(secret.read_text().strip()) >= 32
    assert main(["--config", str(path), "config", "check"]) == 0
    assert "reachable" in capsys.readouterr().out


def test_quarantine_list_show_and_retry(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path, db_url)
    assert main(["--config", str(path), "db", "upgrade"]) == 0
    junk = b"\x00\x01 this is no mail \xff"
    pipe(monkeypatch, junk)
    assert main(["--config", str(path), "ingest", "--process"]) == 0  # stored: nothing is lost
    capsys.readouterr()
    assert main(["--config", str(path), "quarantine", "list"]) == 0
    listing = capsys.readouterr().out
    assert "NotAMailError" in listing
    inbound_id = int(listing.split()[0])
    assert main(["--config", str(path), "quarantine", "show", str(inbound_id)]) == 0
    assert "Traceback" in capsys.readouterr().out

    db = Database(db_url)
    with db.transaction() as session:  # an operator repairs the mail, then retries it
        session.get_one(Inbound, inbound_id).raw = a_mail("repaired")
    assert main(["--config", str(path), "quarantine", "retry", str(inbound_id)]) == 0
    assert f"inbound {inbound_id}: new_ticket #" in capsys.readouterr().out
    with db.transaction() as session:
        assert session.get_one(Inbound, inbound_id).state == InboundState.DONE
    db.dispose()
    assert main(["--config", str(path), "quarantine", "retry"]) == 64


def test_run_once_over_a_maildir(tmp_path: Path, db_url: str) -> None:
    path = write_config(tmp_path, db_url)
    with path.open("a") as config:
        config.write('[[maildirs]]\nname = "local"\npath = "in"\n')
    for folder in ("new", "cur", "tmp"):
        (tmp_path / "in" / folder).mkdir(parents=True)
    (tmp_path / "in" / "new" / "1.mail").write_bytes(a_mail("one"))
    (tmp_path / "in" / "cur" / "2.mail:2,S").write_bytes(a_mail("two"))
    assert main(["--config", str(path), "run", "--once"]) == 0
    assert not list((tmp_path / "in" / "new").iterdir())
    assert sorted(p.name for p in (tmp_path / "in" / ".Processed" / "cur").iterdir()) == [
        "1.mail",
        "2.mail:2,S",
    ]
    assert main(["--config", str(path), "run", "--once"]) == 0
    db = Database(db_url)
    with db.transaction() as session:
        assert session.scalar(select(func.count(Ticket.id))) == 2
    db.dispose()


def test_demo_runs_and_says_what_happened(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    assert "pass 1: new mail" in out and "quarantined" in out
    assert "attach -> ticket #1" in out
    assert "pass 3: strangers" in out and "quarantine_retry" in out
    assert "thread-references" in out and "Long address" in out
    # acks: 4 new requests, then Mallory, the out-of-range tag, the long address, Erik, Carol
    outbox = [p.read_bytes() for p in (tmp_path / "demo" / "outbox" / "new").iterdir()]
    assert sum(b"Auto-Submitted: auto-replied" in raw for raw in outbox) == 9
    assert "rules: billing / question, severity 3" in out
    assert "asked for: customer (clock paused, pending)" in out
    assert "facts: symptom=" in out and "customer=ACME-1042" in out
    assert "Ticket handed over to you" in out and "is away until" in out
    assert "SLA first response missed" in out and "Ticket escalated to you" in out
    # the knowledge base: an article suggested and solving, a draft redacted and published
    link = "http://127.0.0.1:8000/kb/vpn-drops.html?from=mail"  # the preview's page of it
    assert f"VPN drops every few minutes\n      |     {link}" in out
    assert "is resolved, solved by the article (a deflected event)" in out
    assert "Knowledge-base draft" in out and "Invoice 2024-118 charged twice" in out
    assert "“Invoice 2024-118 charged twice” is published" in out


def test_parse_needs_no_config_and_takes_the_prefix_from_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REPLYDESK_CONFIG", raising=False)
    mail = tmp_path / "m.eml"
    mail.write_bytes(a_mail("Re: [ACME #77] printer"))
    assert main(["parse", str(mail)]) == 0
    assert '"ticket_ref": null' in capsys.readouterr().out
    (tmp_path / "replydesk.toml").write_text('[desk]\ntag_prefix = "ACME"\n')
    assert main(["parse", str(mail)]) == 0
    assert '"ticket_ref": 77' in capsys.readouterr().out
    (tmp_path / "replydesk.toml").write_text("[desk\n")
    assert main(["parse", str(mail)]) == 0
    assert "config ignored" in capsys.readouterr().err


def test_ignored_mail_is_listed_with_its_reason_and_can_become_a_ticket(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path, db_url)
    assert main(["--config", str(path), "db", "upgrade"]) == 0
    msg = EmailMessage()
    msg["From"] = "ann@cust.test"
    msg["To"] = "support@desk.test"
    msg["Subject"] = "Out of office: back Monday"
    msg["Auto-Submitted"] = "auto-replied"
    msg["Message-ID"] = "<ooo@cust.test>"
    msg.set_content("I am away until Monday.")
    pipe(monkeypatch, msg.as_bytes())
    assert main(["--config", str(path), "ingest", "--process"]) == 0
    capsys.readouterr()
    assert main(["--config", str(path), "inbound", "list", "--json"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    listed = json.loads(line)
    assert listed["state"] == "ignored" and "auto-reply" in listed["reason"]
    assert main(["--config", str(path), "inbound", "ticket", str(listed["id"])]) == 0
    assert f"inbound {listed['id']}: new_ticket #1" in capsys.readouterr().out
    assert main(["--config", str(path), "inbound", "list"]) == 0
    assert capsys.readouterr().out == ""


def test_a_directory_as_the_database_file_is_named_and_never_bounces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "db").mkdir()
    path = write_config(tmp_path, f"sqlite:///{tmp_path / 'db'}")
    pipe(monkeypatch, a_mail())
    assert main(["--config", str(path), "ingest"]) == EX_TEMPFAIL
    assert "is a directory" in capsys.readouterr().err
    assert main(["--config", str(path), "config", "check"]) == EX_CONFIG
    assert "database.url: cannot connect" in capsys.readouterr().err


def test_any_surprise_while_storing_asks_the_mta_to_retry(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path, db_url)
    assert main(["--config", str(path), "db", "upgrade"]) == 0

    def bug(*_args: object) -> None:
        raise RuntimeError("a bug nobody foresaw")

    monkeypatch.setattr("daemon.storage.intake.store", bug)
    pipe(monkeypatch, a_mail())
    assert main(["--config", str(path), "ingest"]) == EX_TEMPFAIL
    assert "a bug nobody foresaw" in capsys.readouterr().err
