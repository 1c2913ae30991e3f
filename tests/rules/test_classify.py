from __future__ import annotations

import json
import re
import unicodedata
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.classify import (
    AttachmentFacts,
    Classification,
    Labels,
    MailFacts,
    Rule,
    RuleSet,
    When,
    classify,
)
from rules.keywords import Folded, Keyword

MONDAY_NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def kw(*words: str) -> tuple[Keyword, ...]:
    return tuple(Keyword.of(w) for w in words)


def mail(text: str = "", *, subject: str = "Help", **facts: object) -> MailFacts:
    base: dict[str, object] = {"mailbox": "support", "sender": "ann@cust.test"}
    base.update(facts)
    return MailFacts(subject=subject, text=text, **base)  # type: ignore[arg-type]


def rule(name: str, when: When | None = None, stop: bool = False, **then: object) -> Rule:
    return Rule(name, when or When(), Labels(**then), stop=stop)  # type: ignore[arg-type]


def run(facts: MailFacts, *rules: Rule, **defaults: object) -> Classification:
    return classify(facts, RuleSet(rules, **defaults))  # type: ignore[arg-type]


def hits(when: When, facts: MailFacts) -> bool:
    """Whether a rule with these conditions matches the mail."""
    return run(facts, rule("probe", when, tags=("probe",))).tags == ("probe",)


# Precedence


def test_first_rule_that_sets_a_field_wins() -> None:
    result = run(
        mail("x"),
        rule("quiet", tier=2),
        rule("billing", module="billing", queue="money"),
        rule("later", module="auth", problem_type="bug", queue="other", tier=3),
    )
    assert (result.module, result.problem_type, result.queue, result.tier) == (
        "billing",
        "bug",
        "money",
        2,
    )


def test_the_most_severe_severity_wins_whatever_the_order() -> None:
    result = run(
        mail("x"), rule("low", severity=4), rule("outage", severity=1), rule("mid", severity=2)
    )
    assert result.severity == 1


def test_tags_are_the_union_in_order_of_first_appearance() -> None:
    result = run(mail("x"), rule("a", tags=("vip", "eu")), rule("b", tags=("eu", "outage", "vip")))
    assert result.tags == ("vip", "eu", "outage")


def test_stop_ends_the_evaluation_after_the_rule_applies() -> None:
    result = run(
        mail("x"),
        rule("first", tags=("one",)),
        rule("spam", stop=True, queue="spam", severity=4),
        rule("after", severity=1, tags=("two",)),
    )
    assert (result.queue, result.severity, result.tags) == ("spam", 4, ("one",))
    assert {h.rule for h in result.hits} == {"first", "spam"}


def test_a_rule_that_does_not_match_never_stops_the_evaluation() -> None:
    blocked = When(words=kw("never-there"))
    result = run(mail("x"), rule("stopper", blocked, stop=True), rule("after", severity=1))
    assert result.severity == 1


def test_unset_fields_get_the_rule_set_defaults() -> None:
    result = run(
        mail("x"),
        rule("other", When(words=kw("absent")), severity=1),
        default_severity=2,
        default_queue="triage",
        default_tier=3,
    )
    assert (result.module, result.problem_type, result.tags) == (None, None, ())
    assert (result.severity, result.queue, result.tier, result.hits) == (2, "triage", 3, ())
    assert run(mail("x")).severity == 3 and run(mail("x")).queue == "default"


# Keywords


@pytest.mark.parametrize(
    ("word", "text", "expected"),
    [
        ("down", "Server down!", True),
        ("down", "download failed", False),
        ("down", "it's downtime", False),
        ("停机", "服务器停机了", True),
        ("至急", "至急対応お願いします", True),
        ("至急", "急いでください", False),
        ("urgent", "ＵＲＧＥＮＴ", True),
        ("urgent", "URGENT please", True),
        ("Urgent", "urgently", False),
        ("cannot log in", "I cannot\nlog   in since Monday", True),
        ("cannot log in", "cannot login", False),
        ("straße", "Main STRASSE 5", True),
        ("e-mail", "my e-mail bounced", True),
        ("e-mail", "my email bounced", False),
        ("VPN接続", "vpn接続できない", True),
        ("", "anything at all", False),
        ("   ", "anything at all", False),
    ],
)
def test_keywords(word: str, text: str, expected: bool) -> None:
    assert hits(When(text=kw(word)), mail(text)) is expected


