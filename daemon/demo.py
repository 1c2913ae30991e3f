"""`replydesk demo`: a sample mailbox, the daemon run over it three times, and what happened.

Needs no mail server: the mail comes from a Maildir it builds, the database is a SQLite file, and
outgoing mail lands in a Maildir outbox. The first pass turns new mail into tickets; then a
customer answers the acknowledgement and the second pass files that answer on the same ticket;
the third pass is what strangers and broken clients send (a copied Message-ID, a ticket number
out of range, an over-long address, a person's "Auto:" subject) and shows that the desk goes on,
with each decision's rule hits and the jobs it scheduled.
"""

from __future__ import annotations

import mailbox
import shutil
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from sqlalchemy import func, select

from daemon import config
from daemon.service import Daemon, PassReport
from daemon.storage.database import Database
from daemon.storage.models import Event, Inbound, InboundState, Job, Message, Outbox, Ticket
from parsers import parse

SUPPORT = "support@demo.example"

CONFIG = """\
[desk]
name = "Demo Support"
addresses = ["support@demo.example"]

[database]
url = "sqlite:///replydesk.db"

[outbox]
maildir = "outbox"

[[maildirs]]
name = "support"
path = "inbox"

[[engineers]]
name = "Grace Hopper"
address = "grace@demo.example"
skills = ["billing", "api"]
timezone = "America/New_York"
"""


def _mail(
    sender: str,
    subject: str,
    body: str,
    *,
    when: datetime,
    html: str | None = None,
    headers: dict[str, str] | None = None,
    charset: str = "utf-8",
) -> bytes:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = f"Demo Support <{SUPPORT}>"
    mail["Subject"] = subject
    mail["Date"] = format_datetime(when)
    headers = dict(headers or {})
    domain = sender.rpartition("@")[2].rstrip(">")
    mail["Message-ID"] = headers.pop("Message-ID", None) or make_msgid("demo", domain=domain)
    for name, value in headers.items():
        mail[name] = value
    mail.set_content(body, charset=charset)
    if html is not None:
        mail.add_alternative(html, subtype="html")
    return mail.as_bytes()


def sample_mail(now: datetime) -> list[tuple[str, bytes]]:
    """Realistic first-contact mail: several languages, HTML-only, a duplicate, machines, junk."""
    hour = timedelta(hours=1)
    invoice = _mail(
        "Alice Martin <alice@customer.example>",
        "Invoice 2024-118 charged twice",
        "Hello,\n\nmy card was charged twice for invoice 2024-118 (2 x 49.00 EUR).\n"
        "Could you refund one of them?\n\nThanks,\nAlice\n\n-- \nAlice Martin\nACME GmbH\n",
        when=now - 5 * hour,
    )
    return [
        ("invoice", invoice),
        ("invoice-again", invoice),
        (
            "chinese",
            _mail(
                "王伟 <wang.wei@kunde.example>",
                "无法登录控制台",
                "您好，\n\n从昨天开始我无法登录控制台，提示“密码错误”，但密码是对的。\n\n谢谢！\n王伟\n",
                when=now - 4 * hour,
                charset="gb18030",
            ),
        ),
        (
            "japanese",
            _mail(
                "山田太郎 <yamada@kaisha.example>",
                "APIのレート制限について",
                "お世話になっております。\nAPIのレート制限の上限を教えてください。\n\n山田\n",
                when=now - 3 * hour,
            ),
        ),
        (
            "html-only",
            _html_only(now - 2 * hour),
        ),
        (
            "out-of-office",
            _mail(
                "Bob Stone <bob@partner.example>",
                "Out of office: Re: your question",
                "I am out of the office until Monday.\n",
                when=now - hour,
                headers={"Auto-Submitted": "auto-replied", "X-Autoreply": "yes"},
            ),
        ),
        (
            "newsletter",
            _mail(
                "News <news@vendor.example>",
                "Our November newsletter",
                "Ten tips for a better November.\n",
                when=now - hour,
                headers={
                    "List-Id": "<news.vendor.example>",
                    "List-Unsubscribe": "<mailto:leave@vendor.example>",
                    "Precedence": "bulk",
                },
            ),
        ),
        ("not-a-mail", b"\x00\x01\x02 this file is not a mail at all \xff\xfe\n"),
    ]


def hostile_mail(alice_first: bytes, now: datetime) -> list[tuple[str, bytes]]:
    """What a stranger on the internet, or a broken client, can send."""
    alice_id = parse(alice_first).message_id or ""
    copied = _mail(
        "Mallory <mallory@evil.example>",
        "Invoice question",
        "Please send me the invoice details.\n",
        when=now,
        headers={"Message-ID": alice_id.strip("<>")},
    )
    alice_again = _mail(
        "Alice Martin <alice@customer.example>",
        "Re: Invoice 2024-118 charged twice",
        "One more detail: the second charge was on 4 Nov.\n",
        when=now,
        headers={"References": alice_id},
    )
    return [
        ("copied-message-id", copied),
        ("alice-references-only", alice_again),
        (
            "tag-out-of-range",
            _mail(
                "Dan <dan@customer.example>",
                "Re: [#99999999999] printer",
                "Still jammed.\n",
                when=now,
            ),
        ),
        (
            "long-address",
            _mail(f"{'x' * 300}@customer.example", "Long address", "Can you read me?\n", when=now),
        ),
        (
            "auto-subject-person",
            _mail(
                "Erik Berg <erik@customer.example>",
                "Auto: my car was damaged, how do I claim?",
                "Hello, my car was damaged in your car park. How do I claim?\n",
                when=now,
            ),
        ),
    ]


