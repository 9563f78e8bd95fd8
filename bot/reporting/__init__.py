"""Report rendering that needs third-party libraries (matplotlib), kept out of ``bot.core``.

Importing this package is cheap: matplotlib loads only when a chart is drawn.
"""

from bot.reporting.chart import chart_alt_text, participation_chart

__all__ = ["chart_alt_text", "participation_chart"]
