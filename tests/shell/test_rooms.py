"""The room opener (bot/shell/rooms.py) against a fake guild: what it creates, what it saves, when
each room's timetable starts, and what happens when Discord refuses part of it."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import discord
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.grouping import Group
from bot.core.phases import Event
from bot.db import repo
from bot.db.models import Brew, Room
from bot.shell.errors import UserFacingError
from bot.shell.outbox import Outbox
from bot.shell.protocols import Change
from bot.shell.rooms import GUILD_CHANNEL_LIMIT, OpenReport, RoomOpener, check_bot_can_open
from bot.shell.timers import Timers
from tests.builders import (
    USERS,
    FakeClient,
    FakeGuild,
    FakeTextChannel,
    FakeVoiceChannel,
    ShellDb,
    add_running_brew,
    http_error,
    open_shell_db,
)

GROUPS = [
    Group(members=(str(USERS[0]), str(USERS[1])), turns_in_text=False),
    Group(members=(str(USERS[2]), "444444444444444444", "555555555555555551"), turns_in_text=False),
]


class FakeRunner:
    """Records what the opener asks of the runner (the RoomControls it is given); the guide
    goes through a real outbox over the fake guild, flushed when a room starts."""

    def __init__(self) -> None:
        self.started: list[tuple[int, int]] = []
        self.told: list[tuple[str, bool, Sequence[int]]] = []
        self.outbox: Outbox | None = None

    def attach(self, db: ShellDb, guild: FakeGuild) -> None:
        async def gone(room_id: int, why: str) -> None:
            raise AssertionError(f"room {room_id} lost: {why}")

        client = FakeClient(guild)
        self.outbox = Outbox(client, db.services, Timers(), gone)  # type: ignore[arg-type]
        self.db = db

    def queue_guide(self, session: AsyncSession, room: Room, text: str) -> None:
        assert self.outbox is not None
        self.outbox.queue_guide(session, room, text)

    async def change_room(
        self, room_id: int, change: Change, *, respect_pause: bool = True
    ) -> list[Event]:
        raise AssertionError("the opener only starts rooms")

    async def start_room(self, room_id: int, largest_group: int) -> None:
        self.started.append((room_id, largest_group))
        async with self.db.sessions() as session:
            room = await session.get(Room, room_id)
            assert room is not None
            room.status = "running"
            await session.commit()
        assert self.outbox is not None
        await self.outbox.flush(room_id)

    async def maybe_finish_brew(self, brew_id: int) -> None:
        raise AssertionError("the opener does not finish brews")

    async def tell_facilitators(
        self, brew: Brew, text: str, *, ping: bool = False, ping_users: Sequence[int] = ()
    ) -> None:
        self.told.append((text, ping, list(ping_users)))


async def rooms_of(db: ShellDb, brew_id: int) -> list[Room]:
    async with db.sessions() as session:
        brew = await repo.load_brew(session, brew_id)
        assert brew is not None
        return sorted(brew.rooms, key=lambda r: r.index)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[ShellDb]:
    db = await open_shell_db(tmp_path)
    try:
        yield db
    finally:
        await db.engine.dispose()


async def opener_for(db: ShellDb, guild: FakeGuild, runner: FakeRunner) -> RoomOpener:
    runner.attach(db, guild)
    brew_id, _ = await add_running_brew(
        db.sessions,
        [[int(m) for m in g.members] for g in GROUPS],
        room_status="opening",
        with_channels=False,
    )
    async with db.sessions() as session:
        brew = await repo.load_brew(session, brew_id)
        assert brew is not None
        rooms = list(brew.rooms)
    return RoomOpener(
        runner,
        guild,  # type: ignore[arg-type]
        brew,
        rooms,
        GROUPS,
        services=db.services,
        facilitator_role_id=None,
    )


async def test_every_room_gets_its_channels_a_guide_and_its_timetable(db: ShellDb) -> None:
    guild, runner = FakeGuild(), FakeRunner()
    opener = await opener_for(db, guild, runner)
    report = await opener.open()

    assert (report.rooms_ready, report.rooms_failed) == (2, 0)
    # Nobody is in voice in the fake guild: every voice member is reported, none is lost.
    assert sorted(report.not_moved) == sorted(int(m) for g in GROUPS for m in g.members)
    async with db.sessions() as session:
        brew = await session.get(Brew, opener.brew.id)
        assert brew is not None
        assert len(brew.category_ids) == 1 and guild.get_channel(brew.category_ids[0])
    rooms = await rooms_of(db, opener.brew.id)
    for room in rooms:
        assert isinstance(guild.get_channel(room.voice_channel_id or 0), FakeVoiceChannel)
        text = guild.get_channel(room.text_channel_id or 0)
        assert isinstance(text, FakeTextChannel)
        [guide] = text.sent
        assert guide.nonce == f"bhguide{room.id}"  # a retried guide is never doubled
        members = GROUPS[room.index].members
        assert guide.allowed_mentions is not None
        assert sorted(str(u.id) for u in guide.allowed_mentions.users) == sorted(members)  # type: ignore[union-attr]
    # Each room starts as soon as it is ready, told the largest group (for turn lengths).
    assert sorted(runner.started) == sorted((r.id, 3) for r in rooms)
    assert runner.told == []


async def test_a_room_discord_refuses_is_tidied_and_its_people_told_where_to_go(
    db: ShellDb,
) -> None:
    guild, runner = FakeGuild(), FakeRunner()
    guild.create_failures["voice"] = [http_error(500, "no")]
    opener = await opener_for(db, guild, runner)
    report = await opener.open()

    assert (report.rooms_ready, report.rooms_failed) == (1, 1)
    rooms = await rooms_of(db, opener.brew.id)
    failed = [r for r in rooms if r.status == "failed"]
    assert len(failed) == 1
    # The half that was made (its text channel) is deleted again.
    leftovers = [c for c in guild.channels if isinstance(c, FakeTextChannel) and c.deleted]
    assert len(leftovers) == 1
    [(text, ping, ping_users)] = runner.told
    people = [int(m) for m in GROUPS[failed[0].index].members]
    assert ping_users == people and not ping
    assert "could not be opened" in text
    assert [room_id for room_id, _ in runner.started] == [
        r.id for r in rooms if r.status != "failed"
    ]


async def test_when_the_category_cannot_be_made_nothing_opens_and_the_brew_is_failed(
    db: ShellDb,
) -> None:
    guild, runner = FakeGuild(), FakeRunner()
    guild.create_failures["category"] = [http_error(500, "no")]
    opener = await opener_for(db, guild, runner)
    with pytest.raises(UserFacingError, match="Nothing has been opened"):
        await opener.open()
    async with db.sessions() as session:
        brew = await session.get(Brew, opener.brew.id)
        assert brew is not None and brew.status == "failed"
    statuses = {r.status for r in await rooms_of(db, opener.brew.id)}
    assert statuses == {"failed"}
    assert runner.started == [] and guild.channels == []


def test_the_bot_refuses_before_creating_anything_when_the_server_is_full() -> None:
    guild = FakeGuild()
    guild.me = type(
        "Me", (), {"guild_permissions": discord.Permissions.all()}
    )()  # every permission
    for _ in range(GUILD_CHANNEL_LIMIT - 4):
        channel = FakeTextChannel()
        guild.channels_by_id[channel.id] = channel
    check_bot_can_open(guild, 1)  # type: ignore[arg-type]  # 2 rooms + 1 category fit in 4
    with pytest.raises(UserFacingError, match="needs 5 new channels"):
        check_bot_can_open(guild, 2)  # type: ignore[arg-type]


def test_the_bot_names_the_permissions_it_lacks() -> None:
    guild = FakeGuild()
    guild.me = type("Me", (), {"guild_permissions": discord.Permissions.none()})()
    with pytest.raises(UserFacingError, match="Nothing has been created"):
        check_bot_can_open(guild, 1)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- who is moved
class FakeVoiceState:
    def __init__(self, channel: Any) -> None:
        self.channel = channel


class FakeMember:
    """A member whose voice state the fake guild keeps, as discord.py's cache would."""

    def __init__(self, guild: VoiceGuild, user_id: int) -> None:
        self.guild, self.id = guild, user_id

    @property
    def voice(self) -> FakeVoiceState | None:
        channel = self.guild.voice.get(self.id)
        return FakeVoiceState(channel) if channel is not None else None

    async def move_to(self, channel: Any, *, reason: str | None = None) -> None:
        self.guild.moves.append((self.id, channel.id))
        self.guild.voice[self.id] = channel


