"""Anonymous end-of-brew reflections: the questions, cleaning answers, consent, the time window.

Pure functions only (standard library), so the rules that protect people's words can be tested
without Discord or a database.

Why these rules exist:

* People who draw on care, carers and practitioners write here, often on a phone and sometimes
  with assistive technology. Messages are therefore *kind and specific*: they name the question
  that needs attention and say exactly what to do.
* Nothing a person writes is ever silently cut short. If an answer is too long we say so and let
  them shorten it themselves; a truncated reflection can change its meaning.
* Text is cleaned of invisible control characters (which can hide text, break CSV/Markdown
  exports or spoof direction with bidi overrides) but line breaks are kept, because people use
  them to structure their thoughts.
* Consent to quote defaults to **no**: only a clear "yes" lets organisers quote someone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.core.text import clean_text, neutralise_mentions

__all__ = [
    "CONSENT_YES_ANSWERS",
    "DEFAULT_PROMPTS",
    "FEEDBACK_KEY",
    "MODAL_LABEL_MAX",
    "MODAL_TEXT_MAX",
    "Prompt",
    "ReflectionError",
    "clean_text",
    "neutralise_mentions",
    "parse_consent",
    "prompts_from_content",
    "reflection_window_open",
    "validate_answers",
    "window_closes_at",
]

#: Discord caps a modal text input's ``max_length`` at 4000 characters.
MODAL_TEXT_MAX = 4000
#: Discord caps a modal text input's label at 45 characters.
MODAL_LABEL_MAX = 45
#: The prompt key whose answers are feedback on the session itself, not on co-production.
FEEDBACK_KEY = "feedback"


class ReflectionError(ValueError):
    """A reflection cannot be accepted as written; ``str(error)`` is safe to show the person.

    ``prompt_key`` names the question at fault (``None`` when the problem is the whole form, e.g.
    every box left empty), so the interface can point at the right box.
    """

    def __init__(self, message: str, *, prompt_key: str | None = None) -> None:
        super().__init__(message)
        self.prompt_key = prompt_key


@dataclass(frozen=True)
class Prompt:
    """One question in the reflection form.

    ``long`` selects a multi-line ("paragraph") box; ``max_length`` is enforced by us as well as by
    Discord, because answers may also arrive from the simulator or an import.
    """

    key: str
    label: str
    long: bool = True
    max_length: int = 1000

    def __post_init__(self) -> None:
        # Fail when the content file is loaded, not when someone is mid-reflection.
        # Keys are stored with every answer and used in Discord custom_ids and export columns.
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", self.key):
            raise ValueError(
                f"Prompt key {self.key!r} must be 1-40 letters, digits, '_' or '-' (no spaces)"
            )
        if not self.label.strip():
            raise ValueError(f"Prompt {self.key!r} needs a label")
        if len(self.label) > MODAL_LABEL_MAX:
            raise ValueError(
                f"Prompt {self.key!r} label is {len(self.label)} characters; "
                f"Discord allows at most {MODAL_LABEL_MAX}"
            )
        if not 1 <= self.max_length <= MODAL_TEXT_MAX:
            raise ValueError(
                f"Prompt {self.key!r} max_length must be between 1 and {MODAL_TEXT_MAX}"
            )


#: Used when the content file does not override them. Four prompts plus the consent box make
#: five modal components, which is Discord's maximum.
DEFAULT_PROMPTS: tuple[Prompt, ...] = (
    Prompt("missing", "What's missing?"),
    Prompt("lasting", "What are your lasting thoughts?"),
    Prompt("next", "What could be next?"),
    Prompt(FEEDBACK_KEY, "How was this brew for you?", long=False, max_length=300),
)


def prompts_from_content(
    content: Mapping[str, Any] | None, default: Sequence[Prompt] = DEFAULT_PROMPTS
) -> tuple[Prompt, ...]:
    """Build prompts from the already-parsed content file (e.g. ``tomllib.load`` output).

    Expects ``{"prompts": [{"key": ..., "label": ..., "long": ..., "max_length": ...}, ...]}``
    (``[[prompts]]`` tables in TOML). Missing content or no ``prompts`` gives ``default``, so a
    community can relabel questions in their own words without touching code. Reading the file
    is the caller's job, which keeps this module free of I/O.
    """
    if not content or "prompts" not in content:
        return tuple(default)
    items = content["prompts"]
    if not isinstance(items, list) or not items:
        raise ValueError("The content file's 'prompts' must be a non-empty list of tables")
    prompts = []
    for item in items:
        if not isinstance(item, Mapping):
            raise ValueError("Each prompt in the content file must be a table")
        prompts.append(
            Prompt(
                key=str(item["key"]),
                label=str(item["label"]),
                long=bool(item.get("long", True)),
                max_length=int(item.get("max_length", 1000)),
            )
        )
    _check_unique(prompts)
    return tuple(prompts)


def _check_unique(prompts: Iterable[Prompt]) -> None:
    seen: set[str] = set()
    for prompt in prompts:
        if prompt.key in seen:
            raise ValueError(f"Prompt key {prompt.key!r} is used twice")
        seen.add(prompt.key)


def validate_answers(prompts: Sequence[Prompt], raw: Mapping[str, str]) -> dict[str, str]:
    """Clean and check a submitted reflection; return ``{prompt key: answer}``, non-empty only.

    Every question is optional, but at least one must be answered: an empty reflection is almost
    always a mis-tap, and storing it would inflate the counts organisers report. Keys in ``raw``
    that are not prompts are ignored (a stale form). Lengths are counted after cleaning, in
    characters, the same way Discord counts them.

    Raises :class:`ReflectionError` with a message that names the question and is fit to show.
    """
    _check_unique(prompts)
    answers: dict[str, str] = {}
    for prompt in prompts:
        # A NUL in an answer is dropped like any control character: it carries no meaning,
        # and refusing a participant's reflection over an invisible character would be unkind.
        text = clean_text(raw.get(prompt.key) or "")
        if not text:
            continue
        if len(text) > prompt.max_length:
            over = len(text) - prompt.max_length
            raise ReflectionError(
                f"Thank you for writing so much. Your answer to \u201c{prompt.label}\u201d is "
                f"{len(text):,} characters, and this box holds up to {prompt.max_length:,}. "
                f"Could you shorten it by {over:,} "
                f"character{'s' if over != 1 else ''} and send it again? "
                "Nothing has been saved yet.",
                prompt_key=prompt.key,
            )
        answers[prompt.key] = text
    if not answers:
        raise ReflectionError(
            "All the boxes were empty, so there was nothing to save. Please write something in "
            "at least one box (a few words is fine), or close the form if you would rather not "
            "share anything."
        )
    return answers


#: Answers that count as consent to quote, compared after lower-casing, trimming and removing
#: trailing punctuation. Deliberately short: anything unclear means no.
CONSENT_YES_ANSWERS = frozenset({"yes", "y", "yes please", "ok", "okay"})


def parse_consent(text: str | None) -> bool:
    """Read the "May we quote your words anonymously?" box; the default is **no**.

    ``True`` only for a clear yes: ``yes``, ``y``, ``yes please``, ``ok`` or ``okay`` in any case,
    with surrounding spaces, inner commas and trailing punctuation ignored (``"Yes, please!"``).
    Empty, ``no`` and anything else (``"yes but..."``, ``"maybe"``, ``"not sure"``) give
    ``False``. A free-text box is used because modals have no checkbox; treating ambiguity as
    "no" means nobody is quoted who did not clearly agree.
    """
    if not text:
        return False
    words = re.sub(r"[,.!\s]+", " ", clean_text(text).casefold()).strip()
    return words in CONSENT_YES_ANSWERS


def window_closes_at(ended_at: datetime, window_days: int) -> datetime:
    """The first moment reflections are no longer accepted (exclusive end of the window)."""
    if window_days < 0:
        raise ValueError("window_days cannot be negative")
    return ended_at + timedelta(days=window_days)


def reflection_window_open(ended_at: datetime, now: datetime, window_days: int) -> bool:
    """Whether a reflection may be submitted at ``now`` for a brew that ended at ``ended_at``.

    The window is ``[ended_at, ended_at + window_days)``: open from the moment the brew ends,
    closed exactly ``window_days`` later. Before the brew has ended it is not open (there is
    nothing to reflect on yet). Use timezone-aware datetimes; mixing aware and naive raises
    ``TypeError`` rather than guessing.
    """
    return ended_at <= now < window_closes_at(ended_at, window_days)
