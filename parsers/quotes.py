"""Quote layer: the new text of a reply, without quoted history and signatures.

The text is scanned once, line by line. `>` blocks (and supercite `Name>` blocks) are dropped
together with the attribution line that introduces them, and scanning goes on: answers written
between quoted blocks are kept. History that is not marked line by line (an attribution followed
by unmarked text, an Outlook header block, "-----Original Message-----", a forwarded message)
ends the new text. When nothing was written above such history (a bare forward, a reply whose
client put "On … wrote:" first), the text below it is the new text. Then `signatures` removes the
signature and mobile footers.

With HTML and no usable plain part, the HTML is rendered without its quoted elements
(`blockquote[type=cite]`, `.gmail_quote`, `#divRplyFwdMsg` and what follows, Outlook's bordered
header div, Yahoo's and Thunderbird's quote wrappers) and the text rules run on the result.
"""

from __future__ import annotations

from parsers import quote_headers, signatures
from parsers.html_text import Action, html_to_text

_DROP_CLASSES = frozenset(
    {
        "gmail_quote", "gmail_quote_container", "gmail_attr", "gmail_signature", "yahoo_quoted",
        "moz-cite-prefix", "moz-signature", "protonmail_quote", "applemailquote",
        "ms-outlook-mobile-reference-message", "zmail_extra", "replyquote",
    }
)  # fmt: skip
_STOP_IDS = frozenset(
    {
        "divrplyfwdmsg", "appendonsend", "olk_src_body_section", "stopspelling",
        "mail-editor-reference-message-container", "isreplycontent", "isforwardcontent",
        "reply-content", "original-content", "zwchr",
    }
)  # fmt: skip
_STOP_CLASSES = frozenset({"outlookmessageheader", "qmquote", "reply_quote_container"})


def new_text(text: str, *, html: str | None = None) -> str:
    """The part of a reply its sender wrote now: no quoted history, no signature."""
    if html is not None and _prefer_html(text, html):
        text = html_to_text(html, prune=prune_quoted)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept = signatures.strip_signature(strip_quoted(lines))
    return "\n".join(_squeeze(kept)).strip("\n")


def prune_quoted(tag: str, attrs: dict[str, str]) -> Action:
    """The HTML route's verdict on one element: keep it, drop it, or stop (history follows)."""
    classes = set(attrs.get("class", "").lower().split())
    ident = attrs.get("id", "").lower()
    if ident in _STOP_IDS or classes & _STOP_CLASSES:
        return "stop"
    if tag == "blockquote" and attrs.get("type", "").lower() == "cite":
        return "drop"
    if classes & _DROP_CLASSES:
        return "drop"
    if tag == "div" and _outlook_border(attrs.get("style", "")):
        return "stop"
    return "keep"


def strip_quoted(lines: list[str]) -> list[str]:
    """The lines that are not quoted history (a state machine over the lines; see module doc)."""
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        quoted = _quote_block(lines, index)
        if quoted:
            _drop_lead_in(out)
            index += quoted
            continue
        history = _history_marker(lines, index)
        if history:
            if _has_text(out):
                break
            out.clear()
            index += history
            continue
        inline = quote_headers.split_inline_attribution(line)
        if inline is not None:
            out.append(inline)
            following = _next_text(lines, index + 1)
            if following < len(lines) and _quote_block(lines, following):
                index = following
                continue
            break
        span = quote_headers.attribution_span(lines, index)
        if span:
            following = _next_text(lines, index + span)
            if following < len(lines) and _quote_block(lines, following):
                index = following
                continue
            if _has_text(out):
                break
            out.clear()
            index += span
            continue
        out.append(line)
        index += 1
    return out


def _history_marker(lines: list[str], index: int) -> int:
    """Lines taken by a separator and the header block after it, or a bare header block."""
    line = lines[index]
    if quote_headers.is_separator(line):
        after = _next_text(lines, index + 1)
        block = quote_headers.header_block(lines, after) if after < len(lines) else 0
        return after - index + block if block else 1
    block = quote_headers.header_block(lines, index)
    return block


def _quote_block(lines: list[str], index: int) -> int:
    """Length of the quoted block (`>` lines, or 2+ lines sharing a `Name>` prefix) at `index`."""
    if _is_quote(lines[index]):
        if _false_marker(lines, index):
            return 0
        end = index
        while end < len(lines) and (
            _is_quote(lines[end]) or not lines[end].strip() or _wrapped(lines, end)
        ):
            end += 1
        return end - index
    prefix = _supercite(lines[index])
    if prefix is None or index + 1 >= len(lines) or _supercite(lines[index + 1]) != prefix:
        return 0
    end = index
    while end < len(lines) and (_supercite(lines[end]) == prefix or not lines[end].strip()):
        end += 1
    return end - index


def _wrapped(lines: list[str], index: int) -> bool:
    """An unmarked line between two quoted lines that continues the first (a wrapped line)."""
    if index + 1 >= len(lines) or not _is_quote(lines[index + 1]):
        return False
    line, above = lines[index].strip(), lines[index - 1]
    if " " not in line and len(line) <= 80:
        return True
    return len(above) >= 50 and line[:1].islower() and len(line) <= 60


def _false_marker(lines: list[str], index: int) -> bool:
    """A lone `>>>` line between two lines of text is decoration, not a quote."""
    if not lines[index].lstrip().startswith(">>") or index == 0 or index + 1 >= len(lines):
        return False
    before, after = lines[index - 1], lines[index + 1]
    return bool(before.strip() and after.strip()) and not (_is_quote(before) or _is_quote(after))


def _is_quote(line: str) -> bool:
    return line.lstrip(" \t")[:1] == ">"


def _supercite(line: str) -> str | None:
    head = line[:12]
    mark = head.find(">")
    if mark <= 0 or not head[:mark].isalpha() or not head[:mark].isascii():
        return None
    return head[:mark]


def _drop_lead_in(out: list[str]) -> None:
    """Remove a not-yet-recognised attribution ("… <x@y>:") just above a quoted block."""
    end = len(out)
    while end and not out[end - 1].strip():
        end -= 1
    if end and quote_headers.looks_like_lead_in(out[end - 1]):
        del out[end - 1 :]


def _next_text(lines: list[str], index: int) -> int:
    while index < len(lines) and not lines[index].strip():
        index += 1
    return index


def _has_text(lines: list[str]) -> bool:
    return any(line.strip() for line in lines)


def _outlook_border(style: str) -> bool:
    compact = style.lower().replace(" ", "")
    return ("border-top:solid" in compact or "border-top-style:solid" in compact) and (
        "padding" in compact
    )


def _prefer_html(text: str, html: str) -> bool:
    """Use the HTML when the plain part is empty or is only a rendering of the HTML."""
    plain = " ".join(text.split())
    if not plain:
        return True
    return plain == " ".join(html_to_text(html).split())


def _squeeze(lines: list[str]) -> list[str]:
    """Trailing spaces cut and runs of blank lines made one."""
    out: list[str] = []
    for raw in lines:
        line = raw.rstrip()
        if line or (out and out[-1]):
            out.append(line)
    return out
