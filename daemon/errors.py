"""The few exceptions of our own that foreign ones (imapclient, aiosmtplib, SQLAlchemy) map to."""

from __future__ import annotations


class ReplydeskError(Exception):
    """Base of every error replydesk raises on purpose."""


class StorageError(ReplydeskError):
    """The database refused or failed; the work in hand was rolled back and can be retried."""


class ConflictError(StorageError):
    """A unique key was already taken, usually by another process storing the same thing."""


class SourceError(ReplydeskError):
    """A mail source (IMAP server, Maildir) failed; the source reconnects and tries again."""


class TemporarySendError(ReplydeskError):
    """The relay said 'try later' (4xx, connection refused, timeout): retry with backoff."""


class PermanentSendError(ReplydeskError):
    """The relay refused for good (5xx): record it, do not retry."""
