from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from parsers import parse
from rules.intake import (
    AckCounts,
    AckLimits,
    IntakeFacts,
    ThreadCandidate,
    TicketFacts,
    is_ours,
    route,
)

OURS = frozenset({"support@desk.test"})


def mail(sender: str = "ann@cust.test", **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@desk.test"
    msg["Subject"] = headers.pop("Subject", "Help")
    msg["Message-ID"] = "<m1@cust.test>"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("The printer is on fire.\n")
    return msg.as_bytes()


def facts(raw: bytes, *, by_headers: TicketFacts | None = None, **kw: object) -> IntakeFacts:
    base: dict[str, object] = {
        "message": parse(raw),
        "our_addresses": OURS,
        "engineers": frozenset({"eve@desk.test"}),
    }
    if by_headers is not None:
        base["threads"] = (ThreadCandidate(by_headers, "in_reply_to", "<a@x>", True, 0),)
    base.update(kw)
    return IntakeFacts(**base)  # type: ignore[arg-type]


def test_new_mail_becomes_a_ticket_and_is_acknowledged() -> None:
    decision = route(facts(mail()))
    assert (decision.action, decision.acknowledge, decision.public) == ("new_ticket", True, True)


def test_machines_lists_and_floods_get_no_acknowledgement() -> None:
    assert not route(facts(mail(Auto_Submitted="auto-generated"))).acknowledge
    bulk = route(facts(mail(Precedence="bulk")))
    assert bulk.action == "new_ticket" and not bulk.acknowledge
    flood = route(facts(mail(), acks=AckCounts(person_hour=5)))
    assert flood.action == "new_ticket" and not flood.acknowledge
    assert "limit 5" in flood.reasons[-1]


def test_our_own_mail_and_loops_are_ignored() -> None:
    assert route(facts(mail("support@desk.test"))).action == "ignore"
    assert route(facts(mail("support+t12.abc@desk.test"))).action == "ignore"
    looped = route(facts(mail(X_Replydesk_Loop="support@other.test")))
    assert looped.action == "ignore" and "came back" in looped.reasons[0]


def test_bounces_never_make_tickets() -> None:
    decision = route(facts(mail("MAILER-DAEMON@mx.cust.test", Subject="Undelivered Mail")))
    assert decision.action == "bounce" and not decision.acknowledge
    assert decision.hits[0].rule == "bounce"


def test_headers_win_over_the_tag_and_reopen_a_resolved_ticket() -> None:
    decision = route(
        facts(
            mail(),
            by_headers=TicketFacts(7, "resolved", "ann@cust.test"),
            by_tag=TicketFacts(9, "open", "ann@cust.test"),
        )
    )
    assert (decision.action, decision.ticket_id, decision.reopen) == ("attach", 7, True)


def test_a_stranger_on_a_thread_is_held_as_internal() -> None:
    decision = route(
        facts(mail("mallory@evil.test"), by_tag=TicketFacts(3, "open", "ann@cust.test"))
    )
    assert decision.action == "attach" and not decision.public and not decision.reopen


def test_closed_tickets_get_a_follow_up_and_auto_replies_attach_quietly() -> None:
    closed = route(facts(mail(), by_tag=TicketFacts(3, "closed", "ann@cust.test")))
    assert closed.action == "new_ticket" and "closed" in closed.reasons[1]
    ooo = route(
        facts(
            mail(Auto_Submitted="auto-replied"), by_headers=TicketFacts(3, "open", "ann@cust.test")
        )
    )
    assert ooo.action == "attach" and not ooo.public and not ooo.reopen
    stray = route(facts(mail(Auto_Submitted="auto-replied")))
    assert stray.action == "ignore"


def test_is_ours_knows_plus_addresses() -> None:
    assert is_ours("Support@Desk.test", OURS)
    assert is_ours("support+t1.x@desk.test", OURS)
    assert not is_ours("support@desk.test.evil", OURS)


def test_a_mail_without_sender_is_set_aside_with_the_reason() -> None:
    raw = b"To: support@desk.test\r\nSubject: who am I\r\nMessage-ID: <n@x>\r\n\r\nhello\r\n"
    decision = route(facts(raw))
    assert decision.action == "ignore" and "no sender" in decision.reasons[0]


ALICE = TicketFacts(1, "open", "alice@cust.test")
MALLORY = TicketFacts(2, "open", "mallory@evil.test")


def test_our_own_message_id_wins_over_a_copied_customer_id() -> None:
    """Mallory copied Alice's Message-ID; Alice's reply names our ack and her own ID."""
    threads = (
        ThreadCandidate(MALLORY, "references", "<alice1@cust.test>", False, 2),
        ThreadCandidate(ALICE, "references", "<alice1@cust.test>", False, 2),
        ThreadCandidate(ALICE, "our_message", "<ack1@desk.test>", True, 0),
    )
    decision = route(facts(mail("alice@cust.test"), threads=threads))
    assert (decision.action, decision.ticket_id, decision.public) == ("attach", 1, True)
    assert decision.hits[0].rule == "thread-our-message"


def test_a_shared_customer_id_never_moves_a_mail_to_someone_elses_ticket() -> None:
    threads = (
        ThreadCandidate(MALLORY, "references", "<alice1@cust.test>", False, 2),
        ThreadCandidate(ALICE, "references", "<alice1@cust.test>", False, 2),
    )
    decision = route(facts(mail("alice@cust.test"), threads=threads))
    assert (decision.action, decision.ticket_id) == ("attach", 1)
    assert [h.rule for h in decision.hits][:2] == ["shared-message-id", "thread-references"]
    alone = route(facts(mail("alice@cust.test"), threads=threads[:1]))
    assert alone.action == "new_ticket"


def test_in_reply_to_comes_before_references() -> None:
    threads = (
        ThreadCandidate(MALLORY, "references", "<m@evil.test>", False, 1),
        ThreadCandidate(ALICE, "in_reply_to", "<ack1@desk.test>", True, 0),
    )
    decision = route(facts(mail("alice@cust.test"), threads=threads))
    assert decision.ticket_id == 1 and decision.hits[0].rule == "thread-in-reply-to"


def test_acknowledgement_limits_per_person_day_and_domain() -> None:
    limits = AckLimits(per_person_hour=5, per_person_day=40, per_domain_day=200)
    day = route(facts(mail(), acks=AckCounts(person_day=40), limits=limits))
    assert not day.acknowledge and day.hits[-1].rule == "no-ack-person-day"
    domain = route(facts(mail(), acks=AckCounts(domain_day=200), limits=limits))
    assert not domain.acknowledge and domain.hits[-1].rule == "no-ack-domain-day"
    under = route(facts(mail(), acks=AckCounts(4, 39, 199), limits=limits))
    assert under.acknowledge


def test_another_desk_answering_our_mail_gets_no_acknowledgement() -> None:
    just_now = AckCounts(person_hour=1, mailed_just_now=True)
    other = route(facts(mail(), acks=just_now, foreign_tag="[Ticket#4711]"))
    assert other.action == "new_ticket" and not other.acknowledge
    assert other.hits[-1].rule == "no-ack-other-desk"
    later = route(facts(mail(), acks=AckCounts(person_hour=1), foreign_tag="[Ticket#4711]"))
    assert later.acknowledge


def test_a_mail_released_by_hand_becomes_a_ticket_even_if_it_looked_automatic() -> None:
    decision = route(facts(mail(Auto_Submitted="auto-replied"), forced=True))
    assert decision.action == "new_ticket" and decision.acknowledge
    assert decision.hits[0].rule == "by-hand"


def test_the_ticket_cc_list_may_write_and_strangers_are_held() -> None:
    ticket = TicketFacts(7, "open", "boss@cust.test", cc=("ann@cust.test",))
    copied = route(facts(mail("ann@cust.test"), by_headers=ticket))
    assert (copied.action, copied.public, copied.held) == ("attach", True, False)
    stranger = route(facts(mail("mallory@evil.test"), by_headers=ticket))
    assert (stranger.public, stranger.held, stranger.acknowledge) == (False, True, False)
    assert stranger.hits[-1].rule == "not-requester"


def test_a_resolved_ticket_reopens_within_the_window_and_is_followed_after_it() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    ticket = TicketFacts(7, "resolved", "ann@cust.test", resolved_at=now - timedelta(days=3))
    inside = route(facts(mail(), by_headers=ticket, now=now, reopen_days=5))
    assert (inside.action, inside.reopen) == ("attach", True)
    late = route(facts(mail(), by_headers=ticket, now=now, reopen_days=2))
    assert (late.action, late.follows, late.acknowledge) == ("new_ticket", 7, True)
    assert any(h.rule == "reopen-window-passed" for h in late.hits)


def test_a_survey_answer_rates_and_never_reopens_unless_it_is_a_new_problem() -> None:
    closed = TicketFacts(7, "closed", "ann@cust.test")
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "ann@cust.test", "support@desk.test", "Re: survey"
    msg.set_content("4 - quick fix\n")
    rated = route(facts(msg.as_bytes(), by_headers=closed, answers_survey=True))
    assert (rated.action, rated.reopen) == ("attach", False)
    assert rated.survey is not None and rated.survey.rating == 4
    resolved = TicketFacts(7, "resolved", "ann@cust.test")
    msg.set_content("Why does the export fail again this morning?\n")
    problem = route(facts(msg.as_bytes(), by_headers=resolved, answers_survey=True))
    assert (problem.survey, problem.reopen) == (None, True)
    assert any(h.rule == "survey-new-problem" for h in problem.hits)


def test_an_engineer_writing_to_a_reply_address_is_on_the_ticket_it_names() -> None:
    signed = TicketFacts(9, "open", "ann@cust.test")
    other = TicketFacts(3, "open", "bob@cust.test")
    decision = route(facts(mail("eve@desk.test"), by_headers=other, signed_ticket=signed))
    assert (decision.action, decision.ticket_id) == ("attach", 9)
    assert decision.hits[0].rule == "thread-reply-address"
    customer = route(facts(mail("ann@cust.test"), by_headers=other, signed_ticket=signed))
    assert customer.ticket_id == 3  # only the team's mail follows a reply address
