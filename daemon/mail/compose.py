"""Render outgoing mail once, so the bytes and the Message-ID stay the same across retries.

Addresses in headers: ASCII, with the domain in IDNA (punycode), wherever the local part is ASCII,
so the mail passes every relay. When an address has a non-ASCII local part (`jdöe@mächine.example`)
the whole mail is written with UTF-8 headers (RFC 6532), which only a relay offering SMTPUTF8 can
take. The envelope keeps the addresses as given; the transport puts them on the wire. A mail to
several people follows the rule as a whole: one address that needs UTF-8 makes all headers UTF-8.

Who the mail is from, and what it says about itself (RFC 3834): everything the desk writes on its
own (acknowledgements, notices, status mails, surveys) is `Auto-Submitted`, so well-behaved
systems do not answer it automatically; an engineer's reply relayed to a customer is not, because
a person wrote it. All of it carries our loop header, and the ticket's subject tag and the
customer's thread (In-Reply-To, References) wherever a reply should land on the ticket.

What the mails say is in `templates/`; this module decides only what goes into them (a quote cut
to size, one line per fact) and into the headers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Literal

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from daemon.config import Settings
from daemon.mail.parts import FileToSend
from daemon.mail.render import fact_lines, one_line, quoted, shorten
from daemon.mail.reply_address import TICKET_ANYONE, reply_address
from daemon.mail.transports import idna_address, idna_domain
from parsers import ParsedMessage, format_tag
from parsers.filenames import safe_filename
from rules.intake import LOOP_HEADER

__all__ = ["Composed", "Composer", "FileToSend", "TicketSummary"]

SUBJECT_CHARS = 120  # of the ticket's subject in a status mail or survey
STATUS_KINDS = ("resolved", "closed", "reopened_new")

_UTF8 = policy.default.clone(utf8=True)  # RFC 6532 headers; line ends as for ASCII mail
_MIME_TYPE = re.compile(r"^([a-z0-9][a-z0-9!#$&^_.+-]*)/([a-z0-9][a-z0-9!#$&^_.+-]*)$")


@dataclass(frozen=True, slots=True)
class Composed:
    """A rendered mail: its Message-ID, its envelope and its bytes."""

    message_id: str
    subject: str
    envelope_from: str
    recipients: tuple[str, ...]
    raw: bytes
    text: str


@dataclass(frozen=True, slots=True)
class TicketSummary:
    """A ticket as a notice shows it."""

    number: int
    subject: str
    requester: str
    status: str
    severity: int
    tier: int
    queue: str
    category: str | None
    problem_type: str | None
    tags: tuple[str, ...]
    assignee: str | None
    waiting_for: tuple[str, ...]
    clocks: tuple[str, ...]
    facts: tuple[tuple[str, str], ...] = ()  # (name, value), as the ticket's category asks


@dataclass(frozen=True, slots=True)
class ArticleLink:
    """A knowledge-base article an acknowledgement suggests: its number, title, page (or None)."""

    number: int
    title: str
    url: str | None


class Composer:
    """Holds the template environment; one per process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        secret = settings.reply_secret()
        self._secret = secret.get_secret_value().strip() if secret is not None else None
        self.env = Environment(
            loader=PackageLoader("daemon.mail", "templates"),
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )

    @property
    def secret(self) -> str | None:
        """The desk's reply secret, which also signs bounce addresses; None when unset."""
        return self._secret

    def acknowledgement(
        self,
        *,
        ticket_id: int,
        subject: str,
        message: ParsedMessage,
        now: datetime,
        too_large: int | None = None,
        questions: tuple[str, ...] = (),
        articles: tuple[ArticleLink, ...] = (),
    ) -> Composed:
        """The reply a customer gets when their mail becomes a new ticket.

        `too_large` is the size of a mail above the desk's limit: it was kept, but only its
        headers are shown, and the customer is told so (once: in this acknowledgement).
        `questions` ask for the facts the ticket's category needs and the mail did not give.
        `articles` are published articles that may answer it; the customer may reply "solved".
        """
        desk = self.settings.desk
        assert message.from_ is not None
        tag = format_tag(ticket_id, tag_prefix=desk.tag_prefix)
        context = {
            "name": message.from_.name,
            "desk": desk.name,
            "number": ticket_id,
            "subject": subject,
            "tag": tag,
            "too_large_mb": None if too_large is None else f"{too_large / 1_048_576:.1f}",
            "limit_mb": f"{desk.max_mail_bytes / 1_048_576:.0f}",
            "questions": questions,
            "articles": articles,
        }
        text = self.env.get_template("ack.txt.j2").render(context)
        html = self.env.get_template("ack.html.j2").render(context)
        references = [*message.references]
        if message.message_id:
            references.append(message.message_id)
        to = message.from_.address
        mail = self._envelope(
            to=(to,),
            subject=f"{tag} {subject}",
            now=now,
            in_reply_to=message.message_id,
            references=tuple(references),
        )
        mail["Auto-Submitted"] = "auto-replied"
        mail["X-Auto-Response-Suppress"] = "All"
        mail.set_content(text)
        mail.add_alternative(html, subtype="html")
        return _composed(mail, envelope_from=desk.address, recipients=(to,), text=text)

    def notice(
        self,
        *,
        to: str,
        title: str,
        lines: tuple[str, ...],
        ticket: TicketSummary | None,
        now: datetime,
        quote: str | None = None,
        in_reply_to: str | None = None,
        references: tuple[str, ...] = (),
        reply_to: str | None = None,
    ) -> Composed:
        """A mail to the team about a ticket (new mail, assigned, SLA warning, escalated, absence).

        `quote` is the customer's new text, shown quoted and cut to `QUOTE_LINES` lines and
        `QUOTE_CHARS` characters. `in_reply_to` and `references` thread the notice with what the
        engineer already has. With a reply secret configured, a notice about a ticket carries a
        Reply-To signed for that ticket and this engineer (`daemon.mail.reply_address`);
        `reply_to`, when given, is used instead (a ticket-wide address, say)."""
        desk = self.settings.desk
        text = self.env.get_template("notice.txt.j2").render(
            title=title,
            lines=lines,
            ticket=ticket,
            facts=fact_lines(ticket.facts) if ticket is not None else (),
            quote=quoted(quote) if quote else (),
            desk=desk.name,
        )
        tag = f"{format_tag(ticket.number, tag_prefix=desk.tag_prefix)} " if ticket else ""
        if reply_to is None and ticket is not None and self._secret is not None:
            anyone = self.settings.workflow.reply_signed_for == "ticket"
            signer = TICKET_ANYONE if anyone else to  # "ticket": any engineer may answer it
            reply_to = reply_address(desk.address, self._secret, ticket.number, signer)
        mail = self._envelope(
            to=(to,),
            subject=f"{tag}{title}",
            now=now,
            in_reply_to=in_reply_to,
            references=references,
            reply_to=reply_to,
        )
        _mark_automatic(mail)
        mail.set_content(text)
        return _composed(mail, envelope_from=desk.address, recipients=(to,), text=text)

    def public_reply(
        self,
        *,
        ticket: int,
        subject: str,
        to: tuple[str, ...],
        cc: tuple[str, ...],
        author: str,
        text: str,
        attachments: tuple[FileToSend, ...],
        in_reply_to: str | None,
        references: tuple[str, ...],
        now: datetime,
    ) -> Composed:
        """An engineer's answer, relayed to the customer (and the Cc) from the desk's address.

        A person wrote it, so it carries no Auto-Submitted header: the customer's mail system
        may answer it like any mail (our loop header still tells us it was ours). Every address
        in `to` and `cc` is an envelope recipient, each once whatever its case."""
        desk = self.settings.desk
        recipients = _unique((*to, *cc))
        if not recipients:
            raise ValueError("a public reply needs at least one recipient")
        shown_to = _unique(to)
        author = one_line(author)
        tag = format_tag(ticket, tag_prefix=desk.tag_prefix)
        body = text if text.endswith("\n") else f"{text}\n"
        mail = self._envelope(
            to=shown_to,
            cc=recipients[len(shown_to) :],
            sender=f"{author} ({desk.name})" if author else desk.name,
            subject=f"{tag} {one_line(subject)}",
            now=now,
            in_reply_to=in_reply_to,
            references=references,
        )
        mail.set_content(body)
        for number, file in enumerate(attachments, start=1):
            maintype, subtype = _content_type(file.content_type)
            filename = safe_filename(file.filename) or f"attachment-{number}"
            mail.add_attachment(file.data, maintype, subtype, filename=filename)
        return _composed(mail, envelope_from=desk.address, recipients=recipients, text=body)

    def customer_status(
        self,
        *,
        kind: Literal["resolved", "closed", "reopened_new"],
        ticket: int,
        subject: str,
        to: str,
        name: str,
        resolution: str | None,
        in_reply_to: str | None,
        references: tuple[str, ...],
        now: datetime,
        reopen_days: int = 14,
        linked: int | None = None,
    ) -> Composed:
        """Tell a customer what became of their ticket: resolved (with `resolution`, and how
        long a reply reopens it), closed after a quiet period (a reply opens a new ticket), or
        a new ticket (`ticket`) opened by their reply to closed ticket `linked`."""
        if kind not in STATUS_KINDS:
            raise ValueError(f"unknown status mail {kind!r}")
        if kind == "reopened_new" and linked is None:
            raise ValueError("a reopened_new status mail needs the closed ticket it follows")
        desk = self.settings.desk
        tag = format_tag(ticket, tag_prefix=desk.tag_prefix)
        text = self.env.get_template("status.txt.j2").render(
            kind=kind,
            name=one_line(name),
            number=ticket,
            tag=tag,
            subject=subject,
            resolution=quoted(resolution, max_lines=400, max_chars=40_000) if resolution else (),
            reopen_days=reopen_days,
            linked=linked,
            desk=desk.name,
        )
        return self._to_customer(
            to=to,
            subject=f"{tag} {shorten(one_line(subject), SUBJECT_CHARS)}",
            text=text,
            in_reply_to=in_reply_to,
            references=references,
            now=now,
        )

    def survey(
        self,
        *,
        ticket: int,
        subject: str,
        to: str,
        name: str,
        in_reply_to: str | None,
        references: tuple[str, ...],
        now: datetime,
    ) -> Composed:
        """Ask the customer to rate a resolved ticket by replying with a number (no link)."""
        desk = self.settings.desk
        tag = format_tag(ticket, tag_prefix=desk.tag_prefix)
        text = self.env.get_template("survey.txt.j2").render(
            name=one_line(name), tag=tag, subject=subject, desk=desk.name
        )
        return self._to_customer(
            to=to,
            subject=f"{tag} How did we do? {shorten(one_line(subject), SUBJECT_CHARS)}",
            text=text,
            in_reply_to=in_reply_to,
            references=references,
            now=now,
        )

    def _to_customer(
        self,
        *,
        to: str,
        subject: str,
        text: str,
        in_reply_to: str | None,
        references: tuple[str, ...],
        now: datetime,
    ) -> Composed:
        """An automatic plain-text mail to a customer, in the thread of their ticket."""
        mail = self._envelope(
            to=(to,), subject=subject, now=now, in_reply_to=in_reply_to, references=references
        )
        _mark_automatic(mail)
        mail.set_content(text)
        return _composed(
            mail, envelope_from=self.settings.desk.address, recipients=(to,), text=text
        )

    def _envelope(
        self,
        *,
        to: tuple[str, ...],
        subject: str,
        now: datetime,
        in_reply_to: str | None,
        references: tuple[str, ...],
        cc: tuple[str, ...] = (),
        reply_to: str | None = None,
        sender: str | None = None,
    ) -> EmailMessage:
        """The headers every mail of ours has; `sender` is the From name (the desk's name)."""
        desk = self.settings.desk
        given = (desk.address, *to, *cc, *((reply_to,) if reply_to else ()))
        forms = _ascii_forms(given)
        utf8 = forms is None
        desk_address, *others = forms or given
        shown_to, shown_cc = others[: len(to)], others[len(to) : len(to) + len(cc)]
        mail = EmailMessage(policy=_UTF8 if utf8 else policy.default)
        # Not formataddr(): it refuses the non-ASCII address a UTF-8 mail may come from.
        mail["From"] = Address(display_name=sender or desk.name, addr_spec=desk_address)
        if shown_to:
            mail["To"] = ", ".join(shown_to)
        if shown_cc:
            mail["Cc"] = ", ".join(shown_cc)
        if reply_to:
            mail["Reply-To"] = others[-1]
        mail["Subject"] = subject
        mail["Date"] = format_datetime(now)
        domain = desk.address.rpartition("@")[2]
        mail["Message-ID"] = make_msgid("replydesk", domain=idna_domain(domain) or domain)
        # A customer's non-ASCII Message-ID can only be quoted in UTF-8 headers.
        if in_reply_to and (utf8 or in_reply_to.isascii()):
            mail["In-Reply-To"] = in_reply_to
        references = tuple(r for r in references if utf8 or r.isascii())
        if references:
            mail["References"] = " ".join(references[-20:])
        mail[LOOP_HEADER] = desk_address
        return mail


