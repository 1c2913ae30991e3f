"""What to do with one incoming mail: a new ticket, a message on an existing one, or nothing.

A pure decision: the daemon gathers the facts (the parsed message, the tickets its headers and
subject point at, the acknowledgements this sender and their domain got lately) and this module
decides, with the rules that hit, so every decision can be recorded as an event and replayed.

The order, first match wins: our own mail coming back, a delivery report, no sender, the thread
(see `pick_thread`), an auto-reply outside any thread, else a new ticket. A new ticket is
acknowledged unless a machine wrote the mail, a rate limit is reached (per person per hour and
per day, per domain per day; a person is `address_key`, so `help+1@x` and `help+2@x` count
together), or the mail looks like another help desk answering our own mail of a moment ago.

Threading (`pick_thread`): an engineer writing to a reply address of ours (`support+t12.mac@`)
is on the ticket it names (whether the signature is valid is `rules.authority`'s question); else
the In-Reply-To match first, then a match on a Message-ID we sent
(nobody else can have made it first), then References from the newest. A match on a customer's
Message-ID that more than one sender has used never moves the mail to a ticket whose requester
is someone else: a stranger who copied an ID cannot steer another customer's replies.

On a thread (`_attach`): mail from the requester, the ticket's Cc list and the team is public;
anyone else's is held as an internal note until an engineer accepts it (`#accept`), so a guessed
ticket number neither writes into nor reads from another customer's ticket. The requester's
answer to our survey rates the ticket (and never reopens it) unless it reads as a new problem.
A requester's reply reopens a pending or resolved ticket; past the reopen window a resolved
ticket is not reopened: the reply opens a new ticket that follows it, as a reply to a closed one
does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from parsers import ParsedMessage
from rules.hits import Hit
from rules.survey import Answer, read_answer

LOOP_HEADER = "X-Replydesk-Loop"
Action = Literal["new_ticket", "attach", "ignore", "bounce"]
Via = Literal["in_reply_to", "our_message", "references"]


@dataclass(frozen=True, slots=True)
class TicketFacts:
    """What routing needs to know about a ticket a mail points at."""

    id: int
    status: str
    requester: str
    cc: tuple[str, ...] = ()
    resolved_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ThreadCandidate:
    """A ticket one of the mail's thread headers points at, and how much to trust the pointer."""

    ticket: TicketFacts
    via: Via
    message_id: str
    ours: bool
    id_senders: int


@dataclass(frozen=True, slots=True)
class AckLimits:
    per_person_hour: int = 5
    per_person_day: int = 40
    per_domain_day: int = 200


@dataclass(frozen=True, slots=True)
class AckCounts:
    """Acknowledgements sent lately to this sender (as a person) and to their domain."""

    person_hour: int = 0
    person_day: int = 0
    domain_day: int = 0
    mailed_just_now: bool = False


@dataclass(frozen=True, slots=True)
class IntakeFacts:
    message: ParsedMessage
    our_addresses: frozenset[str]
    engineers: frozenset[str]
    threads: tuple[ThreadCandidate, ...] = ()
    by_tag: TicketFacts | None = None
    acks: AckCounts = AckCounts()
    limits: AckLimits = AckLimits()
    foreign_tag: str | None = None
    forced: bool = False
    now: datetime | None = None
    reopen_days: int | None = None  # None: a reply always reopens a resolved ticket
    answers_survey: bool = False  # the thread headers name a survey we sent
    signed_ticket: TicketFacts | None = None  # the ticket a reply address of ours names


@dataclass(frozen=True, slots=True)
class Route:
    action: Action
    ticket_id: int | None
    public: bool
    reopen: bool
    acknowledge: bool
    hits: tuple[Hit, ...]
    held: bool = False  # kept internal until an engineer accepts it (`#accept`)
    follows: int | None = None  # the closed ticket this new one follows
    survey: Answer | None = None  # the mail answers the ticket's survey

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(hit.reason for hit in self.hits)


def is_ours(address: str, our_addresses: frozenset[str]) -> bool:
    """True for a support address and its plus-extensions (`support+t12.x@...`)."""
    local, _, domain = address.lower().partition("@")
    return f"{local.partition('+')[0]}@{domain}" in our_addresses


