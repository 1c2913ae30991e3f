from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from daemon.config import Settings
from daemon.mail.compose import Composed, Composer, FileToSend, TicketSummary
from daemon.mail.parts import files_of
from daemon.mail.reply_address import reply_tag, verify
from parsers import parse
from rules.intake import LOOP_HEADER
from tests.unit.conftest import make_settings

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/replydesk.db"


def customer_mail(
    subject: str, name: str = "Ann <b>Lee</b>", address: str = "ann@cust.test"
) -> bytes:
    msg = EmailMessage(policy=policy.default.clone(utf8=not address.isascii()))
    msg["From"] = f'"{name}" <{address}>'
    msg["To"] = "support@desk.test"
    msg["Subject"] = subject
    msg["Message-ID"] = "<q1@cust.test>"
    msg["References"] = "<q0@cust.test>"
    msg.set_content("hi")
    return msg.as_bytes()


def test_acknowledgement_headers_and_escaping(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        db_url(tmp_path),
        desk={"name": "ACME Help", "addresses": ["help@acme.test"], "tag_prefix": "ACME"},
    )
    message = parse(customer_mail("<script>alert(1)</script> broken"))
    composed = Composer(settings).acknowledgement(
        ticket_id=42, subject=message.clean_subject, message=message, now=NOW
    )
    ack = parse(composed.raw)
    assert ack.subject == "[ACME #42] <script>alert(1)</script> broken"
    assert parse(composed.raw, tag_prefix="ACME").ticket_ref == 42
    assert ack.from_ is not None and ack.from_.address == "help@acme.test"
    assert ack.references == ("<q0@cust.test>", "<q1@cust.test>")
    assert ack.in_reply_to == ("<q1@cust.test>",)
    assert composed.message_id == ack.message_id and composed.message_id.endswith("@acme.test>")
    html = ack.html or ""
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert "&lt;b&gt;Lee" in html
    assert "<script>alert(1)</script>" in composed.text  # plain text is not HTML-escaped
    assert composed.recipients == ("ann@cust.test",)


def test_header_injection_in_the_subject_is_harmless(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, db_url(tmp_path))
    raw = customer_mail("=?utf-8?q?hi=0D=0ABcc:_victim@evil.test?=")
    message = parse(raw)
    composed = Composer(settings).acknowledgement(
        ticket_id=1, subject=message.clean_subject, message=message, now=NOW
    )
    ack = parse(composed.raw)
    assert ack.header("Bcc") is None and ack.cc == ()
    assert composed.recipients == ("ann@cust.test",)


def acknowledge(settings: Settings, address: str) -> Composed:
    message = parse(customer_mail("Grüße aus Köln", name="Jörg Döe", address=address))
    return Composer(settings).acknowledgement(
        ticket_id=7, subject=message.clean_subject, message=message, now=NOW
    )


def header_block(raw: bytes) -> bytes:
    end = re.search(rb"\r?\n\r?\n", raw)
    assert end is not None
    return raw[: end.start()]


def test_a_non_ascii_local_part_gets_utf8_headers(tmp_path: Path) -> None:
    composed = acknowledge(make_settings(tmp_path, db_url(tmp_path)), "jdöe@mächine.example")
    headers = header_block(composed.raw)
    assert "\nTo: jdöe@mächine.example\n".encode() in headers  # raw UTF-8, no encoded words
    assert b"=?" not in headers.split(b"\nSubject:")[0]
    assert "Subject: [#7] Grüße aus Köln".encode() in headers
    ack = parse(composed.raw)
    assert [a.address for a in ack.to] == ["jdöe@mächine.example"]
    assert ack.subject == "[#7] Grüße aus Köln"
    assert "Jörg Döe" in ack.full_text
    assert composed.recipients == ("jdöe@mächine.example",)
    assert composed.envelope_from == "support@desk.test"


def test_an_ascii_local_part_gets_ascii_headers_with_an_idna_domain(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        db_url(tmp_path),
        desk={"name": "Kundendienst", "addresses": ["hilfe@bücher.example"]},
    )
    composed = acknowledge(settings, "joe@mächine.example")
    headers = header_block(composed.raw)
    assert headers.isascii()
    assert b"\nTo: joe@xn--mchine-bua.example\n" in headers
    assert b"From: Kundendienst <hilfe@xn--bcher-kva.example>\n" in headers
    assert composed.message_id.endswith("@xn--bcher-kva.example>")
    ack = parse(composed.raw)
    assert [a.address for a in ack.to] == ["joe@xn--mchine-bua.example"]
    assert ack.subject == "[#7] Grüße aus Köln"  # RFC 2047 encoded words in the raw
    assert composed.recipients == ("joe@mächine.example",)  # the transport converts on the wire
    assert composed.envelope_from == "hilfe@bücher.example"


