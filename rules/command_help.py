"""The engineers' mail command grammar, written down once: the help mailed back to an engineer.

`FORMS` is the list of commands, each with the way to write it and what it does; `rules.commands`
takes its command names from here and quotes `usage` in its error messages ("write #severity 1,
2, 3 or 4"), so the help, the parser and the errors cannot drift apart. `HELP` is the text as
mailed; `help_text` adds the desk's aliases (local words for the commands) when it has any.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CommandForm:
    """One command: its canonical name, how to write it, and what it does, in one line."""

    name: str
    usage: str
    meaning: str


FORMS: tuple[CommandForm, ...] = (
    CommandForm("status", "#status open, pending, resolved or closed", "set the ticket's status"),
    CommandForm(
        "resolve", "#resolve [what fixed it]", "resolve the ticket; the text is the resolution"
    ),
    CommandForm("close", "#close", "close the ticket"),
    CommandForm("reopen", "#reopen", "reopen a resolved or closed ticket"),
    CommandForm(
        "assign",
        "#assign me, #assign NAME or #assign ADDRESS",
        "give the ticket to an engineer: name, first name or address",
    ),
    CommandForm("take", "#take", "take the ticket yourself (the same as #assign me)"),
    CommandForm("severity", "#severity 1, 2, 3 or 4", "set the severity; 1 is the most severe"),
    CommandForm("category", "#category NAME", "set the ticket's category"),
    CommandForm(
        "tag",
        "#tag +TAG -TAG ...",
        "add (+TAG or TAG) or remove (-TAG) tags: letters, digits, _ - . : (1-40)",
    ),
    CommandForm("escalate", "#escalate REASON", "escalate the ticket, saying why"),
    CommandForm(
        "note", "#note", "the rest of this mail is an internal note, not sent to the customer"
    ),
    CommandForm(
        "cc",
        "#cc +ADDRESS -ADDRESS ...",
        "copy (+ADDRESS or ADDRESS) or stop copying (-ADDRESS) people on mail",
    ),
    CommandForm("merge", "#merge TICKET", "merge this ticket into another one, e.g. #merge 123"),
    CommandForm(
        "kb",
        "#kb or #kb ARTICLE",
        "draft a knowledge-base article from this ticket (mailed to you), or cite article ARTICLE",
    ),
    CommandForm(
        "publish",
        "#publish or #publish ARTICLE",
        "publish this ticket's knowledge-base draft, or article ARTICLE (marks it reviewed)",
    ),
    CommandForm(
        "article",
        "#article or #article ARTICLE",
        "the rest of this mail replaces the text of this ticket's draft (or of ARTICLE);"
        " a first line '# Title' is its new title; nothing goes to the customer",
    ),
    CommandForm(
        "accept",
        "#accept",
        "apply your mail held on this ticket (it came unsigned)",
    ),
    CommandForm("help", "#help", "mail back this help"),
)

_RULES = """\
How commands work:
  - Commands are lines at the very top of your reply, one per line, before
    any other text; the first blank line or line of text ends them.
  - Quoted text (the mail you answer) is never read for commands.
  - A mail is applied whole or not at all: if any command is wrong, nothing
    is done and you get every problem back at once, each with its line.
  - A reply holding only commands sends nothing to the customer; the text
    after the commands is relayed to the customer, unless #note keeps it
    internal.
  - One status change (#status, #resolve, #close, #reopen) and one
    assignment (#assign, #take) per mail, and #merge goes with neither;
    only #tag and #cc may be given more than once.
  - Command names and status words are not case-sensitive (#Close,
    #status Pending)."""


def _commands_block() -> str:
    return "\n".join(f"  {form.usage}\n      {form.meaning}" for form in FORMS)


HELP: str = f"Replydesk mail commands\n\nCommands:\n{_commands_block()}\n\n{_RULES}\n"
"""The help as mailed to an engineer, for a desk without aliases."""


def help_text(aliases: Mapping[str, str]) -> str:
    """`HELP`, with the desk's aliases listed as `#alias -> #command` when it has any."""
    if not aliases:
        return HELP
    lines = [
        f"  #{alias.lstrip('#')} -> #{command.lstrip('#')}"
        for alias, command in sorted(aliases.items())
    ]
    return f"{HELP}\nAliases on this desk:\n" + "\n".join(lines) + "\n"
