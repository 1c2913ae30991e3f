from __future__ import annotations

from email.message import EmailMessage

from parsers import parse
from rules.intake import IntakeFacts, TicketFacts, is_ours, route

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


def facts(raw: bytes, **kw: object) -> IntakeFacts:
    base: dict[str, object] = {
        "message": parse(raw),
        "our_addresses": OURS,
        "engineers": frozenset({"eve@desk.test"}),
        "by_headers": None,
        "by_tag": None,
        "acks_last_hour": 0,
        "max_acks_per_hour": 5,
    }
    base.update(kw)
    return IntakeFacts(**base)  # type: ignore[arg-type]


def test_new_mail_becomes_a_ticket_and_is_acknowledged() -> None:
    decision = route(facts(mail()))
    assert (decision.action, decision.acknowledge, decision.public) == ("new_ticket", True, True)


def test_machines_lists_and_floods_get_no_acknowledgement() -> None:
    assert not route(facts(mail(Auto_Submitted="auto-generated"))).acknowledge
    bulk = route(facts(mail(Precedence="bulk")))
    assert bulk.action == "new_ticket" and not bulk.acknowledge
    flood = route(facts(mail(), acks_last_hour=5))
    assert flood.action == "new_ticket" and not flood.acknowledge
    assert "limit 5" in flood.reasons[-1]


def test_our_own_mail_and_loops_are_ignored() -> None:
    assert route(facts(mail("support@desk.test"))).action == "ignore"
    assert route(facts(mail("support+t12.abc@desk.test"))).action == "ignore"
    looped = route(facts(mail(X_Replydesk_Loop="support@other.test")))
    assert looped.action == "ignore" and "came back" in looped.reasons[0]


def test_bounces_never_make_tickets() -> None:
    decision = route(facts(mail("MAILER-DAEMON@mx.cust.test", Subject="Undelivered Mail")))
    assert decision.action == "ignore"


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
    assert closed.action == "new_ticket" and "follow-up" in closed.reasons[0]
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
