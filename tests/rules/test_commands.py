"""The engineers' mail command grammar: every command, every error, all errors at once."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parsers.commands import find_commands
from rules.command_help import FORMS, HELP, help_text
from rules.command_ops import (
    Accept,
    ArticleText,
    Assign,
    Cc,
    Close,
    Escalate,
    Help,
    Kb,
    Merge,
    Note,
    Op,
    Parsed,
    Publish,
    Reopen,
    Resolve,
    SetCategory,
    SetSeverity,
    SetStatus,
    Tag,
    Take,
    describe,
)
from rules.commands import alias_problems, parse_commands, remaining_text

WRITER = "ann.lee@desk.example"
TEAM = {
    "ann.lee@desk.example": "Ann Lee",
    "ann.kim@desk.example": "Ann Kim",
    "bob@desk.example": "Bob Stone",
    "zoe@desk.example": "Zoë Ng",
}
ALIASES = {"解决": "resolve", "Erledigt": "resolve", "schließen": "close", "zuweisen": "#assign"}


def parse(
    text: str,
    *,
    categories: frozenset[str] = frozenset(),
    aliases: Mapping[str, str] = ALIASES,
) -> Parsed:
    return parse_commands(
        find_commands(text),
        writer=WRITER,
        ticket=7,
        engineers=TEAM,
        categories=categories,
        aliases=aliases,
    )


def only_op(
    text: str, *, categories: frozenset[str] = frozenset(), aliases: Mapping[str, str] = ALIASES
) -> Op:
    parsed = parse(text, categories=categories, aliases=aliases)
    assert parsed.errors == ()
    assert parsed.ok
    assert len(parsed.ops) == 1
    return parsed.ops[0]


def only_error(
    text: str, *, categories: frozenset[str] = frozenset(), aliases: Mapping[str, str] = ALIASES
) -> tuple[int, str]:
    parsed = parse(text, categories=categories, aliases=aliases)
    assert not parsed.ok
    assert len(parsed.errors) == 1
    return parsed.errors[0].line, parsed.errors[0].message


@pytest.mark.parametrize(
    ("text", "op"),
    [
        ("#status pending", SetStatus(line=1, to="pending")),
        ("#status open", SetStatus(line=1, to="open")),
        ("#status closed", SetStatus(line=1, to="closed")),
        ("#status resolved", SetStatus(line=1, to="resolved")),
        ("#resolve", Resolve(line=1, text="")),
        ("#resolve restarted  the VPN gateway", Resolve(line=1, text="restarted  the VPN gateway")),
        ("#close", Close(line=1)),
        ("#reopen", Reopen(line=1)),
        ("#assign me", Assign(line=1, to=WRITER)),
        ("#assign bob@desk.example", Assign(line=1, to="bob@desk.example")),
        ("#assign Ann Kim", Assign(line=1, to="ann.kim@desk.example")),
        ("#assign bob", Assign(line=1, to="bob@desk.example")),
        ("#assign zoe", Assign(line=1, to="zoe@desk.example")),
        ("#assign ZOË NG", Assign(line=1, to="zoe@desk.example")),
        ("#take", Take(line=1)),
        ("#severity 1", SetSeverity(line=1, level=1)),
        ("#severity 4", SetSeverity(line=1, level=4)),
        ("#category Billing", SetCategory(line=1, name="billing")),
        ("#tag +vpn -billing urgent", Tag(line=1, add=("vpn", "urgent"), remove=("billing",))),
        (
            "#tag VPN +vpn os:linux v1.2_x-y",
            Tag(line=1, add=("vpn", "os:linux", "v1.2_x-y"), remove=()),
        ),
        ("#tag 网络", Tag(line=1, add=("网络",), remove=())),
        ("#escalate customer is down", Escalate(line=1, reason="customer is down")),
        ("#note", Note(line=1)),
        (
            "#cc +A@X.com -b@y.org c@z.co.uk",
            Cc(line=1, add=("a@x.com", "c@z.co.uk"), remove=("b@y.org",)),
        ),
        ("#merge 123", Merge(line=1, into=123)),
        ("#merge #123", Merge(line=1, into=123)),
        ("#merge 2147483647", Merge(line=1, into=2_147_483_647)),
        ("#kb", Kb(line=1, article=None)),
        ("#kb 12", Kb(line=1, article=12)),
        ("#publish", Publish(line=1, article=None)),
        ("#Publish 7", Publish(line=1, article=7)),
        ("#article", ArticleText(line=1, article=None)),
        ("#article #12", ArticleText(line=1, article=12)),
        ("#accept", Accept(line=1)),
        ("#help", Help(line=1)),
        ("#help me please", Help(line=1)),
    ],
)
def test_every_command_parses(text: str, op: Op) -> None:
    assert only_op(text) == op


def test_ops_keep_their_lines_and_order() -> None:
    parsed = parse("\n#take\n#severity 2\n#tag vpn\n\nThanks, on it.")
    assert parsed.ops == (
        Take(line=2),
        SetSeverity(line=3, level=2),
        Tag(line=4, add=("vpn",), remove=()),
    )


@pytest.mark.parametrize(
    ("text", "op"),
    [
        ("#RESOLVE", Resolve(line=1, text="")),
        ("#Status PENDING", SetStatus(line=1, to="pending")),
        ("#ｃｌｏｓｅ", Close(line=1)),
        ("#severity ２", SetSeverity(line=1, level=2)),
        ("#Assign ME", Assign(line=1, to=WRITER)),
    ],
)
def test_names_and_words_are_case_and_width_insensitive(text: str, op: Op) -> None:
    assert only_op(text) == op


@pytest.mark.parametrize(
    ("text", "op"),
    [
        ("#解决 已修复", Resolve(line=1, text="已修复")),
        ("#erledigt", Resolve(line=1, text="")),
        ("#ERLEDIGT Passwort zurückgesetzt", Resolve(line=1, text="Passwort zurückgesetzt")),
        ("#schließen", Close(line=1)),
        ("#Schliessen", Close(line=1)),
        ("#zuweisen bob", Assign(line=1, to="bob@desk.example")),
    ],
)
def test_aliases_in_any_language(text: str, op: Op) -> None:
    assert only_op(text) == op


def test_an_alias_never_overrides_a_command_and_a_dangling_one_is_ignored() -> None:
    parsed = parse("#close\n#foo", aliases={"close": "reopen", "foo": "nothing"})
    assert parsed.ops == (Close(line=1),)
    assert [e.line for e in parsed.errors] == [2]
    assert "unknown command #foo" in parsed.errors[0].message


def test_without_aliases_a_local_word_is_unknown() -> None:
    line, message = only_error("#解决", aliases={})
    assert line == 1
    assert "unknown command #解决" in message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("#status", "write #status open, pending, resolved or closed"),
        ("#status done", "'done' is no status: write #status open, pending"),
        ("#status open now", "write #status open, pending, resolved or closed"),
        ("#close now", "#close takes nothing after it: write #close alone on its line"),
        ("#reopen 3", "#reopen takes nothing after it"),
        ("#take bob", "#take takes nothing after it"),
        ("#note customer is VIP", "#note takes nothing after it"),
        ("#accept it", "#accept takes nothing after it"),
        ("#assign", "say who: write #assign me, #assign NAME or #assign ADDRESS"),
        ("#severity", "write #severity 1, 2, 3 or 4"),
        ("#severity 5", "write #severity 1, 2, 3 or 4"),
        ("#severity high", "write #severity 1, 2, 3 or 4"),
        ("#severity 1 2", "write #severity 1, 2, 3 or 4"),
        ("#category", "write #category NAME"),
        ("#category a b", "write #category NAME"),
        ("#tag", "say which tags: write #tag +TAG -TAG"),
        ("#tag +vpn bad/tag -", "'bad/tag', '-': a tag is 1 to 40 letters"),
        ("#tag " + "x" * 41, "a tag is 1 to 40 letters"),
        ("#escalate", "say why: write #escalate REASON"),
        ("#cc", "say whom: write #cc +ADDRESS -ADDRESS"),
        ("#cc +a@x.com <b@y.org> c@nodot", "'<b@y.org>', 'c@nodot': an address looks like"),
        ("#merge", "write #merge TICKET, with the other ticket's number"),
        ("#merge abc", "write #merge TICKET"),
        ("#merge 0", "write #merge TICKET"),
        ("#merge -4", "write #merge TICKET"),
        ("#merge 2147483648", "write #merge TICKET"),
        ("#merge 99999999999999999999", "write #merge TICKET"),
        ("#merge 7", "a ticket cannot merge into itself"),
        ("#merge 1 2", "write #merge TICKET"),
        ("#kb twelve", "write #kb or #kb ARTICLE"),
        ("#kb 1 2", "write #kb or #kb ARTICLE"),
        ("#publish now", "write #publish or #publish ARTICLE"),
        ("#article 0", "write #article or #article ARTICLE"),
        ("#stauts open", "unknown command #stauts (did you mean #status?); #help lists"),
        ("#frobnicate", "unknown command #frobnicate; #help lists the commands"),
    ],
)
def test_each_error_says_how_to_write_it(text: str, fragment: str) -> None:
    parsed = parse("#take\n" + text)
    assert parsed.ops[0] == Take(line=1)
    assert [e.line for e in parsed.errors] == [2]
    assert parsed.errors[0].text == text
    assert fragment in parsed.errors[0].message


def test_unknown_command_suggests_aliases_too() -> None:
    _, message = only_error("#erledig")
    assert "#erledigt" in message


def test_category_must_be_one_of_the_desk_when_it_has_some() -> None:
    categories = frozenset({"Billing", "network"})
    assert only_op("#category BILLING", categories=categories) == SetCategory(
        line=1, name="billing"
    )
    line, message = only_error("#category sales", categories=categories)
    assert line == 1
    assert "no category is called 'sales'" in message
    assert "Billing, network" in message


def test_assign_names_an_unknown_engineer_and_lists_the_team() -> None:
    line, message = only_error("#assign carol")
    assert line == 1
    assert "no engineer is called 'carol'" in message
    for address, name in TEAM.items():
        assert f"{name} <{address}>" in message


def test_assign_refuses_an_ambiguous_name_and_lists_the_team() -> None:
    _, message = only_error("#assign Ann")
    assert "'Ann' names more than one engineer" in message
    assert "Ann Kim <ann.kim@desk.example>" in message
    assert "Ann Lee <ann.lee@desk.example>" in message


def test_assign_an_address_that_is_not_of_the_team_is_an_error() -> None:
    _, message = only_error("#assign eve@elsewhere.example")
    assert "no engineer is called 'eve@elsewhere.example'" in message


def test_all_errors_are_reported_at_once() -> None:
    parsed = parse("#status done\n#tag\n#severity 1\n#severity 2\n#frobnicate\n#merge 7")
    assert [e.line for e in parsed.errors] == [1, 2, 4, 5, 6]
    assert "line 4 conflicts with line 3" in parsed.errors[2].message
    assert parsed.ops == (SetSeverity(line=3, level=1), SetSeverity(line=4, level=2))
    assert not parsed.ok


@pytest.mark.parametrize(
    ("first", "second", "fragment"),
    [
        ("#resolve", "#close", "changes the status only once"),
        ("#status open", "#reopen", "changes the status only once"),
        ("#close", "#status closed", "changes the status only once"),
        ("#assign bob", "#take", "assigns the ticket only once"),
        ("#take", "#assign me", "assigns the ticket only once"),
        ("#merge 12", "#resolve", "#merge hands this ticket to another"),
        ("#close", "#merge 12", "#merge hands this ticket to another"),
        ("#merge 12", "#assign bob", "#merge hands this ticket to another"),
        ("#severity 1", "#severity 2", "counts only once per mail"),
        ("#category a", "#category b", "counts only once per mail"),
        ("#merge 12", "#merge 13", "counts only once per mail"),
        ("#note", "#note", "counts only once per mail"),
        ("#escalate down", "#escalate really", "counts only once per mail"),
        ("#help", "#help", "counts only once per mail"),
        ("#accept", "#accept", "counts only once per mail"),
        ("#kb", "#kb 3", "counts only once per mail"),
        ("#publish", "#publish 3", "counts only once per mail"),
        ("#article 2", "#article", "counts only once per mail"),
    ],
)
def test_conflicts_name_both_lines(first: str, second: str, fragment: str) -> None:
    parsed = parse(f"{first}\n#tag vpn\n{second}")
    assert len(parsed.errors) == 1
    error = parsed.errors[0]
    assert (error.line, error.text) == (3, second)
    assert f"line 3 conflicts with line 1 ({first})" in error.message
    assert fragment in error.message


def test_commands_that_may_repeat_do_not_conflict() -> None:
    parsed = parse("#tag vpn\n#tag +os:linux\n#cc a@x.com\n#cc b@x.com\n#help\n#close")
    assert parsed.ok
    assert len(parsed.ops) == 6


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("#tag +vpn -vpn", 1, "tag vpn is both added and removed on line 1"),
        ("#tag vpn\n#tag -VPN", 2, "tag vpn is added on line 1 and removed on line 2"),
        ("#tag -vpn\n#tag +vpn", 2, "tag vpn is added on line 2 and removed on line 1"),
        (
            "#cc a@x.com\n#cc -A@X.COM",
            2,
            "address a@x.com is added on line 1 and removed on line 2",
        ),
    ],
)
def test_added_and_removed_is_a_conflict(text: str, line: int, fragment: str) -> None:
    parsed = parse(text)
    assert [e.line for e in parsed.errors] == [line]
    assert fragment in parsed.errors[0].message


def test_help_with_other_commands_is_fine() -> None:
    parsed = parse("#help\n#close\n#tag vpn")
    assert parsed.ok
    assert parsed.ops[0] == Help(line=1)


def test_no_commands_is_nothing_to_do() -> None:
    parsed = parse("Hello,\n#close")
    assert parsed == Parsed(ops=(), errors=())
    assert parsed.ok


def test_remaining_text_is_what_follows_the_commands() -> None:
    body = "#note\n#tag vpn\n\n\nCustomer called twice.\n\nSee the log.\n\n"
    assert remaining_text(body, find_commands(body)) == "Customer called twice.\n\nSee the log."
    assert remaining_text("#close\n", find_commands("#close\n")) == ""
    body = "\n\n#close\nDone, thanks!"
    assert remaining_text(body, find_commands(body)) == "Done, thanks!"


def test_remaining_text_without_commands_is_the_body() -> None:
    body = "\nHello,\n#close is not a command here.\n  \n"
    assert remaining_text(body, ()) == "\nHello,\n#close is not a command here."


def test_help_lists_every_command_with_its_form_and_the_rules() -> None:
    for form in FORMS:
        assert f"  {form.usage}\n      {form.meaning}" in HELP
    for rule in ("very top", "Quoted text", "whole or not at all", "only commands", "#note"):
        assert rule in HELP
    assert help_text({}) == HELP
    assert "Aliases" not in HELP


def test_every_command_in_the_help_is_known_to_the_parser() -> None:
    for form in FORMS:
        parsed = parse(f"#{form.name}")
        assert all("unknown command" not in e.message for e in parsed.errors), form.name


def test_help_text_lists_the_aliases() -> None:
    text = help_text(ALIASES)
    assert text.startswith(HELP)
    for line in ("#解决 -> #resolve", "#Erledigt -> #resolve", "#zuweisen -> #assign"):
        assert f"  {line}\n" in text


@pytest.mark.parametrize(
    ("op", "line"),
    [
        (SetStatus(line=1, to="resolved"), "status -> resolved"),
        (Resolve(line=1, text="reset"), "status -> resolved: reset"),
        (Resolve(line=1, text=""), "status -> resolved"),
        (Close(line=1), "status -> closed"),
        (Reopen(line=1), "status -> open (reopened)"),
        (Assign(line=1, to="bob@x"), "assigned -> bob@x"),
        (Take(line=1), "assigned -> you"),
        (SetSeverity(line=1, level=2), "severity -> 2"),
        (SetCategory(line=1, name="billing"), "category -> billing"),
        (Tag(line=1, add=("vpn",), remove=("billing",)), "tags +vpn -billing"),
        (Escalate(line=1, reason="down"), "escalated: down"),
        (Note(line=1), "internal note: nothing goes to the customer"),
        (Cc(line=1, add=("a@x.com",), remove=("b@y.org",)), "cc +a@x.com -b@y.org"),
        (Merge(line=1, into=12), "merged into #12"),
        (Kb(line=1, article=None), "knowledge-base draft proposed"),
        (Kb(line=1, article=12), "cites knowledge-base article 12"),
        (Publish(line=1, article=None), "knowledge-base draft of this ticket published"),
        (Publish(line=1, article=3), "knowledge-base article 3 published"),
        (ArticleText(line=1, article=3), "knowledge-base article 3: text replaced"),
        (Accept(line=1), "held mail accepted"),
        (Help(line=1), "help mailed"),
    ],
)
def test_describe(op: Op, line: str) -> None:
    assert describe(op) == line


def test_alias_problems() -> None:
    assert alias_problems(ALIASES) == ()
    problems = alias_problems({"fertig": "finish", "close": "resolve", "zwei worte": "close"})
    assert len(problems) == 3
    assert "alias 'fertig': there is no command #finish" in problems[0]
    assert "is the name of #close" in problems[1]
    assert "cannot be written as a command" in problems[2]


WORDS = [form.name for form in FORMS] + ["解决", "ERLEDIGT", "schließen", "stauts", "x", "Help"]
ARGS = ["me", "ann", "bob", "Ann Lee", "1", "4", "5", "0", "7", "12", "#12", "2147483648", "+vpn"]
ARGS += ["-vpn", "a@b.co", "-a@b.co", "bad@", "open", "CLOSED", "-", "+", "１", "<x@y.z>"]
ARG = st.one_of(
    st.sampled_from(ARGS),
    st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=8),
)
LINE = st.builds(
    lambda word, args: " ".join([f"#{word}", *args]),
    st.sampled_from(WORDS),
    st.lists(ARG, max_size=4),
)
MAIL = st.builds(
    lambda lines, tail: "\n".join(lines) + tail,
    st.lists(LINE, max_size=8),
    st.sampled_from(["", "\n\nThanks!", "\nText\n#close"]),
)


def check(text: str) -> None:
    commands = find_commands(text)
    parsed = parse(text)
    lines = {command.line for command in commands}
    assert {error.line for error in parsed.errors} <= lines
    assert {op.line for op in parsed.ops} | {error.line for error in parsed.errors} == lines
    if parsed.ok:
        assert {op.line for op in parsed.ops} == lines
    assert all(describe(op) for op in parsed.ops)
    assert isinstance(remaining_text(text, commands), str)


@given(st.text())
def test_any_text_gives_ops_or_errors_never_an_exception(text: str) -> None:
    check(text)


@given(MAIL)
def test_any_command_lines_give_ops_or_errors_never_an_exception(text: str) -> None:
    check(text)
