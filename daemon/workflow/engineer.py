"""An engineer's mail on a ticket: who may command (`rules.authority`), the commands applied
whole or not at all (`rules.commands`), and the reply relayed to the customer.

A mail from an engineer's address on a ticket takes one of three ways:

- **engineer** (a reply address signed for them, and a trusted DKIM/DMARC pass where the desk
  requires one): its commands are checked against the ticket; with any error nothing changes
  and the engineer gets one reply naming every error with its line, and the help. Otherwise
  every command is applied, the text after the commands goes to the customer from the support
  address in their thread (unless `#note`, or there is no text), and the engineer gets a
  transcript: what changed, the ticket's state now.
- **held** (no signature, no trusted pass): kept as an internal note; the engineer gets a mail
  with a signed reply address to confirm it (`#accept`) or to send the commands again.
- **customer** (a bad signature, or no trusted pass where required): never commands; kept as
  an internal note, and the attempt is a `command_attempt` event.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon.config import Settings
from daemon.knowledge import drafts
from daemon.mail.compose import Composer
from daemon.mail.reply_address import reply_tag, verify
from daemon.storage import events
from daemon.storage.models import Event, Inbound, Message, Outbox, Ticket, TicketStatus
from daemon.workflow import commands, lifecycle, relay
from daemon.workflow.customer import held_count
from daemon.workflow.facts import recipients
from daemon.workflow.notices import notify
from parsers import ParsedMessage, parse
from parsers.auth_results import passes
from rules import command_ops as ops
from rules.authority import WriterFacts, authority
from rules.command_help import help_text
from rules.commands import parse_commands, remaining_text

AUTH_METHODS = frozenset({"dkim", "dmarc"})
MAX_CONFIRMATIONS = 3  # unsigned mails from one address held on a ticket that each get a notice


def writer_facts(message: ParsedMessage, ticket_id: int, settings: Settings) -> WriterFacts:
    """What `rules.authority` needs: the signature on the reply address, the trusted pass."""
    sender = message.from_.address if message.from_ else ""
    workflow = settings.workflow
    secret = settings.reply_secret()
    ours = frozenset(settings.desk.addresses)
    tags = [t for t in (reply_tag(a, ours) for a in recipients(message)) if t is not None]
    valid = secret is not None and any(
        tag.ticket == ticket_id
        and verify(
            tag,
            secret.get_secret_value().strip(),
            sender,
            for_ticket=workflow.reply_signed_for == "ticket",
        )
        for tag in tags
    )
    headers = [v for k, v in message.headers if k.lower() == "authentication-results"]
    return WriterFacts(
        sender=sender,
        is_engineer=settings.engineer(sender) is not None,
        signed=bool(tags),
        signature_valid=valid,
        authenticated=passes(
            headers,
            trusted=frozenset(workflow.trusted_authserv_ids),
            domain=sender.rpartition("@")[2],
            methods=AUTH_METHODS,
        ),
        require_authentication=workflow.require_authentication,
    )


def engineer_wrote(
    session: Session,
    ticket: Ticket,
    message: ParsedMessage,
    row: Message,
    *,
    composer: Composer,
    now: datetime,
    cause: str,
) -> None:
    """An engineer's mail on `ticket` (stored as `row`): by who may command, as above."""
    settings = composer.settings
    decision = authority(writer_facts(message, ticket.id, settings))
    row.author_kind = "engineer"
    row.public = False
    sender = decision.hits[0].matched if decision.hits else row.author_address
    if decision.verdict == "customer":
        attempt = events.CommandAttempt(
            message=row.id, sender=sender, verdict="customer", hits=events.hits(decision.hits)
        )
        events.record(session, attempt, ticket_id=ticket.id, at=now, actor="system", cause=cause)
        return
    if decision.verdict == "held":
        _hold(session, ticket, message, row, composer=composer, now=now, cause=cause)
        return
    act(session, ticket, message, row, composer=composer, now=now, cause=cause)


def _hold(
    session: Session,
    ticket: Ticket,
    message: ParsedMessage,
    row: Message,
    *,
    composer: Composer,
    now: datetime,
    cause: str,
) -> None:
    row.held = True
    why = "sent without a signed reply address and without a trusted DKIM or DMARC pass"
    asked: list[int] = []
    if held_count(session, ticket, row.author_address) <= MAX_CONFIRMATIONS:
        asked = notify(
            session,
            composer,
            notice="held",
            to=[row.author_address],
            title=f"Confirm your mail: {ticket.subject}"[:200],
            lines=(
                f"Your mail about this ticket was {why}, so it is held as an internal note:",
                "nothing was changed and nothing was sent to the customer.",
                "Reply to this mail with #accept to apply the mail quoted below as you wrote it,",
                "or reply with the commands and text again. If you did not write it, ignore this.",
            ),
            ticket=ticket,
            now=now,
            cause=cause,
            quote=message.body,
            in_reply_to=message.message_id,
        )
    held = events.MailHeld(message=row.id, sender=row.author_address, why=why, notices=asked)
    events.record(session, held, ticket_id=ticket.id, at=now, actor="system", cause=cause)


