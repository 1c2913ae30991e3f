from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from daemon.config import MaildirSource
from daemon.errors import SourceError, StorageError
from daemon.sources.maildir import MaildirSourceReader
from daemon.storage.database import Database
from daemon.storage.models import Inbound, Receipt
from tests.unit.conftest import Clock


def maildir(tmp_path: Path) -> Path:
    root = tmp_path / "in"
    for folder in ("new", "cur", "tmp"):
        (root / folder).mkdir(parents=True)
    return root


def mail(n: int) -> bytes:
    head = f"From: c{n}@cust.test\r\nMessage-ID: <{n}@cust.test>\r\nSubject: {n}\r\n"
    return (head + "\r\nhi\r\n").encode()


def test_files_move_only_after_they_are_stored(tmp_path: Path, db: Database, clock: Clock) -> None:
    root = maildir(tmp_path)
    (root / "new" / "a").write_bytes(mail(1))
    (root / "cur" / "b:2,S").write_bytes(mail(2))
    reader = MaildirSourceReader(MaildirSource(name="local", path=root), db, clock=clock)
    assert reader.poll() == 2
    assert reader.poll() == 0
    assert sorted(p.name for p in (root / ".Processed" / "cur").iterdir()) == ["a", "b:2,S"]
    with db.transaction() as session:
        assert session.scalar(select(func.count(Inbound.id))) == 2
        keys = {k.rpartition(":")[0] for k in session.scalars(select(Receipt.source_key))}
    assert keys == {"maildir:a", "maildir:b"}


def test_a_file_put_back_is_not_stored_twice(tmp_path: Path, db: Database, clock: Clock) -> None:
    root = maildir(tmp_path)
    reader = MaildirSourceReader(MaildirSource(name="local", path=root), db, clock=clock)
    (root / "new" / "a").write_bytes(mail(1))
    reader.poll()
    (root / ".Processed" / "cur" / "a").rename(root / "new" / "a")  # e.g. restored from backup
    assert reader.poll() == 0
    with db.transaction() as session:
        assert session.scalar(select(func.count(Inbound.id))) == 1


def test_storage_failure_leaves_the_file_in_place(
    tmp_path: Path, db: Database, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = maildir(tmp_path)
    (root / "new" / "a").write_bytes(mail(1))

    def broken(*_args: object, **_kwargs: object) -> None:
        raise StorageError("database is down")

    monkeypatch.setattr("daemon.storage.intake.store", broken)
    reader = MaildirSourceReader(MaildirSource(name="local", path=root), db, clock=clock)
    with pytest.raises(StorageError):
        reader.poll()
    assert (root / "new" / "a").exists()


def test_unreadable_folder_is_a_source_error(tmp_path: Path, db: Database, clock: Clock) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    reader = MaildirSourceReader(MaildirSource(name="x", path=blocker), db, clock=clock)
    with pytest.raises(SourceError, match="maildir x"):
        reader.poll()


def test_a_reused_file_name_is_another_mail_and_never_overwrites(
    tmp_path: Path, db: Database, clock: Clock
) -> None:
    root = maildir(tmp_path)
    reader = MaildirSourceReader(MaildirSource(name="local", path=root), db, clock=clock)
    (root / "new" / "1.eml").write_bytes(mail(1))
    assert reader.poll() == 1
    (root / "new" / "1.eml").write_bytes(mail(2))  # a careless writer reuses the name
    assert reader.poll() == 1
    kept = sorted((root / ".Processed" / "cur").iterdir())
    assert [p.name for p in kept] == ["1.dup1.eml", "1.eml"] or len(kept) == 2
    assert {p.read_bytes() for p in kept} == {mail(1), mail(2)}
    with db.read() as session:
        assert session.scalar(select(func.count(Inbound.id))) == 2
