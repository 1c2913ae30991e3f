"""`replydesk parse`: JSON Lines in order, stdin as bytes, clear errors, the batch goes on."""

from __future__ import annotations

import io
import json
from pathlib import Path

from daemon.cli.parse import run

MAIL = "From: a@example.com\nSubject: Re: [#9] Grüße\n\nbody €\n".encode()


def _run(paths: list[str], stdin: bytes = b"", **kwargs: str) -> tuple[int, list[str], str]:
    out, err = io.StringIO(), io.StringIO()
    status = run(paths, stdin=io.BytesIO(stdin), stdout=out, stderr=err, **kwargs)
    return status, out.getvalue().splitlines(), err.getvalue()


def test_one_file_prints_one_json_object(tmp_path: Path) -> None:
    path = tmp_path / "a.eml"
    path.write_bytes(MAIL)
    status, lines, err = _run([str(path)])
    assert (status, err) == (0, "")
    (line,) = lines
    parsed = json.loads(line)
    assert parsed["subject"] == "Re: [#9] Grüße"
    assert parsed["ticket_ref"] == 9
    assert "Grüße" in line  # not escaped: ensure_ascii=False


def test_stdin_is_read_as_bytes() -> None:
    latin = "From: a@b.c\nSubject: x\nContent-Type: text/plain; charset=latin-1\n\nGrüße\n"
    status, lines, _ = _run(["-"], stdin=latin.encode("latin-1"))
    assert status == 0
    assert json.loads(lines[0])["full_text"] == "Grüße\n"


def test_several_files_in_order_and_errors_do_not_stop_the_batch(tmp_path: Path) -> None:
    first, junk, second = tmp_path / "1.eml", tmp_path / "junk.txt", tmp_path / "2.eml"
    first.write_bytes(MAIL.replace(b"[#9]", b"[#1]"))
    junk.write_bytes(b"not a mail at all\n")
    second.write_bytes(MAIL.replace(b"[#9]", b"[#2]"))
    missing = tmp_path / "missing.eml"
    status, lines, err = _run([str(first), str(junk), str(missing), str(second)])
    assert status == 2
    assert [json.loads(line)["ticket_ref"] for line in lines] == [1, 2]
    assert f"{junk}: not a mail" in err
    assert f"{missing}: cannot read" in err


def test_tag_prefix_is_passed_on(tmp_path: Path) -> None:
    path = tmp_path / "a.eml"
    path.write_bytes(b"From: a@b.c\nSubject: [ACME #5] x\n\n")
    assert json.loads(_run([str(path)], tag_prefix="ACME")[1][0])["ticket_ref"] == 5
    assert json.loads(_run([str(path)])[1][0])["ticket_ref"] is None


def test_broken_mail_still_exits_zero(tmp_path: Path) -> None:
    path = tmp_path / "broken.eml"
    path.write_bytes(
        b"From: <<<\nSubject: =?utf-8?b?!!!?=\nDate: never\n"
        b'Content-Type: multipart/mixed; boundary="gone"\n\n\xff\xfe text\n'
    )
    status, lines, _ = _run([str(path)])
    assert status == 0
    assert json.loads(lines[0])["defects"]


def test_directory_is_unreadable_not_a_crash(tmp_path: Path) -> None:
    status, lines, err = _run([str(tmp_path)])
    assert (status, lines) == (2, [])
    assert str(tmp_path) in err
