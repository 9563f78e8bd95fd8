"""The named queries of bot/db, on SQLite and on PostgreSQL: each returns plain data and
does what its name says (statuses, numbering, keep-apart notes, pair history, deleting)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import FrozenInstanceError, replace
from datetime import date, timedelta

import pytest

from bot.core.phases import Phase, Timing
from bot.db import brews, pair_history, privacy, reflections, settings, signups, starts
from bot.db.models import Brew, Signup
from tests.builders import GUILD, NOW, USERS, Db, add_brew, brew_timing, open_db

NEW = brews.NewBrew(
    guild_id=GUILD,
    channel_id=42,
    facilitator_id=USERS[0],
    question="What's missing?",
    title="Over A Brew",
    **brew_timing(arrive_s=60, think_s=30),
    perspectives=("carer",),
)


@pytest.fixture(name="any_db")
async def any_db_fixture(database_url: str) -> AsyncIterator[Db]:
    async with open_db(database_url) as db:
        yield db


async def test_new_brews_are_numbered_per_server_and_come_back_as_plain_data(any_db: Db) -> None:
    async with any_db.sessions() as session:
        first = await brews.create_brew(session, NEW)
        second = await brews.create_brew(session, replace(NEW, channel_id=43))
        other = await brews.create_brew(session, replace(NEW, guild_id=GUILD + 1))
    assert (first.number, second.number, other.number) == (1, 2, 1)
    assert first.status == "open" and first.perspectives == ("carer",)
    assert first.timing == Timing(
        arrive=60, think=30, turn=120, nudge=30, length=1800, still=300, close=60,
        min_reflect=120, cleanup=600, speed=1.0,
    )  # fmt: skip
    with pytest.raises(FrozenInstanceError):
        first.status = "running"  # type: ignore[misc]
    async with any_db.sessions() as session:
        assert await brews.brew_status(session, GUILD, 2) == "open"
        assert await brews.brew_status(session, GUILD, 3) is None
        assert await brews.brew_status(session, GUILD, None) is None


async def test_a_discarded_brew_gives_its_number_back(any_db: Db) -> None:
    async with any_db.sessions() as session:
        made = await brews.create_brew(session, NEW)
        await brews.discard_unstarted(session, made.id)
        again = await brews.create_brew(session, NEW)
    assert again.number == made.number == 1


async def test_claiming_a_card_applies_changes_and_returns_who_signed_up(any_db: Db) -> None:
    async with any_db.sessions() as session:
        made = await brews.create_brew(session, NEW)
        session.add(Signup(brew_id=made.id, user_id=USERS[1], text_only=True, perspective="x"))
        await session.commit()
    async with any_db.sessions() as session:
        assert await signups.signup_count(session, made.id) == 1
        claimed = await starts.claim_open_brew(
            session, GUILD, 42, USERS[2], brews.BrewChanges(title="New title", think_s=0)
        )
    assert claimed is not None
    info, joined = claimed
    assert info.title == "New title" and info.facilitator_id == USERS[2]
    assert info.timing.think == 0 and info.question == NEW.question
    assert joined == [brews.SignupInfo(USERS[1], True, "x")]
    assert info.status == "starting"  # taken by this start: no second start, no sign-ups
    async with any_db.sessions() as session:
        assert (
            await starts.claim_open_brew(session, GUILD, 99, USERS[2], brews.BrewChanges()) is None
        )
        # A start refused before anything was made gives the card back.
        assert await starts.release_start(session, info.id)
        assert await brews.cancel_open_brew(session, GUILD, 42) == info.number
        assert await brews.cancel_open_brew(session, GUILD, 42) is None
        assert (await brews.get_brew(session, info.id)).status == "cancelled"  # type: ignore[union-attr]


async def test_starting_saves_rooms_and_running_brews_and_overview_read_them(any_db: Db) -> None:
    async with any_db.sessions() as session:
        made = await brews.create_brew(session, NEW, status="starting")
        planned = [
            brews.PlannedRoom(False, (USERS[1], USERS[0]), (USERS[0], USERS[1]), frozenset()),
            brews.PlannedRoom(True, (USERS[2],), (USERS[2],), frozenset({USERS[2]})),
        ]
        started = await starts.mark_started(
            session, made.id, now=NOW, secret=b"s" * 32, participants=3, rooms=planned
        )
        await session.commit()
    assert started.status == "running" and started.participants == 3
    async with any_db.sessions() as session:
        running = await brews.running_brews(session, GUILD)
        assert [b.id for b in running] == [made.id]
        assert await brews.running_brews(session, GUILD + 1) == []
        found = await brews.overview(session, made.id)
    assert found is not None
    assert [(r.index, r.status, r.phase) for r in found.rooms] == [
        (0, "opening", "arrive"),
        (1, "opening", "arrive"),
    ]
    assert found.rooms[0].state.order == (str(USERS[1]), str(USERS[0]))
    assert found.rooms[0].state.phase is Phase.ARRIVE


async def test_a_room_is_found_by_either_of_its_channels(any_db: Db) -> None:
    await add_brew(any_db.sessions, status="running", room_phase="turns")
    async with any_db.sessions() as session:
        by_text = await brews.room_by_channel(session, 779_000_000_000_000_000)
        by_voice = await brews.room_by_channel(session, 778_000_000_000_000_000)
        nothing = await brews.room_by_channel(session, 1)
    assert by_text is not None and by_text == by_voice
    assert (by_text.status, by_text.phase) == ("running", "turns")
    assert nothing is None


async def test_settings_change_only_what_is_given(any_db: Db) -> None:
    async with any_db.sessions() as session:
        first = await settings.change_settings(session, GUILD, facilitator_role_id=5)
        second = await settings.change_settings(session, GUILD, area_label="Norfolk")
        read = await settings.read_settings(session, GUILD)
    assert first == settings.ServerSettings(5, None, None, None)
    assert second == read == settings.ServerSettings(5, None, None, "Norfolk")


async def test_keep_apart_notes_are_added_once_and_removed_one_or_all(any_db: Db) -> None:
    async with any_db.sessions() as session:
        assert await pair_history.add_apart(session, GUILD, "k1")
        assert not await pair_history.add_apart(session, GUILD, "k1")
        assert await pair_history.add_apart(session, GUILD, "k2")
        assert await pair_history.add_apart(session, GUILD + 1, "k1")
        await session.commit()
        assert sorted(await pair_history.apart_keys(session, GUILD)) == ["k1", "k2"]
        assert await pair_history.remove_apart(session, GUILD, "k2") == 1
        assert await pair_history.remove_apart(session, GUILD) == 1
        await session.commit()
        assert await pair_history.apart_keys(session, GUILD) == []
        assert await pair_history.apart_keys(session, GUILD + 1) == ["k1"]


async def test_pair_history_keeps_the_last_brews_newest_first(any_db: Db) -> None:
    ids = [await add_brew(any_db.sessions, number=n) for n in (1, 2, 3)]
    async with any_db.sessions() as session:
        for brew_id, key in zip(ids, ("a", "b", "c"), strict=True):
            await pair_history.remember(session, GUILD, brew_id, [key, "shared"], date(2024, 7, 1))
        await session.commit()
        recent = await pair_history.recent_meetings(session, GUILD, 2)
        assert recent == [(ids[2], {"c", "shared"}), (ids[1], {"b", "shared"})]
        assert await pair_history.recent_meetings(session, GUILD, 0) == []
        await pair_history.forget_all_but_recent(session, GUILD, 1)
        await session.commit()
        assert await pair_history.recent_meetings(session, GUILD, 5) == [(ids[2], {"c", "shared"})]
        secret = await pair_history.server_secret(session, GUILD)
        assert secret == await pair_history.server_secret(session, GUILD) and len(secret) >= 32


async def test_pair_history_statements_keep_one_text_as_the_history_grows(any_db: Db) -> None:
    """Each SQL text the driver meets stays prepared in every pooled connection (SQLite), so a
    statement whose text changes with the history's length (an ``IN`` list of the last brews'
    ids) made the bot's memory grow for its first ten brews (issue 12)."""
    from sqlalchemy import event

    texts: set[str] = set()

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if "pair_history" in statement:
            texts.add(statement)

    engine = any_db.sessions.kw["bind"].sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        for n in range(1, 6):
            brew_id = await add_brew(any_db.sessions, number=n)
            async with any_db.sessions() as session:
                await pair_history.remember(session, GUILD, brew_id, [f"k{n}"], date(2024, 7, n))
                await session.commit()
                assert len(await pair_history.recent_meetings(session, GUILD, 3)) == min(n, 3)
                await pair_history.forget_all_but_recent(session, GUILD, 3)
                await session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    # one INSERT, one SELECT, one DELETE, whatever the history's length
    assert len(texts) == 3, sorted(texts)


