"""One rule for every piece of text people type: questions, titles, areas, perspectives,
broadcasts and reflections.

Why one rule: the same trick (a right-to-left override that makes text display backwards, a
control character that breaks a CSV cell, a NUL that PostgreSQL cannot store, an ``@everyone``
that pings a whole server) works wherever words are shown again, so every place that takes words
from a person cleans them the same way:

* :func:`clean_text` normalises (NFC), turns every kind of line break into ``\\n``, tabs into a
  space, and drops other control characters and bidi embeddings/overrides/isolates;
* :func:`check_text` refuses a NUL kindly (it is never typed on purpose, only pasted from another
  program, and PostgreSQL refuses to store it) and says plainly when text is too long, counting
  characters after cleaning, the way Discord counts them;
* :func:`inert` makes ``@everyone``, ``@here`` and user or role mentions unable to ping, for
  wherever text is shown again (messages are also sent with mentions disabled).
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "NUMBER_MAX",
    "HiddenCharacter",
    "TextRefused",
    "TextTooLong",
    "check_length",
    "check_text",
    "clean_text",
    "inert",
    "neutralise_mentions",
]

# Bidi embeddings/overrides/isolates can make text display in a different order than it is
# stored (a known spoofing trick); zero-width joiners etc. are left alone because emoji and
# several scripts need them.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_NEWLINES = re.compile(r"\r\n|\r|\u2028|\u2029|\x85|\x0b|\x0c")
_NUL = "\x00"

#: The largest number a person may type where a number is stored (a brew number): PostgreSQL's
#: INTEGER holds up to 2**31 - 1, so a larger one is refused by Discord's own option check
#: instead of failing in the database.
NUMBER_MAX = 2**31 - 1


class TextRefused(ValueError):
    """Typed text we cannot take as it is; the message is kind, plain and fit to show."""


class TextTooLong(TextRefused):
    def __init__(self, what: str, limit: int, actual: int) -> None:
        super().__init__(
            f"The {what} is {actual:,} characters long; please keep it to {limit:,} or fewer. "
            "Nothing has been saved yet."
        )
        self.limit = limit
        self.actual = actual


class HiddenCharacter(TextRefused):
    def __init__(self, what: str) -> None:
        super().__init__(
            f"The {what} contains a hidden character (a \u201cnull\u201d character, usually "
            "pasted from another program) that cannot be saved. Please type it again, or paste "
            "it as plain text. Nothing has been saved yet."
        )


def clean_text(text: str) -> str:
    """Normalise typed text for storage and display.

    * NFC normalisation, so the same words typed on different devices compare and count alike;
    * every kind of line break becomes ``\\n``; tabs become a space (a tab at the start of a CSV
      cell is a formula-injection vector and means nothing in a chat box);
    * other control characters (NUL included) and bidi controls are dropped;
    * leading/trailing whitespace is stripped, and trailing spaces on each line removed.
    """
    text = unicodedata.normalize("NFC", text)
    text = _NEWLINES.sub("\n", text).replace("\t", " ")
    kept = [
        ch
        for ch in text
        if ch == "\n" or (unicodedata.category(ch) != "Cc" and ch not in _BIDI_CONTROLS)
    ]
    lines = "".join(kept).split("\n")
    return "\n".join(line.rstrip() for line in lines).strip()


def check_text(what: str, text: str, limit: int | None, *, one_line: bool = True) -> str:
    """Clean ``text`` and check it; raise :class:`TextRefused` with a message fit to show.

    ``what`` names the text for the person ("question", "title"). ``one_line`` joins line
    breaks with a space, for text shown in a heading, a channel name or a list. ``limit``
    None leaves the length to the caller (which may word its own refusal).
    """
    if _NUL in text:
        raise HiddenCharacter(what)
    cleaned = clean_text(text)
    if one_line:
        cleaned = " ".join(part.strip() for part in cleaned.split("\n") if part.strip())
    if limit is not None and len(cleaned) > limit:
        raise TextTooLong(what, limit, len(cleaned))
    return cleaned


def check_length(what: str, text: str, limit: int) -> str:
    """The facilitator's one-line texts (question, title, broadcast): cleaned and checked."""
    return check_text(what, text, limit, one_line=False)


# Mentions Discord would turn into pings. ``<@!id>`` is the legacy nickname form.
_MENTION = re.compile(r"@(?=everyone|here)|(?<=<)@(?=[!&]?\d)", re.IGNORECASE)
_ZWSP = "\u200b"


def neutralise_mentions(text: str) -> str:
    """Make ``@everyone``, ``@here``, ``<@id>``, ``<@!id>`` and ``<@&id>`` inert for display.

    A zero-width space after the ``@`` stops Discord from pinging while the text looks the same.
    Use it wherever a person's words are echoed back (confirmations, reports posted to a
    channel); ``allowed_mentions`` should be set too, but this also protects text that leaves
    Discord and is pasted back in later. Idempotent.
    """
    return _MENTION.sub("@" + _ZWSP, text)


#: Make ``@everyone``, ``@here`` and user or role mentions unable to ping (one rule everywhere).
inert = neutralise_mentions