def test_subject_text_and_words_look_in_their_own_places() -> None:
    in_subject = mail("all fine", subject="Server down")
    in_text = mail("server down", subject="Question")
    assert hits(When(subject=kw("down")), in_subject)
    assert not hits(When(subject=kw("down")), in_text)
    assert hits(When(text=kw("down")), in_text)
    assert not hits(When(text=kw("down")), in_subject)
    assert hits(When(words=kw("down")), in_subject) and hits(When(words=kw("down")), in_text)


def test_any_keyword_of_a_list_may_match() -> None:
    when = When(words=kw("outage", "down", "cannot log in"))
    assert hits(when, mail("we cannot log in"))
    assert not hits(when, mail("all is well"))


def test_patterns_run_on_the_original_text_with_their_own_flags() -> None:
    exact = When(patterns=(re.compile(r"ERR-\d+"),))
    assert hits(exact, mail("got ERR-42 again"))
    assert not hits(exact, mail("got err-42 again"))
    loose = When(patterns=(re.compile(r"err-\d+", re.IGNORECASE),))
    assert hits(loose, mail("", subject="ERR-7 on login"))


def test_a_pattern_hit_shows_a_short_snippet_of_the_match() -> None:
    result = run(mail("x" * 300), rule("long", When(patterns=(re.compile(r"x+"),)), severity=2))
    (hit,) = result.hits
    assert (hit.field, hit.matched) == ("text", "x" * 80)


# Sender, mailbox, attachments, headers


@pytest.mark.parametrize(
    ("sender", "expected"),
    [
        ("bob@bigcorp.com", True),
        ("Bob@BigCorp.COM", True),
        ("bob@eu.bigcorp.com", False),
        ("bob@bigcorp.com.evil.test", False),
    ],
)
def test_sender_globs(sender: str, expected: bool) -> None:
    assert hits(When(senders=("*@bigcorp.com",)), mail("x", sender=sender)) is expected


@pytest.mark.parametrize(
    ("sender", "expected"),
    [
        ("bob@bigcorp.com", True),
        ("bob@eu.bigcorp.com", True),
        ("bob@notbigcorp.com", False),
        ("bob@bigcorp.com.evil.test", False),
        ("nobody", False),
    ],
)
def test_domains_match_the_domain_and_its_subdomains(sender: str, expected: bool) -> None:
    assert hits(When(domains=("bigcorp.com",)), mail("x", sender=sender)) is expected


def test_mailboxes() -> None:
    assert hits(When(mailboxes=("sales", "support")), mail("x", mailbox="support"))
    assert not hits(When(mailboxes=("sales",)), mail("x", mailbox="support"))


def test_attachment_globs_on_filename_or_content_type() -> None:
    log = AttachmentFacts("Server.LOG", "text/plain")
    shot = AttachmentFacts("", "image/png")
    assert hits(When(attachments=("*.log",)), mail("x", attachments=(log,)))
    assert hits(When(attachments=("image/*",)), mail("x", attachments=(log, shot)))
    assert not hits(When(attachments=("*.log",)), mail("x", attachments=(shot,)))
    assert not hits(When(attachments=("*",)), mail("x"))


def test_header_regex_on_the_value_with_names_in_any_case() -> None:
    when = When(headers=(("X-Priority", re.compile(r"^1\b")),))
    assert hits(when, mail("x", headers=(("x-priority", "1 (Highest)"),)))
    assert not hits(when, mail("x", headers=(("X-Priority", "3 (Normal)"),)))
    assert not hits(when, mail("x", headers=(("Importance", "1"),)))
    result = run(mail("x", headers=(("X-PRIORITY", "1"),)), rule("prio", when, severity=2))
    assert [(h.field, h.matched) for h in result.hits] == [("header:X-Priority", "1")]


# Time and history


@pytest.mark.parametrize(
    ("hour", "minute", "expected"),
    [(23, 30, True), (18, 0, True), (7, 59, True), (8, 0, False), (12, 0, False), (17, 59, False)],
)
def test_hours_wrapping_midnight(hour: int, minute: int, expected: bool) -> None:
    at = MONDAY_NOON.replace(hour=hour, minute=minute)
    assert hits(When(hours=(18 * 60, 8 * 60)), mail("x", local_time=at)) is expected