async def test_purging_refuses_a_busy_brew_and_deletes_a_finished_one(any_db: Db) -> None:
    running = await add_brew(any_db.sessions, number=1, status="running")
    ended = await add_brew(any_db.sessions, number=2)
    async with any_db.sessions() as session:
        found = await privacy.purge_candidate(session, GUILD, 2)
        assert found is not None and not found.busy and found.brew_id == ended
        assert await privacy.purge_candidate(session, GUILD, 9) is None
        busy = await privacy.delete_brew(session, GUILD, running)
        assert busy is not None and busy.busy
        assert await privacy.delete_brew(session, GUILD + 1, ended) is None
        gone = await privacy.delete_brew(session, GUILD, ended)
        assert gone is not None and not gone.busy
    async with any_db.sessions() as session:
        assert await session.get(Brew, ended) is None
        assert await session.get(Brew, running) is not None


async def test_retention_cancels_stale_cards_and_reports_what_it_deleted(any_db: Db) -> None:
    old = await add_brew(
        any_db.sessions, number=1, ended_at=NOW - timedelta(days=100), started_at=None
    )
    async with any_db.sessions() as session:
        report = await privacy.apply_retention(session, NOW - timedelta(days=90))
    assert report.brews == 1 and report.memberships == len(USERS) and report.deleted_anything
    async with any_db.sessions() as session:
        brew = await session.get(Brew, old)
        assert brew is not None and brew.facilitator_id is None and brew.reflection_secret is None
        again = await privacy.apply_retention(session, NOW - timedelta(days=90))
    assert not again.deleted_anything


