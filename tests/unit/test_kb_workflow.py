"""The knowledge base by mail, in the pipeline: `#kb` drafts, `#publish`, `#article`, review
reminders, suggestions in the acknowledgement and "solved" answers; on SQLite and PostgreSQL.

Mail is fed as the servers would deliver it and the clock is moved by hand; outbox rows are
parsed back, so each test reads what the engineer or the customer would get.
"""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import select

from daemon.config import Settings
from daemon.knowledge import reviews
from daemon.storage.database import Database
from daemon.storage.models import Article, Event, Job, TicketStatus
from daemon.workflow.team import sync_engineers
from tests.unit.conftest import Clock, process
from tests.unit.test_triage import feed, kinds, run_jobs
from tests.unit.test_workflow import ANN, answer, desk, mail, new_ticket, outbox, read, ticket

SITE = "https://help.desk.test"
RESOLUTION = (
    "#resolve Cy reset the VPN client; the password: hunter2 works again, "
    "call +49 30 1234567 or mail cy@cust.test"
)


@pytest.fixture
def team(tmp_path: Path, db: Database) -> Settings:
    settings = desk(tmp_path, db.url, site={"public_url": SITE})
    sync_engineers(db, settings)
    return settings


def only_article(db: Database) -> Article:
    with db.read() as session:
        [article] = session.scalars(select(Article)).all()
        session.expunge(article)
        return article


def event_data(db: Database, kind: str) -> list[dict[str, object]]:
    with db.read() as session:
        rows = session.scalars(select(Event.data).where(Event.kind == kind).order_by(Event.id))
        return list(rows)


def drafted(db: Database, team: Settings, clock: Clock) -> tuple[int, Article]:
    """A ticket from Cy, resolved with `#kb` by Ann: its number and the draft."""
    number = new_ticket(db, team, clock, body="My VPN drops every hour. Cy, +44 20 7946 0958")
    [notice] = outbox(db, "notice:assigned")
    feed(db, clock, answer(notice, f"{RESOLUTION}\n#kb\n"))
    process(team, db, clock)
    return number, only_article(db)


def test_kb_makes_a_redacted_draft_and_mails_it_to_its_owner(
    db: Database, team: Settings, clock: Clock
) -> None:
    number, article = drafted(db, team, clock)
    assert (article.status, article.owner, article.ticket_id) == ("draft", ANN, number)
    for secret in ("hunter2", "1234567", "7946", "cy@cust.test", "Cy"):
        assert secret not in article.body
    assert "[secret]" in article.body and "[phone]" in article.body and "[name]" in article.body
    assert "## Resolution" in article.body and f"- #{number}" in article.body
    assert event_data(db, "kb_proposed")[0]["article"] == article.id
    [draft] = outbox(db, "notice:kb_draft")
    assert draft.recipients == [ANN]
    text = read(draft).full_text
    assert f"draft {article.id}" in text and "#publish" in text and "#article" in text
    assert "hunter2" not in text
    [transcript] = outbox(db, "notice:transcript")
    assert f"draft {article.id}" in read(transcript).full_text


def test_publish_by_reply_publishes_and_schedules_the_review(
    db: Database, team: Settings, clock: Clock
) -> None:
    _, article = drafted(db, team, clock)
    [draft] = outbox(db, "notice:kb_draft")
    clock.advance(hours=1)
    feed(db, clock, answer(draft, "#publish\n"))
    process(team, db, clock)
    published = only_article(db)
    assert (published.status, published.reviewed_at) == ("published", clock())
    with db.read() as session:
        [job] = session.scalars(select(Job).where(Job.kind == "kb_review")).all()
    assert job.due_at == clock() + timedelta(days=180)
    assert job.payload["article"] == article.id
    assert outbox(db, "reply") == []  # nothing went to the customer


def test_article_by_reply_replaces_the_text_and_title_and_tells_nobody_else(
    db: Database, team: Settings, clock: Clock
) -> None:
    number, article = drafted(db, team, clock)
    [draft] = outbox(db, "notice:kb_draft")
    notes = kinds(db, number).count("note_added")
    feed(db, clock, answer(draft, "#article\n\n# VPN drops hourly\n\n## Symptom\n\nIt drops.\n"))
    process(team, db, clock)
    edited = only_article(db)
    assert (edited.id, edited.title, edited.status) == (article.id, "VPN drops hourly", "draft")
    assert edited.body == "## Symptom\n\nIt drops."
    assert outbox(db, "reply") == []
    assert kinds(db, number).count("note_added") == notes


