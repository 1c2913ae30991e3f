"""Subject layer: reply/forward prefixes, our ticket tag, the clean subject.

The grammar, in one place:
- Our tag is `[#123]` or `[Ticket #123]`; with a configured prefix (say `ACME`) it is `[#123]` or
  `[ACME #123]`. It may stand anywhere in the subject; a number outside such a tag is not a ticket.
- A reply or forward prefix is a word from `REPLY_WORDS` (any case), optionally counted (`Re[2]`,
  `Re(2)`, `Re^2`), then a colon, ASCII or full-width (`:` `：`). Prefixes repeat and interleave
  with our tag (`RE: [#12] AW: Fwd: x`). A Netscape-style `[Fwd: x]` wrapper is unwrapped.
- Other leading brackets (`[EXTERNAL]`, `[list-name]`) are the sender's and are kept.
"""

from __future__ import annotations

import re

REPLY_WORDS = (
    "re",
    "fwd",
    "fw",
    "aw",
    "wg",
    "sv",
    "vs",
    "vl",
    "antw",
    "antwort",
    "doorst",
    "r",
    "rif",
    "tr",
    "rv",
    "enc",
    "res",
    "ref",
    "réf",
    "rép",
    "odp",
    "pd",
    "ynt",
    "ilt",
    "İlt",
    "vá",
    "továbbítás",
    "απ",
    "σχετ",
    "πρθ",
    "ответ",
    "отв",
    "переслать",
    "השב",
    "הועבר",
    "回复",
    "回覆",
    "答复",
    "答覆",
    "转发",
    "轉寄",
    "转寄",
    "轉發",
    "返信",
    "転送",
    "회신",
    "전달",
)
"""Reply and forward prefixes in the languages our customers write in (matched ignoring case)."""

_WORDS = "|".join(sorted({re.escape(w) for w in REPLY_WORDS}, key=len, reverse=True))
_PREFIX = re.compile(
    r"(?:" + _WORDS + r")[ \t]{0,3}(?:\[\d{1,4}\]|\(\d{1,4}\)|\^\d{1,4})?[ \t]{0,3}[:：]",
    re.IGNORECASE,
)
_OTHER_BRACKET = re.compile(r"\[[^\[\]]{1,80}\]")
_FWD_WRAPPER = re.compile(r"\[(?:fwd?|fw)[ \t]{0,3}:([^\[\]]{1,500})\]", re.IGNORECASE)
MAX_TICKET = 2**31 - 1
_FOREIGN_TAG = re.compile(
    r"\[[ \t]{0,3}(?:ticket|case|request|req|incident|inc|sr|issue|tt|ref|id)[ \t]{0,3}"
    r"(?:id[ \t]{0,3})?[#:=\-_ ]{0,4}[A-Z0-9\-]{0,12}\d{2,}[ \t]{0,3}\]"
    r"|\[[A-Z][A-Z0-9]{1,9}-\d{1,10}\]"
    r"|\[[A-Z][A-Z0-9_]{0,15}[ \t]{0,2}#[ \t]{0,2}\d{1,20}\]"
    r"|\[[a-z0-9.\-]{2,60}\.[a-z]{2,12}[ \t]#\d{1,10}\]"
    r"|\(\s?case[ \t]{0,3}#?\d{4,}\s?\)"
    r"|ref:_[0-9A-Za-z]{5,}\._[0-9A-Za-z]{5,}:ref"
    r"|##\d{2,}##",
    re.IGNORECASE,
)
_TRAILING_FWD = re.compile(r"[ \t]{0,10}\((?:fwd?|fw)\)\Z", re.IGNORECASE)


def tag_pattern(tag_prefix: str = "") -> re.Pattern[str]:
    """Our subject tag: `[#N]`, plus `[Ticket #N]` (no prefix) or `[<prefix> #N]` (prefix)."""
    prefix = tag_prefix.strip()
    label = re.escape(prefix) if prefix else "ticket"
    return re.compile(
        r"\[[ \t]{0,3}(?:" + label + r"[ \t]{0,3})?#[ \t]{0,2}(\d{1,12})[ \t]{0,3}\]",
        re.IGNORECASE,
    )


def ticket_ref(subject: str, *, tag_prefix: str = "") -> int | None:
    """The ticket number in our subject tag (the first one), or None.

    A number outside 1..MAX_TICKET (ticket ids are 32-bit) names no ticket: None.
    """
    match = tag_pattern(tag_prefix).search(subject)
    if match is None:
        return None
    number = int(match.group(1))
    return number if 1 <= number <= MAX_TICKET else None


def has_reply_prefix(subject: str) -> bool:
    """Whether the subject starts with a reply or forward prefix (`Re:`, `Fwd:`, `AW:`...)."""
    text = subject.strip()
    return _PREFIX.match(text) is not None or _FWD_WRAPPER.match(text) is not None


def foreign_ticket_tag(subject: str, *, tag_prefix: str = "") -> str | None:
    """Another help desk's ticket tag in the subject (`[Ticket#4711]`, `[SR-123]`...), or None.

    Our own tag never counts. Used to keep two desks from acknowledging each other forever.
    """
    ours = tag_pattern(tag_prefix)
    for match in _FOREIGN_TAG.finditer(subject[:2000]):
        if not ours.fullmatch(match.group(0)):
            return match.group(0)
    return None


def clean_subject(subject: str, *, tag_prefix: str = "") -> str:
    """The subject without reply/forward prefixes and without our ticket tag, spaces collapsed."""
    tag = tag_pattern(tag_prefix)
    text = " ".join(subject.split())
    wrapped = _FWD_WRAPPER.fullmatch(text)
    if wrapped:
        text = wrapped.group(1)
    kept: list[str] = []
    position = 0
    while position < len(text):
        if text[position] in " \t":
            position += 1
            continue
        match = (
            tag.match(text, position)
            or _PREFIX.match(text, position)
            or _OTHER_BRACKET.match(text, position)
        )
        if match is None:
            break
        if match.re is _OTHER_BRACKET:
            kept.append(match.group(0))
        position = match.end()
    rest = _TRAILING_FWD.sub("", tag.sub(" ", text[position:]))
    return " ".join(" ".join([*kept, rest]).split())


def strip_prefixes(subject: str) -> str:
    """The subject without its leading reply/forward prefixes only (our tag untouched)."""
    text = subject.strip()
    while True:
        match = _PREFIX.match(text)
        if match is None:
            return text
        text = text[match.end() :].lstrip()


def format_tag(number: int, *, tag_prefix: str = "") -> str:
    """Our subject tag for a ticket: `[#123]`, or `[ACME #123]` with a prefix."""
    label = f"{tag_prefix.strip()} " if tag_prefix.strip() else ""
    return f"[{label}#{number}]"
