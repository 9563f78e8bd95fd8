"""Showing people's words safely.

Questions, titles and broadcasts are typed by facilitators and shown to many people. They are
sent with mentions disabled, and also made inert here (a zero-width space after ``@``) so that
``@everyone`` reads as text even where a message is later quoted or copied.
"""

from __future__ import annotations

from bot.core.reflections import neutralise_mentions

#: Make ``@everyone``, ``@here`` and user or role mentions unable to ping (one rule everywhere).
inert = neutralise_mentions


class TextTooLong(ValueError):
    def __init__(self, what: str, limit: int, actual: int) -> None:
        super().__init__(
            f"The {what} is {actual} characters long; please keep it to {limit} or fewer."
        )
        self.limit = limit
        self.actual = actual


def check_length(what: str, text: str, limit: int) -> str:
    text = text.strip()
    if len(text) > limit:
        raise TextTooLong(what, limit, len(text))
    return text
