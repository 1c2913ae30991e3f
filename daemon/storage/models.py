"""The database schema, as SQLAlchemy 2.0 typed ORM classes.

Two rules hold the design together: the raw bytes of every mail are stored before anything else
happens to it (`Inbound`, `Receipt`), and every change to a ticket is an append-only `Event` with
its actor and cause, so metrics can be recomputed from the log at any time. Outgoing mail is an
`Outbox` row written in the same transaction as the change that caused it.

Work that a runner claims (`Inbound`, `Outbox`, `Job`) names its `Holder`: a live process with a
heartbeat. A holder that is gone loses its claims within seconds (`daemon.storage.holders`).
Every column a mail can fill uses a type from `daemon.storage.types`, so no value a stranger
writes can be refused by the database for its length or its bytes.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from daemon.storage.types import Clean, CleanJSON, CleanText, Key


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored as UTC and always returned timezone-aware, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use UTC-aware times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[str]: JSON(),
        list[dict[str, Any]]: JSON(),
        bytes: LargeBinary(),
    }


class TicketStatus(enum.StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    RESOLVED = "resolved"
    CLOSED = "closed"


class InboundState(enum.StrEnum):
    STORED = "stored"
    DONE = "done"
    IGNORED = "ignored"
    QUARANTINED = "quarantined"


class OutboxState(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class JobState(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


def _enum(kind: type[enum.StrEnum]) -> Enum:
    return Enum(kind, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(Key(254), unique=True)
    name: Mapped[str] = mapped_column(Clean(200), default="")
    created_at: Mapped[datetime]
    bouncing_since: Mapped[datetime | None]
    """Set when our mail to this address bounced; cleared when they write to us again."""


class Engineer(Base):
    """A team member, synchronised from the configuration at start-up."""

    __tablename__ = "engineers"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    tier: Mapped[int] = mapped_column(Integer, default=1)
    skills: Mapped[list[str]] = mapped_column(default=list)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    hours_start: Mapped[str] = mapped_column(String(5), default="09:00")
    hours_end: Mapped[str] = mapped_column(String(5), default="17:00")
    days: Mapped[list[str]] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    away_until: Mapped[datetime | None]
    last_assigned_at: Mapped[datetime | None]


class Ticket(Base):
    """A customer's request; its number is its primary key."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(CleanText())
    status: Mapped[TicketStatus] = mapped_column(_enum(TicketStatus), index=True)
    severity: Mapped[int] = mapped_column(Integer, default=3)
    category: Mapped[str | None] = mapped_column(String(80))
    problem_type: Mapped[str | None] = mapped_column(String(80))
    queue: Mapped[str] = mapped_column(String(40), default="general")
    tags: Mapped[list[str]] = mapped_column(CleanJSON(), default=list)
    facts: Mapped[dict[str, Any]] = mapped_column(CleanJSON(), default=dict)
    waiting_for: Mapped[list[str]] = mapped_column(CleanJSON(), default=list)
    mailbox: Mapped[str] = mapped_column(Clean(40))
    requester_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("engineers.id"), index=True)
    tier: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    cc: Mapped[list[str]] = mapped_column(CleanJSON(), default=list)
    resolution: Mapped[str | None] = mapped_column(CleanText())
    closed_as: Mapped[str | None] = mapped_column(String(20))
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    follows: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))

    requester: Mapped[Contact] = relationship()
    assignee: Mapped[Engineer | None] = relationship(foreign_keys=[assignee_id])
    clocks: Mapped[list[SlaClock]] = relationship(order_by="SlaClock.id")
    messages: Mapped[list[Message]] = relationship(back_populates="ticket", order_by="Message.id")