def test_a_reply_to_the_draft_mail_with_new_text_edits_that_draft_and_reaches_no_customer(
    db: Database, team: Settings, clock: Clock
) -> None:
    number, first = drafted(db, team, clock)
    [first_mail] = outbox(db, "notice:kb_draft")
    text = read(first_mail).full_text
    assert "Nothing you write in reply to this mail goes to the customer." in text
    clock.advance(minutes=5)
    [assigned] = outbox(db, "notice:assigned")
    feed(db, clock, answer(assigned, "#kb\n"))  # a second draft: the latest is not the first
    process(team, db, clock)
    clock.advance(minutes=5)
    feed(db, clock, answer(first_mail, "# VPN drops hourly\n\n## Symptom\n\nIt drops.\n"))
    process(team, db, clock)
    with db.read() as session:
        edited, second = session.scalars(select(Article).order_by(Article.id)).all()
    assert (edited.id, edited.title, edited.body) == (
        first.id,
        "VPN drops hourly",
        "## Symptom\n\nIt drops.",
    )
    assert second.title == first.title  # the later draft is untouched
    assert outbox(db, "reply") == []  # nothing went to the customer
    transcripts = [read(t).subject for t in outbox(db, "notice:transcript")]
    assert any(f"knowledge-base article {first.id}: text replaced" in s for s in transcripts)
    assert kinds(db, number).count("note_added") == 0


def test_a_plain_reply_to_any_other_notice_still_goes_to_the_customer(
    db: Database, team: Settings, clock: Clock
) -> None:
    drafted(db, team, clock)
    [assigned] = outbox(db, "notice:assigned")
    feed(db, clock, answer(assigned, "Hello Cy, it works again.\n"))
    process(team, db, clock)
    [reply] = outbox(db, "reply")
    assert "it works again" in read(reply).full_text


@pytest.mark.parametrize(
    "body",
    ["#publish 999\n#tag +kb\n", "#article\n#tag +kb\n", "#article 999\n\nnew text\n"],
)
def test_a_wrong_kb_command_changes_nothing(
    db: Database, team: Settings, clock: Clock, body: str
) -> None:
    number, article = drafted(db, team, clock)
    [draft] = outbox(db, "notice:kb_draft")
    feed(db, clock, answer(draft, body))
    process(team, db, clock)
    after = only_article(db)
    assert (after.status, after.title, after.body) == (article.status, article.title, article.body)
    assert "kb" not in ticket(db, number).tags
    [refused] = outbox(db, "notice:commands_refused")
    assert "line 1" in read(refused).full_text


def test_publish_without_a_draft_on_the_ticket_is_refused(
    db: Database, team: Settings, clock: Clock
) -> None:
    new_ticket(db, team, clock)
    [notice] = outbox(db, "notice:assigned")
    feed(db, clock, answer(notice, "#publish\n"))
    process(team, db, clock)
    [refused] = outbox(db, "notice:commands_refused")
    assert "has no knowledge-base draft" in read(refused).full_text


def test_the_review_reminder_is_mailed_once(db: Database, team: Settings, clock: Clock) -> None:
    _, article = drafted(db, team, clock)
    [draft] = outbox(db, "notice:kb_draft")
    feed(db, clock, answer(draft, "#publish\n"))
    process(team, db, clock)
    clock.advance(days=179)
    run_jobs(db, clock, team)
    assert outbox(db, "notice:kb_review") == []
    clock.advance(days=2)
    run_jobs(db, clock, team)
    [reminder] = outbox(db, "notice:kb_review")
    assert reminder.recipients == [ANN]
    assert f"#publish {article.id}" in read(reminder).full_text
    assert only_article(db).reminded_at == clock()
    with db.transaction() as session:
        again = session.get_one(Article, article.id)
        assert not reviews.schedule(session, again, now=clock())
    clock.advance(days=30)
    run_jobs(db, clock, team)
    assert len(outbox(db, "notice:kb_review")) == 1


def published_article(db: Database, team: Settings, clock: Clock) -> Article:
    drafted(db, team, clock)
    [draft] = outbox(db, "notice:kb_draft")
    feed(db, clock, answer(draft, "#publish\n"))
    process(team, db, clock)
    return only_article(db)


def second_request(db: Database, team: Settings, clock: Clock, subject: str) -> int:
    clock.advance(hours=1)
    body = "Hello, since today the VPN drops every hour for me.\n"
    feed(db, clock, mail(body, sender="Zed <zed@other.test>", subject=subject))
    [outcome] = process(team, db, clock)
    assert outcome.ticket_id is not None
    return outcome.ticket_id


