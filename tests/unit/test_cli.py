"""The command line as a user (or an MTA) meets it: exit codes, messages, what is stored."""

from __future__ import annotations

import io
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import func, select

from daemon.cli import EX_TEMPFAIL, main
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
    pipe(monkeypatch, a_mail())
    assert main(["--config", str(path), "ingest", "-"]) == 0
    pipe(monkeypatch, a_mail())
    assert main(["--config", str(path), "ingest"]) == 0  # the MTA retried: no second ticket
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
    path.write_text("[desk]\nnope = 1\n")
    pipe(monkeypatch, a_mail())
    assert main(["--config", str(path), "ingest"]) == EX_TEMPFAIL
    assert "desk.nope: unknown key" in capsys.readouterr().err


def test_quarantine_list_show_and_retry(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path, db_url)
    junk = b"\x00\x01 this is no mail \xff"
    pipe(monkeypatch, junk)
    assert main(["--config", str(path), "ingest"]) == 0  # stored: nothing is lost
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
    assert len(list((tmp_path / "demo" / "outbox" / "new").iterdir())) == 4


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
