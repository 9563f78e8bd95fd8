"""Report rendering that needs third-party libraries (python-docx, Pillow), kept out of
``bot.core``.

Importing this package is cheap: Pillow and python-docx load only when a Word report is made.
"""

from bot.reporting.chart import chart_png, draw_chart

__all__ = ["chart_png", "draw_chart"]
