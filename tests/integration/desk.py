"""A replydesk installation for integration tests: config pointing at the test servers."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from daemon import config
from daemon.service import Clock, Daemon, utc_now
from daemon.storage.database import Database
from tests.support.dovecot import Dovecot
from tests.support.mailboxes import MailUser, MailUsers, append, make_mail
from tests.support.smtp import SmtpRelay


@dataclass(frozen=True)
class Desk:
    config: Path
    db_url: str
    users: MailUsers
    dovecot: Dovecot

    def mail_waiting(self, customer: MailUser, subject: str, body: str = "hello\n") -> bytes:
        """A customer's mail put straight into the support INBOX (IMAP APPEND); returns it."""
        raw = make_mail(
            sender=customer.address, to=self.users.support.address, subject=subject, body=body
        )
        append(self.dovecot, self.users.support.login, raw)
        return raw

    def run(
        self, *args: str, failpoint: str | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """`replydesk --config ... ARGS` as a real process."""
        env = {k: v for k, v in os.environ.items() if k != "REPLYDESK_FAILPOINT"}
        if failpoint:
            env["REPLYDESK_FAILPOINT"] = failpoint
        return subprocess.run(
            [sys.executable, "-m", "daemon", "--config", str(self.config), *args],
            env=env,
            capture_output=True,
            text=True,
            errors="surrogateescape",
            timeout=timeout,
            check=False,
        )

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "daemon", "--config", str(self.config), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


def make_desk(
    tmp_path: Path,
    *,
    dovecot: Dovecot,
    relay: SmtpRelay | None,
    db_url: str,
    users: MailUsers,
    extra: str = "",
    assigns: bool = False,
    desk_keys: str = "",
) -> Desk:
    """A config for the test servers. Unless `assigns`, Erin is the team's only engineer and
    tier 2, so new (tier 1) tickets wait unassigned and the outbox holds acknowledgements only,
    whatever the time of day the test runs at; `assigns` makes her tier 1 (with `extra` her
    further keys and any more tables). `desk_keys` are more lines of the `[desk]` table; a reply
    secret (`reply-secret`, which signs reply and bounce addresses) is always configured."""
    secret = tmp_path / "password"
    secret.write_text(dovecot.password)
    (tmp_path / "reply-secret").write_text("a reply secret of the test desk\n")
    smtp = (
        f'[smtp]\nhost = "{relay.host}"\nport = {relay.port}\ntls = "none"\n'
        f'user = "relay"\npassword_file = "password"\ntimeout = 5\n'
        if relay
        else ""
    )
    config = tmp_path / "replydesk.toml"
    config.write_text(
        f"""
[desk]
name = "Test Support"
addresses = ["{users.support.address}"]
reply_secret_file = "reply-secret"
{desk_keys}

[database]
url = "{db_url}"

{smtp}
[outbox]
maildir = "outbox"
first_retry_seconds = 0.2

[[mailboxes]]
name = "support"
host = "{dovecot.host}"
port = {dovecot.imap_port}
tls = "none"
user = "{users.support.login}"
password_file = "password"
poll_seconds = 5

[[engineers]]
name = "Erin"
address = "{users.erin.address}"
tier = {1 if assigns else 2}
{extra}
""",
        encoding="utf-8",
    )
    return Desk(config=config, db_url=db_url, users=users, dovecot=dovecot)


def in_process_daemon(
    tmp_path: Path, db_url: str, relay: SmtpRelay, *, clock: Clock | None = None, **tables: object
) -> Daemon:
    """A started in-process `Daemon` with no sources, sending through `relay`; `tables` are
    extra config tables (`runners={...}`)."""
    (tmp_path / "password").write_text("secret")
    settings = config.validate(
        {
            "desk": {"name": "Test Desk", "addresses": ["support@desk.test"]},
            "database": {"url": db_url},
            "smtp": {
                "host": relay.host,
                "port": relay.port,
                "tls": "none",
                "user": "relay",
                "password_file": "password",
                "timeout": 5,
            },
            **tables,
        },
        source=tmp_path / "replydesk.toml",
    )
    daemon = Daemon(settings, Database(db_url), sources=[], clock=clock or utc_now)
    daemon.start()
    return daemon
