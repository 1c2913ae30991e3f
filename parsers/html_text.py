"""Text extraction layer: turn an HTML body into readable plain text.

Block elements become line breaks, list items `- ` lines, links `text <url>` (only when the text
is not already the address), blockquotes `> ` lines; scripts, styles and the head are dropped,
entities decoded and whitespace normalised. The quotes layer reuses the same walk with a `prune`
hook that drops quoted elements or stops the output at the start of the quoted history.

The walk is one pass of the standard library's `HTMLParser`, with a stack that is closed leniently:
real mail HTML is rarely well formed. `HTMLParser` rescans to the end of the input for every
construct that never closes (`<div ` with no `>` after it, `<!--` with no `-->`), which is quadratic
on hostile mail; `make_safe` first turns exactly those openings into text (`&lt;`), in one linear
pass, so the parser only ever meets constructs it can finish. Text the parser would have shown is
shown the same.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape
from html.parser import HTMLParser
from typing import Literal

import lxml.etree
import lxml.html

Action = Literal["keep", "drop", "stop"]
"""What a prune hook says of an element: render it, skip it and its content, or end the text."""

Prune = Callable[[str, dict[str, str]], Action]

_SKIP = frozenset({"script", "style", "head", "title", "template", "noscript", "xml", "svg"})
_VOID = frozenset(
    {"br", "hr", "img", "meta", "link", "input", "area", "base", "col", "embed", "source", "wbr"}
)
_PARAGRAPH = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "dl", "pre"})
_BLOCK = frozenset(
    {
        "div",
        "tr",
        "li",
        "dt",
        "dd",
        "blockquote",
        "section",
        "article",
        "header",
        "footer",
        "address",
        "center",
        "form",
        "fieldset",
        "figure",
        "nav",
        "aside",
        "main",
        "caption",
        "tbody",
        "thead",
        "tfoot",
        "body",
        "html",
    }
)
_CELL = frozenset({"td", "th"})
_SPACES = re.compile(r"[ \t\r\n\f\v\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_COMMENT_CLOSE = re.compile(r"--\s*>")
_SECTION_OPEN = re.compile(r"<!\[(?:([a-zA-Z][-_.a-zA-Z0-9]{0,40})\s*)?")
_SECTION_CLOSE = {
    **dict.fromkeys(("temp", "cdata", "ignore", "include", "rcdata"), re.compile(r"]\s*]\s*>")),
    **dict.fromkeys(("if", "else", "endif"), re.compile(r"]\s*>")),
}
_MAX_QUOTE_MARKS = 100
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u034f"), None)


def html_to_text(html: str, *, prune: Prune | None = None) -> str:
    """Readable text of an HTML body; `prune` may drop elements or stop the text early."""
    renderer = _Renderer(prune)
    try:
        renderer.feed(make_safe(normalise(html) if len(html) > _NORMALISE_ABOVE else html))
        renderer.close()
    except _StopError:
        pass
    text = renderer.text()
    if not text.strip() and len(html) > _NORMALISE_ABOVE:
        return _bare_text(html)  # libxml2 gives up past 256 levels of nesting: keep the words
    return text


def _bare_text(html: str) -> str:
    """The words of markup no parser could follow: tags, scripts and styles dropped."""
    body = _SCRIPT_STYLE.sub(" ", html)
    words = _TAG.sub(" ", body)
    lines = (" ".join(line.split()) for line in unescape(words).splitlines())
    return "\n".join(line for line in lines if line)


_NORMALISE_ABOVE = 8192
_SCRIPT_STYLE = re.compile(r"(?is)<(script|style)\b[^>]*>.*?</\1\s*>")
_TAG = re.compile(r"<[^>]{0,2000}>")


def normalise(html: str) -> str:
    """`html` re-serialised by libxml2, which parses any input in linear time.

    `html.parser` rescans an unclosed tag or quoted attribute to the end of its input, which is
    quadratic on hostile mail (`make_safe` removes most such openings, not every quoting trick);
    after libxml2 every tag and quote is closed. Bodies up to `_NORMALISE_ABOVE` characters skip
    this (their worst case is about 0.2 s) and keep `html.parser`'s view of broken markup, such
    as an unclosed tag shown as text. Input libxml2 refuses is returned as it is.
    """
    if not html.strip():
        return html
    try:
        document = lxml.html.document_fromstring(html)
        return lxml.etree.tostring(document, encoding="unicode", method="html")
    except (lxml.etree.ParserError, ValueError):
        return html


def make_safe(html: str) -> str:
    """`html` with every opening `HTMLParser` could never close turned into text, in linear time.

    After the last `>` nothing can close, so every `<` there becomes `&lt;` (the parser would have
    shown it as text anyway). Before it, only comments and marked sections need more than a `>`:
    one with no closer after it is escaped too, and so is a marked section of a kind the parser
    rejects with an exception (`<![foo[`).
    """
    last_gt = html.rfind(">")
    head, tail = html[: last_gt + 1], html[last_gt + 1 :]
    tail = tail.replace("<", "&lt;")
    if "<!" not in head:
        return head + tail
    return _escape_unclosed_sections(_escape_unclosed_comments(head)) + tail


def _last_start(pattern: re.Pattern[str], text: str) -> int:
    """Start of the last match of `pattern` in `text`, or -1; one linear pass."""
    last = -1
    for match in pattern.finditer(text):
        last = match.start()
    return last


def _escape_unclosed_comments(html: str) -> str:
    """Escape each `<!--` that no `-->` follows (only those after the last closer)."""
    cut = _last_start(_COMMENT_CLOSE, html) - 3
    if html.find("<!--", max(cut, 0)) < 0:
        return html
    cut = max(cut, 0)
    return html[:cut] + html[cut:].replace("<!--", "&lt;!--")


def _escape_unclosed_sections(html: str) -> str:
    """Escape each `<![` that the parser would reject or that no closer of its kind follows."""
    if "<![" not in html:
        return html
    last = {pattern: _last_start(pattern, html) for pattern in set(_SECTION_CLOSE.values())}
    parts: list[str] = []
    done = 0
    for match in _SECTION_OPEN.finditer(html):
        name = (match.group(1) or "").lower()
        close = _SECTION_CLOSE.get(name)
        if close is None or last[close] < match.start() + 3 or match.end() == len(html):
            parts.append(html[done : match.start()])
            parts.append("&lt;")
            done = match.start() + 1
    parts.append(html[done:])
    return "".join(parts)


class _StopError(Exception):
    """Raised inside the walk when the prune hook says the rest is quoted history."""


class _Renderer(HTMLParser):
    """Collects text lines; `_open` is the element stack, `_dropping` the depth of a skipped one."""

    def __init__(self, prune: Prune | None) -> None:
        super().__init__(convert_charrefs=True)
        self._prune = prune
        self._open: list[str] = []
        self._dropping = 0
        self._quote = 0
        self._pre = 0
        self._lines: list[str] = []
        self._line: list[str] = []
        self._links: list[tuple[str, int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._dropping:
            if tag not in _VOID:
                self._open.append(tag)
            return
        values = {name: value or "" for name, value in attrs}
        action: Action = self._prune(tag, values) if self._prune else "keep"
        if action == "stop":
            raise _StopError
        if tag in _VOID:
            if action == "keep":
                self._void(tag)
            return
        self._open.append(tag)
        if action == "drop" or tag in _SKIP:
            self._dropping = len(self._open)
            return
        self._start(tag, values)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag not in self._open:
            return
        while self._open:
            current = self._open.pop()
            if self._dropping:
                if len(self._open) < self._dropping:
                    self._dropping = 0
            else:
                self._end(current)
            if current == tag:
                return

    def handle_data(self, data: str) -> None:
        if self._dropping or not data:
            return
        if self._pre:
            parts = data.replace("\r\n", "\n").split("\n")
            self._line.append(parts[0])
            for part in parts[1:]:
                self._break()
                self._line.append(part)
            return
        self._line.append(_SPACES.sub(" ", data))

    def _void(self, tag: str) -> None:
        if tag == "br":
            self._break(force=True)
        elif tag == "hr":
            self._break()
            self._blank()

    def _start(self, tag: str, attrs: dict[str, str]) -> None:
        if tag == "blockquote":
            self._break()
            self._quote += 1
        elif tag == "pre":
            self._blank()
            self._pre += 1
        elif tag == "li":
            self._break()
            self._line.append("- ")
        elif tag in _PARAGRAPH:
            self._blank()
        elif tag in _BLOCK:
            self._break()
        elif tag in _CELL:
            self._line.append(" ")
        elif tag == "a":
            self._links.append((attrs.get("href", "").strip(), len(self._line)))

    def _end(self, tag: str) -> None:
        if tag == "blockquote":
            self._break()
            self._quote = max(0, self._quote - 1)
        elif tag == "pre":
            self._break()
            self._pre = max(0, self._pre - 1)
            self._blank()
        elif tag in _PARAGRAPH:
            self._blank()
        elif tag in _BLOCK:
            self._break()
        elif tag == "a" and self._links:
            self._close_link(*self._links.pop())

    def _close_link(self, href: str, start: int) -> None:
        if start > len(self._line):
            return
        label = "".join(self._line[start:]).strip()
        target = href[7:] if href.lower().startswith("mailto:") else href
        if not target.lower().startswith(("http:", "https:", "ftp:", "mailto:")) and target == href:
            return
        if target and label and target.rstrip("/") != label.rstrip("/") and len(target) <= 2048:
            self._line.append(f" <{target}>")

    def _break(self, *, force: bool = False) -> None:
        text = "".join(self._line)
        self._line = []
        if not force and not text.strip():
            return
        prefix = "> " * min(self._quote, _MAX_QUOTE_MARKS)
        self._lines.append((prefix + text.strip(" ")).rstrip() if not self._pre else prefix + text)

    def _blank(self) -> None:
        self._break()
        if self._lines and self._lines[-1].strip("> "):
            self._lines.append("> " * min(self._quote, _MAX_QUOTE_MARKS))

    def text(self) -> str:
        self._break()
        return normalise_lines(self._lines)


def normalise_lines(lines: list[str]) -> str:
    """Join lines: zero-width marks removed, trailing spaces cut, runs of blank lines made one."""
    out: list[str] = []
    blank = False
    for raw in lines:
        line = raw.translate(_ZERO_WIDTH).rstrip()
        if not line:
            blank = bool(out)
            continue
        if blank:
            out.append("")
            blank = False
        out.append(line)
    return "\n".join(out)
