"""Articles by mail: `#kb` drafts one from a ticket, `#publish` and `#article` act on it.

`#kb` takes the ticket's resolution (or the text of the engineer's mail), and the customer's
first words as the symptom, takes out personal data (`rules.redact`, with the names of every
contact who wrote on the ticket), and stores a draft in the team's standard shape, owned by the
engineer who wrote `#kb`. The owner gets the draft by mail with the ticket's signed reply
address, so a reply `#publish` publishes it, and a reply that is the new text (a first line
`# Title` the new title) replaces it: a mail without commands that answers a draft mail
(`answered_draft`) is read as `#article N` for that draft, and nothing of it goes to the
customer. `#article [N]` does the same from any mail on the ticket. `check` says beforehand
what only the database knows is wrong with those commands, so the mail is refused whole, never
half applied. Publishing schedules the review reminder (`daemon.knowledge.reviews`).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon.knowledge import articles, reviews
from daemon.mail.compose import Composer
from daemon.storage.bounded import fit
from daemon.storage.models import Article, Contact, Event, Message, Ticket
from daemon.workflow.facts import answered
from daemon.workflow.notices import notify
from parsers import ParsedMessage
from rules import command_ops as ops
from rules.redact import Redaction, redact

SYMPTOM_CHARS = 2000
TO_WRITE = "(to be written)"


def names_on(session: Session, ticket: Ticket) -> list[str]:
    """The names of the requester, the Cc list and everyone else who wrote on the ticket (an
    address's local part is no name: `info` or `admin` would take common words out)."""
    found = [ticket.requester.name]
    found += [
        name
        for name in session.scalars(
            select(Message.author_name).where(
                Message.ticket_id == ticket.id, Message.author_kind == "contact"
            )
        )
        if name
    ]
    if ticket.cc:
        cc = select(Contact.name).where(Contact.address.in_([a.lower() for a in ticket.cc]))
        found += [name for name in session.scalars(cc) if name]
    return [name for name in dict.fromkeys(found) if len(name.strip()) >= 2]


def _first_words(session: Session, ticket: Ticket) -> str:
    body = session.scalar(
        select(Message.body)
        .where(Message.ticket_id == ticket.id, Message.author_kind == "contact")
        .order_by(Message.id)
        .limit(1)
    )
    return (body or "").strip()[:SYMPTOM_CHARS]


def draft_body(*, symptom: str, resolution: str, module: str | None, ticket: int) -> str:
    """The standard shape: Symptom, Environment, Cause, Resolution, Related tickets."""
    return (
        f"## Symptom\n\n{symptom or TO_WRITE}\n\n"
        f"## Environment\n\n{f'Module: {module}' if module else TO_WRITE}\n\n"
        f"## Cause\n\n{TO_WRITE}\n\n"
        f"## Resolution\n\n{resolution or TO_WRITE}\n\n"
        f"## Related tickets\n\n- #{ticket}\n"
    )


def propose(
    session: Session,
    ticket: Ticket,
    *,
    owner: str,
    text: str,
    composer: Composer,
    now: datetime,
    cause: str,
) -> tuple[Article, Redaction, list[int]]:
    """Store a redacted draft from the ticket and mail it to its owner; the draft, what was cut
    and the outbox rows of the mail."""
    names = names_on(session, ticket)
    resolution = redact((ticket.resolution or text).strip(), names=names)
    symptom = redact(_first_words(session, ticket), names=names)
    title = redact(ticket.subject, names=names).text.strip() or f"Ticket {ticket.id}"
    article = articles.create_draft(
        session,
        title=fit(title, 300),
        body=draft_body(
            symptom=symptom.text,
            resolution=resolution.text,
            module=ticket.category,
            ticket=ticket.id,
        ),
        owner=owner,
        module=ticket.category,
        tags=list(ticket.tags),
        ticket_id=ticket.id,
        now=now,
    )
    cut = Redaction(resolution.text, dict(Counter(resolution.counts) + Counter(symptom.counts)))
    notices = notify(
        session,
        composer,
        notice="kb_draft",
        to=[owner],
        title=f"Knowledge-base draft {article.id}: {article.title}"[:200],
        lines=_draft_lines(article, cut),
        ticket=ticket,
        now=now,
        cause=cause,
        quote="",
    )
    return article, cut, notices


def removed(cut: Redaction) -> str:
    """`2 address, 1 phone` or `nothing`: what redaction took out, for the transcript."""
    return ", ".join(f"{n} {kind}" for kind, n in sorted(cut.counts.items())) or "nothing"


def _draft_lines(article: Article, cut: Redaction) -> tuple[str, ...]:
    return (
        f"Your knowledge-base draft {article.id} is below; personal data was taken out",
        f"({removed(cut)}). Check it, then reply to this mail with:",
        "",
        "  #publish        to publish it as it is; or",
        "  the whole new text (a first line '# Title' sets the title), to replace it.",
        "(#article on the first line of any other mail on the ticket, then the new text,",
        "does the same.)",
        "",
        "Nothing you write in reply to this mail goes to the customer.",
        "",
        f"# {article.title}",
        "",
        *article.body.splitlines(),
    )


def answered_draft(session: Session, ticket_id: int, message: ParsedMessage) -> int | None:
    """The article whose draft mail `message` answers, by the `kb_proposed` event that sent
    it; None when it answers no draft mail of this ticket."""
    mails = set(answered(session, message, kind="notice:kb_draft", ticket_id=ticket_id))
    if not mails:
        return None
    proposed = session.scalars(
        select(Event.data)
        .where(Event.ticket_id == ticket_id, Event.kind == "kb_proposed")
        .order_by(Event.id.desc())
    )
    for data in proposed:
        if mails & set(data.get("notices", [])) and data.get("article") is not None:
            return int(data["article"])
    found = latest(session, ticket_id)  # a draft mailed before events named their mails
    return None if found is None else found.id


def latest(session: Session, ticket_id: int) -> Article | None:
    """The newest mail-born, unretired article drafted from this ticket."""
    return session.scalar(
        select(Article)
        .where(
            Article.ticket_id == ticket_id,
            Article.path.is_(None),
            Article.status != "retired",
        )
        .order_by(Article.id.desc())
        .limit(1)
    )


def check(
    session: Session, ticket: Ticket, found: tuple[ops.Op, ...], text: str
) -> list[ops.CommandError]:
    """What only the database can say is wrong with `#publish` and `#article` in this mail."""
    drafting = [op.line for op in found if isinstance(op, ops.Kb) and op.article is None]
    errors: list[ops.CommandError] = []
    for op in found:
        if not isinstance(op, ops.Publish | ops.ArticleText):
            continue
        name = "#publish" if isinstance(op, ops.Publish) else "#article"
        written = f"{name} {op.article}" if op.article is not None else name
        why = _target_problem(
            session, ticket, op.article, drafted=any(d < op.line for d in drafting)
        )
        if why is None and isinstance(op, ops.ArticleText) and not text.strip():
            why = "#article needs the article's new text after the commands"
        if why is not None:
            errors.append(ops.CommandError(op.line, written, why))
    return errors


def _target_problem(
    session: Session, ticket: Ticket, number: int | None, *, drafted: bool
) -> str | None:
    if number is None:
        if drafted or latest(session, ticket.id) is not None:
            return None
        return "this ticket has no knowledge-base draft: write #kb first, or name the article"
    article = session.get(Article, number)
    if article is None:
        return f"there is no knowledge-base article {number}"
    if article.path is not None:
        return f"article {number} is the file {article.path}: edit the file instead"
    if article.status == "retired":
        return f"article {number} is retired"
    return None


def _target(session: Session, ticket: Ticket, number: int | None) -> Article:
    found = latest(session, ticket.id) if number is None else session.get(Article, number)
    if found is None:  # `check` ran first; this is a guard, not a path
        raise articles.ArticleError(f"no article for #{ticket.id} ({number})")
    return found


def publish(session: Session, ticket: Ticket, number: int | None, *, now: datetime) -> list[str]:
    """`#publish [N]`: the article published (and reviewed now), its reminder scheduled."""
    article = articles.publish(session, _target(session, ticket, number).id, now=now)
    reviews.schedule(session, article, now=now)
    due = reviews.due(article)
    when = f"; review due {due:%Y-%m-%d}" if due is not None else ""
    return [f"knowledge-base article {article.id} published{when}"]


def split_title(text: str) -> tuple[str | None, str]:
    """A first line `# Title` is the title; the rest (leading blank lines dropped) the body."""
    first, _, rest = text.strip().partition("\n")
    if first.startswith("# "):
        return first[2:].strip() or None, rest.strip()
    return None, text.strip()


def replace(
    session: Session, ticket: Ticket, number: int | None, text: str, *, now: datetime
) -> list[str]:
    """`#article [N]`: the article's text (and title, when given) replaced by the mail's."""
    title, body = split_title(text)
    target = _target(session, ticket, number)
    article = articles.replace_text(
        session, target.id, title=None if title is None else fit(title, 300), body=body, now=now
    )
    return [f"knowledge-base article {article.id}: text replaced ({article.status})"]
