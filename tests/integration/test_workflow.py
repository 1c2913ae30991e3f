"""The email workflow on real servers: engineers work by reply, customers hear back, surveys
and bounces close the loop (issue #9's proof list).

Every mail travels as it would in production: a customer's or an engineer's mail program sends
through the SMTP relay into Dovecot, the daemon (in this process, with a clock the test moves)
fetches the support INBOX over IMAP, and what it sends goes back through the relay into the real
mailboxes of Alice (the customer) and Erin (the engineer), where the test reads it. An engineer
answers a notice the way a mail client does: to its signed Reply-To, with In-Reply-To set.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from daemon import config
from daemon.service import Daemon, PassReport
from daemon.storage.database import Database
from daemon.storage.models import (
    Contact,
    Event,
    Message,
    Outbox,
    OutboxState,
    SlaClock,
    Ticket,
    TicketStatus,
)
from parsers import ParsedMessage, parse
from tests.integration.desk import make_desk
from tests.support.dovecot import Dovecot
from tests.support.mailboxes import (
    CUSTOMER_DOMAIN,
    MailUser,
    MailUsers,
    deliver,
    fetch_all,
    fresh_user,
    make_mail,
    wait_for_messages,
)
from tests.support.smtp import SmtpRelay

SUBJECT = "VPN drops every hour"
EVERY_DAY = '["mon", "tue", "wed", "thu", "fri", "sat", "sun"]'
WORKFLOW = f"""
days = {EVERY_DAY}
hours = "00:00-24:00"

[[rules.classify]]
name = "vpn"
when.words = ["vpn"]
set.module = "vpn"

[[rules.classify]]
name = "network"
when.words = ["router"]
set.module = "network"

[sla]
calendar = "wall"

[[sla.policies]]
name = "standard"
first_response = "8h"
resolution = "40h"

[workflow]
survey_delay_hours = 1
auto_close_days = 2
reopen_days = 10
"""
STRICT = """require_authentication = true
trusted_authserv_ids = ["mx.desk.test"]
"""


class Clock:
    """The daemon's clock, moved by the test: a Monday morning to start with."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Flow:
    """One desk on the test servers, its daemon, and the people who write to it."""

    daemon: Daemon
    clock: Clock
    users: MailUsers
    carol: MailUser
    dovecot: Dovecot
    relay: SmtpRelay

    @property
    def db(self) -> Database:
        return self.daemon.db

    @property
    def alice(self) -> MailUser:
        return self.users.alice

    @property
    def erin(self) -> MailUser:
        return self.users.erin

    def send(self, raw: bytes, *, sender: str, to: str) -> PassReport:
        """`raw` sent through the relay as a mail program would; once it is in the support
        INBOX, one daemon pass (fetch, process, jobs, send)."""
        with smtplib.SMTP(self.relay.host, self.relay.port, timeout=10) as client:
            client.sendmail(sender, [to], raw)
        return self.pass_with_mail()

    def pass_with_mail(self) -> PassReport:
        wait_for_messages(self.dovecot, self.users.support.login, 1)
        report = self.run()
        assert report.stored == {"support": 1}, report
        return report

    def run(self) -> PassReport:
        """One pass; everything it queued went out (so an empty mailbox means nothing sent)."""
        report = self.daemon.run_once()
        assert not report.source_errors, report.source_errors
        with self.db.read() as session:
            waiting = session.scalars(select(Outbox).where(Outbox.state != OutboxState.SENT))
            assert [(r.kind, r.recipients, r.last_error) for r in waiting] == []
        return report

    def mails(self, user: MailUser) -> list[ParsedMessage]:
        """Everything in `user`'s real INBOX, oldest first."""
        return [parse(raw) for raw in fetch_all(self.dovecot, user.login)]

    def wait(self, user: MailUser, count: int) -> list[ParsedMessage]:
        return [parse(raw) for raw in wait_for_messages(self.dovecot, user.login, count)]

    def customer_writes(self, body: str, *, subject: str = SUBJECT) -> bytes:
        raw = make_mail(
            sender=f"Alice <{self.alice.address}>",
            to=self.users.support.address,
            subject=subject,
            body=body,
        )
        self.send(raw, sender=self.alice.address, to=self.users.support.address)
        return raw

    def answer(
        self,
        notice: ParsedMessage,
        body: str,
        *,
        writer: MailUser | None = None,
        headers: dict[str, str] | None = None,
    ) -> PassReport:
        """What Erin's mail client sends when she answers `notice`: to its Reply-To."""
        writer = writer or self.erin
        [reply_to] = notice.reply_to
        raw = make_mail(
            sender=f"Erin <{writer.address}>",
            to=reply_to.address,
            subject=f"Re: {notice.subject}",
            body=body,
            in_reply_to=notice.message_id,
            headers=headers,
        )
        return self.send(raw, sender=writer.address, to=reply_to.address)

    def ticket(self) -> Ticket:
        with self.db.read() as session:
            found = session.scalars(select(Ticket)).one()
            session.expunge(found)
            return found

    def events(self, kind: str) -> list[Event]:
        with self.db.read() as session:
            found = list(
                session.scalars(select(Event).where(Event.kind == kind).order_by(Event.id))
            )
            session.expunge_all()
            return found

    def messages(self) -> list[Message]:
        with self.db.read() as session:
            found = list(session.scalars(select(Message).order_by(Message.id)))
            session.expunge_all()
            return found

    def outbox(self, kind: str) -> list[Outbox]:
        with self.db.read() as session:
            found = list(
                session.scalars(select(Outbox).where(Outbox.kind == kind).order_by(Outbox.id))
            )
            session.expunge_all()
            return found


