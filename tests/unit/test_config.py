from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from daemon import config, configfile
from daemon.cli import main
from daemon.configfile import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "replydesk.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_starter_file_is_valid_and_commented(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "fresh.toml"
    assert main(["init", str(path)]) == 0
    text = path.read_text()
    assert text.count("#") > 30
    settings = config.load(path)
    assert settings.desk.addresses == ("support@example.com",)
    assert settings.database.url == f"sqlite:///{tmp_path / 'replydesk.db'}"
    assert main(["init", str(path)]) == 1  # never overwrites silently
    assert "exists" in capsys.readouterr().err


def test_every_problem_is_reported_with_file_key_and_reason(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[desk]
addresses = ["not-an-address"]
colour = "blue"

[[mailboxes]]
name = "main"
host = "imap.test"
port = "nine"
user = "u"

[[engineers]]
name = "Ann"
address = "ann@desk.test"
timezone = "Mars/Olympus"
hours = "17:00-09:00"
""",
    )
    with pytest.raises(ConfigError) as caught:
        config.load(path)
    found = {(p.key, p.reason) for p in caught.value.problems}
    assert all(p.file == str(path) for p in caught.value.problems)
    keys = {key for key, _ in found}
    assert {
        "desk.addresses",
        "desk.colour",
        "mailboxes[0].port",
        "engineers[0].timezone",
        "engineers[0].hours",
    } <= keys
    assert ("desk.colour", "unknown key") in found
    assert any("Mars/Olympus" in reason for _, reason in found)


def test_passwords_come_from_env_or_file_and_never_show(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = tmp_path / "imap.secret"
    secret.write_text("s3cr3t-file\n")
    path = write(
        tmp_path,
        """
[[mailboxes]]
name = "a"
host = "imap.test"
user = "u"
password_env = "RD_TEST_IMAP"

[[mailboxes]]
name = "b"
host = "imap.test"
user = "u"
password_file = "imap.secret"
""",
    )
    monkeypatch.setenv("RD_TEST_IMAP", "s3cr3t-env")
    settings = config.load(path)
    first, second = (m.password() for m in settings.mailboxes)
    assert first is not None and first.get_secret_value() == "s3cr3t-env"
    assert second is not None and second.get_secret_value() == "s3cr3t-file"
    assert "s3cr3t" not in repr(settings)

    monkeypatch.delenv("RD_TEST_IMAP")
    assert main(["--config", str(path), "config", "check"]) == 78
    err = capsys.readouterr().err
    assert f"{path}: mailboxes[0].password: environment variable RD_TEST_IMAP is not set" in err
    assert "s3cr3t" not in err


def test_bad_toml_and_missing_file_name_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[desk\nname = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        config.load(path)
    with pytest.raises(ConfigError, match="file not found"):
        config.load(tmp_path / "absent.toml")


def test_duplicate_source_names_are_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[[mailboxes]]
name = "x"
host = "h"
user = "u"

[[maildirs]]
name = "x"
path = "m"
""",
    )
    with pytest.raises(ConfigError, match="repeated: x"):
        config.load(path)


def test_config_path_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPLYDESK_CONFIG", str(tmp_path / "env.toml"))
    assert configfile.locate("explicit.toml") == Path("explicit.toml")
    assert configfile.locate(None) == tmp_path / "env.toml"
    monkeypatch.delenv("REPLYDESK_CONFIG")
    assert configfile.locate(None) == Path("replydesk.toml")


def test_check_summarises_a_good_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "secret").write_text("s" * 40)
    path = write(tmp_path, '[desk]\naddresses = ["Help@Desk.test"]\nreply_secret_file = "secret"\n')
    assert main(["--config", str(path), "config", "check"]) == 0
    assert "ok" in capsys.readouterr().out
    assert config.load(path).desk.address == "help@desk.test"


def test_processed_folder_must_differ(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[mailboxes]]\nname = "m"\nhost = "h"\nuser = "u"\nfolder = "INBOX"\n'
        'processed_folder = "INBOX"\n',
    )
    with pytest.raises(ConfigError, match=r"mailboxes\[0\]: processed_folder must differ"):
        config.load(path)


def test_site_paths_are_taken_from_the_config_folder_and_checked(tmp_path: Path) -> None:
    path = write(tmp_path, '[site]\nmkdocs = "web/mkdocs.yml"\nout = "public"\n')
    site = config.load(path).site
    assert (site.mkdocs, site.out) == (tmp_path / "web" / "mkdocs.yml", tmp_path / "public")
    path = write(tmp_path, '[site]\npublic_url = "support.example.com"\nmkdocs = "web.txt"\n')
    with pytest.raises(ConfigError) as caught:
        config.load(path)
    assert {p.key for p in caught.value.problems} == {"site.public_url", "site.mkdocs"}


def test_site_internal_part_and_baseline_period_are_read_and_checked(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[site]\nout = "public"\ninternal_out = "team"\n'
        "baseline_from = 2026-09-01\nbaseline_to = 2026-10-01\n",
    )
    site = config.load(path).site
    assert site.internal_out == tmp_path / "team"
    assert (site.baseline_from, site.baseline_to) == (date(2026, 9, 1), date(2026, 10, 1))
    for wrong, why in [
        ("baseline_from = 2026-09-01\n", "set together"),
        ("baseline_from = 2026-10-01\nbaseline_to = 2026-09-01\n", "must come after"),
        ('out = "same"\ninternal_out = "same"\n', "another folder"),
    ]:
        with pytest.raises(ConfigError, match=why):
            config.load(write(tmp_path, f"[site]\n{wrong}"))
