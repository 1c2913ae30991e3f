"""Render outgoing mail once, so the bytes and the Message-ID stay the same across retries.

Addresses in headers: ASCII, with the domain in IDNA (punycode), wherever the local part is ASCII,
so the mail passes every relay. When an address has a non-ASCII local part (`jdöe@mächine.example`)
the whole mail is written with UTF-8 headers (RFC 6532), which only a relay offering SMTPUTF8 can
take. The envelope keeps the addresses as given; the transport puts them on the wire.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from daemon.config import Settings
from daemon.mail.reply_address import reply_address
from daemon.mail.transports import idna_address, idna_domain
from parsers import ParsedMessage, format_tag
from rules.intake import LOOP_HEADER

_UTF8 = policy.default.clone(utf8=True)  # RFC 6532 headers; line ends as for ASCII mail


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

    def acknowledgement(
        self,
        *,
        ticket_id: int,
        subject: str,
        message: ParsedMessage,
        now: datetime,
        too_large: int | None = None,
        questions: tuple[str, ...] = (),
    ) -> Composed:
        """The reply a customer gets when their mail becomes a new ticket.

        `too_large` is the size of a mail above the desk's limit: it was kept, but only its
        headers are shown, and the customer is told so (once: in this acknowledgement).
        `questions` ask for the facts the ticket's category needs and the mail did not give.
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
        }
        text = self.env.get_template("ack.txt.j2").render(context)
        html = self.env.get_template("ack.html.j2").render(context)
        references = [*message.references]
        if message.message_id:
            references.append(message.message_id)
        to = message.from_.address
        mail = self._envelope(
            to=to,
            subject=f"{tag} {subject}",
            now=now,
            in_reply_to=message.message_id,
            references=tuple(references),
        )
        mail["Auto-Submitted"] = "auto-replied"
        mail["X-Auto-Response-Suppress"] = "All"
        mail.set_content(text)
        mail.add_alternative(html, subtype="html")
        return Composed(
            message_id=str(mail["Message-ID"]),
            subject=str(mail["Subject"]),
            envelope_from=desk.address,
            recipients=(to,),
            raw=mail.as_bytes(),
            text=text,
        )

    def notice(
        self,
        *,
        to: str,
        title: str,
        lines: tuple[str, ...],
        ticket: TicketSummary | None,
        now: datetime,
    ) -> Composed:
        """A mail to the team about a ticket (assigned, SLA warning, escalated, absence).

        With a reply secret configured, a notice about a ticket carries a Reply-To signed for
        that ticket and this engineer (`daemon.mail.reply_address`)."""
        desk = self.settings.desk
        text = self.env.get_template("notice.txt.j2").render(
            title=title, lines=lines, ticket=ticket, desk=desk.name
        )
        tag = f"{format_tag(ticket.number, tag_prefix=desk.tag_prefix)} " if ticket else ""
        mail = self._envelope(
            to=to, subject=f"{tag}{title}", now=now, in_reply_to=None, references=()
        )
        mail["Auto-Submitted"] = "auto-generated"
        mail["X-Auto-Response-Suppress"] = "All"
        if ticket is not None and self._secret is not None:
            mail["Reply-To"] = reply_address(desk.address, self._secret, ticket.number, to)
        mail.set_content(text)
        return Composed(
            message_id=str(mail["Message-ID"]),
            subject=str(mail["Subject"]),
            envelope_from=desk.address,
            recipients=(to,),
            raw=mail.as_bytes(),
            text=text,
        )

    def _envelope(
        self,
        *,
        to: str,
        subject: str,
        now: datetime,
        in_reply_to: str | None,
        references: tuple[str, ...],
    ) -> EmailMessage:
        desk = self.settings.desk
        forms = _ascii_forms(to, desk.address)
        utf8 = forms is None
        to, desk_address = forms or (to, desk.address)
        mail = EmailMessage(policy=_UTF8 if utf8 else policy.default)
        mail["From"] = formataddr((desk.name, desk_address))
        mail["To"] = to
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


def _ascii_forms(to: str, desk: str) -> tuple[str, str] | None:
    """Both addresses with IDNA domains; None when one needs UTF-8 headers."""
    ascii_to, ascii_desk = idna_address(to), idna_address(desk)
    if ascii_to is None or ascii_desk is None:
        return None
    return ascii_to, ascii_desk
