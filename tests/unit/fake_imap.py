"""A hand-written stand-in for an IMAP server behind `imapclient.IMAPClient`, for unit tests.

It answers with the types imapclient gives: `select_folder` a dict with bytes keys and int
values, `search` a list of int UIDs, `fetch` a dict UID -> {b"BODY[]": bytes, b"INTERNALDATE":
datetime, b"RFC822.SIZE": int, b"SEQ": int}, `idle_check` a list of tuples such as
`(3, b"EXISTS")`. Errors are the ones imapclient raises (`IMAPClientError`, its `abort`,
`LoginError`, `CapabilityError`) or socket errors. `FakeServer` holds the mail and lives across
connections; each `connect()` makes a `FakeClient` the way `IMAPClient(host, ...)` would.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from imapclient.exceptions import CapabilityError, IMAPClientAbortError, IMAPClientError, LoginError

FULL_CAPABILITIES = (b"IMAP4REV1", b"IDLE", b"MOVE", b"UIDPLUS", b"LITERAL+", b"CONDSTORE")
PRE_LOGIN_CAPABILITIES = (b"IMAP4REV1", b"STARTTLS", b"AUTH=PLAIN")


@dataclass
class FakeMail:
    uid: int
    raw: bytes
    internaldate: datetime
    flags: set[bytes] = field(default_factory=set)


@dataclass
class FakeServer:
    """Folders of mail, the account's password, and a log of every command received."""

    password: str
    capabilities: tuple[bytes, ...] = FULL_CAPABILITIES
    pre_login_capabilities: tuple[bytes, ...] = PRE_LOGIN_CAPABILITIES
    permanent_flags: tuple[bytes, ...] = (b"\\Answered", b"\\Flagged", b"\\Deleted", b"\\*")
    uidvalidity: int = 1700000001
    folders: dict[str, list[FakeMail]] = field(
        default_factory=lambda: {"INBOX": [], "Processed": []}
    )
    calls: list[str] = field(default_factory=list)
    clients: list[FakeClient] = field(default_factory=list)
    failures: dict[str, BaseException] = field(default_factory=dict)
    idle_script: list[list[tuple[Any, ...]]] = field(default_factory=list)
    on_move: Callable[[list[int]], None] | None = None
    login_error_echoes_password: bool = False
    _uids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def add(self, raw: bytes, *, folder: str = "INBOX") -> int:
        uid = next(self._uids)
        self.folders[folder].append(FakeMail(uid, raw, datetime(2026, 11, 2, 8, 0, tzinfo=UTC)))
        return uid

    def renumber(self) -> None:
        """What a rebuilt folder looks like: a new UIDVALIDITY, new UIDs, keywords lost."""
        self.uidvalidity += 1
        for mails in self.folders.values():
            for mail in mails:
                mail.uid = next(self._uids)
                mail.flags.clear()

    def raws(self, folder: str = "INBOX") -> list[bytes]:
        return [mail.raw for mail in self.folders[folder]]

    def fail(self, command: str, error: BaseException) -> None:
        """Make the next `command` raise `error`, then break the connection (as a real one)."""
        self.failures[command] = error

    def connect(self, host: str, *, port: int, ssl: bool, timeout: float) -> FakeClient:
        self.calls.append(f"connect {host}:{port} ssl={ssl} timeout={timeout}")
        if "connect" in self.failures:
            raise self.failures.pop("connect")
        client = FakeClient(self)
        self.clients.append(client)
        return client


