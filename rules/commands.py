"""The engineers' mail commands: `Command` lines in, typed operations or errors out.

`parsers.commands` finds the `#name args` lines at the top of an engineer's new text; this turns
them into the operations of `rules.command_ops` (`SetStatus`, `Assign`, `Tag`, ...) or into
`CommandError`s. The grammar (every command, its form, the rules) is written down once, in
`rules.command_help.HELP`, which is also the help mailed back; the errors quote its forms.

A pure decision: the daemon passes in the writer, the ticket, the team, the categories and the
desk's aliases; nothing here reads config, the clock or the database, and nothing raises on any
input. Roundup's lesson: every problem in a mail is reported at once, each with its line and a
sentence saying how to write it right, so one answer fixes the mail. A `Parsed` with errors is
to be refused whole (a mail is applied whole or not at all); its `ops` are what did parse.

Names compare after NFKC and case folding, so `#RESOLVE`, `#ｒｅｓｏｌｖｅ`, `#schließen` and
`#schliessen` all work; an alias never overrides a canonical name. Two commands conflict when
both change the status, both assign, a once-only command comes twice, `#merge` comes with a
status or assignment change, or one tag or address is both added and removed; the error sits on
the later line and names the earlier one.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import dropwhile
from types import MappingProxyType
from typing import TypeAlias

from parsers.message import Command
from rules.command_help import FORMS
from rules.command_ops import (
    Accept,
    ArticleText,
    Assign,
    Cc,
    Close,
    CommandError,
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
    Status,
    Tag,
    Take,
)

_STATUSES: Mapping[str, Status] = {
    "open": "open",
    "pending": "pending",
    "resolved": "resolved",
    "closed": "closed",
}
MAX_TICKET = 2_147_483_647
_TAG = re.compile(r"[\w.:-]{1,40}")
_ADDRESS = re.compile(r"[^\s<>@,;\"()]+@[^\s<>@,;\"().]+(?:\.[^\s<>@,;\"().]+)+")
_NAME = re.compile(r"[^\W\d_][\w-]{0,30}")
_NO_ALIASES: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class _Facts:
    writer: str
    ticket: int
    engineers: Mapping[str, str]
    categories: frozenset[str]


_Parser: TypeAlias = Callable[[Command, _Facts], "Op | str"]
_USAGE: Mapping[str, str] = {form.name: form.usage for form in FORMS}


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _lower(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def _write(name: str) -> str:
    return f"write {_USAGE[name]}"


def _rest(command: Command) -> str:
    """The line after the command name, spacing kept."""
    parts = command.text.split(None, 1)
    return parts[1].strip() if len(parts) > 1 else ""


def _number(arg: str) -> int | None:
    digits = unicodedata.normalize("NFKC", arg).removeprefix("#")
    if not (digits.isascii() and digits.isdigit() and len(digits) <= 10):
        return None
    value = int(digits)
    return value if 1 <= value <= MAX_TICKET else None


def _bare(name: str, make: Callable[[int], Op]) -> _Parser:
    def parse(command: Command, facts: _Facts) -> Op | str:
        if command.args:
            return f"#{name} takes nothing after it: {_write(name)} alone on its line"
        return make(command.line)

    return parse


def _status(command: Command, facts: _Facts) -> Op | str:
    if len(command.args) != 1:
        return _write("status")
    to = _STATUSES.get(_fold(command.args[0]))
    return (
        SetStatus(line=command.line, to=to)
        if to
        else f"'{command.args[0]}' is no status: {_write('status')}"
    )


def _team(engineers: Mapping[str, str]) -> str:
    people = sorted(engineers.items(), key=lambda item: (_fold(item[1]), item[0]))
    return ", ".join(f"{name} <{address}>" if name else address for address, name in people)


def _rank(who: str, address: str, name: str) -> int | None:
    """How well `who` names this engineer: 0 address, 1 full name, 2 local part or first name."""
    address, name = _fold(address), _fold(name)
    if who == address:
        return 0
    if who == name:
        return 1
    if who == address.partition("@")[0] or who in name.split()[:1]:
        return 2
    return None


def _assign(command: Command, facts: _Facts) -> Op | str:
    written = " ".join(command.args)
    who = _fold(written)
    if not who:
        return f"say who: {_write('assign')}"
    if who == "me":
        return Assign(line=command.line, to=facts.writer.strip().lower())
    ranked = [(r, a) for a, n in facts.engineers.items() if (r := _rank(who, a, n)) is not None]
    best = min((r for r, _ in ranked), default=None)
    matches = [address for r, address in ranked if r == best]
    if len(matches) == 1:
        return Assign(line=command.line, to=matches[0])
    team = _team(facts.engineers) or "nobody"
    if matches:
        return f"'{written}' names more than one engineer, write the address; the team: {team}"
    return f"no engineer is called '{written}'; the team: {team}"


def _severity(command: Command, facts: _Facts) -> Op | str:
    level = _fold(command.args[0]) if len(command.args) == 1 else ""
    if level in ("1", "2", "3", "4"):
        return SetSeverity(line=command.line, level=int(level))
    return _write("severity")


def _category(command: Command, facts: _Facts) -> Op | str:
    if len(command.args) != 1:
        return _write("category")
    wanted = _fold(command.args[0])
    if not facts.categories:
        return SetCategory(line=command.line, name=_lower(command.args[0]))
    for category in sorted(facts.categories):
        if _fold(category) == wanted:
            return SetCategory(line=command.line, name=_lower(category))
    known = ", ".join(sorted(facts.categories))
    return f"no category is called '{command.args[0]}': write #category with one of {known}"


def _signed(
    args: Sequence[str], clean: Callable[[str], str | None]
) -> tuple[Mapping[str, str], list[str]]:
    """Split `+x -y z` into {value: sign}, cleaning each value; the args that failed."""
    signs: dict[str, str] = {}
    bad: list[str] = []
    for arg in args:
        sign = "-" if arg.startswith("-") else "+"
        value = clean(arg[1:] if arg[:1] in ("+", "-") else arg)
        if value is None:
            bad.append(arg)
        else:
            signs.setdefault(f"{sign}{value}", sign)
    return signs, bad


def _added_removed(signs: Mapping[str, str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    add = tuple(key[1:] for key, sign in signs.items() if sign == "+")
    return add, tuple(key[1:] for key, sign in signs.items() if sign == "-")


def _clean_tag(word: str) -> str | None:
    tag = _lower(word)
    return tag if _TAG.fullmatch(tag) else None


def _clean_address(word: str) -> str | None:
    return word.lower() if _ADDRESS.fullmatch(word) else None


def _tag(command: Command, facts: _Facts) -> Op | str:
    signs, bad = _signed(command.args, _clean_tag)
    if bad:
        words = ", ".join(f"'{b}'" for b in bad)
        return f"{words}: a tag is 1 to 40 letters, digits or _ - . :; {_write('tag')}"
    if not signs:
        return f"say which tags: {_write('tag')}"
    add, remove = _added_removed(signs)
    return Tag(line=command.line, add=add, remove=remove)


def _cc(command: Command, facts: _Facts) -> Op | str:
    signs, bad = _signed(command.args, _clean_address)
    if bad:
        words = ", ".join(f"'{b}'" for b in bad)
        return f"{words}: an address looks like name@example.com; {_write('cc')}"
    if not signs:
        return f"say whom: {_write('cc')}"
    add, remove = _added_removed(signs)
    return Cc(line=command.line, add=add, remove=remove)


def _escalate(command: Command, facts: _Facts) -> Op | str:
    reason = _rest(command)
    return (
        Escalate(line=command.line, reason=reason) if reason else f"say why: {_write('escalate')}"
    )


def _merge(command: Command, facts: _Facts) -> Op | str:
    into = _number(command.args[0]) if len(command.args) == 1 else None
    if into is None:
        return f"{_write('merge')}, with the other ticket's number"
    if into == facts.ticket:
        return "a ticket cannot merge into itself: write #merge with another ticket's number"
    return Merge(line=command.line, into=into)


def _article(name: str, make: Callable[[int, int | None], Op]) -> _Parser:
    """`#name` alone, or `#name N` with an article number (`#kb`, `#publish`, `#article`)."""

    def parse(command: Command, facts: _Facts) -> Op | str:
        if not command.args:
            return make(command.line, None)
        article = _number(command.args[0]) if len(command.args) == 1 else None
        return _write(name) if article is None else make(command.line, article)

    return parse


_PARSERS: Mapping[str, _Parser] = {
    "status": _status,
    "resolve": lambda command, facts: Resolve(line=command.line, text=_rest(command)),
    "close": _bare("close", lambda line: Close(line=line)),
    "reopen": _bare("reopen", lambda line: Reopen(line=line)),
    "assign": _assign,
    "take": _bare("take", lambda line: Take(line=line)),
    "severity": _severity,
    "category": _category,
    "tag": _tag,
    "escalate": _escalate,
    "note": _bare("note", lambda line: Note(line=line)),
    "cc": _cc,
    "merge": _merge,
    "kb": _article("kb", lambda line, n: Kb(line=line, article=n)),
    "publish": _article("publish", lambda line, n: Publish(line=line, article=n)),
    "article": _article("article", lambda line, n: ArticleText(line=line, article=n)),
    "accept": _bare("accept", lambda line: Accept(line=line)),
    "help": lambda command, facts: Help(line=command.line),  # anything after it is ignored
}


def _canonical(name: str, aliases: Mapping[str, str]) -> str | None:
    key = _fold(name)
    return key if key in _PARSERS else aliases.get(key)


def _unknown(command: Command, aliases: Mapping[str, str]) -> str:
    near = difflib.get_close_matches(_fold(command.name), [*_PARSERS, *aliases], n=3, cutoff=0.6)
    guess = f" (did you mean {' or '.join(f'#{n}' for n in near)}?)" if near else ""
    return f"unknown command #{command.name}{guess}; #help lists the commands"


_STATUS_OPS = (SetStatus, Resolve, Close, Reopen)
_OWNER_OPS = (Assign, Take)
_ONCE_OPS = (
    SetSeverity,
    SetCategory,
    Merge,
    Note,
    Escalate,
    Help,
    Accept,
    Kb,
    Publish,
    ArticleText,
)


def _conflict(first: Op, second: Op) -> str | None:
    """Why `second` cannot come in the same mail as `first`, if it cannot."""
    if isinstance(first, _STATUS_OPS) and isinstance(second, _STATUS_OPS):
        return "a mail changes the status only once, so keep one of the two"
    if isinstance(first, _OWNER_OPS) and isinstance(second, _OWNER_OPS):
        return "a mail assigns the ticket only once, so keep one of the two"
    if type(first) is type(second) and isinstance(first, _ONCE_OPS):
        return "this command counts only once per mail, so keep one of the two"
    moves = (*_STATUS_OPS, *_OWNER_OPS)
    pair = (first, second)
    if any(isinstance(op, Merge) for op in pair) and any(isinstance(op, moves) for op in pair):
        return "#merge hands this ticket to another, so change status or owner in another mail"
    return None


def _conflicts(parsed: Sequence[tuple[Op, Command]]) -> list[CommandError]:
    errors: list[CommandError] = []
    for index, (op, command) in enumerate(parsed):
        for earlier, earlier_command in parsed[:index]:
            reason = _conflict(earlier, op)
            if reason is not None:
                where = f"line {command.line} conflicts with line {earlier.line}"
                message = f"{where} ({earlier_command.text}): {reason}"
                errors.append(CommandError(command.line, command.text, message))
                break
    return errors


def _both_ways(
    parsed: Sequence[tuple[Op, Command]], kind: type[Tag] | type[Cc], label: str
) -> list[CommandError]:
    """A tag (or address) added on one line and removed on another, or on the same one."""
    added: dict[str, Command] = {}
    removed: dict[str, Command] = {}
    for op, command in parsed:
        if isinstance(op, kind):
            for value in op.add:
                added.setdefault(value, command)
            for value in op.remove:
                removed.setdefault(value, command)
    errors: list[CommandError] = []
    for value, plus in added.items():
        minus = removed.get(value)
        if minus is not None:
            later = max(plus, minus, key=lambda c: c.line)
            message = (
                f"{label} {value} is both added and removed on line {plus.line}, keep one"
                if plus.line == minus.line
                else f"{label} {value} is added on line {plus.line} and removed on line "
                f"{minus.line}, keep one of the two"
            )
            errors.append(CommandError(later.line, later.text, message))
    return errors


def parse_commands(
    commands: Sequence[Command],
    *,
    writer: str,
    ticket: int,
    engineers: Mapping[str, str],
    categories: frozenset[str] = frozenset(),
    aliases: Mapping[str, str] = _NO_ALIASES,
) -> Parsed:
    """The operations these command lines ask for and every error among them (see HELP)."""
    facts = _Facts(writer, ticket, engineers, categories)
    folded = {_fold(a).lstrip("#"): _fold(c).lstrip("#") for a, c in aliases.items()}
    usable = {alias: name for alias, name in folded.items() if name in _PARSERS}
    parsed: list[tuple[Op, Command]] = []
    errors: list[CommandError] = []
    for command in commands:
        name = _canonical(command.name, usable)
        result = _unknown(command, usable) if name is None else _PARSERS[name](command, facts)
        if isinstance(result, str):
            errors.append(CommandError(command.line, command.text, result))
        else:
            parsed.append((result, command))
    errors += _conflicts(parsed)
    errors += _both_ways(parsed, Tag, "tag")
    errors += _both_ways(parsed, Cc, "address")
    errors.sort(key=lambda error: error.line)
    return Parsed(tuple(op for op, _ in parsed), tuple(errors))


def alias_problems(aliases: Mapping[str, str]) -> tuple[str, ...]:
    """What is wrong with a desk's aliases, for config validation at start-up; () when fine."""
    problems: list[str] = []
    for alias, name in aliases.items():
        word, target = _fold(alias).lstrip("#"), _fold(name).lstrip("#")
        if target not in _PARSERS:
            problems.append(f"alias {alias!r}: there is no command #{name.lstrip('#')}")
        if word in _PARSERS and word != target:
            problems.append(f"alias {alias!r} is the name of #{word} and would never be used")
        if not _NAME.fullmatch(word):
            problems.append(f"alias {alias!r} cannot be written as a command (#{word})")
    return tuple(problems)


def remaining_text(body: str, commands: Sequence[Command]) -> str:
    """The new text after the command lines, leading blank lines dropped: the relay, or the note."""
    if not commands:
        return body.rstrip()
    after = body.splitlines()[max(0, *(command.line for command in commands)) :]
    return "\n".join(dropwhile(lambda line: not line.strip(), after)).rstrip()