async def test_the_window_sweep_closes_each_brew_once(any_db: Db) -> None:
    await add_brew(any_db.sessions, number=1, ended_at=NOW - timedelta(days=10), window_days=7)
    await add_brew(any_db.sessions, number=2)
    async with any_db.sessions() as session:
        assert await privacy.close_reflection_windows(session, NOW) == 1
        assert await privacy.close_reflection_windows(session, NOW) == 0


async def test_participation_is_the_members_latest_brew_in_this_server(any_db: Db) -> None:
    first = await add_brew(any_db.sessions, number=1)
    second = await add_brew(any_db.sessions, number=2, status="running", room_phase="turns")
    async with any_db.sessions() as session:
        latest = await reflections.latest_participation(session, GUILD, USERS[0])
        named = await reflections.latest_participation(session, GUILD, USERS[0], first)
        assert await reflections.latest_participation(session, GUILD + 1, USERS[0]) is None
        assert await reflections.brew_in_guild(session, first, GUILD)
        assert not await reflections.brew_in_guild(session, first, GUILD + 1)
    assert latest is not None and latest.brew_id == second
    assert (latest.brew_status, latest.room_phase, latest.has_secret) == ("running", "turns", True)
    assert named is not None and named.brew_id == first and named.brew_status == "ended"


async def test_storing_a_reflection_twice_replaces_it(any_db: Db) -> None:
    brew_id = await add_brew(any_db.sessions)
    async with any_db.sessions() as session:
        first = await reflections.store_reflection(
            session, brew_id, user_id=USERS[0], answers={"a": "1"}, consent=True, day=NOW.date()
        )
        second = await reflections.store_reflection(
            session, brew_id, user_id=USERS[0], answers={"a": "2"}, consent=False, day=NOW.date()
        )
    assert not first.replaced and second.replaced and first.closes_at == second.closes_at
