"""Command layer: `#name args` lines at the very top of an engineer's new text.

The grammar belongs to the email-workflow issue; this finds the candidate lines only. Commands
are read from the new text (quoted history is already gone), from its first line on, and the
first line that is not a command ends them: a `#tag` in a sentence further down is never one.
"""

from __future__ import annotations

import re

from parsers.message import Command

MAX_COMMAND_LINE = 300
"""Longer lines are prose, not commands."""

_COMMAND = re.compile(r"#([A-Za-z][A-Za-z0-9_-]{0,30})(?:[ \t]+(.{0,280}))?")


def find_commands(new_text: str) -> tuple[Command, ...]:
    """The command lines at the top of the new text; names lower-cased, arguments split."""
    found: list[Command] = []
    for number, line in enumerate(new_text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            if found:
                break
            continue
        match = _COMMAND.fullmatch(stripped) if len(stripped) <= MAX_COMMAND_LINE else None
        if match is None:
            break
        args = tuple((match.group(2) or "").split())
        found.append(Command(name=match.group(1).lower(), args=args, line=number, text=stripped))
    return tuple(found)
