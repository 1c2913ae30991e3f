"""What strangers and broken clients send, read as a help desk needs it read (issue #7)."""

from __future__ import annotations

import email
from email.message import EmailMessage

from parsers import parse, parse_head
from parsers.address_parts import address_key
from parsers.fingerprint import fingerprint
from parsers.message_ids import head_message_id, message_ids, normalise_id
from parsers.subjects import foreign_ticket_tag, ticket_ref


def mail(subject: str, body: str, sender: str = "Ann <ann@cust.test>", **extra: str) -> bytes:
    fields = "".join(f"{k.replace('_', '-')}: {v}\r\n" for k, v in extra.items())
    head = f"From: {sender}\r\nTo: support@desk.test\r\nSubject: {subject}\r\n{fields}"
    return (head + f"Message-ID: <m@cust.test>\r\n\r\n{body}\r\n").encode()


def test_message_ids_are_read_one_way_everywhere() -> None:
    assert normalise_id("alice1@cust.example") == "<alice1@cust.example>"
    assert normalise_id(" <alice1@cust.example> (comment)") == "<alice1@cust.example>"
    assert message_ids("<a@x> junk <b@y>\r\n <a@x>") == ("<a@x>", "<b@y>")
    assert message_ids("no id here") == () and normalise_id("a b@c") is None
    raw = b"Subject: x\r\nMessage-ID:\r\n alice1@cust.example\r\n\r\nMessage-ID: <body@x>\r\n"
    assert head_message_id(raw) == "<alice1@cust.example>"
    assert parse(raw + b"From: a@b\r\n").message_id in {"<alice1@cust.example>", None}
    bare = b"From: m@evil.test\r\nMessage-ID: alice1@cust.example\r\n\r\nhi\r\n"
    assert parse(bare).message_id == head_message_id(bare) == "<alice1@cust.example>"


def test_the_fingerprint_ignores_what_each_delivery_adds() -> None:
    raw = mail("Hi", "hello")
    delivered = (
        b"Return-Path: <ann@cust.test>\r\nDelivered-To: support@desk.test\r\n"
        b"Received: from mx1 (mx1 [10.0.0.1])\r\n\tby mx2; Mon, 1 Dec 2026 10:00:00 +0000\r\n"
        b"X-Spam-Status: No\r\n" + raw
    )
    assert fingerprint(delivered) == fingerprint(raw)
    assert fingerprint(raw.replace(b"\r\n", b"\n")) == fingerprint(raw)
    assert fingerprint(raw.replace(b"hello", b"hello  ") + b"\r\n\r\n") == fingerprint(raw)
    assert fingerprint(mail("Hi", "hello!")) != fingerprint(raw)
    assert fingerprint(mail("Hi!", "hello")) != fingerprint(raw)
    assert len(fingerprint(b"\x00\xff not a mail")) == 64


def test_address_key_counts_a_person_once() -> None:
    assert address_key("Help+12@Other.Example") == "help@other.example"
    assert address_key("help@other.example.") == "help@other.example"
    assert address_key("jdöe@mächine.example") == "jdöe@mächine.example"


def test_ticket_numbers_out_of_range_name_no_ticket() -> None:
    assert ticket_ref("Re: [#99999999999] printer") is None
    assert ticket_ref("Re: [#2147483648] printer") is None
    assert ticket_ref("Re: [#0] printer") is None
    assert ticket_ref("Re: [#2147483647] printer") == 2147483647


def test_other_desks_tags_are_recognised_and_ours_are_not() -> None:
    for subject in ("[SR-4711] received", "Re: [Request ID :##123##]", "(Case 00012345) x",
                    "[example.com #123] Re: hi", "[ABC-12345] your request",
                    "[OD#17] We have received your request", "[Helpdesk #9] got it"):  # fmt: skip
        assert foreign_ticket_tag(subject) is not None, subject
    for subject in ("Re: [#12] printer", "[EXTERNAL] hello", "[list-name] hi"):
        assert foreign_ticket_tag(subject) is None, subject
    assert foreign_ticket_tag("[ACME #5] x", tag_prefix="ACME") is None


def test_a_subject_alone_never_makes_a_persons_mail_a_machines() -> None:
    for subject, body in (
        ("Auto: my car was damaged, how do I claim?", "My car was damaged. How do I claim?"),
        ("Out of office: is your shop open on Sunday?", "Is your shop open on Sunday?"),
        ("Automatic reply: how to turn off alerts", "Please tell me how to turn off alerts."),
    ):
        assert parse(mail(subject, body)).auto.kind is None, subject
    notices = (
        ("Out of office: Re: hi", "I am out of the office until Monday."),
        ("自动回复: 你好", "我正在休假，下周一回来。"),
        ("Automatische Antwort: Re: x", "Ich bin bis 3.12. abwesend."),
    )
    for subject, body in notices:
        assert parse(mail(subject, body)).auto.kind == "autoreply", subject
    with_header = mail("Auto: is it open?", "Is it?", Auto_Submitted="auto-replied")
    assert parse(with_header).auto.kind == "autoreply"


