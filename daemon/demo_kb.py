"""The demo's knowledge-base passes: an article answers a customer, a ticket becomes an article.

Carol writes about her VPN dropping; her acknowledgement lists the published article that
matches (the site's file `kb/vpn-drops.md`, numbered by the daemon's sync), and she answers
"Solved, thanks!": the ticket is resolved by the article (a `deflected` event). Then Grace
writes `#kb` on Alice's resolved ticket: the desk drafts an article from its resolution, with
personal data redacted, and mails it to her; she answers `#publish`, and the site built at the
demo's end carries it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from daemon.demo_workflow import DemoDesk, last_outbox, outbox_row, print_mail
from daemon.storage.models import Article, Event, Ticket
from parsers import parse

CAROL = "Carol Diaz <carol@customer.example>"
GRACE = "Grace Hopper <grace@demo.example>"


def walk(desk: DemoDesk, *, now: datetime, first_pass: int) -> None:
    """Passes `first_pass` and `first_pass + 1`: deflection, then a draft published by mail."""
    db = desk.db
    print(f"\npass {first_pass}: Carol's VPN drops; her acknowledgement suggests an article")
    before = last_outbox(db)
    request = desk.make(
        CAROL,
        "VPN drops every few minutes",
        "Hello,\n\nsince Monday our VPN connection drops every few minutes over wifi and we "
        "have to reconnect.\n\nCarol\n",
        when=now,
    )
    desk.deliver(request, at=now)
    with db.read() as session:
        carol = session.scalars(select(Ticket).where(Ticket.subject.like("VPN drops%"))).one()
    ack = outbox_row(db, "ack", carol.id, before)
    print_mail("ack", ack, lines=12)
    solved = desk.answer(parse(ack.raw), CAROL, "Solved, thanks!\n", now + timedelta(minutes=9))
    desk.deliver(solved, at=now + timedelta(minutes=10))
    with db.read() as session:
        ticket = session.get(Ticket, carol.id)
        deflected = session.scalars(
            select(Event).where(Event.ticket_id == carol.id, Event.kind == "deflected")
        ).first()
        print(
            f"  Carol answers “Solved, thanks!”: ticket #{carol.id} is "
            f"{ticket.status if ticket else '?'}"
            f"{', solved by the article (a deflected event)' if deflected else ''}"
        )
    _draft_and_publish(desk, now=now, first_pass=first_pass + 1)


def _draft_and_publish(desk: DemoDesk, *, now: datetime, first_pass: int) -> None:
    db = desk.db
    with db.read() as session:
        alice = session.scalars(select(Ticket).where(Ticket.subject.like("%charged twice%"))).one()
    notice = parse(outbox_row(db, "notice:assigned", alice.id).raw)
    later = now + timedelta(minutes=30)
    print(f"\npass {first_pass}: Grace writes #kb on Alice's ticket; the draft comes by mail")
    before = last_outbox(db)
    desk.deliver(desk.answer(notice, GRACE, "#kb\n", later), at=later)
    draft = outbox_row(db, "notice:kb_draft", alice.id, before)
    print_mail("draft", draft, lines=10)
    publish = desk.answer(parse(draft.raw), GRACE, "#publish\n", later + timedelta(minutes=5))
    desk.deliver(publish, at=later + timedelta(minutes=6))
    with db.read() as session:
        article = session.scalars(
            select(Article).where(Article.ticket_id == alice.id).order_by(Article.id.desc())
        ).first()
    if article is not None:
        print(f"  she answers #publish: article {article.id} “{article.title}” is {article.status}")
