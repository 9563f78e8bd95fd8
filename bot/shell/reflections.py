"""Anonymous reflections in Discord: the form, saving by receipt, and closing the window.

How the pieces fit
------------------
* The "Leave a reflection" button (``bh:reflect:<brew id>``) and ``/reflect`` open the form.
  A form (modal) must be the *first* answer to a press, so the button opens it without touching
  the database; everything is checked when the form comes back.
* The form is *stateless*: its custom id carries the brew (``bh:rf:<brew id>``, or
  ``bh:rf:latest`` for "the member's most recent brew"), discord.py keeps no copy of it in
  memory (:class:`StatelessForm`), and the reflections cog answers every submission from
  ``on_interaction``. A form opened before a restart is therefore still saved after it.
* :func:`save_reflection` checks the person took part and the window is open, cleans and checks
  the answers (:func:`bot.core.reflections.validate_answers`), then in one transaction replaces
  the reflection their receipt points at or inserts a new reflection and receipt. The receipt is
  ``HMAC(per-brew secret, user id)`` (:mod:`bot.core.anonymity`); the user id itself is never
  stored with, or logged next to, a reflection.
* :func:`close_reflection_windows` runs hourly: once a brew's window has closed its secret is set
  to NULL and its receipts deleted, after which nothing links a person to a reflection.

Who can see what while the window is open: the database holds, per reflection, the brew, the
answers, the consent and the date; and, per submitter, a receipt that only the running bot (with
the secret and a live interaction) can recompute.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import discord
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.anonymity import submitted_on
from bot.core.content import Content
from bot.core.phases import Phase
from bot.core.reflections import (
    Prompt,
    neutralise_mentions,
    parse_consent,
    reflection_window_open,
    validate_answers,
)
from bot.db import privacy
from bot.db import reflections as db_reflections
from bot.db.reflections import Participation
from bot.shell.ui import ids

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

__all__ = [
    "CONSENT_ID",
    "FORM_ID",
    "Outcome",
    "Result",
    "checkpoint",
    "close_reflection_windows",
    "closes_text",
    "echo_messages",
    "find_latest",
    "form_values",
    "prompt_input_id",
    "reflection_form",
    "save_reflection",
]

#: Custom id of a submitted form: the brew's database id, or "latest" (resolved on submit).
FORM_ID = ids.REFLECTION_FORM
CONSENT_ID = "consent"
#: Consent is a short "yes" or nothing; generous so "yes please, that's fine" still fits.
CONSENT_MAX = 60
#: Room phases from which people in that room may reflect (the Close message has the button).
_REFLECTING_PHASES = frozenset({Phase.CLOSE.value, Phase.AFTER.value, Phase.DONE.value})
#: Discord's limit for one message.
MESSAGE_LIMIT = 2000


def prompt_input_id(prompt: Prompt) -> str:
    return f"q:{prompt.key}"


class StatelessForm(discord.ui.Modal):
    """A form discord.py never keeps: ``send_modal`` stores a modal only while it is not
    finished, and this one always is. Its answer is handled from its custom id instead."""

    def is_finished(self) -> bool:
        return True


def reflection_form(content: Content, brew_id: int | None) -> discord.ui.Modal:
    """The reflection form: up to four optional questions and the consent box.

    ``send_modal`` does not keep it in memory (:class:`StatelessForm`): submissions are handled
    by the reflections cog from the form's custom id (see the module docstring).
    """
    modal = StatelessForm(
        title=content.text("reflection.title")[:45], custom_id=ids.reflection_form_id(brew_id)
    )
    placeholder = content.text("reflection.form_placeholder")[:100]
    for i, prompt in enumerate(content.prompts[:4]):
        modal.add_item(
            discord.ui.TextInput(
                label=prompt.label,
                custom_id=prompt_input_id(prompt),
                style=discord.TextStyle.paragraph if prompt.long else discord.TextStyle.short,
                required=False,
                max_length=prompt.max_length,
                placeholder=placeholder if i == 0 else None,
            )
        )
    modal.add_item(
        discord.ui.TextInput(
            label=content.text("reflection.consent_label")[:45],
            custom_id=CONSENT_ID,
            style=discord.TextStyle.short,
            required=False,
            max_length=CONSENT_MAX,
            placeholder=content.text("reflection.consent_placeholder")[:100],
        )
    )
    return modal


def form_values(components: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """``{input custom id: value}`` from a modal submit's ``data.components``.

    Accepts both shapes Discord uses: action rows (type 1) holding text inputs, and labels
    (type 18) holding one component.
    """
    values: dict[str, str] = {}
    stack = list(components)
    while stack:
        item = stack.pop(0)
        kind = item.get("type")
        if kind == 1:
            stack[:0] = list(item.get("components") or [])
        elif kind == 18 and isinstance(item.get("component"), Mapping):
            stack.insert(0, item["component"])
        elif isinstance(item.get("custom_id"), str):
            value = item.get("value")
            values[item["custom_id"]] = value if isinstance(value, str) else ""
    return values


class Result(enum.Enum):
    SAVED = "saved"
    REPLACED = "replaced"
    NO_BREW = "no_brew"
    NOT_PARTICIPANT = "not_participant"
    NOT_YET = "not_yet"
    CLOSED = "window_closed"


@dataclass(frozen=True)
class Outcome:
    result: Result
    brew_id: int | None = None
    closes_at: datetime | None = None


@dataclass(frozen=True)
class Latest:
    """The member's most recent brew here, and whether they could reflect on it now."""

    brew_id: int
    result: Result | None  # None: the form may open; otherwise why not


