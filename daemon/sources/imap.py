"""An IMAP mailbox as a mail source: each mail is committed, then moved (or flagged) on the server.

Exactly once, never destructive. `poll()` fetches the waiting mails in small batches, stores each
with `intake.store()` (which commits the raw bytes and a receipt keyed "UIDVALIDITY:UID" before it
returns), and only then acknowledges the batch: one UID MOVE into the processed folder, or, where
the server lacks MOVE, the keyword `$ReplydeskStored`. Nothing is ever flagged \\Deleted or
expunged. A crash between store and acknowledgement leaves the mail on the server; the next poll
finds its receipt and acknowledges it without fetching it again. After a UIDVALIDITY change every
mail looks new by receipt, but intake's Message-ID (or hash) key keeps it to one inbound row.

One `ImapSource` owns one `IMAPClient` (which is not thread-safe) and is used by one thread.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, NoReturn, Protocol

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from sqlalchemy import select

from daemon import failpoints
from daemon.config import Mailbox
from daemon.errors import SourceError
from daemon.storage import intake
from daemon.storage.database import Database
from daemon.storage.models import Receipt

log = logging.getLogger(__name__)

STORED_KEYWORD = "$ReplydeskStored"
FETCH_ITEMS = ("BODY.PEEK[]", "INTERNALDATE", "RFC822.SIZE")
BATCH_COUNT = 50
BATCH_BYTES = 16 * 1024 * 1024
SIZE_CHUNK = 500
IDLE_SLICE = 1.0  # seconds between checks of `stop` while in IDLE
IDLE_RENEW = 25 * 60.0  # RFC 2177: re-issue IDLE at least every 29 minutes
_FOREIGN_ERRORS = (IMAPClientError, OSError)  # abort and socket.timeout are subclasses


class ImapClient(Protocol):
    """The part of `imapclient.IMAPClient` this source uses (the seam for test doubles)."""

    normalise_times: bool

    def capabilities(self) -> tuple[bytes, ...]: ...
    def starttls(self) -> bytes: ...
    def login(self, username: str, password: str) -> bytes: ...
    def select_folder(self, folder: str, readonly: bool = False) -> dict[bytes, Any]: ...
    def folder_exists(self, folder: str) -> bool: ...
    def create_folder(self, folder: str) -> bytes: ...
    def search(self, criteria: Sequence[str]) -> list[int]: ...
    def fetch(
        self, messages: Sequence[int], data: Sequence[str]
    ) -> dict[int, dict[bytes, Any]]: ...
    def move(self, messages: Sequence[int], folder: str) -> bytes: ...
    def add_flags(
        self, messages: Sequence[int], flags: Sequence[str], silent: bool = False
    ) -> dict[int, tuple[bytes, ...]] | None: ...
    def idle(self) -> None: ...
    def idle_check(self, timeout: float | None = None) -> list[tuple[Any, ...]]: ...
    def idle_done(self) -> tuple[bytes, list[tuple[Any, ...]]]: ...
    def logout(self) -> bytes: ...
    def shutdown(self) -> None: ...


class ClientFactory(Protocol):
    def __call__(self, host: str, *, port: int, ssl: bool, timeout: float) -> ImapClient: ...


class Ack(enum.Enum):
    """How a stored mail is marked as handed over on this server."""

    MOVE = "move"  # UID MOVE into the processed folder
    KEYWORD = "keyword"  # no MOVE: add $ReplydeskStored, search NOT KEYWORD
    NONE = "none"  # neither: leave it; receipts alone keep it from being fetched again


def ack_mode(capabilities: frozenset[bytes], selected: dict[bytes, Any]) -> Ack:
    """MOVE where offered, else a keyword where the folder accepts new ones, else nothing."""
    if b"MOVE" in capabilities:
        return Ack.MOVE
    permanent = {bytes(flag).lower() for flag in selected.get(b"PERMANENTFLAGS", ())}
    if b"\\*" in permanent or STORED_KEYWORD.lower().encode() in permanent:
        return Ack.KEYWORD
    return Ack.NONE


def plan_batches(
    sizes: Sequence[tuple[int, int]], *, max_count: int = BATCH_COUNT, max_bytes: int = BATCH_BYTES
) -> list[list[int]]:
    """Group (uid, size) pairs, in order, into batches bounded by count and by total bytes.

    A mail larger than `max_bytes` gets a batch of its own, so memory is bounded by
    max(max_bytes, the largest mail) rather than by the folder.
    """
    batches: list[list[int]] = []
    current: list[int] = []
    total = 0
    for uid, size in sizes:
        if current and (len(current) >= max_count or total + size > max_bytes):
            batches.append(current)
            current, total = [], 0
        current.append(uid)
        total += size
    if current:
        batches.append(current)
    return batches


def is_news(response: tuple[Any, ...]) -> bool:
    """An IDLE response saying mail arrived: `(n, b"EXISTS")` or `(n, b"RECENT")` with n > 0."""
    return (
        len(response) >= 2
        and isinstance(response[0], int)
        and response[0] > 0
        and response[1] in (b"EXISTS", b"RECENT")
    )


def _default_factory(host: str, *, port: int, ssl: bool, timeout: float) -> ImapClient:
    client: ImapClient = IMAPClient(host, port=port, ssl=ssl, timeout=timeout)
    return client


class ImapSource:
    """One watched folder of one IMAP account; connects lazily, reconnects after `close()`."""

    def __init__(
        self,
        mailbox: Mailbox,
        db: Database,
        *,
        clock: Callable[[], datetime],
        client_factory: ClientFactory = _default_factory,
    ) -> None:
        self.name = mailbox.name
        self.poll_seconds = mailbox.poll_seconds
        self.mailbox = mailbox
        self.db = db
        self.clock = clock
        self._factory = client_factory
        self._client: ImapClient | None = None
        self._healthy = False
        self._capabilities: frozenset[bytes] = frozenset()
        self._ack = Ack.MOVE
        self._uidvalidity: int | None = None
        self._secret = ""

    # -- the Source protocol -------------------------------------------------------------------

    def poll(self) -> int:
        """Store and acknowledge every waiting mail; return how many inbound rows were created."""
        client = self._connect()
        uidvalidity = self._select(client)
        with self._guard("search"):
            uids = sorted(client.search(self._criteria()))
        created = 0
        for start in range(0, len(uids), SIZE_CHUNK):
            for batch in plan_batches(self._sizes(client, uids[start : start + SIZE_CHUNK])):
                created += self._hand_over(client, uidvalidity, batch)
        return created

    def wait(self, stop: threading.Event, timeout: float) -> None:
        """IDLE until news, `timeout` or `stop`; a plain sleep where IDLE is off or not offered."""
        client = self._client
        if client is None or not self.mailbox.idle or b"IDLE" not in self._capabilities:
            stop.wait(timeout)
            return
        if self._has_work(client):
            return
        deadline = time.monotonic() + timeout
        with self._guard("IDLE"):
            while not stop.is_set() and time.monotonic() < deadline:
                client.idle()
                news = self._idle_until(client, stop, min(deadline, time.monotonic() + IDLE_RENEW))
                client.idle_done()
                if news:
                    return

    def close(self) -> None:
        """Log out (or just drop a broken connection); never raises."""
        client, self._client = self._client, None
        if client is None:
            return
        healthy, self._healthy = self._healthy, False
        try:
            if healthy:
                client.logout()
                return
        except Exception as exc:  # a logout that fails only means the connection is gone
            log.debug("imap %s: logout failed: %s", self.name, type(exc).__name__)
        try:
            client.shutdown()
        except Exception as exc:
            log.debug("imap %s: shutdown failed: %s", self.name, type(exc).__name__)

    # -- connection ----------------------------------------------------------------------------

    def _connect(self) -> ImapClient:
        if self._client is not None:
            return self._client
        mailbox = self.mailbox
        try:
            secret = mailbox.password()
        except ValueError as exc:
            raise SourceError(f"{self._where()}: no password: {exc}") from None
        if secret is None:
            raise SourceError(f"{self._where()}: no password configured")
        self._secret = secret.get_secret_value()
        with self._guard("connect"):
            self._client = self._factory(
                mailbox.host, port=mailbox.port, ssl=mailbox.tls == "tls", timeout=mailbox.timeout
            )
            self._healthy = True
        client = self._client
        client.normalise_times = False
        if mailbox.tls == "starttls":
            with self._guard("STARTTLS"):
                if b"STARTTLS" not in set(client.capabilities()):
                    self._fail("STARTTLS", "the server does not offer STARTTLS")
                client.starttls()
        with self._guard("login", chain=False):
            client.login(mailbox.user, self._secret)
        with self._guard("CAPABILITY"):
            self._capabilities = frozenset(c.upper() for c in client.capabilities())
        log.info(
            "imap %s: connected to %s:%d (MOVE %s, UIDPLUS %s, IDLE %s)",
            self.name,
            mailbox.host,
            mailbox.port,
            *(("yes" if c in self._capabilities else "no") for c in (b"MOVE", b"UIDPLUS", b"IDLE")),
        )
        return client

    def _select(self, client: ImapClient) -> int:
        """Select the folder; note a UIDVALIDITY change; choose how to acknowledge."""
        with self._guard(f"select {self.mailbox.folder!r}"):
            selected = client.select_folder(self.mailbox.folder)
        try:
            uidvalidity = int(selected[b"UIDVALIDITY"])
        except (KeyError, TypeError, ValueError):
            self._fail("select", "the server sent no UIDVALIDITY")
        if self._uidvalidity is not None and uidvalidity != self._uidvalidity:
            log.warning(
                "imap %s: UIDVALIDITY of %r changed from %d to %d; "
                "mails already stored are recognised by Message-ID and not stored again",
                self.name,
                self.mailbox.folder,
                self._uidvalidity,
                uidvalidity,
            )
        self._uidvalidity = uidvalidity
        ack = ack_mode(self._capabilities, selected)
        if ack is Ack.MOVE:
            self._ensure_processed_folder(client)
        elif ack is not self._ack:
            log.warning("imap %s: no MOVE; stored mail is marked %s", self.name, ack.value)
        self._ack = ack
        return uidvalidity

    def _ensure_processed_folder(self, client: ImapClient) -> None:
        folder = self.mailbox.processed_folder
        with self._guard(f"create {folder!r}"):
            if client.folder_exists(folder):
                return
            try:
                client.create_folder(folder)
            except IMAPClientError as exc:
                if "exist" not in str(exc).lower():  # created meanwhile by someone else: fine
                    raise

    # -- one poll ------------------------------------------------------------------------------

    def _criteria(self) -> list[str]:
        if self._ack is Ack.KEYWORD:
            return ["NOT", "KEYWORD", STORED_KEYWORD]
        return ["ALL"]

    def _sizes(self, client: ImapClient, uids: list[int]) -> list[tuple[int, int]]:
        if not uids:
            return []
        with self._guard("fetch sizes"):
            fetched = client.fetch(uids, ["RFC822.SIZE"])
        return [(uid, int(fetched[uid].get(b"RFC822.SIZE", 0))) for uid in uids if uid in fetched]

    def _hand_over(self, client: ImapClient, uidvalidity: int, batch: list[int]) -> int:
        """Store the batch's new mails, then acknowledge the whole batch with one command."""
        done = stored_uids(self.db, self.name, uidvalidity, batch)
        todo = [uid for uid in batch if uid not in done]
        fetched: dict[int, dict[bytes, Any]] = {}
        if todo:
            with self._guard(f"fetch {len(todo)} mail(s)"):
                fetched = client.fetch(todo, list(FETCH_ITEMS))
        created = 0
        acknowledge = [uid for uid in batch if uid in done]
        for uid in todo:
            item = fetched.get(uid)
            raw = item.get(b"BODY[]") if item is not None else None
            if item is None or not isinstance(raw, bytes):
                log.warning("imap %s: UID %d vanished or came without a body", self.name, uid)
                continue
            stored = intake.store(self.db, raw, self._envelope(uidvalidity, uid, item))
            failpoints.reached("imap-stored")
            created += int(stored.created)
            acknowledge.append(uid)
        self._acknowledge(client, sorted(acknowledge))
        return created

    def _envelope(self, uidvalidity: int, uid: int, item: dict[bytes, Any]) -> intake.Envelope:
        internaldate = item.get(b"INTERNALDATE")
        return intake.Envelope(
            source=self.name,
            source_key=f"{uidvalidity}:{uid}",
            received_at=self.clock(),
            extra={
                "uidvalidity": uidvalidity,
                "uid": uid,
                "folder": self.mailbox.folder,
                "internaldate": (
                    internaldate.isoformat() if isinstance(internaldate, datetime) else None
                ),
            },
        )

    def _acknowledge(self, client: ImapClient, uids: list[int]) -> None:
        if not uids or self._ack is Ack.NONE:
            return
        if self._ack is Ack.MOVE:
            with self._guard(f"move {len(uids)} mail(s) to {self.mailbox.processed_folder!r}"):
                client.move(uids, self.mailbox.processed_folder)
        else:
            with self._guard(f"flag {len(uids)} mail(s) {STORED_KEYWORD}"):
                client.add_flags(uids, [STORED_KEYWORD], silent=True)

    # -- IDLE ----------------------------------------------------------------------------------

    def _has_work(self, client: ImapClient) -> bool:
        """Whether mail came while the last poll ran (IDLE would not announce it again)."""
        with self._guard("search"):
            uids = client.search(self._criteria())
        if self._ack is Ack.NONE and self._uidvalidity is not None:
            return bool(set(uids) - stored_uids(self.db, self.name, self._uidvalidity, uids))
        return bool(uids)

    def _idle_until(self, client: ImapClient, stop: threading.Event, until: float) -> bool:
        """Within one IDLE command: True on news; False at `until`, on `stop` or a silent wake."""
        while not stop.is_set():
            left = until - time.monotonic()
            if left <= 0:
                return False
            slice_ = min(left, IDLE_SLICE)
            started = time.monotonic()
            responses = client.idle_check(timeout=slice_)
            if any(is_news(r) for r in responses):
                return True
            if not responses and time.monotonic() - started < slice_ * 0.9:
                return False  # woken with nothing to read: maybe EOF; DONE will tell
        return False

    # -- errors --------------------------------------------------------------------------------

    def _where(self) -> str:
        m = self.mailbox
        return f"imap mailbox {m.name!r} ({m.host}:{m.port}, user {m.user!r})"

    def _fail(self, what: str, reason: str) -> NoReturn:
        self._healthy = False
        self.close()
        raise SourceError(f"{self._where()}: {what} failed: {self._scrub(reason)}")

    def _scrub(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret else text

    @contextmanager
    def _guard(self, what: str, *, chain: bool = True) -> Iterator[None]:
        """Map imapclient, socket and TLS errors to `SourceError`; drop the broken connection."""
        try:
            yield
        except SourceError:
            self._healthy = False
            self.close()
            raise
        except _FOREIGN_ERRORS as exc:
            self._healthy = False
            self.close()
            reason = self._scrub(f"{type(exc).__name__}: {exc}")
            error = SourceError(f"{self._where()}: {what} failed: {reason}")
            if chain:
                raise error from exc
            raise error from None


def stored_uids(db: Database, source: str, uidvalidity: int, uids: Sequence[int]) -> set[int]:
    """The UIDs among `uids` that already have a receipt (stored before, maybe not yet moved)."""
    if not uids:
        return set()
    keys = {f"{uidvalidity}:{uid}": uid for uid in uids}
    with db.transaction() as session:
        found = session.scalars(
            select(Receipt.source_key).where(
                Receipt.source == source, Receipt.source_key.in_(list(keys))
            )
        )
        return {keys[key] for key in found}
