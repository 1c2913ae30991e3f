"""What to do with one incoming mail: a new ticket, a message on an existing one, or nothing.

A pure decision: the daemon gathers the facts (the parsed message, the tickets its headers and
subject point at, how many acknowledgements this sender got lately) and this module decides, with
the reasons, so every decision can be logged as an event and replayed later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from parsers import ParsedMessage

LOOP_HEADER = "X-Replydesk-Loop"
Action = Literal["new_ticket", "attach", "ignore"]


@dataclass(frozen=True, slots=True)
class TicketFacts:
    """What routing needs to know about a ticket a mail points at."""

    id: int
    status: str
    requester: str


@dataclass(frozen=True, slots=True)
class IntakeFacts:
    message: ParsedMessage
    our_addresses: frozenset[str]
    engineers: frozenset[str]
    by_headers: TicketFacts | None
    by_tag: TicketFacts | None
    acks_last_hour: int
    max_acks_per_hour: int


@dataclass(frozen=True, slots=True)
class Route:
    action: Action
    ticket_id: int | None
    public: bool
    reopen: bool
    acknowledge: bool
    reasons: tuple[str, ...]


def is_ours(address: str, our_addresses: frozenset[str]) -> bool:
    """True for a support address and its plus-extensions (`support+t12.x@...`)."""
    local, _, domain = address.lower().partition("@")
    return f"{local.partition('+')[0]}@{domain}" in our_addresses


def route(facts: IntakeFacts) -> Route:
    """Decide, in this order: our own mail, bounces, thread by headers, thread by tag, new."""
    message = facts.message
    sender = message.from_.address if message.from_ else ""
    if message.header(LOOP_HEADER) is not None:
        return _ignore(f"carries our {LOOP_HEADER} header: our own mail came back")
    if sender and is_ours(sender, facts.our_addresses):
        return _ignore(f"sent from our own address {sender}")
    if message.auto.kind == "bounce":
        return _ignore("delivery report: " + "; ".join(message.auto.reasons))
    if not sender:
        return _ignore("no sender address: nobody to answer or file it under")
    thread, why = _thread(facts)
    if thread is not None and thread.status != "closed":
        return _attach(facts, thread, why)
    if message.auto.kind == "autoreply":
        return _ignore("auto-reply that belongs to no open ticket")
    reasons = [why] if thread is not None else ["no thread matched: a new request"]
    if thread is not None:
        reasons[0] += f"; ticket #{thread.id} is closed, so this is a follow-up"
    acknowledge, ack_reasons = _acknowledge(facts, sender)
    return Route(
        action="new_ticket",
        ticket_id=None,
        public=True,
        reopen=False,
        acknowledge=acknowledge,
        reasons=(*reasons, *ack_reasons),
    )


def _thread(facts: IntakeFacts) -> tuple[TicketFacts | None, str]:
    if facts.by_headers is not None:
        return facts.by_headers, f"In-Reply-To/References name a message of #{facts.by_headers.id}"
    if facts.by_tag is not None:
        return facts.by_tag, f"subject tag names #{facts.by_tag.id}"
    return None, ""


def _attach(facts: IntakeFacts, ticket: TicketFacts, why: str) -> Route:
    message = facts.message
    sender = message.from_.address if message.from_ else ""
    reasons = [why]
    public = True
    if message.auto.kind == "autoreply":
        public = False
        reasons.append("auto-reply kept as an internal note")
    elif sender != ticket.requester and sender not in facts.engineers:
        public = False
        reasons.append(f"{sender or 'unknown sender'} is not the requester: held as internal")
    reopen = public and ticket.status in {"pending", "resolved"}
    if reopen:
        reasons.append(f"requester replied to a {ticket.status} ticket: reopened")
    return Route(
        action="attach",
        ticket_id=ticket.id,
        public=public,
        reopen=reopen,
        acknowledge=False,
        reasons=tuple(reasons),
    )


def _acknowledge(facts: IntakeFacts, sender: str) -> tuple[bool, list[str]]:
    """RFC 3834 manners: never answer machines, ourselves, lists, or past the rate limit."""
    auto = facts.message.auto
    if auto.kind is not None:
        return False, [f"no acknowledgement: {auto.kind} ({'; '.join(auto.reasons)})"]
    if facts.acks_last_hour >= facts.max_acks_per_hour:
        return False, [
            f"no acknowledgement: {sender} got {facts.acks_last_hour} in the last hour "
            f"(limit {facts.max_acks_per_hour})"
        ]
    return True, ["acknowledged"]


def _ignore(reason: str) -> Route:
    return Route(
        action="ignore",
        ticket_id=None,
        public=False,
        reopen=False,
        acknowledge=False,
        reasons=(reason,),
    )