# Notices, public replies, status mails and surveys.

CUSTOMER = "ann@cust.test"


def secret_settings(tmp_path: Path, **desk: object) -> Settings:
    (tmp_path / "reply.secret").write_text("a-secret-of-enough-length\n")
    return make_settings(
        tmp_path,
        db_url(tmp_path),
        desk={
            "name": "Test Desk",
            "addresses": ["support@desk.test"],
            "reply_secret_file": str(tmp_path / "reply.secret"),
            **desk,
        },
    )


def summary(**changes: object) -> TicketSummary:
    ticket = TicketSummary(
        number=5,
        subject="Printer jams",
        requester=CUSTOMER,
        status="open",
        severity=3,
        tier=1,
        queue="general",
        category="hardware",
        problem_type=None,
        tags=(),
        assignee="eve@desk.test",
        waiting_for=(),
        clocks=(),
        facts=(("Serial number", "SN-1234"), ("Log", "x" * 500), ("Model", "LX\r\n200")),
    )
    return replace(ticket, **changes)  # type: ignore[arg-type]


def body_lines(composed: Composed) -> list[str]:
    """The body above the signature, as the reader sees it."""
    text = parse(composed.raw).full_text
    return text.split("\n-- \n")[0].rstrip("\n").splitlines()


def test_a_notice_quotes_the_customer_and_lists_the_facts(tmp_path: Path) -> None:
    quote = "\n".join(f"line {i}" for i in range(70))
    composed = Composer(secret_settings(tmp_path)).notice(
        to="eve@desk.test",
        title="New mail from the customer",
        lines=("Ann Lee wrote:",),
        ticket=summary(),
        now=NOW,
        quote=f"\n\n{quote}\n\n",
    )
    lines = body_lines(composed)
    assert lines[lines.index("Ann Lee wrote:") + 2] == "> line 0"
    assert "> line 59" in lines and "> line 60" not in lines
    assert lines[lines.index("> line 59") + 1] == "[... 10 more lines]"
    status = next(i for i, line in enumerate(lines) if line.startswith("  Status:"))
    assert lines[status + 1].split() == ["Serial", "number:", "SN-1234"]
    log = lines[status + 2].strip()
    assert log.startswith("Log: xxx") and log.endswith("…") and len(log) < 220
    assert lines[status + 3].strip() == "Model: LX 200"
    assert lines[-1] == (
        "Reply to this mail to answer the customer; commands such as #resolve go on the"
        " first lines (#help lists them)."
    )


def test_a_long_quote_is_cut_by_its_size_too(tmp_path: Path) -> None:
    quote = "\n".join(f"{i:03d}" + "y" * 197 for i in range(100))  # 200 characters a line
    composed = Composer(secret_settings(tmp_path)).notice(
        to="eve@desk.test", title="New mail", lines=(), ticket=summary(), now=NOW, quote=quote
    )
    quoted = [line for line in body_lines(composed) if line.startswith("> ")]
    assert len(quoted) == 30 and quoted[-1].endswith(" …")
    assert sum(len(line) for line in quoted) < 6_200
    assert "[... 70 more lines]" in composed.text


def test_a_notice_threads_and_carries_a_signed_reply_address(tmp_path: Path) -> None:
    composed = Composer(secret_settings(tmp_path)).notice(
        to="eve@desk.test",
        title="Assigned to you",
        lines=(),
        ticket=summary(),
        now=NOW,
        in_reply_to="<n2@desk.test>",
        references=("<n1@desk.test>", "<n2@desk.test>"),
    )
    notice = parse(composed.raw)
    assert notice.in_reply_to == ("<n2@desk.test>",)
    assert notice.references == ("<n1@desk.test>", "<n2@desk.test>")
    assert notice.header("Auto-Submitted") == "auto-generated"
    assert notice.subject == "[#5] Assigned to you"
    tag = reply_tag(notice.reply_to[0].address, frozenset({"support@desk.test"}))
    assert tag is not None and tag.ticket == 5
    assert verify(tag, "a-secret-of-enough-length", "eve@desk.test")


def test_an_explicit_reply_to_wins_and_a_notice_without_ticket_has_no_hint(
    tmp_path: Path,
) -> None:
    composer = Composer(secret_settings(tmp_path))
    wide = composer.notice(
        to="eve@desk.test",
        title="Escalated",
        lines=(),
        ticket=summary(),
        now=NOW,
        reply_to="support+t5.abcdefghijklmnop@desk.test",
    )
    assert [a.address for a in parse(wide.raw).reply_to] == [
        "support+t5.abcdefghijklmnop@desk.test"
    ]
    absence = composer.notice(
        to="eve@desk.test", title="Max is away", lines=("Until Monday.",), ticket=None, now=NOW
    )
    assert parse(absence.raw).reply_to == ()
    assert "#resolve" not in absence.text and "Until Monday." in absence.text


