"""The command layer: `#name args` lines at the very top of the new text only."""

from __future__ import annotations

from parsers.commands import find_commands
from parsers.quotes import new_text


def test_commands_at_the_top() -> None:
    found = find_commands("#Status pending\n#assign alice bob\nThanks, looking into it.")
    assert [(c.name, c.args, c.line) for c in found] == [
        ("status", ("pending",), 1),
        ("assign", ("alice", "bob"), 2),
    ]
    assert found[0].text == "#Status pending"


def test_leading_blank_lines_are_skipped_and_first_text_line_stops() -> None:
    found = find_commands("\n\n#close\nSome text\n#priority high")
    assert [c.name for c in found] == ["close"]
    assert found[0].line == 3


def test_blank_line_after_commands_ends_them() -> None:
    assert [c.name for c in find_commands("#close\n\n#reopen")] == ["close"]


def test_no_commands_when_text_comes_first() -> None:
    assert find_commands("Hello\n#close") == ()
    assert find_commands("# heading") == ()
    assert find_commands("#1234 is the ticket") == ()


def test_commands_in_quoted_text_are_never_found() -> None:
    body = "Thanks!\n\nOn Tue, Mar 5, 2024 at 10:21 AM Eng <e@example.com> wrote:\n> #close\n"
    assert find_commands(new_text(body)) == ()
    assert find_commands(new_text("> #close\n> #assign bob")) == ()


def test_overlong_line_is_not_a_command() -> None:
    assert find_commands("#note " + "x" * 1000) == ()


def test_names_may_be_letters_of_any_script() -> None:
    found = find_commands("#解决 已修复\n#Schließen\n#résoudre\n#٣bad")
    assert [(c.name, c.args) for c in found] == [
        ("解决", ("已修复",)),
        ("schließen", ()),
        ("résoudre", ()),
    ]
