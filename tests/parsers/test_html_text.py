"""The HTML to text layer: blocks, lists, links, entities, dropped elements, linear time."""

from __future__ import annotations

import time

import pytest

from parsers.html_text import Action, html_to_text


def test_blocks_become_lines_and_paragraphs() -> None:
    html = "<div>one</div><div>two<br>three</div><p>para</p>tail"
    assert html_to_text(html) == "one\ntwo\nthree\n\npara\n\ntail"


def test_lists_links_and_entities() -> None:
    html = (
        '<ul><li>first</li><li>second</li></ul><a href="https://x.example/a">site</a> '
        '<a href="https://y.example">https://y.example</a> '
        '<a href="mailto:a@b.c">a@b.c</a> &amp; &eacute;&nbsp;&#x4e2d;'
    )
    assert html_to_text(html) == (
        "- first\n- second\n\nsite <https://x.example/a> https://y.example a@b.c & é 中"
    )


def test_scripts_styles_and_head_are_dropped() -> None:
    html = "<html><head><title>T</title><style>p{}</style></head><body><script>x()</script>Hi"
    assert html_to_text(html) == "Hi"


def test_whitespace_is_normalised_but_pre_is_kept() -> None:
    html = "<p>  a \n  b\t c  </p><pre>x  =  1\n  y</pre>"
    assert html_to_text(html) == "a b c\n\nx  =  1\n  y"


def test_blockquote_lines_are_marked() -> None:
    assert html_to_text("Reply<blockquote>Quote<br>more</blockquote>") == ("Reply\n> Quote\n> more")


def test_prune_hook_drops_and_stops() -> None:
    def prune(tag: str, attrs: dict[str, str]) -> Action:
        if attrs.get("class") == "q":
            return "drop"
        return "stop" if attrs.get("id") == "end" else "keep"

    html = "<div>keep</div><div class='q'>gone<div>inner</div></div><div>also</div><hr id='end'>x"
    assert html_to_text(html, prune=prune) == "keep\nalso"


def test_unclosed_and_stray_tags() -> None:
    assert html_to_text("<div><p>open</span></div>after<b>bold") == "open\n\nafter bold" or (
        html_to_text("<div><p>open</span></div>after<b>bold") == "open\n\nafterbold"
    )


def test_large_input_is_linear() -> None:
    html = "<div>" + "word " * 400_000 + "</div>" + "<span>x</span>" * 50_000
    started = time.perf_counter()
    text = html_to_text(html)
    assert time.perf_counter() - started < 5.0
    assert text.startswith("word word")


_HOSTILE = {
    "unclosed start tags": "<div ",
    "unclosed quoted attribute": '<p title="x ',
    "unclosed end tags": "</a ",
    "unclosed comments": "<!--",
    "unclosed comments with >": "<!-- >",
    "unclosed CDATA": "<![CDATA[",
    "processing instructions": "<?x ",
    "bogus declarations": "<!x ",
    "ampersands": "&amp",
    "deep nesting": "<div>",
    "deep quotes": "<blockquote>x",
    "quoted attribute chains": "<a x='>'",
}


def _best_of_three(html: str) -> float:
    times = []
    for _ in range(3):
        started = time.perf_counter()
        html_to_text(html)
        times.append(time.perf_counter() - started)
    return max(min(times), 1e-3)


@pytest.mark.parametrize("unit", sorted(_HOSTILE.values()))
def test_hostile_shapes_grow_linearly(unit: str) -> None:
    """8x the input may take well under 64x the time (quadratic); 30 leaves room for noise."""
    small = unit * (8_192 // len(unit)) + unit[:6]
    ratio = _best_of_three(small * 8) / _best_of_three(small)
    assert ratio < 30, f"{unit!r}: 8x input took {ratio:.1f}x the time"


def test_unclosed_constructs_keep_their_text() -> None:
    assert html_to_text("<p>Hi</p><div class=x oops") == "Hi\n\n<div class=x oops"
    assert html_to_text("a <!-- not closed <b>bold</b> c") == "a <!-- not closed bold c"
    assert html_to_text("x > y <q z") == "x > y <q z"


def test_closed_constructs_are_untouched() -> None:
    html = "<!-- c --><p title='a<b'>t</p><![CDATA[d]]><script>if (a<b) {}</script>e"
    assert html_to_text(html) == "t\n\ne"


def test_rejected_marked_section_does_not_raise() -> None:
    assert html_to_text("a<![foo[ b>c") == "a<![foo[ b>c"