def route(facts: IntakeFacts) -> Route:
    """Decide, in this order: our own mail, bounces, no sender, thread, auto-reply, new."""
    message = facts.message
    sender = message.from_.address if message.from_ else ""
    if facts.forced and sender:
        return _forced(facts, sender)
    loop = message.header(LOOP_HEADER)
    if loop is not None:
        return _ignore(Hit("loop", LOOP_HEADER, loop, "our own mail came back"))
    if sender and is_ours(sender, facts.our_addresses):
        return _ignore(Hit("own-address", "from", sender, f"sent from our own address {sender}"))
    if message.auto.kind == "bounce":
        why = "; ".join(message.auto.reasons)
        hit = Hit("bounce", "structure", why, f"delivery report: {why}")
        return Route("bounce", None, False, False, False, (hit,))
    if not sender:
        return _ignore(Hit("no-sender", "from", "", "no sender address: nobody to answer"))
    thread, hits = pick_thread(facts, sender)
    if thread is not None and (thread.status != "closed" or _rates(facts, thread, sender)):
        return _attach(facts, thread, sender, hits)
    if message.auto.kind == "autoreply":
        why = "; ".join(message.auto.reasons)
        return _ignore(
            *hits, Hit("autoreply", "auto", why, f"auto-reply in no open ticket ({why})")
        )
    if thread is not None:
        hits.append(
            Hit("closed-follow-up", "ticket", str(thread.id), f"#{thread.id} is closed: new ticket")
        )
    else:
        hits.append(Hit("new-request", "thread", "", "no thread matched: a new request"))
    acknowledge, ack_hit = _acknowledge(facts, sender)
    follows = thread.id if thread is not None else None
    return Route("new_ticket", None, True, False, acknowledge, (*hits, ack_hit), follows=follows)


def _forced(facts: IntakeFacts, sender: str) -> Route:
    """An operator released a set-aside mail as a person's: thread it or open a ticket."""
    by_hand = Hit("by-hand", "inbound", "", "released by hand as a person's mail")
    thread, hits = pick_thread(facts, sender)
    if thread is not None and thread.status != "closed":
        return _attach(facts, thread, sender, [by_hand, *hits])
    acknowledge, ack_hit = _acknowledge(facts, sender, machine_checked=True)
    return Route("new_ticket", None, True, False, acknowledge, (by_hand, *hits, ack_hit))


def pick_thread(facts: IntakeFacts, sender: str) -> tuple[TicketFacts | None, list[Hit]]:
    """The ticket the mail continues, by the trust order in the module docstring."""
    hits: list[Hit] = []
    if facts.signed_ticket is not None and sender in facts.engineers:
        ticket = facts.signed_ticket
        why = f"an engineer wrote to the reply address of #{ticket.id}"
        return ticket, [Hit("thread-reply-address", "to", str(ticket.id), why)]
    order = {"in_reply_to": 0, "our_message": 1, "references": 2}
    for candidate in sorted(facts.threads, key=lambda c: order[c.via]):
        ticket = candidate.ticket
        if not candidate.ours and candidate.id_senders > 1 and ticket.requester != sender:
            hits.append(
                Hit(
                    "shared-message-id",
                    candidate.via,
                    candidate.message_id,
                    f"{candidate.message_id} was used by {candidate.id_senders} senders; "
                    f"not moving {sender} onto #{ticket.id} of {ticket.requester}",
                )
            )
            continue
        where = {"in_reply_to": "In-Reply-To", "our_message": "our Message-ID in References"}
        field = where.get(candidate.via, "References")
        hits.append(
            Hit(
                f"thread-{candidate.via.replace('_', '-')}",
                field,
                candidate.message_id,
                f"{field} names a message of #{ticket.id}",
            )
        )
        return ticket, hits
    if facts.by_tag is not None:
        ticket = facts.by_tag
        hits.append(Hit("thread-tag", "subject", str(ticket.id), f"subject tag names #{ticket.id}"))
        return ticket, hits
    return None, hits