def test_hours_within_one_day_and_without_a_time() -> None:
    office = When(hours=(9 * 60, 17 * 60))
    assert hits(office, mail("x", local_time=MONDAY_NOON.replace(hour=9)))
    assert not hits(office, mail("x", local_time=MONDAY_NOON.replace(hour=17)))
    assert not hits(office, mail("x"))


def test_weekdays() -> None:
    weekend = When(weekdays=frozenset({5, 6}))
    saturday = datetime(2026, 3, 7, 10, 0, tzinfo=UTC)
    assert hits(weekend, mail("x", local_time=saturday))
    assert not hits(weekend, mail("x", local_time=MONDAY_NOON))
    assert not hits(weekend, mail("x"))


def test_open_tickets_and_recent_tickets() -> None:
    assert hits(When(open_tickets=3), mail("x", open_tickets=3))
    assert not hits(When(open_tickets=3), mail("x", open_tickets=2))
    recent = When(recent=(30, 5))
    assert hits(recent, mail("x", tickets_within={30: 5}))
    assert not hits(recent, mail("x", tickets_within={30: 4}))
    assert not hits(recent, mail("x", tickets_within={7: 9}))


def test_history_days_are_the_windows_the_rules_use() -> None:
    rules = RuleSet((rule("a", When(recent=(30, 5))), rule("b", When(recent=(7, 2))), rule("c")))
    assert rules.history_days == frozenset({7, 30})


def test_every_condition_must_hold() -> None:
    when = When(words=kw("down"), senders=("*@bigcorp.com",), open_tickets=1)
    ok = mail("server down", sender="bob@bigcorp.com", open_tickets=1)
    assert hits(when, ok)
    assert not hits(when, mail("server down", sender="bob@other.test", open_tickets=1))
    assert not hits(when, mail("server fine", sender="bob@bigcorp.com", open_tickets=1))
    assert not hits(when, mail("server down", sender="bob@bigcorp.com"))


# Hits


def test_hits_name_rule_mail_field_match_and_label() -> None:
    outage = rule("outage", When(subject=kw("down")), severity=1, queue="ops")
    result = run(mail("x", subject="Server DOWN"), outage)
    assert [(h.rule, h.field, h.matched) for h in result.hits] == [
        ("outage", "subject", "down"),
        ("outage", "subject", "down"),
    ]
    assert "severity=1" in result.hits[0].reason and "queue=ops" in result.hits[1].reason
    assert result.hits[0].reason.startswith("outage: subject has 'down'")


def test_content_is_named_over_sender_and_every_condition_is_in_the_reason() -> None:
    when = When(senders=("*@bigcorp.com",), text=kw("invoice"))
    result = run(mail("the invoice", sender="bob@bigcorp.com"), rule("billing", when, module="b"))
    (hit,) = result.hits
    assert (hit.field, hit.matched) == ("text", "invoice")
    assert "'*@bigcorp.com'" in hit.reason


def test_a_rule_whose_settings_were_all_overridden_still_has_a_hit() -> None:
    result = run(
        mail("x"),
        rule("first", module="auth", severity=1, tags=("vip",)),
        rule("second", module="billing", severity=2, tags=("vip",)),
    )
    second = [h for h in result.hits if h.rule == "second"]
    assert len(second) == 3
    assert all("already set by first" in h.reason for h in second)
    assert (result.module, result.severity, result.tags) == ("auth", 1, ("vip",))


def test_a_more_severe_later_rule_is_named_in_the_earlier_rules_hit() -> None:
    result = run(mail("x"), rule("mild", severity=3), rule("outage", severity=1))
    mild = next(h for h in result.hits if h.rule == "mild")
    assert "severity=3" in mild.reason and "already set by outage (severity=1)" in mild.reason


def test_hits_for_time_history_and_empty_conditions() -> None:
    night = rule("night", When(hours=(18 * 60, 8 * 60)), tags=("night",))
    busy = rule("busy", When(open_tickets=2), tier=2)
    always = rule("always")
    at = datetime(2026, 3, 2, 22, 15, tzinfo=UTC)
    result = run(mail("x", local_time=at, open_tickets=4), night, busy, always)
    assert [(h.rule, h.field, h.matched) for h in result.hits] == [
        ("night", "time", "Mon 22:15"),
        ("busy", "history", "4 open"),
        ("always", "mail", ""),
    ]
    assert "sets nothing" in result.hits[2].reason