def start_flow(
    tmp_path: Path,
    dovecot: Dovecot,
    relay: SmtpRelay,
    db_url: str,
    users: MailUsers,
    *,
    workflow: str = "",
) -> Flow:
    desk = make_desk(
        tmp_path,
        dovecot=dovecot,
        relay=relay,
        db_url=db_url,
        users=users,
        extra=WORKFLOW + workflow,
        assigns=True,
    )
    clock = Clock()
    daemon = Daemon(config.load(desk.config), Database(db_url), clock=clock)
    daemon.start()
    carol = fresh_user("carol", domain=CUSTOMER_DOMAIN)
    return Flow(daemon, clock, users, carol, dovecot, relay)


@pytest.fixture
def flow(
    tmp_path: Path, dovecot: Dovecot, smtp_relay: SmtpRelay, db_url: str, mail_users: MailUsers
) -> Iterator[Flow]:
    started = start_flow(tmp_path, dovecot, smtp_relay, db_url, mail_users)
    yield started
    started.db.dispose()


def opened(flow: Flow, body: str = "My VPN drops every hour since Monday.\n") -> ParsedMessage:
    """Alice's new ticket, assigned to Erin: the assignment notice in Erin's real mailbox."""
    flow.customer_writes(body)
    [ack] = flow.wait(flow.alice, 1)
    assert ack.subject.startswith(f"[#{flow.ticket().id}] ")
    [notice] = flow.wait(flow.erin, 1)
    assert "New ticket for you" in notice.subject and notice.reply_to
    return notice


def change_lines(transcript: ParsedMessage) -> list[str]:
    """The "- what changed" lines of a transcript."""
    return [line for line in transcript.full_text.splitlines() if line.startswith("- ")]


def titled(mails: list[ParsedMessage], words: str) -> list[ParsedMessage]:
    return [m for m in mails if words in m.subject]


