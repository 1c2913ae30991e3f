"""The one module that writes events: typed kinds, typed payloads validated on write.

Every change to a ticket, and every decision about a mail, is an append-only `events` row with
its actor (`contact:ADDRESS`, `engineer:ADDRESS`, `system`), its cause (`inbound:ID`,
`outbox:ID`, `job:ID`) and a payload whose shape its kind fixes. The site's metrics are computed
from these rows alone, so payloads carry what a metric needs: a status change its `from` and
`to`; an assignment its `from`, `to`, strategy and who else was considered; an SLA segment its
start, end and whether the clock ran; a routing decision the rules that hit, as data.

    record(session, StatusChanged(from_="pending", to="open", reason="..."), ticket_id=7, ...)
    payload = read(row)    # the typed payload back, for replays and metrics
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import ClassVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from daemon.storage.models import Event
from rules.hits import Hit

FROM = AliasChoices("from", "from_")  # `from` in the stored JSON; `from_` in Python


class EventKind(enum.StrEnum):
    CREATED = "created"
    MESSAGE_RECEIVED = "message_received"
    STATUS_CHANGED = "status_changed"
    ACKNOWLEDGED = "acknowledged"
    ACK_WITHHELD = "ack_withheld"
    ASSIGNED = "assigned"
    SLA_SEGMENT = "sla_segment"
    MAIL_SENT = "mail_sent"
    MAIL_FAILED = "mail_failed"
    INBOUND_IGNORED = "inbound_ignored"
    INBOUND_QUARANTINED = "inbound_quarantined"
    INBOUND_RELEASED = "inbound_released"
    BOUNCE_RECEIVED = "bounce_received"
    JOB_FAILED = "job_failed"
    CLASSIFIED = "classified"
    FACTS_REQUESTED = "facts_requested"
    FACTS_MERGED = "facts_merged"
    SLA_CLOCK = "sla_clock"
    SLA_OUTCOME = "sla_outcome"
    SLA_WARNING = "sla_warning"
    ESCALATED = "escalated"
    UNASSIGNED = "unassigned"
    ENGINEER_AWAY = "engineer_away"
    ENGINEER_BACK = "engineer_back"
    NOTIFIED = "notified"
    COMMANDS_APPLIED = "commands_applied"
    COMMANDS_REFUSED = "commands_refused"
    COMMAND_ATTEMPT = "command_attempt"
    REPLY_SENT = "reply_sent"
    NOTE_ADDED = "note_added"
    MAIL_HELD = "mail_held"
    MAIL_ACCEPTED = "mail_accepted"
    LABELS_CHANGED = "labels_changed"
    MERGED = "merged"
    KB_PROPOSED = "kb_proposed"
    KB_CITED = "kb_cited"
    KB_SUGGESTED = "kb_suggested"
    DEFLECTED = "deflected"
    KB_OPENED = "kb_opened"
    SURVEY_SENT = "survey_sent"
    SURVEY_SKIPPED = "survey_skipped"
    SURVEY_ANSWERED = "survey_answered"
    ADDRESS_BOUNCING = "address_bouncing"
    ADDRESS_CLEARED = "address_cleared"
    MAIL_WITHHELD = "mail_withheld"
    REMINDED = "reminded"


class RuleHit(BaseModel):
    """One rule that decided something: its name, the field it read, what matched, and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: str
    field: str
    matched: str
    reason: str

    @classmethod
    def of(cls, hit: Hit) -> RuleHit:
        return cls(rule=hit.rule, field=hit.field, matched=hit.matched, reason=hit.reason)


class Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: ClassVar[EventKind]


class Created(Payload):
    kind = EventKind.CREATED
    inbound: int
    mailbox: str
    hits: list[RuleHit] = []


class MessageReceived(Payload):
    kind = EventKind.MESSAGE_RECEIVED
    message: int
    inbound: int
    public: bool
    hits: list[RuleHit] = []


class StatusChanged(Payload):
    kind = EventKind.STATUS_CHANGED
    from_: str = Field(serialization_alias="from", validation_alias=FROM)
    to: str
    reason: str


class Acknowledged(Payload):
    kind = EventKind.ACKNOWLEDGED
    outbox: int


class AckWithheld(Payload):
    kind = EventKind.ACK_WITHHELD
    hits: list[RuleHit]


class Assigned(Payload):
    """Who had the ticket, who has it now, by which strategy, and who else was considered."""

    kind = EventKind.ASSIGNED
    from_: int | None = Field(serialization_alias="from", validation_alias=FROM)
    to: int | None
    strategy: str
    considered: list[str] = []
    reason: str