class FakeClient:
    """One connection; after any error it is dead, like a real socket that failed."""

    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.normalise_times = True
        self.logged_in = False
        self.selected: str | None = None
        self.idling = False
        self.dead = False
        self.closed_by: str | None = None

    def _command(self, name: str, detail: str = "", *, while_idle: bool = False) -> None:
        if self.dead:
            raise IMAPClientAbortError("socket error: EOF")
        if self.idling and not while_idle:
            raise AssertionError(f"{name} sent during IDLE")
        self.server.calls.append(f"{name} {detail}".strip())
        failure = self.server.failures.pop(name, None)
        if failure is not None:
            self.dead = True
            raise failure

    def _mails(self) -> list[FakeMail]:
        if self.selected is None:
            raise IMAPClientError("command illegal in state AUTH, only allowed in states SELECTED")
        return self.server.folders[self.selected]

    def capabilities(self) -> tuple[bytes, ...]:
        self._command("capabilities")
        return self.server.capabilities if self.logged_in else self.server.pre_login_capabilities

    def starttls(self) -> bytes:
        self._command("starttls")
        if b"STARTTLS" not in self.server.pre_login_capabilities:
            raise CapabilityError("Server does not support STARTTLS capability")
        return b"Begin TLS negotiation now."

    def login(self, username: str, password: str) -> bytes:
        self._command("login")
        if password != self.server.password:
            said = f" (you sent {password})" if self.server.login_error_echoes_password else ""
            raise LoginError(f"b'[AUTHENTICATIONFAILED] Authentication failed.{said}'")
        self.logged_in = True
        return b"Logged in"

    def select_folder(self, folder: str, readonly: bool = False) -> dict[bytes, Any]:
        self._command("select_folder")
        if folder not in self.server.folders:
            raise IMAPClientError(f"select failed: Mailbox doesn't exist: {folder}")
        self.selected = folder
        mails = self.server.folders[folder]
        return {
            b"EXISTS": len(mails),
            b"FLAGS": (b"\\Answered", b"\\Flagged", b"\\Deleted", b"\\Seen", b"\\Draft"),
            b"PERMANENTFLAGS": self.server.permanent_flags,
            b"READ-WRITE": True,
            b"RECENT": 0,
            b"UIDNEXT": max((m.uid for m in mails), default=0) + 1,
            b"UIDVALIDITY": self.server.uidvalidity,
        }

    def folder_exists(self, folder: str) -> bool:
        self._command("folder_exists")
        return folder in self.server.folders

    def create_folder(self, folder: str) -> bytes:
        self._command("create_folder")
        if folder in self.server.folders:
            raise IMAPClientError("create failed: [ALREADYEXISTS] Mailbox already exists")
        self.server.folders[folder] = []
        return b"Create completed."

    def search(self, criteria: Sequence[str]) -> list[int]:
        self._command("search", " ".join(criteria))
        mails = self._mails()
        if list(criteria) == ["ALL"]:
            return [m.uid for m in mails]
        if list(criteria)[:2] == ["NOT", "KEYWORD"]:
            keyword = criteria[2].encode()
            return [m.uid for m in mails if keyword not in m.flags]
        raise IMAPClientError(f"SEARCH command error: BAD [b'Unknown criteria {criteria}']")

    def fetch(self, messages: Sequence[int], data: Sequence[str]) -> dict[int, dict[bytes, Any]]:
        self._command("fetch", f"{','.join(map(str, messages))} {' '.join(data)}")
        wanted = set(messages)
        result: dict[int, dict[bytes, Any]] = {}
        for seq, mail in enumerate(self._mails(), start=1):
            if mail.uid not in wanted:
                continue
            item: dict[bytes, Any] = {b"SEQ": seq, b"RFC822.SIZE": len(mail.raw)}
            if "BODY.PEEK[]" in data:
                item[b"BODY[]"] = mail.raw
            if "INTERNALDATE" in data:
                item[b"INTERNALDATE"] = (
                    mail.internaldate.replace(tzinfo=None)
                    if self.normalise_times
                    else mail.internaldate
                )
            result[mail.uid] = item
        return result

    def move(self, messages: Sequence[int], folder: str) -> bytes:
        if b"MOVE" not in self.server.capabilities:
            raise CapabilityError("Server does not support MOVE capability")
        self._command("move", f"{','.join(map(str, messages))} {folder}")
        if self.server.on_move is not None:
            self.server.on_move(list(messages))
        source = self._mails()
        moving = [m for m in source if m.uid in set(messages)]
        self.server.folders[self.selected or ""] = [m for m in source if m not in moving]
        for mail in moving:
            self.server.add(mail.raw, folder=folder)
        return b"[COPYUID 1 1:2 1:2] Move completed."

    def add_flags(
        self, messages: Sequence[int], flags: Sequence[str], silent: bool = False
    ) -> dict[int, tuple[bytes, ...]] | None:
        self._command("add_flags", f"{','.join(map(str, messages))} {' '.join(flags)}")
        changed = {}
        for mail in self._mails():
            if mail.uid in set(messages):
                mail.flags.update(f.encode() for f in flags)
                changed[mail.uid] = tuple(sorted(mail.flags))
        return None if silent else changed

    def idle(self) -> None:
        if b"IDLE" not in self.server.capabilities:
            raise CapabilityError("Server does not support IDLE capability")
        self._command("idle")
        self.idling = True

    def idle_check(self, timeout: float | None = None) -> list[tuple[Any, ...]]:
        self._command("idle_check", while_idle=True)
        if not self.idling:
            raise AssertionError("idle_check outside IDLE")
        if self.server.idle_script:
            return self.server.idle_script.pop(0)
        time.sleep(timeout or 0)
        return []

    def idle_done(self) -> tuple[bytes, list[tuple[Any, ...]]]:
        self._command("idle_done", while_idle=True)
        self.idling = False
        return b"Idle completed.", []

    def logout(self) -> bytes:
        self._command("logout")
        self.closed_by = "logout"
        self.dead = True
        return b"Logging out"

    def shutdown(self) -> None:
        self.server.calls.append("shutdown")
        self.closed_by = "shutdown"
        self.dead = True
