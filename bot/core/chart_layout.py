"""Where everything on a report's bar chart goes: bars, axes, numbers, labels, the legend.

One layout, two ways to draw it: as SVG text (:mod:`bot.core.chart_svg`, the Markdown report
and the web page) and as a PNG (:mod:`bot.reporting.chart`, the Word report, which needs a
picture). Both draw the same shapes, so every report's chart shows the same thing.

Why hand-made instead of a plotting library: the charts are two kinds of bar chart. matplotlib
cost a second of import, about 60 MiB and a second of rendering per chart for a 100,000
reflection export, more than the report itself; this layout is arithmetic on a few hundred
numbers.

Accessibility (kept from the matplotlib charts): colour-blind-safe Okabe-Ito colours *and*
different hatching per series, black outlines, the value written on every bar (up to 40 weeks
on the weekly chart, whose table has every number), a title, axis titles, and a legend in
words. Pure: no I/O, deterministic, text widths estimated (no font metrics needed).
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, field
from typing import Literal

from bot.core.export_document import ChartSpec
from bot.core.reflections import clean_text

__all__ = [
    "CHART_HEIGHT",
    "SERIES_STYLE",
    "Bar",
    "ChartLayout",
    "Label",
    "Rule",
    "layout_chart",
]

CHART_HEIGHT = 600
_MIN_WIDTH, _MAX_WIDTH = 800, 2400
#: Okabe & Ito (2008) colours, distinguishable with the common colour-vision deficiencies, each
#: with its own hatching so the series also differ in greyscale.
SERIES_STYLE: dict[str, tuple[str, Literal["diagonal", "dots", "cross"]]] = {
    "Participants": ("#56B4E9", "diagonal"),
    "Reflections": ("#E69F00", "dots"),
    "Brews": ("#009E73", "cross"),
}
_MONTHS_SHORT = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
#: Average advance of a sans-serif character, in ems (Arial's digits are 0.556).
_EM = 0.56
_TITLE, _AXIS, _TICK, _VALUE = 20, 14, 12, 12
_SIN30, _COS30 = 0.5, 0.866


@dataclass(frozen=True)
class Bar:
    """A filled, outlined rectangle (a bar, or a legend swatch) of one series."""

    x: float
    y: float
    width: float
    height: float
    series: str


@dataclass(frozen=True)
class Rule:
    """A black line: an axis or a tick."""

    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class Label:
    """One line of text; ``y`` is its baseline and ``angle`` turns it about (x, y), in degrees
    clockwise on screen (SVG's ``rotate``)."""

    x: float
    y: float
    text: str
    size: int
    anchor: Literal["start", "middle", "end"] = "middle"
    bold: bool = False
    angle: float = 0.0


@dataclass(frozen=True)
class ChartLayout:
    width: int
    height: int
    title: str
    bars: tuple[Bar, ...]
    rules: tuple[Rule, ...]
    labels: tuple[Label, ...]


def _one_line(text: str) -> str:
    return " ".join(clean_text(text or "").split())


def _nice_step(top: float) -> int:
    """A 1, 2 or 5 times a power of ten step giving at most about seven ticks up to ``top``."""
    raw = max(top / 6, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * magnitude >= raw:
            return max(1, int(m * magnitude))
    return int(10 * magnitude)  # pragma: no cover - the loop always returns


@dataclass
class _Frame:
    """The axes: plot box, value scale, and the shapes drawn so far."""

    width: int
    bottom: float
    top_value: int
    step: int
    left: float = 80
    right_margin: float = 30
    top: float = 64
    bars: list[Bar] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)

    @property
    def right(self) -> float:
        return self.width - self.right_margin

    @property
    def base(self) -> float:
        return CHART_HEIGHT - self.bottom

    def y(self, value: float) -> float:
        return self.base - value / self.top_value * (self.base - self.top)

    def axes(self, title: str, x_title: str, y_title: str) -> None:
        self.labels.append(Label(self.width / 2, 36, title, _TITLE, bold=True))
        self.labels.append(Label((self.left + self.right) / 2, CHART_HEIGHT - 16, x_title, _AXIS))
        self.labels.append(Label(24, (self.top + self.base) / 2, y_title, _AXIS, angle=-90))
        self.rules.append(Rule(self.left, self.base, self.right, self.base))
        self.rules.append(Rule(self.left, self.top, self.left, self.base))
        for value in range(0, self.top_value + 1, self.step):
            y = self.y(value)
            self.rules.append(Rule(self.left - 5, y, self.left, y))
            self.labels.append(Label(self.left - 8, y + 4, f"{value:,}", _TICK, anchor="end"))

    def bar(self, centre: float, width: float, value: int, series: str, *, numbered: bool) -> None:
        top = self.y(value)
        self.bars.append(Bar(centre - width / 2, top, width, self.base - top, series))
        if numbered:
            self.labels.append(Label(centre, top - 4, f"{value:,}", _VALUE))

    def empty(self, text: str) -> None:
        self.labels.append(
            Label((self.left + self.right) / 2, (self.top + self.base) / 2, text, 16)
        )

    def ticks(self, centres: list[float], lines: list[list[str]], rotate: bool) -> None:
        for centre, words in zip(centres, lines, strict=True):
            if rotate:
                text = " ".join(words)
                self.labels.append(
                    Label(centre + 4, self.base + 16, text, _TICK, anchor="end", angle=-30)
                )
            else:
                for k, line in enumerate(words):
                    self.labels.append(Label(centre, self.base + 18 + 15 * k, line, _TICK))

    def legend(self, series: tuple[str, ...]) -> None:
        longest = max(len(s) for s in series) * _TICK * _EM
        x = self.right - longest - 36
        for k, name in enumerate(series):
            y = self.top + 4 + 22 * k
            self.bars.append(Bar(x, y, 22, 14, name))
            self.labels.append(Label(x + 30, y + 12, name, _TICK, anchor="start"))

    def done(self, title: str) -> ChartLayout:
        return ChartLayout(
            self.width, CHART_HEIGHT, title, tuple(self.bars), tuple(self.rules),
            tuple(self.labels),
        )  # fmt: skip


def _width(count: int, per: float) -> int:
    return int(min(max(_MIN_WIDTH, 300 + per * count), _MAX_WIDTH))


def _bottom(lines: list[list[str]], rotate: bool) -> float:
    """Room under the axis for the tick labels and the axis title."""
    if not lines:
        return 50
    if rotate:
        longest = max(len(" ".join(words)) for words in lines)
        return 50 + longest * _TICK * _EM * _SIN30 + _TICK
    return 44 + 15 * max(len(words) for words in lines)


def _left(width: int, count: int, lines: list[list[str]], rotate: bool) -> float:
    """Room left of the axis: the tick numbers and the axis title, and the first slanted label,
    which reaches left of its bar."""
    if not rotate or not lines:
        return 80
    reach = len(" ".join(lines[0])) * _TICK * _EM * _COS30
    slot = (width - 110) / count
    return max(80, reach - slot / 2 + 12)


def _scale(highest: int, headroom: float) -> tuple[int, int]:
    step = _nice_step(highest * headroom + 1)
    return step * math.ceil((highest * headroom + 1) / step), step


def _grouped(spec: ChartSpec) -> ChartLayout:
    bars = spec.bars
    noun = spec.axis_label.lower()
    rotate = len(bars) > 6
    lines = []
    for b in bars:
        # Long titles are shortened on the chart only; the alt text and tables have them whole.
        short = textwrap.shorten(_one_line(b.label), width=40, placeholder="...") or " "
        lines.append([short] if rotate else textwrap.wrap(short, width=18) or [" "])
    highest = max((max(b.participants, b.reflections) for b in bars), default=0)
    top_value, step = _scale(highest, 1.3)
    width = _width(len(bars), 120)
    frame = _Frame(width, _bottom(lines, rotate), top_value, step)
    frame.left = _left(width, len(bars), lines, rotate)
    frame.axes(_one_line(spec.title), spec.axis_label, "Number of people or reflections")
    if not bars:
        frame.empty(f"No {noun}s to show yet")
        return frame.done(_one_line(spec.title))
    slot = (frame.right - frame.left) / len(bars)
    half = slot * 0.38
    centres = [frame.left + slot * (i + 0.5) for i in range(len(bars))]
    for centre, b in zip(centres, bars, strict=True):
        frame.bar(centre - half / 2, half, b.participants, "Participants", numbered=True)
        frame.bar(centre + half / 2, half, b.reflections, "Reflections", numbered=True)
    frame.ticks(centres, lines, rotate)
    frame.legend(("Participants", "Reflections"))
    return frame.done(_one_line(spec.title))


def _weekly(spec: ChartSpec) -> ChartLayout:
    weeks = spec.weeks
    step_weeks = max(1, -(-len(weeks) // 20))
    shown = list(range(0, len(weeks), step_weeks))
    rotate = len(shown) > 8
    lines = [
        [
            f"{weeks[i].start.day} {_MONTHS_SHORT[weeks[i].start.month - 1]}",
            str(weeks[i].start.year),
        ]
        for i in shown
    ]
    highest = max((w.brews for w in weeks), default=0)
    top_value, step = _scale(highest, 1.2)
    width = _width(len(weeks), 45)
    frame = _Frame(width, _bottom(lines, rotate), top_value, step)
    frame.left = _left(width, len(weeks), lines, rotate)
    frame.axes(_one_line(spec.title), "Week starting (Monday)", "Number of brews")
    if not weeks:
        frame.empty("No brews to show yet")
        return frame.done(_one_line(spec.title))
    slot = (frame.right - frame.left) / len(weeks)
    centres = [frame.left + slot * (i + 0.5) for i in range(len(weeks))]
    numbered = len(weeks) <= 40
    for centre, week in zip(centres, weeks, strict=True):
        frame.bar(centre, slot * 0.7, week.brews, "Brews", numbered=numbered)
    frame.ticks([centres[i] for i in shown], lines, rotate)
    return frame.done(_one_line(spec.title))


def layout_chart(spec: ChartSpec) -> ChartLayout:
    """The shapes of ``spec``'s chart: grouped bars of participants and reflections per brew or
    area, or one bar of brews per week."""
    return _weekly(spec) if spec.kind == "weekly" else _grouped(spec)