class SlaSegment(Payload):
    """A stretch of a ticket's life in which its SLA clock either ran or was stopped."""

    kind = EventKind.SLA_SEGMENT
    target: str
    start: datetime
    end: datetime
    clock_ran: bool
    business_seconds: int = Field(ge=0)


class MailSent(Payload):
    kind = EventKind.MAIL_SENT
    outbox: int
    to: list[str]
    refused: dict[str, str] = {}


class MailFailed(Payload):
    kind = EventKind.MAIL_FAILED
    outbox: int
    to: list[str]
    error: str


class InboundIgnored(Payload):
    kind = EventKind.INBOUND_IGNORED
    inbound: int
    hits: list[RuleHit]


class InboundQuarantined(Payload):
    kind = EventKind.INBOUND_QUARANTINED
    inbound: int
    attempts: int
    error: str


class InboundReleased(Payload):
    """A set-aside mail (ignored or quarantined) sent back for processing, by hand or by a job."""

    kind = EventKind.INBOUND_RELEASED
    inbound: int
    was: str
    force_ticket: bool


class BounceReceived(Payload):
    kind = EventKind.BOUNCE_RECEIVED
    inbound: int
    bounce: int
    original_message_id: str | None
    recipients: list[str]


class JobFailed(Payload):
    kind = EventKind.JOB_FAILED
    job: int
    job_kind: str
    attempts: int
    error: str


class Classified(Payload):
    """What the rules labelled a ticket with, and every rule that hit."""

    kind = EventKind.CLASSIFIED
    module: str | None
    problem_type: str | None
    severity: int
    tags: list[str]
    queue: str
    tier: int
    hits: list[RuleHit]


class FactsRequested(Payload):
    kind = EventKind.FACTS_REQUESTED
    found: dict[str, str]
    missing: list[str]


class FactsMerged(Payload):
    """A customer's answer supplied facts; `missing` are those still not given."""

    kind = EventKind.FACTS_MERGED
    message: int
    found: dict[str, str]
    missing: list[str]


class SlaClock(Payload):
    """A clock's state after a change: its deadline (None while it does not run)."""

    kind = EventKind.SLA_CLOCK
    target: str
    policy: str
    calendar: str
    state: str
    goal_seconds: int
    used_seconds: int
    deadline: datetime | None
    why: str


class SlaOutcome(Payload):
    """A target met or missed: recorded once, when it happened, never recomputed."""

    kind = EventKind.SLA_OUTCOME
    target: str
    met: bool
    used_seconds: int
    goal_seconds: int


class SlaWarning(Payload):
    kind = EventKind.SLA_WARNING
    target: str
    percent: int
    used_seconds: int
    notified: list[str]
    escalated: bool


class Escalated(Payload):
    kind = EventKind.ESCALATED
    from_tier: int
    to_tier: int
    reason: str
    hits: list[RuleHit] = []


class Unassigned(Payload):
    """Nobody could take the ticket: it waits in its queue; the lead is told once."""

    kind = EventKind.UNASSIGNED
    queue: str
    lead_told: str | None
    considered: list[str]


class EngineerAway(Payload):
    kind = EventKind.ENGINEER_AWAY
    engineer: str
    until: datetime
    inbound: int
    date_found: bool
    handed_over: list[int]


class EngineerBack(Payload):
    kind = EventKind.ENGINEER_BACK
    engineer: str


class Notified(Payload):
    """A notice mailed to the team (assignment, warning, escalation, absence)."""

    kind = EventKind.NOTIFIED
    notice: str
    to: list[str]
    outbox: int


class CommandsApplied(Payload):
    """An engineer's command mail, applied whole: each command as written, and what changed."""

    kind = EventKind.COMMANDS_APPLIED
    message: int
    commands: list[str]
    changes: list[str]


class CommandsRefused(Payload):
    """An engineer's command mail with errors: nothing changed; every error, with its line."""

    kind = EventKind.COMMANDS_REFUSED
    message: int
    errors: list[str]


class CommandAttempt(Payload):
    """Mail from an engineer's address that may not command (no valid signature, unproven
    sender): treated as a customer's message; the reason is kept."""

    kind = EventKind.COMMAND_ATTEMPT
    message: int
    sender: str
    verdict: str
    hits: list[RuleHit] = []