def _window(
    brew_status: str,
    ended_at: datetime | None,
    closes_at: datetime | None,
    has_secret: bool,
    room_phase: str | None,
    room_status: str | None,
    now: datetime,
    window_days: int,
) -> Result | None:
    """``None`` if a reflection may be saved now, else the reason it may not.

    Open from the moment the person's room reaches Close (the brew is still running then)
    until ``reflections_close_at``; a brew without its secret is closed whatever the dates say.
    """
    if not has_secret:
        return Result.CLOSED
    if brew_status == "running":
        if room_phase in _REFLECTING_PHASES or room_status in ("failed", "ended"):
            return None
        return Result.NOT_YET
    if brew_status != "ended" or ended_at is None:
        return Result.CLOSED
    if closes_at is not None:
        return None if ended_at <= now < closes_at else Result.CLOSED
    return None if reflection_window_open(ended_at, now, window_days) else Result.CLOSED


def _why_not(found: Participation, now: datetime, window_days: int) -> Result | None:
    return _window(
        found.brew_status,
        found.ended_at,
        found.closes_at,
        found.has_secret,
        found.room_phase,
        found.room_status,
        now,
        window_days,
    )


async def find_latest(
    session: AsyncSession, guild_id: int, user_id: int, now: datetime, window_days: int
) -> Latest | None:
    """One indexed query: the most recent brew in this server the member took part in."""
    found = await db_reflections.latest_participation(session, guild_id, user_id)
    if found is None:
        return None
    return Latest(found.brew_id, _why_not(found, now, window_days))


async def save_reflection(
    services: Services,
    *,
    guild_id: int,
    brew_id: int | None,
    user_id: int,
    raw: Mapping[str, str],
    consent_text: str | None,
    now: datetime,
) -> Outcome:
    """Check, clean and save one person's reflection; replace theirs if they already sent one.

    ``raw`` maps prompt keys to what was typed. ``brew_id`` ``None`` means the member's most
    recent brew in ``guild_id``. Returns what happened; raises
    :class:`bot.core.reflections.ReflectionError` (nothing saved) if the answers need changing.
    The reply should be sent only after this returns: the commit has happened by then.
    """
    for attempt in range(2):
        try:
            return await _save_once(services, guild_id, brew_id, user_id, raw, consent_text, now)
        except IntegrityError:
            # The same person submitted twice at once and the other submission inserted the
            # receipt first: try again, which now replaces that reflection.
            if attempt:
                raise
    raise AssertionError("unreachable")


