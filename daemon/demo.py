"""`replydesk demo`: a sample mailbox, the daemon run over it nine times, and what happened.

Needs no mail server: the mail comes from a Maildir it builds, the database is a SQLite file, and
outgoing mail lands in a Maildir outbox. The rules are the starter rule set of `replydesk init`.
The first pass turns new mail into tickets, each classified, asked for missing facts, assigned
and given SLA deadlines; then a customer answers with the facts asked for and the second pass
merges them and restarts the clock; the third pass is what strangers and broken clients send (a
copied Message-ID, a ticket number out of range, an over-long address, a person's "Auto:"
subject) and shows that the desk goes on; in the fourth an engineer's out-of-office reply hands
their urgent ticket to a colleague; the fifth runs five hours later, when SLA warnings, an
escalation and a breach notice are due. Then one ticket is walked by mail to its end
(`daemon.demo_workflow`): the engineer's reply with commands, resolution, survey, the thread,
and the numbers the event log gives. Last, the site is built from the demo's database into
`demo/site` (`daemon.demo_site`), and the demo says how to open it.
"""

from __future__ import annotations

import mailbox
import secrets
import shutil
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from importlib.resources import files
from pathlib import Path

from sqlalchemy import func, select

from daemon import config, demo_kb, demo_site, demo_workflow
from daemon.service import Daemon, PassReport
from daemon.storage.database import Database
from daemon.storage.models import (
    Engineer,
    Event,
    Inbound,
    InboundState,
    Job,
    Message,
    Outbox,
    SlaClock,
    Ticket,
)
from parsers import parse

SUPPORT = "support@demo.example"

CONFIG = """\
[desk]
name = "Demo Support"
addresses = ["support@demo.example"]
managers = ["manager@demo.example"]      # told when an SLA target is missed
reply_secret_file = "reply_secret"       # signs the reply addresses engineers answer to

[database]
url = "sqlite:///replydesk.db"

[outbox]
maildir = "outbox"

[site]
title = "Demo Support"
out = "site"                             # `replydesk site build` and `site serve` use it
debounce = 0                             # the demo builds its site once, at its end
public_url = "http://127.0.0.1:8000/"    # `site serve`'s: the acknowledgements' links
access_logs = ["access.log"]             # `site serve --access-log`: articles opened, counted

[[maildirs]]
name = "support"
path = "inbox"

[[engineers]]
name = "Grace Hopper"
address = "grace@demo.example"
skills = ["billing:3", "api:1", "login:1", "reports:1"]
timezone = "America/New_York"
hours = "00:00-24:00"                    # on call: the demo runs at any hour
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

[[engineers]]
name = "Linus Wu"
address = "linus@demo.example"
skills = ["login:3", "reports:2"]
timezone = "Asia/Shanghai"
hours = "00:00-24:00"
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
delegate = "grace@demo.example"

[[engineers]]
name = "Ken Sato"
address = "ken@demo.example"
tier = 2
skills = ["api:3", "login:2"]
timezone = "Asia/Tokyo"
hours = "00:00-24:00"
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

[[queues]]
name = "general"
strategy = "skills"
lead = "grace@demo.example"
"""


def demo_config() -> str:
    """The demo's own tables, then the rules of the starter config `replydesk init` writes."""
    starter = files("daemon").joinpath("starter.toml").read_text(encoding="utf-8")
    return CONFIG + "\n" + starter[starter.index(RULES_MARKER) :]