def test_an_engineers_reply_reaches_the_customer_without_the_quoted_history(flow: Flow) -> None:
    notice = opened(flow)
    number = flow.ticket().id
    flow.clock.advance(minutes=40)
    quoted = "\n".join(f"> {line}" for line in notice.full_text.splitlines())
    body = (
        "Please install client 5.2: it fixes the hourly drops.\n\n"
        "-- \nErin\nSecond-line support\n\n"
        f"On Mon, 2 Nov 2026 at 10:00, Test Support wrote:\n{quoted}\n"
    )
    flow.answer(notice, body)
    [ack, relayed] = flow.wait(flow.alice, 2)
    assert relayed.from_ is not None and relayed.from_.address == flow.users.support.address
    assert "Erin" in relayed.from_.name
    assert relayed.subject == f"[#{number}] {SUBJECT}"
    [customer_mail] = [
        m for m in flow.messages() if m.direction == "in" and m.author_kind == "contact"
    ]
    assert relayed.in_reply_to == (customer_mail.message_id,)
    assert customer_mail.message_id in relayed.references
    assert ack.message_id in relayed.references
    assert relayed.full_text.strip() == "Please install client 5.2: it fixes the hourly drops."
    assert relayed.header("Auto-Submitted") is None  # a person wrote it
    with flow.db.read() as session:
        first = session.scalars(
            select(SlaClock).where(
                SlaClock.ticket_id == number, SlaClock.target == "first_response"
            )
        ).one()
        assert (first.state, first.outcome) == ("stopped", "met")
    assert [e.data["first"] for e in flow.events("reply_sent")] == [True]


def test_the_assignment_notice_quotes_the_customer_and_lists_each_clock_once(
    flow: Flow,
) -> None:
    notice = opened(flow)
    number = flow.ticket().id
    text = notice.full_text
    assert "> My VPN drops every hour since Monday." in text
    assert f"Ticket #{number}: {SUBJECT}" in text and "Status:    new" in text
    assert "Category:  vpn" in text and f"Assignee:  {flow.erin.address}" in text
    [reply_to] = notice.reply_to
    assert reply_to.address.startswith(f"{flow.users.support.login}+t{number}.")
    assert notice.header("Auto-Submitted") == "auto-generated"
    with flow.db.read() as session:
        targets = session.scalars(select(SlaClock.target).where(SlaClock.ticket_id == number))
        assert sorted(targets) == ["first_response", "resolution"]
    clock_lines = [line.strip() for line in text.splitlines() if "(standard)" in line]
    assert len(clock_lines) == 2, clock_lines  # one line per clock of the ticket


def test_each_command_is_applied_and_shown_in_the_transcript(flow: Flow) -> None:
    notice = opened(flow)
    carol = flow.carol.address
    flow.answer(notice, f"#severity 2\n#tag +vpn -billing\n#category network\n#cc +{carol}\n")
    ticket = flow.ticket()
    assert (ticket.severity, ticket.tags, ticket.category, ticket.cc) == (
        2,
        ["vpn"],
        "network",
        [carol],
    )
    assert len(flow.mails(flow.alice)) == 1  # commands only: nothing to the customer
    [_, first] = flow.wait(flow.erin, 2)
    assert first.subject.startswith(f"[#{ticket.id}] Done: ")
    assert first.in_reply_to and first.reply_to
    changes = change_lines(first)
    assert len(changes) == 4, changes
    for field, value in (("severity", "3 -> 2"), ("tags", "vpn"), ("category", "vpn -> network")):
        assert any(field in c and value in c for c in changes), (field, changes)
    assert any("cc" in c and carol in c for c in changes), changes
    for state in ("Severity:  2", "Category:  network", "Tags: vpn"):
        assert state in first.full_text, state  # the ticket's state now

    flow.answer(
        notice,
        "#resolve Fixed by rolling back the VPN gateway\n\n"
        "The gateway update of Sunday caused the drops; it is rolled back.\n",
    )
    ticket = flow.ticket()
    assert ticket.status == TicketStatus.RESOLVED
    assert ticket.resolution == "Fixed by rolling back the VPN gateway"
    [_, relayed] = flow.wait(flow.alice, 2)
    assert "it is rolled back" in relayed.body and "now resolved" in relayed.full_text
    [copied] = flow.wait(flow.carol, 1)  # the Cc added by #cc
    assert copied.message_id == relayed.message_id
    [_, _, second] = flow.wait(flow.erin, 3)
    changes = change_lines(second)
    assert any("-> resolved" in c for c in changes), changes
    assert any("sent to the customer" in c for c in changes), changes
    assert "Status:    resolved" in second.full_text
    assert [len(e.data["commands"]) for e in flow.events("commands_applied")] == [4, 1]


