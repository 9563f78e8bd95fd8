"""The participation chart (PNG) for the Markdown report, plus its words-only twin.

matplotlib is imported inside :func:`participation_chart`, not at module level: it takes about a
second to import, and the bot should start (and answer its first interaction within Discord's 3
seconds) without paying for a chart nobody asked for yet. The object-oriented API with the Agg
canvas is used instead of ``pyplot`` so no global figure state or GUI backend is involved and
concurrent reports cannot draw on each other.

Accessibility: colour-blind-safe Okabe-Ito colours *and* different hatching, black outlines,
the value printed on every bar, and :func:`chart_alt_text` giving every number in words.
Determinism: fixed size and dpi (width grows only with the number of bars), matplotlib's
default style regardless of local matplotlibrc, and no "Software" metadata, so the same input
gives the same bytes with the same matplotlib version.
"""

from __future__ import annotations

import io
import textwrap
import threading
from collections.abc import Mapping, Sequence
from typing import Literal

from bot.core.export_document import ChartSpec, WeekCount
from bot.core.export_model import BrewSummary, ChartBar, chart_alt_text, chart_bars

__all__ = ["CHART_DPI", "chart_alt_text", "draw_chart", "participation_chart", "weekly_chart"]

CHART_DPI = 100
_HEIGHT_INCHES = 6.0
# Okabe & Ito (2008) palette: distinguishable with the common colour-vision deficiencies.
_PARTICIPANTS_STYLE = {"color": "#56B4E9", "hatch": "//", "label": "Participants"}
_REFLECTIONS_STYLE = {"color": "#E69F00", "hatch": "..", "label": "Reflections"}
# ``style.context`` swaps matplotlib's global rcParams; callers may render from worker threads
# (``asyncio.to_thread``), so one chart is drawn at a time.
_RENDER_LOCK = threading.Lock()


def _tick_label(label: str) -> str:
    # Long titles are shortened on the image only; the alt text and report carry them in full.
    short = textwrap.shorten(label, width=40, placeholder="...")
    return "\n".join(textwrap.wrap(short, width=18)) or " "


def participation_chart(
    brews: Sequence[BrewSummary],
    reflections_per_brew: Mapping[int, int],
    *,
    by: Literal["brew", "area"] = "brew",
) -> bytes:
    """PNG bytes: grouped bars of participants and reflections per brew or per area.

    Takes a few hundred milliseconds; call it via ``asyncio.to_thread`` from the bot's loop.
    """
    bars = chart_bars(brews, reflections_per_brew, by=by)
    noun = "brew" if by == "brew" else "area"
    return grouped_chart(bars, noun)


def grouped_chart(bars: Sequence[ChartBar], noun: str) -> bytes:
    """PNG bytes: participants and reflections side by side for each bar group (``noun`` is
    what a group is: "brew" or "area")."""
    from matplotlib import style
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    width_inches = min(max(8.0, 3.0 + 1.2 * len(bars)), 24.0)

    with _RENDER_LOCK, style.context("default"):
        figure = Figure(figsize=(width_inches, _HEIGHT_INCHES), dpi=CHART_DPI)
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        axes.set_title(f"Participants and reflections per {noun}", fontsize=15, parse_math=False)
        axes.set_xlabel(noun.capitalize(), fontsize=12)
        axes.set_ylabel("Number of people or reflections", fontsize=12)
        if bars:
            positions = list(range(len(bars)))
            half = 0.38
            for offset, values, bar_style in (
                (-half / 2, [b.participants for b in bars], _PARTICIPANTS_STYLE),
                (half / 2, [b.reflections for b in bars], _REFLECTIONS_STYLE),
            ):
                container = axes.bar(
                    [p + offset for p in positions],
                    values,
                    half,
                    edgecolor="black",
                    linewidth=1,
                    **bar_style,  # type: ignore[arg-type]
                )
                axes.bar_label(container, padding=2, fontsize=11)
            rotate = len(bars) > 6
            axes.set_xticks(
                positions,
                [_tick_label(b.label) for b in bars],
                rotation=30 if rotate else 0,
                ha="right" if rotate else "center",
                fontsize=10,
                parse_math=False,
            )
            axes.set_ylim(0, max(max(b.participants, b.reflections) for b in bars) * 1.3 + 1)
            axes.legend(loc="upper right", fontsize=11, frameon=True)
        else:
            axes.set_xticks([])
            axes.text(
                0.5, 0.5, f"No {noun}s to show yet", ha="center", va="center",
                transform=axes.transAxes, fontsize=14, parse_math=False,
            )  # fmt: skip
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.spines[["top", "right"]].set_visible(False)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=CHART_DPI, metadata={"Software": None})
    return buffer.getvalue()


_WEEK_STYLE = {"color": "#009E73", "hatch": "xx", "edgecolor": "black", "linewidth": 1}
_MONTHS_SHORT = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def weekly_chart(weeks: Sequence[WeekCount]) -> bytes:
    """PNG bytes: one bar per week (Monday start) with the number of brews printed on it.

    One series, so meaning never rests on colour: the bars are hatched and outlined, and each
    carries its number. With many weeks only some dates are labelled on the axis; the table
    next to the chart has every week.
    """
    from matplotlib import style
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    width_inches = min(max(8.0, 3.0 + 0.45 * len(weeks)), 24.0)
    with _RENDER_LOCK, style.context("default"):
        figure = Figure(figsize=(width_inches, _HEIGHT_INCHES), dpi=CHART_DPI)
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        axes.set_title("Brews per week", fontsize=15, parse_math=False)
        axes.set_xlabel("Week starting (Monday)", fontsize=12)
        axes.set_ylabel("Number of brews", fontsize=12)
        if weeks:
            positions = list(range(len(weeks)))
            container = axes.bar(positions, [w.brews for w in weeks], 0.7, **_WEEK_STYLE)  # type: ignore[arg-type]
            if len(weeks) <= 40:
                axes.bar_label(container, padding=2, fontsize=11)
            step = max(1, -(-len(weeks) // 20))
            shown = positions[::step]
            axes.set_xticks(
                shown,
                [
                    f"{weeks[i].start.day} {_MONTHS_SHORT[weeks[i].start.month - 1]}"
                    f"\n{weeks[i].start.year}"
                    for i in shown
                ],
                fontsize=10,
                rotation=30 if len(shown) > 8 else 0,
            )
            axes.set_ylim(0, max(w.brews for w in weeks) * 1.2 + 1)
        else:
            axes.set_xticks([])
            axes.text(
                0.5, 0.5, "No brews to show yet", ha="center", va="center",
                transform=axes.transAxes, fontsize=14, parse_math=False,
            )  # fmt: skip
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.spines[["top", "right"]].set_visible(False)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=CHART_DPI, metadata={"Software": None})
    return buffer.getvalue()


def draw_chart(spec: ChartSpec) -> bytes:
    """Draw a report document's chart (see :class:`bot.core.export_document.ChartSpec`)."""
    if spec.kind == "weekly":
        return weekly_chart(spec.weeks)
    return grouped_chart(spec.bars, spec.axis_label.lower())
