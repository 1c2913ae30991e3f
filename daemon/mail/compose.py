"""Render outgoing mail once, so the bytes and the Message-ID stay the same across retries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from daemon.config import Settings
from parsers import ParsedMessage, format_tag
from rules.intake import LOOP_HEADER


@dataclass(frozen=True, slots=True)
class Composed:
    """A rendered mail: its Message-ID, its envelope and its bytes."""

    message_id: str
    subject: str
    envelope_from: str
    recipients: tuple[str, ...]
    raw: bytes
    text: str


class Composer:
    """Holds the template environment; one per process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.env = Environment(
            loader=PackageLoader("daemon.mail", "templates"),
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )

    def acknowledgement(
        self, *, ticket_id: int, subject: str, message: ParsedMessage, now: datetime
    ) -> Composed:
        """The reply a customer gets when their mail becomes a new ticket."""
        desk = self.settings.desk
        assert message.from_ is not None
        tag = format_tag(ticket_id, tag_prefix=desk.tag_prefix)
        context = {
            "name": message.from_.name,
            "desk": desk.name,
            "number": ticket_id,
            "subject": subject,
            "tag": tag,
        }
        text = self.env.get_template("ack.txt.j2").render(context)
        html = self.env.get_template("ack.html.j2").render(context)
        references = [*message.references]
        if message.message_id:
            references.append(message.message_id)
        mail = self._envelope(
            to=message.from_.address,
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
            recipients=(message.from_.address,),
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
        mail = EmailMessage()
        mail["From"] = formataddr((desk.name, desk.address))
        mail["To"] = to
        mail["Subject"] = subject
        mail["Date"] = format_datetime(now)
        mail["Message-ID"] = make_msgid("replydesk", domain=desk.address.rpartition("@")[2])
        if in_reply_to:
            mail["In-Reply-To"] = in_reply_to
        if references:
            mail["References"] = " ".join(references[-20:])
        mail[LOOP_HEADER] = desk.address
        return mail
