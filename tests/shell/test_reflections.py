"""Saving reflections by receipt, the window, and closing it: against a real migrated SQLite."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import discord
import pytest
from sqlalchemy import func, select

from bot.core.anonymity import receipt
from bot.core.reflections import ReflectionError
from bot.db.models import Brew, Reflection, ReflectionReceipt
from bot.shell.reflections import (
    CONSENT_ID,
    Result,
    close_reflection_windows,
    echo_messages,
    find_latest,
    form_values,
    prompt_input_id,
    reflection_form,
)
from tests.builders import (
    GUILD,
    NOW,
    STRANGER,
    USERS,
    Db,
    add_brew,
    db_fixture,  # noqa: F401 - the db fixture
    reflect,
)


async def _rows(db: Db, model: type) -> list:
    async with db.sessions() as session:
        return list(await session.scalars(select(model)))


async def test_a_participant_saves_a_reflection_with_a_receipt_not_their_id(db: Db) -> None:
    brew_id = await add_brew(db.sessions)
    outcome = await reflect(db, USERS[0], brew_id, consent="Yes please!")
    assert outcome.result is Result.SAVED
    assert outcome.closes_at is not None
    [reflection] = await _rows(db, Reflection)
    assert reflection.brew_id == brew_id
    assert reflection.consent is True
    assert reflection.submitted_on == NOW.date()
    # Empty answers are left out; text is stored cleaned.
    assert reflection.answers == {
        "missing": "Time to listen to carers.",
        "lasting": "Everyone had a voice.",
        "feedback": "Lovely, thank you.",
    }
    [stored] = await _rows(db, ReflectionReceipt)
    async with db.sessions() as session:
        brew = await session.get(Brew, brew_id)
    assert brew is not None and brew.reflection_secret is not None
    assert stored.receipt == receipt(brew.reflection_secret, USERS[0])
    assert str(USERS[0]) not in stored.receipt
    assert stored.reflection_id == reflection.id


async def test_a_second_submission_replaces_the_first(db: Db) -> None:
    brew_id = await add_brew(db.sessions)
    await reflect(db, USERS[0], brew_id, consent="yes")
    later = NOW + timedelta(days=1)
    outcome = await reflect(
        db, USERS[0], brew_id, answers={"next": "A second brew in the autumn."}, now=later
    )
    assert outcome.result is Result.REPLACED
    [reflection] = await _rows(db, Reflection)
    assert reflection.answers == {"next": "A second brew in the autumn."}
    assert reflection.consent is False  # consent is asked again; empty means no
    assert reflection.submitted_on == later.date()
    assert len(await _rows(db, ReflectionReceipt)) == 1


async def test_three_people_give_three_reflections(db: Db) -> None:
    brew_id = await add_brew(db.sessions)
    for user in USERS:
        assert (await reflect(db, user, brew_id)).result is Result.SAVED
    assert len(await _rows(db, Reflection)) == 3
    assert len({r.receipt for r in await _rows(db, ReflectionReceipt)}) == 3


async def test_a_double_submission_at_the_same_moment_keeps_one_reflection(db: Db) -> None:
    brew_id = await add_brew(db.sessions)
    results = await asyncio.gather(
        reflect(db, USERS[0], brew_id), reflect(db, USERS[0], brew_id, consent="yes")
    )
    assert {r.result for r in results} <= {Result.SAVED, Result.REPLACED}
    assert len(await _rows(db, Reflection)) == 1
    assert len(await _rows(db, ReflectionReceipt)) == 1


async def test_someone_who_was_not_there_is_refused_and_nothing_is_stored(db: Db) -> None:
    brew_id = await add_brew(db.sessions)
    assert (await reflect(db, STRANGER, brew_id)).result is Result.NOT_PARTICIPANT
    assert (await reflect(db, STRANGER, None)).result is Result.NO_BREW
    # A brew of another server is not theirs either, even for a participant.
    other = await add_brew(db.sessions, guild_id=GUILD + 1, number=1)
    assert (await reflect(db, USERS[0], other)).result is not Result.SAVED
    assert await _rows(db, Reflection) == []


async def test_latest_means_the_most_recent_brew_the_member_took_part_in(db: Db) -> None:
    await add_brew(db.sessions, number=1)
    second = await add_brew(db.sessions, number=2, rooms=[(USERS[0],)])
    outcome = await reflect(db, USERS[0], None)
    assert outcome.result is Result.SAVED and outcome.brew_id == second
    async with db.sessions() as session:
        latest = await find_latest(session, GUILD, USERS[0], NOW, 7)
        none = await find_latest(session, GUILD, STRANGER, NOW, 7)
    assert latest is not None and latest.brew_id == second and latest.result is None
    assert none is None


async def test_the_window_closes_at_its_time_and_when_the_key_is_gone(db: Db) -> None:
    brew_id = await add_brew(db.sessions, ended_at=NOW - timedelta(days=7), window_days=7)
    assert (await reflect(db, USERS[0], brew_id)).result is Result.CLOSED
    assert (await reflect(db, USERS[0], brew_id, now=NOW - timedelta(seconds=1))).result is (
        Result.SAVED
    )
    no_key = await add_brew(db.sessions, number=2, secret=False)
    assert (await reflect(db, USERS[0], no_key)).result is Result.CLOSED


async def test_reflections_open_when_the_room_reaches_close(db: Db) -> None:
    talking = await add_brew(
        db.sessions, status="running", ended_at=None, room_phase="turns", number=1
    )
    closing = await add_brew(
        db.sessions, status="running", ended_at=None, room_phase="close", number=2
    )
    assert (await reflect(db, USERS[0], talking)).result is Result.NOT_YET
    outcome = await reflect(db, USERS[0], closing)
    assert outcome.result is Result.SAVED and outcome.closes_at is None
    cancelled = await add_brew(db.sessions, status="cancelled", number=3)
    assert (await reflect(db, USERS[0], cancelled)).result is Result.CLOSED


async def test_empty_or_too_long_answers_are_refused_naming_the_question(db: Db) -> None:
    brew_id = await add_brew(db.sessions)
    with pytest.raises(ReflectionError) as empty:
        await reflect(db, USERS[0], brew_id, answers={"missing": "   ", "next": "\n"})
    assert empty.value.prompt_key is None
    with pytest.raises(ReflectionError) as long:
        await reflect(db, USERS[0], brew_id, answers={"feedback": "x" * 301})
    assert long.value.prompt_key == "feedback"
    assert "How was this brew for you?" in str(long.value)
    assert "Nothing has been saved" in str(long.value)
    assert await _rows(db, Reflection) == []


async def test_closing_the_window_destroys_the_key_and_the_receipts(db: Db) -> None:
    closed = await add_brew(db.sessions, number=1, ended_at=NOW - timedelta(days=1))
    still_open = await add_brew(db.sessions, number=2)
    cancelled = await add_brew(db.sessions, number=3, status="cancelled", ended_at=None)
    for brew_id in (closed, still_open):
        for user in USERS:
            await reflect(db, user, brew_id, now=NOW - timedelta(minutes=1))
    later = NOW + timedelta(days=6, hours=1)  # the first brew's window (7 days) has closed
    assert await close_reflection_windows(db.services, later) == 2  # closed + cancelled
    async with db.sessions() as session:
        brews = {b.id: b for b in await session.scalars(select(Brew))}
        receipts = list(await session.scalars(select(ReflectionReceipt)))
        kept = await session.scalar(select(func.count()).select_from(Reflection))
    assert brews[closed].reflection_secret is None
    assert brews[cancelled].reflection_secret is None
    assert brews[still_open].reflection_secret is not None
    assert {r.brew_id for r in receipts} == {still_open}
    assert kept == 6  # reflections themselves stay
    assert await close_reflection_windows(db.services, later) == 0  # nothing left to do
    # After the key is gone nobody can add to or change that brew's reflections.
    assert (await reflect(db, USERS[0], closed, now=NOW)).result is Result.CLOSED


async def test_the_destroyed_key_is_not_left_in_the_database_file(db: Db) -> None:
    brew_id = await add_brew(db.sessions, ended_at=NOW - timedelta(days=8))
    async with db.sessions() as session:
        brew = await session.get(Brew, brew_id)
        assert brew is not None and brew.reflection_secret is not None
        secret = brew.reflection_secret
    assert await close_reflection_windows(db.services, NOW) == 1
    await db.sessions.kw["bind"].dispose()
    for path in db.path.parent.glob(db.path.name + "*"):
        assert secret not in path.read_bytes(), path.name


# ------------------------------------------------------------------ the form, in isolation
def test_the_form_has_the_questions_and_consent_all_optional(db: Db) -> None:
    content = db.services.content
    form = reflection_form(content, 42)
    assert form.custom_id == "bh:rf:42"
    assert form.is_finished()  # not kept in memory: the cog answers it by custom id
    payload = form.to_dict()
    inputs = [row["components"][0] for row in payload["components"]]
    assert 1 <= len(inputs) <= 5 and len(payload["title"]) <= 45
    assert [i["custom_id"] for i in inputs] == [
        *(prompt_input_id(p) for p in content.prompts),
        CONSENT_ID,
    ]
    assert all(i["required"] is False for i in inputs)
    assert inputs[-1]["label"] == content.text("reflection.consent_label")
    assert inputs[-1]["placeholder"] == content.text("reflection.consent_placeholder")
    by_key = {i["custom_id"]: i for i in inputs}
    for prompt in content.prompts:
        item = by_key[prompt_input_id(prompt)]
        assert item["max_length"] == prompt.max_length
        style = discord.TextStyle.paragraph if prompt.long else discord.TextStyle.short
        assert item["style"] == style.value
    assert reflection_form(content, None).custom_id == "bh:rf:latest"


def test_submitted_values_are_read_from_rows_and_labels() -> None:
    rows = [
        {"type": 1, "components": [{"type": 4, "custom_id": "q:missing", "value": "a"}]},
        {"type": 18, "component": {"type": 4, "custom_id": "consent", "value": "yes"}},
        {"type": 1, "components": [{"type": 4, "custom_id": "q:next", "value": None}]},
    ]
    assert form_values(rows) == {"q:missing": "a", "consent": "yes", "q:next": ""}


def test_words_that_could_not_be_saved_are_echoed_whole_in_short_messages(db: Db) -> None:
    prompts = db.services.content.prompts
    raw = {p.key: f"{p.key}:" + "word " * 800 for p in prompts}
    raw["missing"] = "@everyone ```look``` " + raw["missing"]
    messages = echo_messages("Here is what you wrote:", prompts, raw, "yes")
    assert messages[0].startswith("Here is what you wrote:")
    assert all(len(m) <= 2000 for m in messages)
    joined = "".join(messages).replace("\u200b", "")
    for prompt in prompts:
        assert prompt.label in joined
    # Every word comes back (a few pieces are split across messages, none is dropped).
    assert joined.count("word") >= 800 * len(prompts) - len(messages)
    assert "@everyone" not in "".join(messages)  # cannot ping anyone
    assert echo_messages("heading", prompts, {}, None) == []


async def test_a_late_evening_reflection_is_dated_in_the_communitys_time_zone(db: Db) -> None:
    """23:30 UTC on 2 July is 00:30 on 3 July in London (BST): the stored date is 3 July."""
    from datetime import date

    brew_id = await add_brew(db.sessions)
    late = NOW.replace(hour=23, minute=30)
    await reflect(db, USERS[0], brew_id, now=late)
    async with db.sessions() as session:
        stored = await session.scalar(select(Reflection.submitted_on))
    assert db.services.config.timing.timezone == "Europe/London"
    assert stored == date(2024, 7, 3)