def _html_only(when: datetime) -> bytes:
    mail = EmailMessage()
    mail["From"] = "Carol Diaz <carol@tienda.example>"
    mail["To"] = SUPPORT
    mail["Subject"] = "No puedo exportar a CSV"
    mail["Date"] = format_datetime(when)
    mail["Message-ID"] = make_msgid("demo", domain="tienda.example")
    mail.set_content(
        "<html><body><p>Hola,</p><p>Al exportar el informe a <b>CSV</b> el archivo sale "
        "vacío.</p><p>Saludos,<br>Carol</p></body></html>",
        subtype="html",
    )
    return mail.as_bytes()


def _reply_to_ack(ack: bytes, now: datetime) -> bytes:
    """What Alice's mail client sends when she answers her acknowledgement."""
    parsed = parse(ack)
    quoted = "\n".join("> " + line for line in parsed.full_text.splitlines())
    return _mail(
        "Alice Martin <alice@customer.example>",
        f"Re: {parsed.subject}",
        f"Here is the bank statement line: 2 x 49.00 EUR on 3 Nov.\n\n"
        f"On {format_datetime(now)}, Demo Support wrote:\n{quoted}\n",
        when=now,
        headers={
            "In-Reply-To": parsed.message_id or "",
            "References": " ".join((*parsed.references, parsed.message_id or "")),
        },
    )


def run(folder: Path) -> int:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / "replydesk.toml").write_text(CONFIG, encoding="utf-8")
    settings = config.load(folder / "replydesk.toml")
    now = datetime.now(UTC).replace(microsecond=0)
    inbox = mailbox.Maildir(folder / "inbox", create=True)
    samples = sample_mail(now)
    for _name, raw in samples:
        inbox.add(raw)
    db = Database(settings.database.url)
    daemon = Daemon(settings, db)
    daemon.start()
    print(f"replydesk demo in {folder}/ — {len(samples)} sample mails in {folder}/inbox\n")
    print("pass 1: new mail")
    _print_pass(daemon.run_once(), db)

    outbox = mailbox.Maildir(folder / "outbox", create=False)
    alice_ack = next(
        outbox.get_bytes(key)
        for key, mail in outbox.items()
        if "alice@customer.example" in str(mail["X-Envelope-To"])
    )
    inbox.add(_reply_to_ack(alice_ack, now))
    print("\npass 2: Alice answers her acknowledgement")
    _print_pass(daemon.run_once(), db)
    for _name, raw in hostile_mail(samples[0][1], now):
        inbox.add(raw)
    print("\npass 3: strangers and broken clients (nothing stalls the desk)")
    _print_pass(daemon.run_once(), db, hits=True)
    _print_jobs(db)
    _print_summary(folder, db)
    db.dispose()
    return 0


def _print_pass(report: PassReport, db: Database, *, hits: bool = False) -> None:
    for outcome in report.outcomes:
        where = f" -> ticket #{outcome.ticket_id}" if outcome.ticket_id else ""
        ack = ", acknowledged" if outcome.acknowledged else ""
        with db.transaction() as session:
            subject = (
                session.scalar(select(Ticket.subject).where(Ticket.id == outcome.ticket_id))
                if outcome.ticket_id
                else None
            )
        label = f" “{subject}”" if subject else ""
        print(f"  inbound {outcome.inbound_id}: {outcome.action}{where}{label}{ack}")
        if not hits:
            print(f"      why: {outcome.reasons[0][:110]}")
            continue
        for hit in outcome.hits:
            print(f"      {hit.rule:<20} {hit.reason[:90]}")
    print(f"  stored {sum(report.stored.values())} new, sent {report.sent.sent} to the outbox")


def _print_jobs(db: Database) -> None:
    with db.read() as session:
        jobs = session.scalars(select(Job).order_by(Job.id)).all()
    for job in jobs:
        print(f"  job {job.id}: {job.kind} {job.payload} due {job.due_at:%H:%M} UTC ({job.state})")


def _print_summary(folder: Path, db: Database) -> None:
    with db.transaction() as session:
        tickets = session.scalar(select(func.count(Ticket.id)))
        messages = session.scalar(select(func.count(Message.id)))
        events = session.scalar(select(func.count(Event.id)))
        outbox = session.scalar(select(func.count(Outbox.id)))
        held = session.scalar(
            select(func.count(Inbound.id)).where(Inbound.state == InboundState.QUARANTINED)
        )
    print(
        f"\n{tickets} tickets, {messages} messages, {events} events, {outbox} outgoing mails, "
        f"{held} in quarantine.\nLook at:\n"
        f"  {folder}/outbox/new/        the acknowledgements (would be sent with [smtp] set)\n"
        f"  {folder}/inbox/.Processed/  the mail, moved only after it was stored\n"
        f"  {folder}/replydesk.db       the database (tickets, messages, events, outbox)\n"
        f"  replydesk --config {folder}/replydesk.toml quarantine list\n"
        f"  replydesk --config {folder}/replydesk.toml inbound list --state ignored"
    )