def test_a_note_reaches_nobody_and_help_mails_the_grammar(flow: Flow) -> None:
    notice = opened(flow)
    flow.answer(notice, "#note\n\nCalled Alice: she tests client 5.2 tonight.\n")
    assert len(flow.mails(flow.alice)) == 1  # the acknowledgement only
    [_, transcript] = flow.wait(flow.erin, 2)
    assert any("internal note" in c for c in change_lines(transcript)), transcript.full_text
    [note] = [m for m in flow.messages() if m.author_kind == "engineer"]
    assert (note.public, note.body) == (False, "Called Alice: she tests client 5.2 tonight.")
    assert flow.outbox("reply") == []

    flow.answer(notice, "#help\n")
    [_, _, helped] = flow.wait(flow.erin, 3)
    assert "Replydesk mail commands" in helped.full_text
    for command in ("#resolve", "#severity 1, 2, 3 or 4", "#accept", "#cc +ADDRESS"):
        assert command in helped.full_text, command
    assert len(flow.mails(flow.alice)) == 1


def test_a_mail_with_wrong_commands_changes_nothing_and_names_every_error(flow: Flow) -> None:
    notice = opened(flow)
    before = flow.ticket()
    flow.answer(notice, "#severity 9\n#frobnicate\n#status maybe\n\nAll done, bye!\n")
    after = flow.ticket()
    assert (after.status, after.severity, after.tags, after.resolved_at) == (
        before.status,
        before.severity,
        before.tags,
        None,
    )
    assert len(flow.mails(flow.alice)) == 1  # the acknowledgement only
    erins = flow.wait(flow.erin, 2)
    [refused] = titled(erins, "Nothing changed")
    assert len(erins) == 2  # the notice and ONE reply
    assert refused.subject == f"[#{after.id}] Nothing changed: 3 error(s) in your commands"
    for expected in ("line 1: #severity 9", "line 2: #frobnicate", "line 3: #status maybe"):
        assert expected in refused.full_text, expected
    assert "#resolve" in refused.full_text  # the help comes with it
    assert flow.events("commands_applied") == []
    [event] = flow.events("commands_refused")
    assert len(event.data["errors"]) == 3


def test_a_spoofed_engineer_from_is_held_until_accepted_from_a_signed_address(
    flow: Flow,
) -> None:
    opened(flow)
    number = flow.ticket().id
    support = flow.users.support.address
    spoof = make_mail(
        sender=f"Erin <{flow.erin.address}>",
        to=support,
        subject=f"Re: [#{number}] {SUBJECT}",
        body="#resolve\n#severity 1\n\nAll fixed, bye.\n",
    )
    flow.send(spoof, sender=flow.erin.address, to=support)
    ticket = flow.ticket()
    assert ticket.severity == 3 and ticket.status != TicketStatus.RESOLVED
    assert len(flow.mails(flow.alice)) == 1  # nothing relayed
    [held] = [m for m in flow.messages() if m.author_kind == "engineer"]
    assert (held.public, held.held) == (False, True)
    [_, confirm] = flow.wait(flow.erin, 2)
    assert confirm.subject == f"[#{number}] Confirm your mail: {SUBJECT}"
    assert "#accept" in confirm.full_text and "All fixed, bye." in confirm.full_text
    [reply_to] = confirm.reply_to
    assert reply_to.address.startswith(f"{flow.users.support.login}+t{number}.")

    flow.answer(confirm, "#accept\n")
    ticket = flow.ticket()
    assert (ticket.status, ticket.severity) == (TicketStatus.RESOLVED, 1)
    [_, relayed] = flow.wait(flow.alice, 2)
    assert "All fixed, bye." in relayed.body
    assert [e.data["as_engineer"] for e in flow.events("mail_accepted")] == [True]