def act(
    session: Session,
    ticket: Ticket,
    message: ParsedMessage,
    row: Message,
    *,
    composer: Composer,
    now: datetime,
    cause: str,
    accepting: bool = True,
) -> bool:
    """Apply an engineer's mail whole, or refuse it whole with every error; True if applied."""
    settings = composer.settings
    writer = row.author_address
    actor = f"engineer:{writer}"
    parsed = parse_commands(
        message.commands,
        writer=writer,
        ticket=ticket.id,
        engineers={e.address: e.name for e in settings.engineers},
        categories=_categories(settings),
        aliases=settings.workflow.aliases,
    )
    text = remaining_text(message.body, message.commands)
    if not message.commands and text.strip():  # the new text of a draft it answers?
        draft = drafts.answered_draft(session, ticket.id, message)
        if draft is not None:
            parsed = replace(parsed, ops=(ops.ArticleText(line=1, article=draft),))
    errors = [
        *parsed.errors,
        *_ticket_errors(session, ticket, parsed.ops, writer, accepting),
        *drafts.check(session, ticket, parsed.ops, text),
    ]
    if errors:
        errors.sort(key=lambda e: e.line)
        lines = tuple(f"line {e.line}: {e.text}\n    {e.message}" for e in errors)
        refused = events.CommandsRefused(message=row.id, errors=list(lines))
        events.record(session, refused, ticket_id=ticket.id, at=now, actor=actor, cause=cause)
        notify(
            session,
            composer,
            notice="commands_refused",
            to=[writer],
            title=f"Nothing changed: {len(errors)} error(s) in your commands"[:200],
            lines=(
                "Your mail was not applied: nothing changed and nothing went to the customer.",
                "Fix these and send it again:",
                *lines,
                "",
                help_text(settings.workflow.aliases),
            ),
            ticket=ticket,
            now=now,
            cause=cause,
            in_reply_to=message.message_id,
        )
        return False
    changes: list[str] = []
    editing = any(isinstance(op, ops.ArticleText) for op in parsed.ops)  # the text is the article's
    note = editing or any(isinstance(op, ops.Note | ops.Merge) for op in parsed.ops)
    resolving = any(_resolves(op) for op in parsed.ops)
    relaying = bool(text) and not note
    answering = (*message.in_reply_to, *message.references)
    for op in sorted(parsed.ops, key=lambda o: not isinstance(o, ops.Accept)):
        if isinstance(op, ops.Accept):  # first: what it applies comes before this mail's own
            changes += _accept(
                session, ticket, writer, answering, composer=composer, now=now, cause=cause
            )
            continue
        changes += commands.apply(
            session,
            ticket,
            op,
            writer=writer,
            text=text,
            relayed=relaying,
            composer=composer,
            now=now,
            cause=cause,
        )
    if relaying:
        footer = ""
        if resolving and ticket.status in lifecycle.DONE:
            days = settings.workflow.reopen_days
            footer = f"\n\n--\nThis ticket is now resolved. Reply within {days} days to reopen it."
        relay.send(session, ticket, message, row, text + footer, composer=composer, now=now)
        changes.append("your reply was sent to the customer")
        if ticket.status == TicketStatus.NEW:
            lifecycle.change(
                session,
                ticket,
                TicketStatus.OPEN,
                composer=composer,
                now=now,
                cause=cause,
                actor=actor,
                reason="an engineer answered the customer",
            )
    elif text and not editing:
        row.body = text
        added = events.NoteAdded(message=row.id)
        events.record(session, added, ticket_id=ticket.id, at=now, actor=actor, cause=cause)
        changes.append("kept as an internal note (nothing sent to the customer)")
    if parsed.ops:
        applied = events.CommandsApplied(
            message=row.id, commands=[c.text for c in message.commands], changes=changes
        )
        events.record(session, applied, ticket_id=ticket.id, at=now, actor=actor, cause=cause)
        wants_help = any(isinstance(op, ops.Help) for op in parsed.ops)
        notify(
            session,
            composer,
            notice="transcript",
            to=[writer],
            title=f"Done: {'; '.join(changes)}"[:200],
            lines=(
                *(f"- {c}" for c in changes),
                *(("", help_text(settings.workflow.aliases)) if wants_help else ()),
            ),
            ticket=ticket,
            now=now,
            cause=cause,
            in_reply_to=message.message_id,
        )
    return True


