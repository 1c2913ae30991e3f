"""Line and bar charts as inline SVG, drawn at build time: no script, no external request.

The metric pages show each trend as a chart followed by a table of the same numbers, so the
chart is a picture for the eye and the table the record (and what a screen reader reads; the
chart says what it shows in its `<title>` and `role="img"`). A plotting library would bring a
dependency and, for matplotlib, seconds per build; these charts are a few rectangles and a
polyline, so they are drawn here, by hand, in a pure function.

`chart(kind, title, labels, series, ...)` gives one `<svg>` element on one line (a Markdown raw
HTML block must not hold blank lines). Every text in it (title, labels, series names, numbers)
is escaped with `html.escape`; a value of None (nothing measured) is a gap in a line and no bar.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Literal

Kind = Literal["line", "bar"]
WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 28, 58
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")  # distinct in grey too (dark to light)
TICKS = 4
MAX_LABELS = 12


@dataclass(frozen=True, slots=True)
class Series:
    """One named row of values, one per label (None: nothing measured there)."""

    name: str
    values: Sequence[float | None]


def _number(value: float) -> str:
    return f"{value:g}"


def top(values: Sequence[float | None]) -> float:
    """The axis maximum: the largest value rounded up to 1, 2 or 5 times a power of ten."""
    known = [v for v in values if v is not None and v > 0]
    if not known:
        return 1.0
    peak = max(known)
    power = 10.0 ** math.floor(math.log10(peak))
    return next(step * power for step in (1.0, 2.0, 5.0, 10.0) if step * power >= peak)


def chart(
    kind: Kind,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    fmt: Callable[[float], str] = _number,
) -> str:
    """An SVG chart of `series` over `labels`; `fmt` prints the axis' numbers (e.g. minutes)."""
    for one in series:
        if len(one.values) != len(labels):
            raise ValueError(f"{one.name}: {len(one.values)} values for {len(labels)} labels")
    ceiling = top([v for one in series for v in one.values])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(labels))

    def y(value: float) -> float:
        return TOP + plot_h - plot_h * value / ceiling

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="replydesk-chart" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'style="max-width:100%;height:auto" '
        f'font-family="sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
        f'<text x="{LEFT}" y="16" font-size="13">{escape(title)}</text>',
    ]
    parts += _axes(ceiling, fmt, y)
    parts += _labels(labels, slot)
    drawn = _bars(series, slot, y) if kind == "bar" else _lines(series, slot, y)
    parts += drawn
    parts += _legend(series)
    parts.append("</svg>")
    return "".join(parts)


def _axes(ceiling: float, fmt: Callable[[float], str], y: Callable[[float], float]) -> list[str]:
    out = []
    for tick in range(TICKS + 1):
        value = ceiling * tick / TICKS
        at = round(y(value), 1)
        out.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{at}" y2="{at}" stroke="#ccc"/>'
            f'<text x="{LEFT - 6}" y="{at + 4}" text-anchor="end">{escape(fmt(value))}</text>'
        )
    return out


def _labels(labels: Sequence[str], slot: float) -> list[str]:
    """Every label that fits without touching its neighbour (about 6.5 px a character)."""
    widest = max((len(label) for label in labels), default=1) * 6.5 + 10
    fit = max(1, min(MAX_LABELS, int((WIDTH - LEFT - RIGHT) // widest)))
    every = max(1, math.ceil(len(labels) / fit))
    base = HEIGHT - BOTTOM + 14
    return [
        f'<text x="{round(LEFT + slot * (i + 0.5), 1)}" y="{base}" '
        f'text-anchor="middle">{escape(label)}</text>'
        for i, label in enumerate(labels)
        if i % every == 0
    ]


def _bars(series: Sequence[Series], slot: float, y: Callable[[float], float]) -> list[str]:
    width = slot * 0.8 / max(1, len(series))
    out = []
    for s, one in enumerate(series):
        colour = COLOURS[s % len(COLOURS)]
        for i, value in enumerate(one.values):
            if value is None:
                continue
            x = LEFT + slot * i + slot * 0.1 + width * s
            out.append(
                f'<rect x="{round(x, 1)}" y="{round(y(value), 1)}" width="{round(width, 1)}" '
                f'height="{round(y(0) - y(value), 1)}" fill="{colour}">'
                f"<title>{escape(one.name)}: {escape(_number(value))}</title></rect>"
            )
    return out


def _lines(series: Sequence[Series], slot: float, y: Callable[[float], float]) -> list[str]:
    """A polyline per run of known values (a None breaks the line), and a dot per value."""
    out = []
    for s, one in enumerate(series):
        colour = COLOURS[s % len(COLOURS)]
        runs: list[list[str]] = [[]]
        for i, value in enumerate(one.values):
            if value is None:
                runs.append([])
                continue
            x, at = round(LEFT + slot * (i + 0.5), 1), round(y(value), 1)
            runs[-1].append(f"{x},{at}")
            out.append(
                f'<circle cx="{x}" cy="{at}" r="3" fill="{colour}">'
                f"<title>{escape(one.name)}: {escape(_number(value))}</title></circle>"
            )
        out += [
            f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" stroke-width="2"/>'
            for run in runs
            if len(run) > 1
        ]
    return out


def _legend(series: Sequence[Series]) -> list[str]:
    out = []
    for s, one in enumerate(series):
        x = LEFT + 150 * s
        colour = COLOURS[s % len(COLOURS)]
        out.append(
            f'<rect x="{x}" y="{HEIGHT - 20}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14}" y="{HEIGHT - 11}">{escape(one.name)}</text>'
        )
    return out