BOUNCE = (
    b"From: MAILER-DAEMON@mx.example\r\nTo: ann@cust.test\r\n"
    b"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <b1@mx>\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
    b"--b\r\nContent-Type: text/plain\r\n\r\nDelivery to bob@x.test failed permanently.\r\n"
    b"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
    b"Final-Recipient: rfc822; bob@x.test\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--b--\r\n"
)


def test_a_person_passing_on_a_bounce_is_a_person() -> None:
    assert parse(BOUNCE).auto.kind == "bounce"
    forwarded = EmailMessage()
    forwarded["From"] = "Ann <ann@cust.test>"
    forwarded["To"] = "support@desk.test"
    forwarded["Subject"] = "Fwd: Undelivered Mail Returned to Sender"
    forwarded.set_content("Why did my mail to Bob bounce?")
    forwarded.add_attachment(email.message_from_bytes(BOUNCE))
    assert parse(forwarded.as_bytes()).auto.kind is None
    inline = mail(
        "Fwd: Delivery Status Notification (Failure)",
        "Why did my mail bounce?\r\n\r\n---------- Forwarded message ---------\r\n"
        "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\r\n\r\n"
        "Delivery to the following recipient failed permanently:\r\n\r\n     bob@x.test\r\n\r\n"
        "The response was: 550 5.1.1 user unknown",
    )
    assert parse(inline).auto.kind is None
    above = mail(
        "Re: Delivery Status Notification (Failure)",
        "What does this mean?\r\n\r\n> Delivery to the following recipient failed permanently:"
        "\r\n>\r\n>      bob@x.test\r\n> The response was: 550 5.1.1 user unknown",
    )
    assert parse(above).auto.kind is None


def _nested(depth: int) -> bytes:
    body = "".join(
        f'--n{i}\r\nContent-Type: multipart/mixed; boundary="n{i + 1}"\r\n\r\n'
        for i in range(depth)
    )
    body += "deep text\r\n" + "".join(f"--n{i}--\r\n" for i in reversed(range(depth)))
    head = mail("deep", "").split(b"\r\n\r\n")[0]
    return (
        head
        + b'\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="n0"\r\n\r\n'
        + (body.encode())
    )


def test_hostile_structure_keeps_its_text() -> None:
    """Bounded work for any shape (timed in bench/parse_speed.py, not here)."""
    for depth in (300, 1000):
        deep = parse(_nested(depth))
        assert "deep text" in deep.body
        assert any("nested" in d or "MIME parts" in d for d in deep.defects)
    parts = "".join(f"--b\r\nContent-Type: text/plain\r\n\r\npart {i}\r\n" for i in range(150_000))
    head = mail("parts", "").split(b"\r\n\r\n")[0]
    raw = head + b'\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n' + parts.encode()
    many = parse(raw + b"--b--\r\n")
    assert "part 0" in many.body and any("MIME parts" in d for d in many.defects)


def test_a_nul_in_the_first_header_is_still_a_mail() -> None:
    raw = b'From: "A\x00nn" <ann@cust.test>\r\nTo: s@d.test\r\nSubject: x\r\n\r\nhello\r\n'
    assert parse(raw).from_ is not None and parse(raw).body == "hello"


def test_parse_head_reads_only_the_headers() -> None:
    raw = mail("Logs", "x" * 100_000)
    head = parse_head(raw)
    assert head.subject == "Logs" and head.from_ is not None
    assert "x" * 100 not in head.body and head.attachments == ()
    assert any(d.startswith("too large") for d in head.defects)


def test_html_nested_past_any_parsers_depth_keeps_its_words() -> None:
    html = "<html><body>" + "<div>" * 200_000 + "The printer is on fire." + "</div>" * 200_000
    raw = mail("deep html", "").split(b"\r\n\r\n")[0] + b"\r\nContent-Type: text/html\r\n\r\n"
    assert "The printer is on fire." in parse(raw + html.encode()).body


def test_a_long_text_with_many_dashed_lines_is_read_normally() -> None:
    log = "\r\n".join(f"-- step {i} done" for i in range(3000))
    message = parse(mail("build log", "Here is the log:\r\n" + log))
    assert "step 2999" in message.full_text
    assert not any("MIME parts" in d for d in message.defects)


def test_the_fingerprint_of_a_long_run_of_blanks_is_cheap() -> None:
    """Linear regex (no backtracking): timed in bench, asserted here only to agree."""
    raw = mail("x", " " * 200_000 + "x")
    assert fingerprint(raw) == fingerprint(raw.replace(b"\r\n", b"\n"))


def test_a_hundred_thousand_recipients_are_capped_with_a_defect() -> None:
    to = ", ".join(f"u{i}@x.test" for i in range(100_000))
    message = parse(f"From: a@b.test\r\nTo: {to}\r\nSubject: x\r\n\r\nhi\r\n".encode())
    assert len(message.to) == 1000
    assert "To: more than 1000 addresses, rest ignored" in message.defects
