"""A new ticket's triage: labels, facts still needed, assignee and SLA clocks, as one decision.

The order is fixed: classify the mail; find the facts its category requires and which are
missing; pick the assignee in the queue the rules chose (the skills asked for are the ticket's
module and problem type, where anyone on the team has such a skill); pick the SLA policy by
severity, customer domain and queue; start its clocks, paused at once when facts are missing
(the ticket then waits on the customer, when its acknowledgement asks). Everything is
computed from the facts given, so the dry run (`replydesk rules test`) and the daemon decide
alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from parsers import ParsedMessage
from rules import sla
from rules.assign import Assignment, EngineerFacts, assign
from rules.book import Rulebook
from rules.classify import AttachmentFacts, Classification, MailFacts, classify
from rules.escalation import escalated
from rules.required import FactSpec, found_facts


@dataclass(frozen=True, slots=True)
class Triage:
    classification: Classification
    found: dict[str, str]
    missing: tuple[FactSpec, ...]
    assignment: Assignment
    policy: sla.Policy | None
    clocks: tuple[sla.Clock, ...]
    asking: bool = True

    @property
    def waiting(self) -> bool:
        """Facts are missing and the acknowledgement asks for them: the customer has the ball."""
        return self.asking and bool(self.missing)

    def deadlines(self) -> dict[str, datetime | None]:
        if self.policy is None:
            return {}
        return {c.target: c.deadline(self.policy.calendar) for c in self.clocks}

    def to_json(self) -> dict[str, Any]:
        deadlines = {k: v.isoformat() if v else None for k, v in self.deadlines().items()}
        policy = self.policy
        return {
            "classification": self.classification.to_json(),
            "facts": {"found": self.found, "missing": [m.name for m in self.missing]},
            "questions": [m.question for m in self.missing],
            "assignment": self.assignment.to_json(),
            "sla": None
            if policy is None
            else {
                "policy": policy.name,
                "calendar": policy.calendar.name,
                "first_response_seconds": policy.first_response,
                "resolution_seconds": policy.resolution,
                "paused": self.waiting,
                "deadlines": deadlines,
            },
        }


MAX_HEADERS = 200


def mail_facts_of(
    message: ParsedMessage,
    *,
    mailbox: str,
    local_time: datetime,
    open_tickets: int = 0,
    tickets_within: Mapping[int, int] | None = None,
) -> MailFacts:
    """What classification reads of a parsed mail, with the sender's history as counted."""
    return MailFacts(
        mailbox=mailbox,
        sender=message.from_.address if message.from_ else "",
        subject=message.subject,
        text=message.body,
        attachments=tuple(
            AttachmentFacts(a.filename or "", a.content_type.lower()) for a in message.attachments
        ),
        headers=message.headers[:MAX_HEADERS],
        local_time=local_time,
        open_tickets=open_tickets,
        tickets_within=dict(tickets_within or {}),
    )


def needed_skills(
    classification: Classification, engineers: Sequence[EngineerFacts]
) -> tuple[str, ...]:
    known = {skill for e in engineers for skill in e.skills}
    labels = (classification.module, classification.problem_type)
    return tuple(label.lower() for label in labels if label and label.lower() in known)


def triage(
    mail: MailFacts,
    *,
    book: Rulebook,
    engineers: Sequence[EngineerFacts],
    at: datetime,
    asking: bool = True,
) -> Triage:
    """`asking` is False when no acknowledgement goes out (a machine's mail, a flood): missing
    facts are then recorded, but nobody was asked, so the ticket does not wait."""
    domain = mail.sender.rpartition("@")[2]
    classification = escalated(classify(mail, book.ruleset), domain, book.escalations)
    specs = book.required_facts(classification.module)
    found = found_facts(mail.text, specs)
    missing = tuple(spec for spec in specs if spec.name not in found)
    assignment = assign(
        queue=book.queue(classification.queue),
        tier=classification.tier,
        needs=needed_skills(classification, engineers),
        engineers=engineers,
        at=at,
    )
    policy = sla.pick_policy(
        book.policies,
        severity=classification.severity,
        domain=domain,
        queue=classification.queue,
    )
    clocks: tuple[sla.Clock, ...] = ()
    if policy is not None:
        clocks = tuple(sla.start(t, policy.goal(t), at) for t in sla.TARGETS)
        if missing and asking:
            clocks = tuple(
                sla.step(c, sla.Happening.WAITING_ON_CUSTOMER, at, policy.calendar).clock
                for c in clocks
            )
    return Triage(classification, found, missing, assignment, policy, clocks, asking)