def test_old_callers_of_the_ticket_summary_still_work(tmp_path: Path) -> None:
    composed = Composer(secret_settings(tmp_path)).notice(
        to="eve@desk.test", title="SLA warning", lines=(), ticket=summary(facts=()), now=NOW
    )
    lines = body_lines(composed)
    status = next(i for i, line in enumerate(lines) if line.startswith("  Status:"))
    assert lines[status + 1].startswith("  Severity:")


def relay(settings: Settings, **changes: object) -> Composed:
    arguments: dict[str, object] = {
        "ticket": 5,
        "subject": "Printer jams",
        "to": (CUSTOMER,),
        "cc": ("Bob@Cust.test", "ANN@cust.test", "bob@cust.test"),
        "author": "Eve Adams",
        "text": "Please try the new driver.",
        "attachments": (
            FileToSend("driver notes.pdf", "application/pdf", b"%PDF-1.7\n\x00\xff"),
            FileToSend("data.bin", "not a type", b"\x01\x02"),
            FileToSend("../../etc/passwd\r\nBcc: x@evil.test", "text/plain", b"root"),
        ),
        "in_reply_to": "<q2@cust.test>",
        "references": ("<q1@cust.test>", "<q2@cust.test>"),
        "now": NOW,
    }
    arguments.update(changes)
    return Composer(settings).public_reply(**arguments)  # type: ignore[arg-type]


def test_a_public_reply_comes_from_the_desk_in_the_customers_thread(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        db_url(tmp_path),
        desk={"name": "ACME Help", "addresses": ["help@acme.test"], "tag_prefix": "ACME"},
    )
    composed = relay(settings)
    reply = parse(composed.raw, tag_prefix="ACME")
    assert reply.from_ is not None
    assert (reply.from_.name, reply.from_.address) == ("Eve Adams (ACME Help)", "help@acme.test")
    assert [a.address for a in reply.to] == [CUSTOMER]
    assert [a.address for a in reply.cc] == ["bob@cust.test"]
    assert b"\nCc: Bob@Cust.test\n" in header_block(composed.raw)  # once, as first written
    assert composed.recipients == (CUSTOMER, "Bob@Cust.test")
    assert reply.subject == "[ACME #5] Printer jams" and reply.ticket_ref == 5
    assert reply.in_reply_to == ("<q2@cust.test>",)
    assert reply.references == ("<q1@cust.test>", "<q2@cust.test>")
    assert reply.header("Auto-Submitted") is None
    assert reply.header("X-Auto-Response-Suppress") is None
    assert reply.header(LOOP_HEADER) == "help@acme.test"
    assert reply.header("Bcc") is None
    assert reply.body.strip() == "Please try the new driver."
    assert composed.text == "Please try the new driver.\n"


FORWARDED = b"Subject: the original\r\nFrom: x@y.test\r\n\r\n\xe4 raw 8-bit text\r\n"


def test_a_public_reply_carries_the_files_byte_for_byte(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, db_url(tmp_path))
    composed = relay(settings)
    assert files_of(composed.raw) == (
        FileToSend("driver notes.pdf", "application/pdf", b"%PDF-1.7\n\x00\xff"),
        FileToSend("data.bin", "application/octet-stream", b"\x01\x02"),
        FileToSend("passwdBcc: x@evil.test", "text/plain", b"root"),
    )
    forwarded = relay(settings, attachments=(FileToSend("fwd.eml", "message/rfc822", FORWARDED),))
    assert files_of(forwarded.raw) == (
        FileToSend("fwd.eml", "application/octet-stream", FORWARDED),  # containers go opaque
    )
    assert [a.filename for a in parse(composed.raw).attachments] == [
        "driver notes.pdf",
        "data.bin",
        "passwdBcc: x@evil.test",
    ]


def test_a_public_reply_without_author_or_recipients(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, db_url(tmp_path))
    composed = relay(settings, author=" ", cc=(), attachments=(), text="Done.\n")
    reply = parse(composed.raw)
    assert reply.from_ is not None and reply.from_.name == "Test Desk"
    assert reply.cc == () and b"\nCc:" not in header_block(composed.raw)
    assert reply.attachments == () and composed.text == "Done.\n"
    with pytest.raises(ValueError, match="recipient"):
        relay(settings, to=(), cc=())