class VoiceGuild(FakeGuild):
    """A fake guild with people in voice; ``on_voice_made`` runs as each room's voice channel
    is made (what people do while the bot works)."""

    def __init__(self) -> None:
        super().__init__()
        self.voice: dict[int, Any] = {}
        self.moves: list[tuple[int, int]] = []
        self.on_voice_made: Any = None

    def get_member(self, user_id: int) -> Any:  # type: ignore[override]
        return FakeMember(self, user_id) if user_id in self.voice or user_id in ALL else None

    async def create_voice_channel(self, name: str, **kw: Any) -> FakeVoiceChannel:
        channel = await super().create_voice_channel(name, **kw)
        if self.on_voice_made is not None:
            self.on_voice_made(name, channel)
        return channel


ALL = [int(m) for g in GROUPS for m in g.members]


async def test_only_people_still_waiting_are_moved_and_self_joins_are_counted(
    db: ShellDb,
) -> None:
    guild, runner = VoiceGuild(), FakeRunner()
    lounge, elsewhere = FakeVoiceChannel(name="Lounge"), FakeVoiceChannel(name="Other")
    clicker, wanderer, away = USERS[1], 555555555555555551, 444444444444444444
    for user_id in ALL:
        if user_id != away:
            guild.voice[user_id] = lounge

    def people_act(name: str, channel: Any) -> None:
        if name == "Room 1":
            guild.voice[clicker] = channel  # followed the link before the bot reached them
        else:
            guild.voice[wanderer] = elsewhere  # went somewhere of their own choosing

    guild.on_voice_made = people_act
    seen: list[OpenReport] = []

    async def progress(report: OpenReport, total: int) -> None:
        seen.append(dataclasses.replace(report, not_moved=list(report.not_moved)))

    opener = await opener_for(db, guild, runner)
    opener.progress = progress
    report = await opener.open()

    rooms = await rooms_of(db, opener.brew.id)
    voice_of = {int(m): rooms[i].voice_channel_id for i, g in enumerate(GROUPS) for m in g.members}
    assert sorted(guild.moves) == sorted(
        [(USERS[0], voice_of[USERS[0]]), (USERS[2], voice_of[USERS[2]])]
    )
    assert (report.moved, report.joined) == (2, 1)
    assert sorted(report.not_moved) == sorted([away, wanderer])
    # The facilitator is told while rooms open (the summary, made from the report, ends it).
    assert seen and len(seen) <= 1 + int(report.seconds / 3.0)
    # Each guide has the one-click link to its own voice channel under its heading.
    for room in rooms:
        text = guild.get_channel(room.text_channel_id or 0)
        first_line = text.sent[0].text.splitlines()[1]  # right under the heading
        assert f"https://discord.com/channels/{guild.id}/{room.voice_channel_id}" in first_line
        assert f"<#{room.voice_channel_id}>" in first_line