def _categories(settings: Settings) -> frozenset[str]:
    book = settings.rulebook()
    found = {r.then.module for r in book.ruleset.rules if r.then.module}
    found |= {name for name in book.required if name != "*"}
    return frozenset(n.lower() for n in found)


def _resolves(op: ops.Op) -> bool:
    return isinstance(op, ops.Resolve | ops.Close) or (
        isinstance(op, ops.SetStatus) and op.to in {"resolved", "closed"}
    )


def _ticket_errors(
    session: Session, ticket: Ticket, found: tuple[ops.Op, ...], writer: str, accepting: bool
) -> list[ops.CommandError]:
    """What only the database can say is wrong: a merge target, held mail to accept."""
    errors = []
    for op in found:
        if isinstance(op, ops.Merge):
            into = session.get(Ticket, op.into)
            if into is None:
                why = f"there is no ticket #{op.into}"
            elif into.merged_into is not None or into.status == TicketStatus.CLOSED:
                why = f"#{op.into} is closed or merged itself; merge into an open ticket"
            else:
                continue
            errors.append(ops.CommandError(op.line, f"#merge {op.into}", why))
        if isinstance(op, ops.Accept):
            if not accepting:
                why = "#accept in a held mail is ignored; reply #accept to the notice"
                errors.append(ops.CommandError(op.line, "#accept", why))
            elif not _held(session, ticket):
                why = "there is no held mail on this ticket to accept"
                errors.append(ops.CommandError(op.line, "#accept", why))
    return errors


def _held(session: Session, ticket: Ticket) -> list[Message]:
    query = select(Message).where(Message.ticket_id == ticket.id, Message.held.is_(True))
    return list(session.scalars(query.order_by(Message.id)))


def _accept(
    session: Session,
    ticket: Ticket,
    writer: str,
    answering: tuple[str, ...],
    *,
    composer: Composer,
    now: datetime,
    cause: str,
) -> list[str]:
    """Accept held mail. A stranger's joins the thread (and its writer the Cc list); the
    writer's own unsigned mail is applied as if it had come signed, but only the mail of the
    notice `#accept` answers (`answering`: its In-Reply-To and References): a spoofed mail
    held beside a real one is never applied with it."""
    named = _named_by(session, ticket, answering)
    strangers = {h.author_address for h in _held(session, ticket) if h.id in named}
    changes = []
    for held in _held(session, ticket):
        author = held.author_address
        engineer_mail = composer.settings.engineer(author) is not None
        if engineer_mail and (author != writer or held.id not in named):
            continue  # only its author vouches for it, and only for the mail shown to them
        if not engineer_mail and named and author not in strangers:
            continue
        held.held = False
        accepted = events.MailAccepted(message=held.id, sender=author, as_engineer=engineer_mail)
        actor = f"engineer:{writer}"
        events.record(session, accepted, ticket_id=ticket.id, at=now, actor=actor, cause=cause)
        if engineer_mail and held.inbound_id is not None:
            raw = session.scalar(select(Inbound.raw).where(Inbound.id == held.inbound_id))
            if raw is not None:
                again = parse(raw, tag_prefix=composer.settings.desk.tag_prefix)
                act(
                    session,
                    ticket,
                    again,
                    held,
                    composer=composer,
                    now=now,
                    cause=cause,
                    accepting=False,
                )
                changes.append(f"your held mail of {held.created_at:%Y-%m-%d %H:%M} applied")
            continue
        held.public = True
        if author not in ticket.cc and author != ticket.requester.address:
            ticket.cc = [*ticket.cc, author]
        changes.append(f"mail from {author} accepted; {author} is on the Cc list now")
    return changes or ["no held mail to accept"]


def _named_by(session: Session, ticket: Ticket, answering: tuple[str, ...]) -> set[int]:
    """The held messages whose notices are among the mails `answering` names."""
    if not answering:
        return set()
    ids = set(session.scalars(select(Outbox.id).where(Outbox.message_id.in_(list(answering)[:50]))))
    rows = session.scalars(
        select(Event.data).where(
            Event.ticket_id == ticket.id, Event.kind == events.EventKind.MAIL_HELD.value
        )
    )
    return {int(d["message"]) for d in rows if ids & set(d.get("notices", []))}