def _attach(facts: IntakeFacts, ticket: TicketFacts, sender: str, hits: list[Hit]) -> Route:
    """A mail on an open thread: public from the requester, the Cc list and the team; a
    stranger's is held for `#accept`; a survey answer rates; a late reply opens a new ticket."""
    message = facts.message
    if message.auto.kind == "autoreply":
        hits.append(Hit("autoreply-note", "auto", "autoreply", "auto-reply kept as internal"))
        return Route("attach", ticket.id, False, False, False, tuple(hits))
    if sender != ticket.requester and sender not in ticket.cc and sender not in facts.engineers:
        why = f"{sender} is neither the requester nor on the Cc list: held until #accept"
        hits.append(Hit("not-requester", "from", sender, why))
        return Route("attach", ticket.id, False, False, False, tuple(hits), held=True)
    if _rates(facts, ticket, sender):
        answer = read_answer(message.body)
        hits.append(Hit("survey-answer", "body", str(answer.rating or ""), answer.reason))
        return Route("attach", ticket.id, True, False, False, tuple(hits), survey=answer)
    if facts.answers_survey and sender == ticket.requester:
        hits.append(Hit("survey-new-problem", "body", "", read_answer(message.body).reason))
    if sender in facts.engineers and sender != ticket.requester:
        return Route("attach", ticket.id, True, False, False, tuple(hits))
    if ticket.status == "resolved" and _past_window(facts, ticket):
        why = f"#{ticket.id} was resolved more than {facts.reopen_days} days ago: new ticket"
        hits.append(Hit("reopen-window-passed", "status", "resolved", why))
        acknowledge, ack_hit = _acknowledge(facts, sender)
        return Route(
            "new_ticket", None, True, False, acknowledge, (*hits, ack_hit), follows=ticket.id
        )
    reopen = ticket.status in {"pending", "resolved"}
    if reopen:
        hits.append(
            Hit("reopen", "status", ticket.status, f"requester replied to a {ticket.status} ticket")
        )
    return Route("attach", ticket.id, True, reopen, False, tuple(hits))


def _rates(facts: IntakeFacts, ticket: TicketFacts, sender: str) -> bool:
    """The requester answered the ticket's survey with a rating or a comment (not a new problem)."""
    if not facts.answers_survey or sender != ticket.requester:
        return False
    if facts.message.auto.kind is not None:
        return False
    answer = read_answer(facts.message.body)
    return answer.rating is not None or not answer.new_problem


def _past_window(facts: IntakeFacts, ticket: TicketFacts) -> bool:
    if facts.reopen_days is None or facts.now is None or ticket.resolved_at is None:
        return False
    return facts.now - ticket.resolved_at > timedelta(days=facts.reopen_days)


def _acknowledge(
    facts: IntakeFacts, sender: str, *, machine_checked: bool = False
) -> tuple[bool, Hit]:
    """RFC 3834 manners: never answer machines, ourselves, lists, other desks, or floods."""
    auto = facts.message.auto
    if auto.kind is not None and not machine_checked:
        why = "; ".join(auto.reasons)
        return False, Hit(f"no-ack-{auto.kind}", "auto", why, f"no acknowledgement: {auto.kind}")
    acks, limits = facts.acks, facts.limits
    if facts.foreign_tag is not None and acks.mailed_just_now:
        return False, Hit(
            "no-ack-other-desk",
            "subject",
            facts.foreign_tag,
            f"no acknowledgement: another desk's tag {facts.foreign_tag} answering our mail",
        )
    for count, limit, rule, what in (
        (acks.person_hour, limits.per_person_hour, "no-ack-person-hour", "in the last hour"),
        (acks.person_day, limits.per_person_day, "no-ack-person-day", "in the last day"),
        (acks.domain_day, limits.per_domain_day, "no-ack-domain-day", "to its domain today"),
    ):
        if count >= limit:
            return False, Hit(
                rule,
                "from",
                sender,
                f"no acknowledgement: {sender} got {count} {what} (limit {limit})",
            )
    return True, Hit("ack", "from", sender, "acknowledged")


def _ignore(*hits: Hit) -> Route:
    return Route("ignore", None, False, False, False, hits)
