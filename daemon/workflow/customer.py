"""A customer's mail on an existing ticket: held, a survey answer, or a reply the team hears of.

Routing (`rules.intake`) has decided whose mail it is. A stranger's mail on the thread is held
as an internal note and whoever looks after the ticket (its assignee, else its queue's lead,
else the managers) is asked to `#accept` it; the stranger hears nothing, so a guessed ticket
number neither writes into nor reads from the ticket. An answer to our survey is a rating
event (a later one replaces it: the metrics read the last); a low rating is passed on to the
assignee. "Solved" in answer to an acknowledgement that suggested articles resolves the ticket
(`daemon.knowledge.suggestions.deflect`). Any other reply moves the clocks
(`daemon.workflow.triage.customer_wrote`) and the assignee gets it, quoted, with a reply
address signed for them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from daemon.knowledge import suggestions
from daemon.mail.compose import Composer
from daemon.storage import events
from daemon.storage.models import Message, Ticket
from daemon.workflow import triage
from daemon.workflow.notices import notify
from parsers import ParsedMessage
from rules.intake import Route

LOW_RATING = 2


def caretakers(ticket: Ticket, composer: Composer) -> list[str]:
    """Who hears of a ticket's news: its assignee, else its queue's lead, else the managers."""
    if ticket.assignee is not None:
        return [ticket.assignee.address]
    book = composer.settings.rulebook()
    lead = book.queue(ticket.queue).lead
    return [lead] if lead else list(book.managers)


def held_count(session: Session, ticket: Ticket, sender: str) -> int:
    """How many mails of `sender` wait on the ticket for `#accept` (this one included)."""
    query = select(func.count()).where(
        Message.ticket_id == ticket.id, Message.held.is_(True), Message.author_address == sender
    )
    return int(session.scalar(query) or 0)


def wrote(
    session: Session,
    ticket: Ticket,
    message: ParsedMessage,
    row: Message,
    decision: Route,
    *,
    composer: Composer,
    now: datetime,
    cause: str,
) -> None:
    sender = row.author_address
    actor = f"contact:{sender}"
    if decision.held:
        why = decision.reasons[-1]
        asked: list[int] = []
        if held_count(session, ticket, sender) == 1:  # a flood of mail is one question
            asked = notify(
                session,
                composer,
                notice="held",
                to=caretakers(ticket, composer),
                title=f"Held: a mail from {sender}: {ticket.subject}"[:200],
                lines=(
                    f"{sender} is neither the requester nor on the ticket's Cc list, so the mail",
                    "below is held as an internal note and nobody was told anything.",
                    "Reply #accept to add it to the ticket (and its writer to the Cc list).",
                ),
                ticket=ticket,
                now=now,
                cause=cause,
                quote=message.body,
            )
        held = events.MailHeld(message=row.id, sender=sender, why=why, notices=asked)
        events.record(session, held, ticket_id=ticket.id, at=now, actor="system", cause=cause)
        return
    answer = decision.survey
    if answer is not None:
        if answer.rating is None:
            return  # a comment on the survey: kept on the ticket, nothing more
        rated = events.SurveyAnswered(
            message=row.id, rating=answer.rating, comment=answer.comment, reason=answer.reason
        )
        events.record(session, rated, ticket_id=ticket.id, at=now, actor=actor, cause=cause)
        if answer.rating <= LOW_RATING and ticket.assignee is not None:
            notify(
                session,
                composer,
                notice="low_rating",
                to=[ticket.assignee.address],
                title=f"Rated {answer.rating} of 5: {ticket.subject}"[:200],
                lines=(f"The customer rated this ticket {answer.rating} of 5.",),
                ticket=ticket,
                now=now,
                cause=cause,
                quote=answer.comment or None,
            )
        return
    answer_ok = decision.public and message.auto.kind is None
    if answer_ok and suggestions.deflect(
        session, ticket, message, composer=composer, now=now, cause=cause
    ):
        return  # "solved" to the suggested articles: resolved, nobody to bother
    settings = composer.settings
    triage.customer_wrote(
        session,
        ticket,
        message,
        row,
        public=decision.public,
        settings=settings,
        now=now,
        cause=cause,
    )
    if decision.public and message.auto.kind is None and ticket.assignee is not None:
        notify(
            session,
            composer,
            notice="customer_replied",
            to=[ticket.assignee.address],
            title=f"Customer replied: {ticket.subject}"[:200],
            lines=(f"{sender} wrote on this ticket.",),
            ticket=ticket,
            now=now,
            cause=cause,
            quote=message.body,
            in_reply_to=message.message_id,
        )
