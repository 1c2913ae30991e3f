"""The knowledge base by mail on real servers: `#kb` drafts reach the engineer's mailbox, a
`#publish` reply publishes, and a later customer's acknowledgement lists the article.

As in tests/integration/test_workflow.py, every mail goes through the SMTP relay into Dovecot,
the daemon fetches the support INBOX over IMAP, and the test reads the real mailboxes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from daemon.storage.models import Article, Ticket
from tests.integration.test_workflow import Flow, opened, start_flow, titled
from tests.support.dovecot import Dovecot
from tests.support.mailboxes import MailUsers, make_mail
from tests.support.smtp import SmtpRelay

SITE = "https://help.desk.test/support"


@pytest.fixture
def flow(
    tmp_path: Path, dovecot: Dovecot, smtp_relay: SmtpRelay, db_url: str, mail_users: MailUsers
) -> Iterator[Flow]:
    # A site of its own, with no article files: the repository's would be synced at start-up
    # and compete for the suggestion this test expects.
    (tmp_path / "docs").mkdir()
    mkdocs = tmp_path / "mkdocs.yml"
    mkdocs.write_text("site_name: Test desk\ndocs_dir: docs\n", encoding="utf-8")
    site = f'\n[site]\npublic_url = "{SITE}"\nmkdocs = "{mkdocs}"\n'
    started = start_flow(tmp_path, dovecot, smtp_relay, db_url, mail_users, workflow=site)
    yield started
    started.db.dispose()


def article(flow: Flow) -> Article:
    with flow.db.read() as session:
        found = session.scalars(select(Article).where(Article.ticket_id.is_not(None))).one()
        session.expunge(found)
        return found


def test_a_draft_by_mail_published_by_reply_is_suggested_to_the_next_customer(
    flow: Flow,
) -> None:
    notice = opened(flow)
    flow.clock.advance(minutes=30)
    flow.answer(notice, "#resolve Install client 5.2; the admin password: s3cr3t is reset\n#kb\n")
    [draft] = titled(flow.wait(flow.erin, 3), "Knowledge-base draft")
    drafted = article(flow)
    assert f"draft {drafted.id}" in draft.full_text and "#publish" in draft.full_text
    assert "s3cr3t" not in draft.full_text and "[secret]" in draft.full_text
    assert draft.reply_to and draft.reply_to[0].address.startswith(flow.users.support.login)

    flow.answer(draft, "#publish\n")
    published = article(flow)
    assert (published.status, published.reviewed_at) == ("published", flow.clock())
    [transcript] = titled(flow.wait(flow.erin, 4), "published")
    assert f"article {drafted.id} published" in transcript.full_text

    flow.clock.advance(hours=2)
    carol = flow.carol
    raw = make_mail(
        sender=f"Carol <{carol.address}>",
        to=flow.users.support.address,
        subject="VPN keeps dropping",
        body="Hello, my VPN drops every hour.\n",
    )
    flow.send(raw, sender=carol.address, to=flow.users.support.address)
    [ack] = flow.wait(carol, 1)
    with flow.db.read() as session:
        number = session.scalars(select(Ticket.id).order_by(Ticket.id.desc())).first()
    assert ack.subject.startswith(f"[#{number}] ")
    assert published.title in ack.full_text
    assert f"{SITE}/kb/{published.id}-{published.slug}/" in ack.full_text
    assert [e.data["articles"] for e in flow.events("kb_suggested")] == [[published.id]]