def test_one_non_ascii_local_part_makes_the_whole_reply_utf8(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, db_url(tmp_path), desk={"name": "Hilfe", "addresses": ["hilfe@bücher.example"]}
    )
    composed = relay(settings, cc=("jdöe@mächine.example", "joe@mächine.example"))
    headers = header_block(composed.raw)
    assert "\nCc: jdöe@mächine.example, joe@mächine.example\n".encode() in headers
    assert "<hilfe@bücher.example>".encode() in headers
    assert b"=?" not in headers
    assert composed.recipients == (CUSTOMER, "jdöe@mächine.example", "joe@mächine.example")
    ascii_only = header_block(relay(settings, cc=("joe@mächine.example",)).raw)
    assert ascii_only.isascii() and b"\nCc: joe@xn--mchine-bua.example\n" in ascii_only


def status(settings: Settings, kind: str, **changes: object) -> Composed:
    arguments: dict[str, object] = {
        "kind": kind,
        "ticket": 5,
        "subject": "Printer jams",
        "to": CUSTOMER,
        "name": "Ann Lee",
        "resolution": None,
        "in_reply_to": "<q2@cust.test>",
        "references": ("<q1@cust.test>", "<q2@cust.test>"),
        "now": NOW,
    }
    arguments.update(changes)
    return Composer(settings).customer_status(**arguments)  # type: ignore[arg-type]


def assert_automatic_in_thread(composed: Composed, *, tag_prefix: str = "") -> None:
    mail = parse(composed.raw, tag_prefix=tag_prefix)
    assert mail.ticket_ref == 5
    assert mail.header("Auto-Submitted") == "auto-generated"
    assert mail.in_reply_to == ("<q2@cust.test>",)
    assert mail.references == ("<q1@cust.test>", "<q2@cust.test>")
    assert [a.address for a in mail.to] == [CUSTOMER] and composed.recipients == (CUSTOMER,)


def test_a_resolved_ticket_quotes_the_resolution_and_says_how_to_reopen(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, db_url(tmp_path), desk={"tag_prefix": "ACME"})
    composed = status(
        settings, "resolved", resolution="Replaced the toner.\nAll good now.", reopen_days=7
    )
    assert_automatic_in_thread(composed, tag_prefix="ACME")
    mail = parse(composed.raw, tag_prefix="ACME")
    assert mail.subject == "[ACME #5] Printer jams"
    assert mail.header("X-Auto-Response-Suppress") == "All"
    assert "> Replaced the toner.\n> All good now.\n" in mail.full_text
    assert "Reply to this mail within 7 days to reopen it." in mail.full_text
    assert "Hello Ann Lee," in mail.full_text
    bare = status(settings, "resolved")
    assert ">" not in bare.text and "within 14 days" in bare.text


def test_a_closed_ticket_says_a_reply_opens_a_new_one(tmp_path: Path) -> None:
    composed = status(make_settings(tmp_path, db_url(tmp_path)), "closed")
    assert_automatic_in_thread(composed)
    assert "closed" in composed.text and "opens a new ticket" in composed.text
    assert "reopen it" not in composed.text


def test_a_reply_to_a_closed_ticket_is_told_of_its_new_one(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, db_url(tmp_path))
    composed = status(settings, "reopened_new", linked=3)
    assert_automatic_in_thread(composed)
    assert "ticket #3, which was already closed" in composed.text
    assert "new ticket #5" in composed.text
    with pytest.raises(ValueError, match="closed ticket"):
        status(settings, "reopened_new")
    with pytest.raises(ValueError, match="unknown"):
        status(settings, "deleted")


def test_the_survey_asks_for_a_number_by_reply(tmp_path: Path) -> None:
    composed = Composer(make_settings(tmp_path, db_url(tmp_path))).survey(
        ticket=5,
        subject="Printer jams " + "and more " * 30,
        to=CUSTOMER,
        name="Ann Lee",
        in_reply_to="<q2@cust.test>",
        references=("<q1@cust.test>", "<q2@cust.test>"),
        now=NOW,
    )
    assert_automatic_in_thread(composed)
    mail = parse(composed.raw)
    assert mail.subject.startswith("[#5] How did we do? Printer jams and more")
    assert mail.subject.endswith("…") and len(mail.subject) < 150
    text = mail.full_text
    assert "How did we do on [#5] Printer jams" in text
    assert "5 = very good" in text and "1 = very bad" in text
    assert all(f'"{word}"' in text for word in ("good", "bad", "很好", "不满意"))
    assert "no link to click" in text


def test_the_composer_shares_its_secret_for_bounce_addresses(tmp_path: Path) -> None:
    assert Composer(secret_settings(tmp_path)).secret == "a-secret-of-enough-length"
    assert Composer(make_settings(tmp_path, db_url(tmp_path))).secret is None
