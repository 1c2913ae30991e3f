"""The few exceptions of our own that foreign ones (imapclient, aiosmtplib, SQLAlchemy) map to.

Database errors are classified once, where they are raised (`daemon.storage.database`), so every
runner can tell whose fault a failure was:

- `DatabaseUnavailableError`: the database itself failed (connection lost, server down, a lock or
  statement timeout, a deadlock). Nothing is wrong with the item in hand: back off and retry it,
  and count nothing against it.
- `DataRefusedError`: the database refused what we asked it to write (a value too long or out of
  range, a NUL byte, a check or foreign-key violation). That belongs to the item: it counts as a
  failed attempt, and the item is set aside after a few.
- `ConflictError`: a unique key was taken, usually by another process storing the same thing.
"""

from __future__ import annotations


class ReplydeskError(Exception):
    """Base of every error replydesk raises on purpose."""


class StorageError(ReplydeskError):
    """The database refused or failed; the work in hand was rolled back."""


class DatabaseUnavailableError(StorageError):
    """The database is down, unreachable, locked or timed out: transient, nobody's fault."""


class DataRefusedError(StorageError):
    """The database refused the data itself: the item in hand is at fault."""


class ConflictError(DataRefusedError):
    """A unique key was already taken, usually by another process storing the same thing."""


class SchemaBehindError(StorageError):
    """The schema is older than this code; `replydesk db upgrade` (or a daemon start) fixes it."""


class SourceError(ReplydeskError):
    """A mail source (IMAP server, Maildir) failed; the source reconnects and tries again."""


class TemporarySendError(ReplydeskError):
    """The relay said 'try later' (4xx, connection refused, timeout): retry with backoff."""


class PermanentSendError(ReplydeskError):
    """The relay refused for good (5xx): record it, do not retry."""
