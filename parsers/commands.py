"""Command layer: `#name args` lines at the very top of an engineer's new text.

This finds the candidate lines only; what each command means is `rules/commands.py`. Commands
are read from the new text (quoted history is already gone), from its first line on, and the
first line that is not a command ends them: a `#tag` in a sentence further down is never one.
A name is a letter of any script, then up to 30 letters, digits, `_` or `-` (`#解决`,
`#schließen`), so a desk may give its commands local words; `#1234` and `# heading` are prose.
"""

from __future__ import annotations

import re

from parsers.message import Command

MAX_COMMAND_LINE = 300
"""Longer lines are prose, not commands."""

_COMMAND = re.compile(r"#([^\W\d_][\w-]{0,30})(?:[ \t]+(.{0,280}))?")


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