def test_authentication_results_count_only_from_the_trusted_server(
    tmp_path: Path, dovecot: Dovecot, smtp_relay: SmtpRelay, db_url: str, mail_users: MailUsers
) -> None:
    flow = start_flow(tmp_path, dovecot, smtp_relay, db_url, mail_users, workflow=STRICT)
    try:
        notice = opened(flow)
        domain = flow.erin.address.rpartition("@")[2]
        forged = {"Authentication-Results": f"evil.example; dkim=pass header.d={domain}"}
        flow.answer(notice, "#severity 1\n\nWe are on it.\n", headers=forged)
        assert flow.ticket().severity == 3
        assert len(flow.mails(flow.alice)) == 1  # nothing relayed
        assert len(flow.mails(flow.erin)) == 1  # no transcript
        [attempt] = flow.events("command_attempt")
        assert attempt.data["verdict"] == "customer"

        trusted = {"Authentication-Results": f"mx.desk.test; dkim=pass header.d={domain}"}
        flow.answer(notice, "#severity 1\n\nWe are on it.\n", headers=trusted)
        assert flow.ticket().severity == 1
        [_, relayed] = flow.wait(flow.alice, 2)
        assert relayed.body.strip() == "We are on it."
        [_, transcript] = flow.wait(flow.erin, 2)
        assert any("severity 3 -> 1" in c for c in change_lines(transcript))
    finally:
        flow.db.dispose()


def test_a_third_partys_mail_on_the_thread_is_held_until_accepted(flow: Flow) -> None:
    opened(flow)
    number = flow.ticket().id
    bob = flow.users.bob
    support = flow.users.support.address
    guess = make_mail(
        sender=f"Bob <{bob.address}>",
        to=support,
        subject=f"Re: [#{number}] {SUBJECT}",  # a guessed ticket number
        body="What did Alice write? I have the same problem.\n",
    )
    flow.send(guess, sender=bob.address, to=support)
    assert flow.mails(bob) == []  # no acknowledgement, nothing of the ticket
    with flow.db.read() as session:
        assert session.scalars(select(Outbox).where(Outbox.to_key == bob.address)).all() == []
    [_, held] = flow.wait(flow.erin, 2)
    assert held.subject.startswith(f"[#{number}] Held: a mail from {bob.address}")
    assert "I have the same problem." in held.full_text and "#accept" in held.full_text
    [row] = [m for m in flow.messages() if m.author_address == bob.address]
    assert (row.public, row.held) == (False, True)
    assert bob.address not in flow.ticket().cc

    flow.answer(held, "#accept\n")
    [row] = [m for m in flow.messages() if m.author_address == bob.address]
    assert (row.public, row.held) == (True, False)
    assert flow.ticket().cc == [bob.address]
    assert [e.data["sender"] for e in flow.events("mail_accepted")] == [bob.address]
    assert flow.mails(bob) == []  # accepting tells Bob nothing either


def test_a_survey_answer_stores_the_rating_and_the_comment(flow: Flow) -> None:
    notice = opened(flow)
    flow.answer(notice, "#resolve Client 5.2 fixes the drops\n")
    [_, resolved] = flow.wait(flow.alice, 2)
    assert "Client 5.2 fixes the drops" in resolved.full_text
    flow.clock.advance(minutes=59)
    flow.run()
    assert len(flow.mails(flow.alice)) == 2  # not yet
    flow.clock.advance(minutes=2)  # past survey_delay_hours
    flow.run()
    [_, _, survey] = flow.wait(flow.alice, 3)
    assert "How did we do?" in survey.subject
    assert survey.header("Auto-Submitted") == "auto-generated"
    answer = make_mail(
        sender=f"Alice <{flow.alice.address}>",
        to=flow.users.support.address,
        subject=f"Re: {survey.subject}",
        body="4 – quick fix\n",
        in_reply_to=survey.message_id,
    )
    flow.send(answer, sender=flow.alice.address, to=flow.users.support.address)
    [rated] = flow.events("survey_answered")
    assert (rated.data["rating"], rated.data["comment"]) == (4, "quick fix")
    assert flow.ticket().status == TicketStatus.RESOLVED  # a rating never reopens