def test_an_acknowledgement_lists_the_matching_article_and_solved_resolves(
    db: Database, team: Settings, clock: Clock
) -> None:
    article = published_article(db, team, clock)
    number = second_request(db, team, clock, "VPN keeps dropping")
    ack = next(a for a in outbox(db, "ack") if a.ticket_id == number)
    text = read(ack).full_text
    assert article.title in text
    # The repository's site is built by Material's offline plugin: no directory URLs.
    link = f"{SITE}/kb/{article.id}-{article.slug}.html?from=mail"
    assert link in text and '"solved"' in text
    assert event_data(db, "kb_suggested")[-1]["articles"] == [article.id]
    clock.advance(minutes=10)
    reply = mail("Solved, thanks!\n", sender="Zed <zed@other.test>", reply_to=ack,
                 subject=f"Re: {read(ack).subject}")  # fmt: skip
    feed(db, clock, reply)
    process(team, db, clock)
    assert ticket(db, number).status == TicketStatus.RESOLVED
    assert event_data(db, "deflected") == [{"article": article.id}]
    [status] = [s for s in outbox(db, "status:resolved") if s.ticket_id == number]
    assert status.recipients == ["zed@other.test"]


def test_any_other_answer_to_the_suggestions_is_a_normal_reply(
    db: Database, team: Settings, clock: Clock
) -> None:
    published_article(db, team, clock)
    number = second_request(db, team, clock, "VPN keeps dropping")
    ack = next(a for a in outbox(db, "ack") if a.ticket_id == number)
    reply = mail("Not solved, it still drops\n", sender="Zed <zed@other.test>", reply_to=ack,
                 subject=f"Re: {read(ack).subject}")  # fmt: skip
    feed(db, clock, reply)
    process(team, db, clock)
    assert ticket(db, number).status != TicketStatus.RESOLVED
    assert event_data(db, "deflected") == []
    assert "message_received" in kinds(db, number)


def test_an_unrelated_request_gets_no_suggestion(
    db: Database, team: Settings, clock: Clock
) -> None:
    published_article(db, team, clock)
    clock.advance(hours=1)
    feed(db, clock, mail("Please send the invoice for March.\n", sender="zed@other.test",
                         subject="Invoice for March"))  # fmt: skip
    [outcome] = process(team, db, clock)
    assert outcome.ticket_id is not None
    ack = next(a for a in outbox(db, "ack") if a.ticket_id == outcome.ticket_id)
    assert "solved" not in read(ack).full_text
    assert "kb_suggested" not in kinds(db, outcome.ticket_id)


def test_a_new_review_starts_a_new_period_and_the_old_job_sends_nothing(
    db: Database, team: Settings, clock: Clock
) -> None:
    published_article(db, team, clock)
    [draft] = outbox(db, "notice:kb_draft")
    clock.advance(days=10)
    feed(db, clock, answer(draft, "#publish\n"))  # reviewed again: a new period
    process(team, db, clock)
    with db.read() as session:
        assert len(session.scalars(select(Job).where(Job.kind == "kb_review")).all()) == 2
    clock.advance(days=171)  # the first period's end
    run_jobs(db, clock, team)
    assert outbox(db, "notice:kb_review") == []
    clock.advance(days=10)  # the second's
    run_jobs(db, clock, team)
    assert len(outbox(db, "notice:kb_review")) == 1


def test_schedule_all_covers_file_articles_once(db: Database, clock: Clock) -> None:
    with db.transaction() as session:
        for path, status in (("kb/vpn.md", "published"), ("kb/old.md", "retired")):
            session.add(
                Article(path=path, slug=path[3:-3], title=path, body="x", owner="ann@desk.test",
                        module=None, tags=[], tickets=[], status=status, reviewed_at=clock(),
                        review_days=30, created_at=clock(), updated_at=clock())
            )  # fmt: skip
        session.flush()
        assert reviews.schedule_all(session, now=clock()) == 1
        assert reviews.schedule_all(session, now=clock()) == 0
    with db.read() as session:
        [job] = session.scalars(select(Job).where(Job.kind == "kb_review")).all()
    assert job.due_at == clock() + timedelta(days=30)


def test_a_title_from_mail_is_escaped_in_the_acknowledgements_html(
    db: Database, team: Settings, clock: Clock
) -> None:
    drafted(db, team, clock)
    [draft] = outbox(db, "notice:kb_draft")
    title = "<script>alert(1)</script> VPN drops every hour"
    feed(db, clock, answer(draft, f"#article\n#publish\n\n# {title}\n\nThe VPN drops.\n"))
    process(team, db, clock)
    assert only_article(db).title == title
    number = second_request(db, team, clock, "VPN keeps dropping")
    ack = next(a for a in outbox(db, "ack") if a.ticket_id == number)
    mime = message_from_bytes(ack.raw, policy=policy.default)
    html = mime.get_body(preferencelist=("html",))
    assert html is not None
    content = html.get_content()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; VPN drops" in content
    assert "<script>" not in content
