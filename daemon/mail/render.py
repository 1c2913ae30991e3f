"""Text shaping for our mails: quotes, fact lines, lines cut to fit a header or a list.

Mail text from strangers reaches our notices; each helper here bounds what it shows (lines,
characters) and says what it left out, so a megabyte of customer text is a few lines in a notice.
"""

from __future__ import annotations

QUOTE_LINES = 60  # of a customer's text in a notice
QUOTE_CHARS = 6_000
FACT_CHARS = 200  # of one fact's value in a notice


def quoted(
    text: str, *, max_lines: int = QUOTE_LINES, max_chars: int = QUOTE_CHARS
) -> tuple[str, ...]:
    """`text` as quoted lines ("> "), cut after `max_lines` lines or `max_chars` characters,
    with a last line saying how many lines were left out."""
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    shown: list[str] = []
    used = 0
    for line in lines:
        if len(shown) == max_lines or used >= max_chars:
            break
        room = max_chars - used
        cut = line if len(line) <= room else f"{line[:room]} …"
        shown.append(f"> {cut}" if cut else ">")
        used += len(cut) + 1
    more = len(lines) - len(shown)
    if more:
        shown.append(f"[... {more} more line{'s' if more > 1 else ''}]")
    return tuple(shown)


def fact_lines(facts: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    return tuple(
        f"{one_line(name)}: {shorten(one_line(value), FACT_CHARS)}" for name, value in facts
    )


def one_line(text: str) -> str:
    """Whitespace, line breaks included, as single spaces: safe in a header or a list line."""
    return " ".join(text.split())


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[: limit - 1].rstrip()}…"
