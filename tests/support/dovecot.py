"""A real Dovecot (IMAP + LMTP) on loopback, run from a config of its own in a temporary folder.

Every user logs in with one static password and exists on first use (static userdb with
``allow_all_users``), so tests isolate themselves by picking fresh user names rather than by
starting a server each. Logins and deliveries drop the domain (``auth_username_format = %Ln``) and
the ``+detail`` part (``recipient_delimiter = +``), so ``support+t12.abc@example.test`` lands in the
INBOX of user ``support``, the way the desk's reply addresses work on a real server.

Wrong-password tests stay fast: ``auth_failure_delay = 0`` and no anvil auth penalty (without
that, every login from 127.0.0.1 after a failed one waits 2-15 s). A failed login still takes about
0.5 s: the login process checks for the delayed reply twice a second.

Mail is stored as ``nobody`` (Dovecot refuses uid 0), so the folder lives in a short
world-enterable ``mkdtemp`` under /tmp: pytest's own folders are mode 0700, and Dovecot's unix
sockets break on paths longer than about 100 characters.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

DOVECOT_BINARY = Path("/usr/sbin/dovecot")
LMTP_BINARY = Path("/usr/lib/dovecot/lmtp")
IMAP_BINARY = Path("/usr/lib/dovecot/imap")
MAIL_OWNER = "nobody"
PASSWORD = "replydesk-test-password"
AUTO_FOLDERS = ("Processed", "Sent")
INSTALL_HINT = (
    "run the project's test command, which installs the Debian packages dovecot-imapd and "
    "dovecot-lmtpd (or: apt-get install -y dovecot-imapd dovecot-lmtpd)"
)


class DovecotError(RuntimeError):
    """Dovecot is missing, would not start, or did not answer in time."""


class _ExitedError(DovecotError):
    """The master exited during start-up (typically: a port was taken after we picked it)."""


@dataclass(frozen=True)
class Ports:
    """The loopback ports one Dovecot instance listens on."""

    imap: int
    lmtp: int


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the kernel's pick; a small race is accepted)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def require_dovecot() -> None:
    """Fail loudly (never skip) when the Dovecot binaries are not installed."""
    missing = [str(p) for p in (DOVECOT_BINARY, IMAP_BINARY, LMTP_BINARY) if not p.exists()]
    if missing:
        raise DovecotError(
            f"Dovecot is not installed ({', '.join(missing)} missing): {INSTALL_HINT}"
        )


def render_config(root: Path, ports: Ports, *, host: str, password: str) -> str:
    """The whole dovecot.conf for one instance rooted at ``root``."""
    mailboxes = "\n".join(
        f"  mailbox {name} {{\n    auto = create\n    special_use = \\{name}\n  }}"
        if name == "Sent"
        else f"  mailbox {name} {{\n    auto = create\n  }}"
        for name in AUTO_FOLDERS
    )
    return f"""\
instance_name = {root.name}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
listen = {host}
protocols = imap lmtp
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
auth_username_format = %Ln
mail_max_userip_connections = 100
mail_fsync = never
recipient_delimiter = +
lmtp_save_to_detail_mailbox = no
mail_location = maildir:{root}/mail/%n
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={MAIL_OWNER} gid=nogroup home={root}/mail/%n allow_all_users=yes
}}
namespace inbox {{
  inbox = yes
  separator = /
{mailboxes}
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = {host}
    port = {ports.imap}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = {host}
    port = {ports.lmtp}
  }}
}}
"""


def _make_root() -> Path:
    """A short temp folder that ``nobody`` can enter, with a mail store ``nobody`` owns."""
    root = Path(tempfile.mkdtemp(prefix="rd-", dir="/tmp"))
    for folder in (root, *root.parents):
        mode = stat.S_IMODE(folder.stat().st_mode)
        if mode & 0o755 != 0o755:
            folder.chmod(mode | 0o755)
    owner = pwd.getpwnam(MAIL_OWNER)
    mail = root / "mail"
    mail.mkdir(mode=0o755)
    os.chown(mail, owner.pw_uid, owner.pw_gid)
    return root


def _answers(host: str, port: int, greeting: bytes) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0) as conn:
            return conn.recv(256).startswith(greeting)
    except OSError:
        return False


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def _stop_group(process: subprocess.Popen[bytes], *, grace: float = 2.0) -> None:
    """SIGTERM the whole process group, then SIGKILL whatever is left (lingering children too)."""
    _signal_group(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace)
    _signal_group(process.pid, signal.SIGKILL)
    process.wait(timeout=grace)


class Dovecot:
    """One running Dovecot: ``with Dovecot() as dovecot:`` starts it and always stops it."""

    def __init__(self, *, host: str = "127.0.0.1", password: str = PASSWORD) -> None:
        self.host = host
        self.password = password
        self.imap_port = 0
        self.lmtp_port = 0
        self._root: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def root(self) -> Path:
        if self._root is None:
            raise DovecotError("Dovecot is not started")
        return self._root

    @property
    def process_group(self) -> int:
        """The id of the process group the master and all its children run in."""
        if self._process is None:
            raise DovecotError("Dovecot is not running")
        return self._process.pid

    @property
    def config_path(self) -> Path:
        return self.root / "dovecot.conf"

    def maildir(self, user: str) -> Path:
        """Where ``user``'s Maildir is (or will be, on first delivery or login)."""
        return self.root / "mail" / user.split("@", 1)[0].split("+", 1)[0].lower()

    def log_text(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def start(self, *, attempts: int = 3, timeout: float = 10.0) -> None:
        """Start on fresh free ports; try again only if it exited (a port taken meanwhile)."""
        require_dovecot()
        self._root = _make_root()
        for attempt in range(1, attempts + 1):
            try:
                self._launch(Ports(imap=free_port(self.host), lmtp=free_port(self.host)), timeout)
                return
            except _ExitedError:
                self._kill()
                if attempt == attempts:
                    self.stop()
                    raise
            except DovecotError:
                self.stop()
                raise

    def _launch(self, ports: Ports, timeout: float) -> None:
        self.config_path.write_text(
            render_config(self.root, ports, host=self.host, password=self.password),
            encoding="utf-8",
        )
        with (self.root / "stderr.log").open("ab") as stderr:
            self._process = subprocess.Popen(
                [str(DOVECOT_BINARY), "-F", "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )
        self.imap_port, self.lmtp_port = ports.imap, ports.lmtp
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise _ExitedError(
                    f"dovecot exited with {self._process.returncode}:\n{self._why()}"
                )
            if _answers(self.host, ports.imap, b"* OK") and _answers(self.host, ports.lmtp, b"220"):
                return
            time.sleep(0.01)
        raise DovecotError(f"dovecot did not answer within {timeout} s:\n{self._why()}")

    def _why(self) -> str:
        stderr = self.root / "stderr.log"
        text = stderr.read_text(errors="replace") if stderr.exists() else ""
        return f"--- stderr ---\n{text}--- {self.root}/dovecot.log (tail) ---\n{self.log_tail()}"

    def _kill(self) -> None:
        if self._process is not None:
            _stop_group(self._process)
            self._process = None

    def stop(self) -> None:
        """Stop the whole process group and remove the folder (mail included)."""
        self._kill()
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