RULES_MARKER = "# ---- rules:"


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
        del mail[name]  # a given header replaces the default one (To)
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
                "紧急：无法登录控制台",
                "您好，\n\n从昨天开始我无法登录控制台，提示“密码错误”，但密码是对的。\n"
                "客户：华东贸易\n环境：Windows 11, Chrome 131\n\n谢谢！\n王伟\n",
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
        f"Customer number: ACME-1042\n"
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
    (folder / "replydesk.toml").write_text(demo_config(), encoding="utf-8")
    (folder / "reply_secret").write_text(secrets.token_urlsafe(32) + "\n", encoding="utf-8")
    settings = config.load(folder / "replydesk.toml")
    now = datetime.now(UTC).replace(microsecond=0)
    inbox = mailbox.Maildir(folder / "inbox", create=True)
    samples = sample_mail(now)
    for _name, raw in samples:
        inbox.add(raw)
    (folder / "access.log").touch()  # the preview server's, read by the daemon
    db = Database(settings.database.url)
    daemon = Daemon(settings, db)
    daemon.start()
    print(f"replydesk demo in {folder}/ — {len(samples)} sample mails in {folder}/inbox\n")
    print("pass 1: new mail (classified, missing facts asked for, assigned, SLA deadlines)")
    _print_pass(daemon.run_once(), db, triage=True)

    outbox = mailbox.Maildir(folder / "outbox", create=False)
    alice_ack = next(
        outbox.get_bytes(key)
        for key, mail in outbox.items()
        if "alice@customer.example" in str(mail["X-Envelope-To"])
    )
    inbox.add(_reply_to_ack(alice_ack, now))
    print("\npass 2: Alice answers her acknowledgement with the customer number it asked for")
    _print_pass(daemon.run_once(), db, triage=True)
    for _name, raw in hostile_mail(samples[0][1], now):
        inbox.add(raw)
    print("\npass 3: strangers and broken clients (nothing stalls the desk)")
    _print_pass(daemon.run_once(), db, hits=True)
    _print_jobs(db)
    before = _last_outbox(db)
    inbox.add(_out_of_office(now))
    print("\npass 4: Linus's out-of-office reply arrives (his urgent ticket moves)")
    _print_pass(daemon.run_once(), db)
    _print_notices(db, before)
    later = now + timedelta(hours=5)
    before = _last_outbox(db)
    print(f"\npass 5: five hours later ({later:%H:%M} UTC): SLA warnings fall due")
    report = Daemon(settings, db, clock=lambda: later, sources=[]).run_once()
    print(f"  ran {report.jobs} due job(s), sent {report.sent.sent} to the outbox")
    _print_notices(db, before)
    desk = demo_workflow.DemoDesk(inbox, settings, db, _mail)
    demo_workflow.walk(desk, now=later, first_pass=6)
    demo_kb.walk(desk, now=later + timedelta(days=2), first_pass=10)
    _print_summary(folder, db)
    config_file = folder / "replydesk.toml"
    if not demo_site.build_and_tell(settings, config_file=config_file):
        db.dispose()
        return 1
    demo_site.read_an_article(settings, db, config_file=config_file, first_pass=12)
    db.dispose()
    return 0


def _out_of_office(now: datetime) -> bytes:
    back = (now + timedelta(days=10)).date()
    return _mail(
        "Linus Wu <linus@demo.example>",
        "自动回复: New ticket for you",
        f"您好，我正在休假，将于{back.month}月{back.day}日回来。紧急事务请联系 Grace。\n",
        when=now,
        headers={"Auto-Submitted": "auto-replied"},
    )


def _last_outbox(db: Database) -> int:
    with db.read() as session:
        return session.scalar(select(func.max(Outbox.id))) or 0


def _print_notices(db: Database, after: int) -> None:
    with db.read() as session:
        rows = session.scalars(
            select(Outbox)
            .where(Outbox.id > after, Outbox.kind.like("notice:%"))
            .order_by(Outbox.id)
        ).all()
        for row in rows:
            subject = parse(row.raw).subject
            print(f"  notice to {row.recipients[0]:<22} {subject[:80]}")
        for engineer in session.scalars(select(Engineer).where(Engineer.away_until.is_not(None))):
            print(f"  {engineer.address} is away until {engineer.away_until:%Y-%m-%d}")


def _print_triage(db: Database, ticket_id: int) -> None:
    with db.read() as session:
        ticket = session.get_one(Ticket, ticket_id)
        label = " / ".join(x for x in (ticket.category, ticket.problem_type) if x) or "-"
        tags = f", tags {', '.join(ticket.tags)}" if ticket.tags else ""
        who = ticket.assignee.address if ticket.assignee else "nobody yet"
        print(
            f"      rules: {label}, severity {ticket.severity}{tags}; queue {ticket.queue}, "
            f"tier {ticket.tier} -> {who}"
        )
        if ticket.waiting_for:
            print(
                f"      asked for: {', '.join(ticket.waiting_for)} (clock paused, {ticket.status})"
            )
        elif ticket.facts:
            print(f"      facts: {', '.join(f'{k}={v[:30]}' for k, v in ticket.facts.items())}")
        clocks = session.scalars(select(SlaClock).where(SlaClock.ticket_id == ticket_id)).all()
        for clock in clocks:
            due = f"due {clock.deadline:%a %H:%M} UTC" if clock.deadline else clock.state
            print(f"      SLA {clock.target:<15} {due} ({clock.policy}, {clock.calendar} hours)")


def _print_pass(
    report: PassReport, db: Database, *, hits: bool = False, triage: bool = False
) -> None:
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
        if triage and outcome.ticket_id:
            _print_triage(db, outcome.ticket_id)
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
        print(
            f"  job {job.id}: {job.kind} {job.payload} due {job.due_at:%a %H:%M} UTC ({job.state})"
        )


def _first_mail(folder: Path) -> Path:
    return min((folder / "inbox" / ".Processed" / "cur").iterdir())


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
        f"  {folder}/outbox/new/        acknowledgements and notices (sent with [smtp] set)\n"
        f"  {folder}/inbox/.Processed/  the mail, moved only after it was stored\n"
        f"  {folder}/replydesk.db       the database (tickets, messages, events, outbox)\n"
        f"  replydesk --config {folder}/replydesk.toml quarantine list\n"
        f"  replydesk --config {folder}/replydesk.toml inbound list --state ignored\n"
        f"  replydesk --config {folder}/replydesk.toml rules test {_first_mail(folder)}"
        "   (a dry run, JSON)"
    )