def test_a_bounce_of_the_acknowledgement_marks_the_address_until_it_writes_again(
    flow: Flow,
) -> None:
    notice = opened(flow)
    alice = flow.alice.address
    [ack_row] = flow.outbox("ack")
    verp = ack_row.envelope_from
    local, _, domain = verp.partition("@")
    assert local.startswith(f"{flow.users.support.login}+b{ack_row.id}.")
    assert domain == flow.users.support.address.partition("@")[2]
    [ack] = flow.mails(flow.alice)
    assert ack.header("Return-Path") == f"<{verp}>"  # the VERP address went on the wire
    deliver(flow.dovecot, dsn(to=verp, failed=alice), to=verp, sender="")
    flow.pass_with_mail()
    with flow.db.read() as session:
        contact = session.scalars(select(Contact).where(Contact.address == alice)).one()
        assert contact.bouncing_since == flow.clock.now
    [marked] = flow.events("address_bouncing")
    assert (marked.data["address"], marked.data["matched_by"]) == (alice, "verp")
    [_, told] = flow.wait(flow.erin, 2)
    assert f"Mail to {alice} bounces" in told.subject

    flow.clock.advance(minutes=10)
    flow.answer(notice, "Any news on your side?\n")
    assert len(flow.mails(flow.alice)) == 1  # withheld: the address bounces
    [withheld] = flow.events("mail_withheld")
    assert withheld.data["to"] == [alice]

    flow.customer_writes("I am back, my mailbox was full.\n", subject=f"Re: {ack.subject}")
    with flow.db.read() as session:
        contact = session.scalars(select(Contact).where(Contact.address == alice)).one()
        assert contact.bouncing_since is None
    flow.answer(notice, "Good to have you back.\n")
    [*_, relayed] = flow.wait(flow.alice, 2)
    assert relayed.body.strip() == "Good to have you back."


def test_a_resolved_ticket_closes_itself_after_the_quiet_period(flow: Flow) -> None:
    notice = opened(flow)
    flow.answer(notice, "#resolve\n")
    assert flow.ticket().status == TicketStatus.RESOLVED
    flow.clock.advance(days=2, minutes=-1)
    flow.run()
    assert flow.ticket().status == TicketStatus.RESOLVED
    flow.clock.advance(minutes=2)  # past auto_close_days
    flow.run()
    ticket = flow.ticket()
    assert (ticket.status, ticket.closed_as) == (TicketStatus.CLOSED, None)
    assert ticket.closed_at == flow.clock.now
    closed = titled(flow.wait(flow.alice, 4), f"[#{ticket.id}] {SUBJECT}")
    [status] = [m for m in closed if "has been closed" in m.full_text]
    assert status.header("Auto-Submitted") == "auto-generated"
    [row] = flow.outbox("status:closed")
    assert row.recipients == [flow.alice.address]


def dsn(*, to: str, failed: str) -> bytes:
    """A delivery report (RFC 3464) from the customer's MX, sent to our envelope sender."""
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.customer.test>\r\n"
        f"To: {to}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <dsn-1@mx.customer.test>\r\n"
        "Date: Mon, 02 Nov 2026 10:05:00 +0000\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n'
        "\r\n--B\r\nContent-Type: text/plain\r\n\r\n"
        "Your mail could not be delivered: the mailbox is full.\r\n"
        "\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.customer.test\r\n\r\n"
        f"Final-Recipient: rfc822; {failed}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "\r\n--B--\r\n"
    ).encode()