class ReplySent(Payload):
    """An engineer's public reply, relayed to the customer's thread from the support address."""

    kind = EventKind.REPLY_SENT
    message: int
    outbox: int
    to: list[str]
    cc: list[str]
    attachments: int = 0
    first: bool


class NoteAdded(Payload):
    kind = EventKind.NOTE_ADDED
    message: int


class MailHeld(Payload):
    """A mail kept as an internal note until an engineer accepts it (`#accept`)."""

    kind = EventKind.MAIL_HELD
    message: int
    sender: str
    why: str
    notices: list[int] = []  # the outbox rows that ask about it: `#accept` answers one of them


class MailAccepted(Payload):
    kind = EventKind.MAIL_ACCEPTED
    message: int
    sender: str
    as_engineer: bool


class LabelsChanged(Payload):
    """A label set by hand: `field` is severity, category, tags or cc."""

    kind = EventKind.LABELS_CHANGED
    field: str
    from_: str = Field(serialization_alias="from", validation_alias=FROM)
    to: str


class Merged(Payload):
    kind = EventKind.MERGED
    into: int
    source: int


class KbProposed(Payload):
    """`#kb`: this ticket's resolution proposed as a knowledge-base draft (the site's)."""

    kind = EventKind.KB_PROPOSED
    resolution: str
    article: int | None = None
    """The draft's number (None in events from before drafts were made)."""
    notices: list[int] = []
    """The outbox rows that mailed the draft: a reply to one of them edits it."""


class KbCited(Payload):
    """`#kb N`: the ticket was solved with article N (a reuse, for the site's metrics)."""

    kind = EventKind.KB_CITED
    article: int


class KbSuggested(Payload):
    """The acknowledgement listed these published articles (best first) for the request."""

    kind = EventKind.KB_SUGGESTED
    articles: list[int]


class Deflected(Payload):
    """The customer answered "solved" to the suggestions, and the ticket was resolved so.

    `article` is the one suggested article when there was one; with several, which one helped
    is unknown (None)."""

    kind = EventKind.DEFLECTED
    article: int | None


class KbOpened(Payload):
    """Article `article` read `count` times on the site in the hour from the event's moment,
    `from_mail` of them by a link in a desk mail (the access log; `rules.kb_opens`)."""

    kind = EventKind.KB_OPENED
    article: int
    count: int = Field(ge=1)
    from_mail: int = Field(ge=0)


class SurveySent(Payload):
    kind = EventKind.SURVEY_SENT
    outbox: int
    to: str


class SurveySkipped(Payload):
    kind = EventKind.SURVEY_SKIPPED
    hits: list[RuleHit]


class SurveyAnswered(Payload):
    """A rating (1-5) and comment; a later answer on the same ticket replaces an earlier one."""

    kind = EventKind.SURVEY_ANSWERED
    message: int
    rating: int = Field(ge=1, le=5)
    comment: str
    reason: str


class AddressBouncing(Payload):
    kind = EventKind.ADDRESS_BOUNCING
    address: str
    outbox: int | None
    bounce: int
    matched_by: str


class AddressCleared(Payload):
    kind = EventKind.ADDRESS_CLEARED
    address: str
    inbound: int


class MailWithheld(Payload):
    """Mail not sent to an address that bounces (until its owner writes again)."""

    kind = EventKind.MAIL_WITHHELD
    mail: str
    to: list[str]


class Reminded(Payload):
    """The assignee reminded that the customer has not heard from us within the interval."""

    kind = EventKind.REMINDED
    since: datetime
    interval_seconds: int


PAYLOADS: dict[EventKind, type[Payload]] = {
    cls.kind: cls for cls in Payload.__subclasses__() if hasattr(cls, "kind")
}


def record(
    session: Session,
    payload: Payload,
    *,
    ticket_id: int | None,
    at: datetime,
    actor: str,
    cause: str,
) -> Event:
    """Append one event; the payload was validated when it was built."""
    event = Event(
        ticket_id=ticket_id,
        at=at,
        actor=actor,
        kind=payload.kind.value,
        cause=cause,
        data=payload.model_dump(mode="json", by_alias=True),
    )
    session.add(event)
    return event


def read(event: Event) -> Payload:
    """The typed payload of a stored event (raises on an unknown kind or a bad payload)."""
    return PAYLOADS[EventKind(event.kind)].model_validate(event.data)


def hits(found: tuple[Hit, ...]) -> list[RuleHit]:
    return [RuleHit.of(hit) for hit in found]