def _ascii_forms(addresses: tuple[str, ...]) -> tuple[str, ...] | None:
    """Every address with an IDNA domain; None when one needs UTF-8 headers (so all get them)."""
    forms = tuple(idna_address(a) for a in addresses)
    return None if any(f is None for f in forms) else tuple(f for f in forms if f is not None)


def _composed(
    mail: EmailMessage, *, envelope_from: str, recipients: tuple[str, ...], text: str
) -> Composed:
    return Composed(
        message_id=str(mail["Message-ID"]),
        subject=str(mail["Subject"]),
        envelope_from=envelope_from,
        recipients=recipients,
        raw=mail.as_bytes(),
        text=text,
    )


def _mark_automatic(mail: EmailMessage) -> None:
    """Say the mail was sent by a program (RFC 3834), and ask Exchange not to answer it."""
    mail["Auto-Submitted"] = "auto-generated"
    mail["X-Auto-Response-Suppress"] = "All"


def _unique(addresses: tuple[str, ...]) -> tuple[str, ...]:
    """Each address once, in order, the first spelling kept; case does not make another."""
    seen: dict[str, str] = {}
    for address in (a.strip() for a in addresses):
        if address:
            seen.setdefault(address.lower(), address)
    return tuple(seen.values())


def _content_type(value: str) -> tuple[str, str]:
    """A file's MIME type as (maintype, subtype); application/octet-stream when unusable.

    Containers (`multipart/*`, `message/*`) cannot be carried as bytes in base64, so they go
    as opaque files too."""
    match = _MIME_TYPE.match(value.strip().lower())
    if match is None or match.group(1) in ("multipart", "message"):
        return "application", "octet-stream"
    return match.group(1), match.group(2)