def test_to_json_is_plain_json() -> None:
    result = run(mail("server down"), rule("outage", When(words=kw("down")), severity=1))
    data = result.to_json()
    assert json.loads(json.dumps(data)) == data
    assert data["severity"] == 1 and data["queue"] == "default"
    assert data["hits"] == [
        {
            "rule": "outage",
            "field": "text",
            "matched": "down",
            "reason": result.hits[0].reason,
        }
    ]


# Properties

VOCAB = [
    "down",
    "download",
    "urgent",
    "ＵＲＧＥＮＴ",
    "停机",
    "服务器停机了",
    "至急",
    "cannot",
    "log",
    "in",
    "login",
    "e-mail",
    "Straße",
    "STRASSE",
    "c++",
    "_",
]
KEYWORDS = ["down", "urgent", "停机", "至急", "cannot log in", "e-mail", "strasse", "c++", "in"]
SEPARATORS = st.sampled_from(["", " ", "  ", "\n", "\t", "-", ".", "\u3000", "_"])
PIECES = st.one_of(st.sampled_from(VOCAB), st.text(max_size=4))
TEXTS = st.lists(st.tuples(PIECES, SEPARATORS), max_size=16).map(
    lambda parts: "".join(a + b for a, b in parts)
)
RULES = st.lists(
    st.tuples(
        st.lists(st.sampled_from(KEYWORDS), min_size=1, max_size=3),
        st.sampled_from(["words", "subject", "text"]),
        st.none() | st.integers(1, 4),
        st.booleans(),
    ),
    max_size=8,
)


def _when(where: str, keywords: tuple[Keyword, ...]) -> When:
    if where == "subject":
        return When(subject=keywords)
    return When(text=keywords) if where == "text" else When(words=keywords)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


@settings(max_examples=300, deadline=None)
@given(TEXTS, TEXTS, RULES)
def test_severity_is_the_most_severe_of_the_matching_rules(
    subject: str, text: str, specs: list[tuple[list[str], str, int | None, bool]]
) -> None:
    rules = tuple(
        Rule(f"r{i}", _when(where, kw(*words)), Labels(severity=severity), stop=stop)
        for i, (words, where, severity, stop) in enumerate(specs)
    )
    places = {"subject": [_fold(subject)], "text": [_fold(text)]}
    places["words"] = places["subject"] + places["text"]
    matched: list[Rule] = []
    for r, (words, where, _, _) in zip(rules, specs, strict=True):
        if any(Keyword.of(w).pattern.search(p) for w in words for p in places[where]):
            matched.append(r)
            if r.stop:
                break
    result = classify(mail(text, subject=subject), RuleSet(rules, default_severity=4))
    severities = [r.then.severity for r in matched if r.then.severity is not None]
    assert result.severity == min(severities, default=4)
    assert {h.rule for h in result.hits} == {r.name for r in matched}


EVERYTHING = RuleSet(
    (
        rule("words", When(words=kw("down", "停机", "cannot log in")), severity=2),
        rule("pattern", When(patterns=(re.compile(r"(\w+)\s+\1", re.IGNORECASE),)), tags=("t",)),
        rule("header", When(headers=(("X-A", re.compile(".")),)), queue="q"),
        rule("attach", When(attachments=("*.log", "image/*")), tier=2),
        rule("sender", When(senders=("*@*",), domains=("test",)), module="m"),
        rule("time", When(weekdays=frozenset({0}), hours=(60, 30), open_tickets=0)),
        rule("recent", When(recent=(1, 0)), stop=True),
    )
)


@settings(max_examples=200, deadline=None)
@given(st.text(), st.text(), st.text(), st.text(), st.text())
def test_classify_never_raises(
    subject: str, text: str, sender: str, header: str, filename: str
) -> None:
    facts = mail(
        text,
        subject=subject,
        sender=sender,
        headers=(("x-a", header), (header, header)),
        attachments=(AttachmentFacts(filename, filename),),
        local_time=MONDAY_NOON,
    )
    result = classify(facts, EVERYTHING)
    assert 1 <= result.severity <= 4
    assert json.loads(json.dumps(result.to_json())) == result.to_json()
    assert all(len(h.matched) <= 80 for h in result.hits)


def test_a_latin_word_next_to_japanese_text_is_a_word() -> None:

    assert Keyword.of("api").found_in(Folded.of("APIがHTTP 503を返します"))
    assert Keyword.of("api").pattern.search("apiがhttp") is not None
    assert not Keyword.of("api").found_in(Folded.of("rapid"))
