"""Article files parsed into clear errors, the standard shape, review state and reuse."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from rules import kb
from rules.metrics_life import EventRow

GOOD = """---
title: VPN drops
owner: eve@desk.test
module: network
tags: [vpn, wifi]
status: published
reviewed_at: 2026-06-01
review_days: 90
tickets: [3, 7]
---

## Symptom
It drops.

## Environment
## Cause
## Resolution
## Related tickets
"""
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_a_good_file_parses_whole() -> None:
    parsed = kb.parse_article("kb/vpn.md", GOOD)
    assert parsed.errors == ()
    article = parsed.article
    assert article is not None
    assert (article.title, article.owner, article.module, article.status) == (
        "VPN drops",
        "eve@desk.test",
        "network",
        "published",
    )
    assert article.tags == ("vpn", "wifi") and article.tickets == (3, 7)
    assert (article.reviewed_at, article.review_days) == (date(2026, 6, 1), 90)
    assert article.body.lstrip().startswith("## Symptom")
    assert kb.missing_sections(article.body) == ()


def test_defaults_and_title_from_heading() -> None:
    parsed = kb.parse_article("kb/x.md", "---\nowner: eve@desk.test\n---\n# Printer offline\n")
    assert parsed.article is not None
    assert (parsed.article.title, parsed.article.status, parsed.article.review_days) == (
        "Printer offline",
        "draft",
        180,
    )


def test_every_error_names_file_key_and_reason() -> None:
    text = "---\nowner: eve\nstatus: shiny\nreviewed_at: 2026-13-01\ncolour: red\n---\nbody\n"
    parsed = kb.parse_article("kb/bad.md", text)
    assert parsed.article is None
    keys = {error.key for error in parsed.errors}
    assert keys == {"colour", "title", "owner", "status", "reviewed_at"}
    messages = [str(error) for error in parsed.errors]
    assert all(message.startswith("kb/bad.md: ") for message in messages)
    assert any("unknown status 'shiny'" in m for m in messages)
    assert any("bad date" in m for m in messages)
    assert any("colour: unknown key" in m for m in messages)


def test_no_front_matter_and_bad_yaml() -> None:
    assert kb.parse_article("kb/a.md", "# Just text\n").errors[0].reason.startswith("no front")
    assert "not YAML" in kb.parse_article("kb/a.md", "---\n[unclosed\n---\n").errors[0].reason


@given(st.text())
def test_any_text_parses_or_yields_errors(text: str) -> None:
    parsed = kb.parse_article("kb/any.md", text)
    assert (parsed.article is None) == bool(parsed.errors)


@given(st.text(), st.text())
def test_any_front_matter_parses_or_yields_errors(front: str, body: str) -> None:
    parsed = kb.parse_article("kb/any.md", f"---\n{front}\n---\n{body}")
    assert (parsed.article is None) == bool(parsed.errors)


def test_missing_sections_ignores_case_and_fences() -> None:
    body = "## symptom\n\n```\n## Cause\n```\n\n##  Related   tickets\n"
    assert kb.missing_sections(body) == ("Environment", "Cause", "Resolution")


def test_review_falls_due_and_use_confirms_it() -> None:
    reviewed = datetime(2026, 6, 1, tzinfo=UTC)
    due = reviewed + timedelta(days=90)
    fresh = kb.review_state(reviewed_at=reviewed, review_days=200, cited=[], now=NOW)
    assert (fresh.overdue, fresh.confirmed_by_use) == (False, False)
    stale = kb.review_state(reviewed_at=reviewed, review_days=90, cited=[reviewed], now=NOW)
    assert (stale.due_at, stale.overdue, stale.confirmed_by_use) == (due, True, False)
    used = kb.review_state(reviewed_at=reviewed, review_days=90, cited=[due], now=NOW)
    assert used.confirmed_by_use
    flagged = kb.review_state(
        reviewed_at=reviewed, review_days=90, cited=[due], now=NOW, flagged=[due + timedelta(1)]
    )
    assert not flagged.confirmed_by_use
    never = kb.review_state(reviewed_at=None, review_days=90, cited=[], now=NOW)
    assert (never.due_at, never.overdue) == (None, True)


def event(kind: str, ticket: int, **data: object) -> EventRow:
    return EventRow(ticket_id=ticket, at=NOW, kind=kind, actor="eve@desk.test", data=data)


def test_reuse_counts_citations_and_deflections_only() -> None:
    rows = [
        event("kb_cited", 1, article=4),
        event("kb_cited", 2, article=4),
        event("deflected", 3, article=5),
        event("deflected", 6, article=None),
        event("kb_suggested", 7, articles=[4, 5]),
        event("kb_proposed", 8, article=9),
    ]
    assert kb.reuse_counts(rows) == {4: 2, 5: 1}
    assert kb.citations(rows)[4] == [(1, NOW), (2, NOW)]


def test_slugify_keeps_any_script() -> None:
    assert kb.slugify("VPN drops — every 5 min!") == "vpn-drops-every-5-min"
    assert kb.slugify("打印机 登录失败") == "打印机-登录失败"
    assert kb.slugify("!!!") == "article"


@given(st.text())
def test_replacing_a_section_keeps_the_shape(body: str) -> None:
    replaced = kb.replace_section(body, "Related tickets", "Listed elsewhere.")
    assert kb.missing_sections(replaced) == kb.missing_sections(body)


def test_replace_section_replaces_only_its_content() -> None:
    body = "## Symptom\nx\n## Related tickets\n#3, #7\n## Cause\ny\n"
    replaced = kb.replace_section(body, "related tickets", "Elsewhere.")
    assert "#3" not in replaced and "Elsewhere." in replaced
    assert replaced.startswith("## Symptom\nx\n") and replaced.endswith("## Cause\ny\n")
    assert kb.without_title("# Title\n\nBody\n") == "\nBody\n"
