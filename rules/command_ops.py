"""The operations an engineer's mail commands ask for, as typed values, and their errors.

The vocabulary `rules.commands` parses into and the daemon applies: one frozen dataclass per
operation, each with the `line` of the new text it came from, so the transcript mailed back can
say which line did what (`describe`). `Parsed` holds a mail's operations and every problem with
them; a mail with any `CommandError` is refused whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias, assert_never

Status = Literal["open", "pending", "resolved", "closed"]


@dataclass(frozen=True, slots=True)
class CommandError:
    """A command line that cannot be applied: where, as written, and how to write it right."""

    line: int
    text: str
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SetStatus:
    line: int
    to: Status


@dataclass(frozen=True, slots=True, kw_only=True)
class Resolve:
    """Resolve the ticket; `text` is the resolution, maybe ""."""

    line: int
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Close:
    line: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Reopen:
    line: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Assign:
    """Give the ticket to the engineer at address `to` (`#assign me` is the writer)."""

    line: int
    to: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Take:
    """Give the ticket to the writer of the mail."""

    line: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SetSeverity:
    line: int
    level: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SetCategory:
    line: int
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Tag:
    """Tags to add and to remove, lower-cased; never the same tag in both."""

    line: int
    add: tuple[str, ...]
    remove: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Escalate:
    line: int
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Note:
    """The text after the commands is an internal note: nothing goes to the customer."""

    line: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Cc:
    """Addresses, lower-cased, to copy on the customer's mail from now on, and to stop copying."""

    line: int
    add: tuple[str, ...]
    remove: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Merge:
    """Merge this ticket into ticket `into`."""

    line: int
    into: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Kb:
    """Propose a knowledge-base draft (`article` None), or cite article `article`."""

    line: int
    article: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Publish:
    """Publish article `article`, or (None) the latest article drafted from this ticket."""

    line: int
    article: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ArticleText:
    """The text after the commands replaces article `article`'s (None: this ticket's latest);
    its first line is the new title when it starts with `# `. Nothing goes to the customer."""

    line: int
    article: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Accept:
    """Apply the writer's mail held on this ticket (it came unsigned)."""

    line: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Help:
    """Mail the help back with the transcript."""

    line: int


Op: TypeAlias = (
    SetStatus | Resolve | Close | Reopen | Assign | Take | SetSeverity | SetCategory | Tag
) | (Escalate | Note | Cc | Merge | Kb | Publish | ArticleText | Accept | Help)


@dataclass(frozen=True, slots=True)
class Parsed:
    """The operations a mail's commands ask for, in line order, and every problem with them."""

    ops: tuple[Op, ...]
    errors: tuple[CommandError, ...]

    @property
    def ok(self) -> bool:
        return not self.errors


def _signs(add: tuple[str, ...], remove: tuple[str, ...]) -> str:
    return " ".join([*(f"+{a}" for a in add), *(f"-{r}" for r in remove)])


def describe(op: Op) -> str:
    """One short line for the transcript, e.g. `status -> resolved`, `tags +vpn -billing`."""
    match op:
        case SetStatus(to=to):
            return f"status -> {to}"
        case Resolve(text=text):
            return f"status -> resolved: {text}" if text else "status -> resolved"
        case Close():
            return "status -> closed"
        case Reopen():
            return "status -> open (reopened)"
        case Assign(to=to):
            return f"assigned -> {to}"
        case Take():
            return "assigned -> you"
        case SetSeverity(level=level):
            return f"severity -> {level}"
        case SetCategory(name=name):
            return f"category -> {name}"
        case Tag(add=add, remove=remove):
            return f"tags {_signs(add, remove)}"
        case Escalate(reason=reason):
            return f"escalated: {reason}"
        case Note():
            return "internal note: nothing goes to the customer"
        case Cc(add=add, remove=remove):
            return f"cc {_signs(add, remove)}"
        case Merge(into=into):
            return f"merged into #{into}"
        case Kb(article=None):
            return "knowledge-base draft proposed"
        case Kb(article=article):
            return f"cites knowledge-base article {article}"
        case Publish(article=None):
            return "knowledge-base draft of this ticket published"
        case Publish(article=article):
            return f"knowledge-base article {article} published"
        case ArticleText(article=None):
            return "knowledge-base draft of this ticket: text replaced"
        case ArticleText(article=article):
            return f"knowledge-base article {article}: text replaced"
        case Accept():
            return "held mail accepted"
        case Help():
            return "help mailed"
        case _:
            assert_never(op)