class SlaClock(Base):
    """One SLA target's clock on a ticket (`rules.sla.Clock`), with the policy it was set by.

    `used_seconds` counts business seconds before `since`, the start of its current state;
    `outcome` is written once, when the target is met or missed, and never recomputed.
    """

    __tablename__ = "sla_clocks"
    __table_args__ = (UniqueConstraint("ticket_id", "target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    target: Mapped[str] = mapped_column(String(20))
    policy: Mapped[str] = mapped_column(String(40))
    calendar: Mapped[str] = mapped_column(String(40))
    goal_seconds: Mapped[int] = mapped_column(BigInteger)
    used_seconds: Mapped[int] = mapped_column(BigInteger, default=0)
    state: Mapped[str] = mapped_column(String(10))
    since: Mapped[datetime]
    deadline: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(10))
    warned: Mapped[list[int]] = mapped_column(JSON(), default=list)


class Holder(Base):
    """A running process that may claim work: who it is, and when it last said it is alive."""

    __tablename__ = "holders"

    id: Mapped[int] = mapped_column(primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    process_start: Mapped[int] = mapped_column(BigInteger)
    role: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]
    stopped_at: Mapped[datetime | None]


class Inbound(Base):
    """One mail as it arrived: raw bytes kept, keyed by a fingerprint of its content.

    `message_key` is the SHA-256 of the mail with its trace headers dropped and line ends
    normalised (`parsers.fingerprint`): two deliveries of one mail share it, two different mails
    with one reused Message-ID do not. `message_id` is the normalised Message-ID, for lookups.
    """

    __tablename__ = "inbound"
    __table_args__ = (Index("ix_inbound_claim", "state", "holder_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_key: Mapped[str] = mapped_column(String(100), unique=True)
    message_id: Mapped[str | None] = mapped_column(Key(300), index=True)
    raw: Mapped[bytes]
    size: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(Clean(40))
    received_at: Mapped[datetime]
    state: Mapped[InboundState] = mapped_column(_enum(InboundState))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    holder_id: Mapped[int | None] = mapped_column(ForeignKey("holders.id"))
    notes: Mapped[list[str]] = mapped_column(CleanJSON(), default=list)
    forced: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(CleanText())
    error: Mapped[str | None] = mapped_column(CleanText())
    processed_at: Mapped[datetime | None]
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)


class Receipt(Base):
    """Where a stored mail was seen: (source, key) such as (mailbox, "UIDVALIDITY:UID")."""

    __tablename__ = "receipts"
    __table_args__ = (UniqueConstraint("source", "source_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(Clean(40))
    source_key: Mapped[str] = mapped_column(Key(300))
    inbound_id: Mapped[int] = mapped_column(ForeignKey("inbound.id"), index=True)
    received_at: Mapped[datetime]
    envelope: Mapped[dict[str, Any]] = mapped_column(CleanJSON(), default=dict)


class Message(Base):
    """One message on a ticket, either way: parsed text kept beside the raw bytes."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_message_id", "message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    direction: Mapped[str] = mapped_column(String(3))
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    message_id: Mapped[str | None] = mapped_column(Key(300))
    in_reply_to: Mapped[str | None] = mapped_column(Key(300))
    subject: Mapped[str] = mapped_column(CleanText(), default="")
    author_address: Mapped[str] = mapped_column(Key(254))
    author_name: Mapped[str] = mapped_column(Clean(200), default="")
    author_kind: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(CleanText(), default="")
    full_text: Mapped[str] = mapped_column(CleanText(), default="")
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound.id"))
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    held: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]

    ticket: Mapped[Ticket] = relationship(back_populates="messages")
    attachments: Mapped[list[Attachment]] = relationship(order_by="Attachment.id")


class Attachment(Base):
    """What a message carried; the bytes stay in the raw mail they came in."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    filename: Mapped[str | None] = mapped_column(Clean(300))
    content_type: Mapped[str] = mapped_column(Clean(120))
    size: Mapped[int] = mapped_column(BigInteger)
    inline: Mapped[bool] = mapped_column(Boolean)
    content_id: Mapped[str | None] = mapped_column(Key(300))


class Event(Base):
    """Append-only log of every change: who (actor), why (cause), what (kind and data)."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(Clean(300))
    kind: Mapped[str] = mapped_column(String(40), index=True)
    cause: Mapped[str] = mapped_column(Clean(300))
    data: Mapped[dict[str, Any]] = mapped_column(CleanJSON(), default=dict)


class Outbox(Base):
    """A mail to send, rendered once so its bytes and Message-ID stay the same across retries.

    `to_key` is the first recipient's normalised address (`parsers.address_parts.address_key`),
    so acknowledgement limits count a person, not each spelling of their address.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "state", "next_attempt_at"),
        Index("ix_outbox_to_key", "to_key", "created_at"),
        Index("ix_outbox_to_domain", "to_domain", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    message_id: Mapped[str] = mapped_column(String(300), unique=True)
    envelope_from: Mapped[str] = mapped_column(Key(254))
    recipients: Mapped[list[str]] = mapped_column(CleanJSON())
    to_key: Mapped[str] = mapped_column(Key(254))
    to_domain: Mapped[str] = mapped_column(Key(254))
    raw: Mapped[bytes]
    state: Mapped[OutboxState] = mapped_column(_enum(OutboxState))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    holder_id: Mapped[int | None] = mapped_column(ForeignKey("holders.id"))
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(CleanText())
    refused: Mapped[dict[str, Any]] = mapped_column(CleanJSON(), default=dict)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class Job(Base):
    """Scheduled work as a row, so timers survive restarts and several daemons share them.

    `key` makes scheduling idempotent: scheduling a job whose key exists does nothing.
    """

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_due", "state", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(Key(200), unique=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    due_at: Mapped[datetime]
    payload: Mapped[dict[str, Any]] = mapped_column(CleanJSON(), default=dict)
    state: Mapped[JobState] = mapped_column(_enum(JobState))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    holder_id: Mapped[int | None] = mapped_column(ForeignKey("holders.id"))
    last_error: Mapped[str | None] = mapped_column(CleanText())
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]


class Bounce(Base):
    """A delivery report, kept with what it says, for matching to our outbox later."""

    __tablename__ = "bounces"

    id: Mapped[int] = mapped_column(primary_key=True)
    inbound_id: Mapped[int] = mapped_column(ForeignKey("inbound.id"), unique=True)
    original_message_id: Mapped[str | None] = mapped_column(Key(300), index=True)
    recipients: Mapped[list[dict[str, Any]]] = mapped_column(CleanJSON(), default=list)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"), index=True)
    created_at: Mapped[datetime]


class Article(Base):
    """A knowledge-base article; its number (`id`) is what `#kb 12` cites.

    An article written as a file under the site's docs folder has its `path` there, and the file
    is the truth for its row (`daemon.knowledge.articles.sync_files`); an article born from mail
    has no path and lives in this row alone. `status` is `draft`, `published` or `retired`.
    """

    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str | None] = mapped_column(String(500), unique=True)
    slug: Mapped[str] = mapped_column(Key(120), unique=True)
    title: Mapped[str] = mapped_column(Clean(300))
    body: Mapped[str] = mapped_column(CleanText())
    owner: Mapped[str] = mapped_column(Key(254))
    module: Mapped[str | None] = mapped_column(Clean(100))
    tags: Mapped[list[str]] = mapped_column(CleanJSON(), default=list)
    tickets: Mapped[list[int]] = mapped_column(JSON(), default=list)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    reviewed_at: Mapped[datetime | None]
    review_days: Mapped[int] = mapped_column(Integer, default=180, server_default="180")
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    reminded_at: Mapped[datetime | None]
    """When the review reminder for the current review period was sent (cleared on review)."""
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