async def _save_once(
    services: Services,
    guild_id: int,
    brew_id: int | None,
    user_id: int,
    raw: Mapping[str, str],
    consent_text: str | None,
    now: datetime,
) -> Outcome:
    window_days = services.config.privacy.reflection_window_days
    async with services.sessions() as session:
        found = await db_reflections.latest_participation(session, guild_id, user_id, brew_id)
        if found is None:
            if brew_id is None:
                return Outcome(Result.NO_BREW)
            if not await db_reflections.brew_in_guild(session, brew_id, guild_id):
                return Outcome(Result.CLOSED, brew_id)  # deleted since the button was posted
            return Outcome(Result.NOT_PARTICIPANT, brew_id)
        why_not = _why_not(found, now, window_days)
        if why_not is not None:
            return Outcome(why_not, found.brew_id)
        answers = validate_answers(services.content.prompts, raw)
        stored = await db_reflections.store_reflection(
            session,
            found.brew_id,
            user_id=user_id,
            answers=answers,
            consent=parse_consent(consent_text),
            day=submitted_on(now, services.config.timing.zone()),
        )
    result = Result.REPLACED if stored.replaced else Result.SAVED
    return Outcome(result, found.brew_id, stored.closes_at)


def closes_text(closes_at: datetime | None, window_days: int, content: Content) -> str:
    """When a reflection can last be changed, shown in each reader's own time zone."""
    if closes_at is None:
        return content.format("reflection.closes_after_end", days=window_days)
    return f"<t:{int(closes_at.timestamp())}:f>"


def _fenced(text: str) -> str:
    # A code block shows the words exactly as typed; break up any ``` inside so it stays one.
    return "```\n" + neutralise_mentions(text).replace("```", "`\u200b``") + "\n```"


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def echo_messages(
    heading: str, prompts: Sequence[Prompt], raw: Mapping[str, str], consent_text: str | None
) -> list[str]:
    """What the person wrote, as messages of at most 2000 characters, so nothing is lost when a
    reflection cannot be saved. Each answer is labelled with its question; long answers are
    split across messages, never cut."""
    blocks: list[str] = []
    for prompt in prompts:
        text = (raw.get(prompt.key) or "").strip()
        if not text:
            continue
        # Room for the label, the fences and a possible split.
        for n, piece in enumerate(_pieces(text, 1800)):
            label = prompt.label if n == 0 else f"{prompt.label} (continued)"
            blocks.append(f"**{label}**\n{_fenced(piece)}")
    if consent_text and consent_text.strip():
        blocks.append(f"**Consent**\n{_fenced(consent_text.strip()[:CONSENT_MAX])}")
    if not blocks:
        return []
    messages = [heading]
    for block in blocks:
        if len(messages[-1]) + 2 + len(block) <= MESSAGE_LIMIT:
            messages[-1] += "\n\n" + block
        else:
            messages.append(block)
    return messages


async def close_reflection_windows(services: Services, now: datetime) -> int:
    """Destroy the receipt key and receipts of every brew whose reflection window has closed.

    Also brews that can never take reflections (cancelled or failed) lose their key. Returns how
    many brews were closed. Safe to run at any time and as often as wanted.
    """
    async with services.sessions() as session:
        closed = await privacy.close_reflection_windows(session, now)
    if closed or services.compaction.owed:
        await checkpoint(services)
    return closed


async def checkpoint(services: Services) -> bool:
    """Leave no copy of deleted keys, receipts or people's ids in the database's files
    (:func:`bot.db.privacy.compact`), retrying in the background until that is done."""
    return await services.compaction.run(services.sessions.kw.get("bind"))
