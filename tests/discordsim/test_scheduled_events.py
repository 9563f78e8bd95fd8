"""Guild scheduled events in the simulator, driven through discord.py's real client."""

from __future__ import annotations

import datetime
from typing import Any

import discord
import pytest

from discordsim import DEFAULT_BOT_PERMISSIONS, DiscordSimulator, Permission, SimulatorError
from discordsim.errors import ApiError
from discordsim.events import ACTIVE, CANCELED, COMPLETED, EXTERNAL, SCHEDULED, VOICE
from discordsim.state import SimState

from .botkit import BrewTestBot, RunningBot, start_bot
from .conftest import World

P = Permission
EVENTS_BOT = DEFAULT_BOT_PERMISSIONS | int(P.CREATE_EVENTS)


def soon(hours: float = 24) -> datetime.datetime:
    return discord.utils.utcnow() + datetime.timedelta(hours=hours)


async def guild_of(running: RunningBot, world: World) -> discord.Guild:
    guild = running.bot.get_guild(world.guild.id)
    assert guild is not None
    return guild


async def create(running: RunningBot, world: World, **kwargs: Any) -> discord.ScheduledEvent:
    guild = await guild_of(running, world)
    lounge = guild.get_channel(world.lounge.id)
    assert isinstance(lounge, discord.VoiceChannel)
    options: dict[str, Any] = {
        "name": "Over A Brew: planning the week",
        "start_time": soon(),
        "end_time": soon(24.5),
        "channel": lounge,
        "description": "What's missing?",
        "privacy_level": discord.PrivacyLevel.guild_only,
    }
    options.update(kwargs)
    return await guild.create_scheduled_event(**options)


async def test_bot_creates_a_voice_event_and_hears_about_it(
    sim: DiscordSimulator, world: World, running: RunningBot
) -> None:
    sim.set_bot_permissions(world.guild.id, EVENTS_BOT)
    event = await create(running, world)
    assert event.entity_type is discord.EntityType.voice
    assert event.status is discord.EventStatus.scheduled
    assert event.channel_id == world.lounge.id
    assert event.creator_id == sim.bot_id
    [stored] = sim.scheduled_events(world.guild.id)
    assert stored.id == event.id
    assert stored.privacy_level == 2
    call = sim.rest_calls(method="POST", route="/guilds/{guild_id}/scheduled-events")[-1]
    assert call.status == 200 and call.body["privacy_level"] == 2
    guild = await guild_of(running, world)
    await sim.wait_for(lambda: guild.get_scheduled_event(event.id) is not None, 5)
    assert sim.events_named("GUILD_SCHEDULED_EVENT_CREATE")
    fetched = await guild.fetch_scheduled_event(event.id, with_counts=True)
    assert fetched.name == "Over A Brew: planning the week"
    assert fetched.user_count == 0
    assert [e.id for e in await guild.fetch_scheduled_events()] == [event.id]


async def test_privacy_level_must_be_sent(
    sim: DiscordSimulator, world: World, running: RunningBot
) -> None:
    sim.set_bot_permissions(world.guild.id, EVENTS_BOT)
    guild = await guild_of(running, world)
    lounge = guild.get_channel(world.lounge.id)
    assert isinstance(lounge, discord.VoiceChannel)
    with pytest.raises(discord.HTTPException) as info:
        await guild.create_scheduled_event(
            name="No privacy", start_time=soon(), channel=lounge
        )  # discord.py 2.7 leaves privacy_level out unless it is passed
    assert info.value.code == 50035
    assert "privacy_level" in (sim.rest_log[-1].errors or {})
    assert sim.scheduled_events(world.guild.id) == []


async def test_manage_events_alone_no_longer_creates(
    sim: DiscordSimulator, world: World, running: RunningBot
) -> None:
    sim.set_bot_permissions(world.guild.id, DEFAULT_BOT_PERMISSIONS | int(P.MANAGE_EVENTS))
    with pytest.raises(discord.Forbidden):
        await create(running, world)
    assert sim.scheduled_events(world.guild.id) == []


async def test_voice_event_needs_view_and_connect_in_its_channel(
    sim: DiscordSimulator, world: World, running: RunningBot
) -> None:
    sim.set_bot_permissions(world.guild.id, EVENTS_BOT)
    sim.set_overwrite(world.lounge.id, sim.bot_id, deny=int(P.CONNECT))
    with pytest.raises(discord.Forbidden) as info:
        await create(running, world)
    assert info.value.code == 50013
    sim.set_overwrite(world.lounge.id, sim.bot_id, deny=int(P.VIEW_CHANNEL))
    with pytest.raises(discord.Forbidden) as info:
        await create(running, world)
    assert info.value.code == 50001


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"start_time": "past"}, "scheduled_start_time"),
        ({"end_time": "before"}, "scheduled_end_time"),
        ({"name": "x" * 101}, "name"),
        ({"description": "x" * 1001}, "description"),
    ],
)
async def test_validation_errors_name_the_field(
    sim: DiscordSimulator,
    world: World,
    running: RunningBot,
    changes: dict[str, Any],
    field: str,
) -> None:
    sim.set_bot_permissions(world.guild.id, EVENTS_BOT)
    if changes.get("start_time") == "past":
        changes["start_time"] = discord.utils.utcnow() - datetime.timedelta(minutes=1)
    if changes.get("end_time") == "before":
        changes["end_time"] = soon(23)
    with pytest.raises(discord.HTTPException) as info:
        await create(running, world, **changes)
    assert info.value.status == 400 and info.value.code == 50035
    assert field in (sim.rest_log[-1].errors or {})


async def test_the_wall_clock_can_follow_the_bots_clock(
    sim: DiscordSimulator, world: World, running: RunningBot
) -> None:
    sim.set_bot_permissions(world.guild.id, EVENTS_BOT)
    sim.set_wall_clock(lambda: discord.utils.utcnow() + datetime.timedelta(days=2))
    with pytest.raises(discord.HTTPException):
        await create(running, world)  # a day ahead of real time is the past on that clock
    sim.set_wall_clock(None)
    await create(running, world)


async def test_status_moves_scheduled_active_completed_only(
    sim: DiscordSimulator, world: World, running: RunningBot
) -> None:
    sim.set_bot_permissions(world.guild.id, EVENTS_BOT)
    event = await create(running, world)
    with pytest.raises(discord.HTTPException) as info:
        await event.edit(status=discord.EventStatus.completed)  # not started yet
    assert info.value.code == 50035
    event = await event.edit(status=discord.EventStatus.active)
    assert event.status is discord.EventStatus.active
    with pytest.raises(discord.HTTPException):
        await event.edit(status=discord.EventStatus.cancelled)  # only from scheduled
    event = await event.edit(status=discord.EventStatus.completed)
    assert event.status is discord.EventStatus.completed
    with pytest.raises(discord.HTTPException) as info:
        await event.edit(name="Too late")
    assert info.value.code == 180000
    updates = [e.data["status"] for e in sim.events_named("GUILD_SCHEDULED_EVENT_UPDATE")]
    assert updates == [ACTIVE, COMPLETED]
    guild = await guild_of(running, world)
    await sim.wait_for(
        lambda: (
            guild.get_scheduled_event(event.id).status  # type: ignore[union-attr]
            is discord.EventStatus.completed
        ),
        5,
    )


async def test_cancel_then_delete(sim: DiscordSimulator, world: World, running: RunningBot) -> None:
    sim.set_bot_permissions(world.guild.id, EVENTS_BOT)
    event = await create(running, world)
    event = await event.edit(status=discord.EventStatus.cancelled)
    assert sim.scheduled_event(world.guild.id, event.id).status == CANCELED
    await event.delete()
    assert sim.scheduled_events(world.guild.id) == []
    assert sim.events_named("GUILD_SCHEDULED_EVENT_DELETE")
    guild = await guild_of(running, world)
    with pytest.raises(discord.NotFound) as info:
        await guild.fetch_scheduled_event(event.id)
    assert info.value.code == 10070


async def test_changing_someone_elses_event_needs_manage_events(
    sim: DiscordSimulator, world: World, running: RunningBot
) -> None:
    sim.set_bot_permissions(world.guild.id, EVENTS_BOT)
    theirs = sim.state.create_scheduled_event(
        world.guild.id,
        {
            "name": "Alice's event",
            "privacy_level": 2,
            "entity_type": VOICE,
            "channel_id": str(world.lounge.id),
            "scheduled_start_time": soon().isoformat(),
        },
        actor_id=world.alice.id,
        check_permissions=False,
    )
    guild = await guild_of(running, world)
    event = await guild.fetch_scheduled_event(theirs.id)
    with pytest.raises(discord.Forbidden):
        await event.edit(name="Renamed by the bot")
    sim.set_bot_permissions(world.guild.id, EVENTS_BOT | int(P.MANAGE_EVENTS))
    event = await event.edit(name="Renamed by the bot")
    assert sim.scheduled_event(world.guild.id, theirs.id).name == "Renamed by the bot"


async def test_interested_people_are_read_through_rest_not_gateway(
    sim: DiscordSimulator, world: World, running: RunningBot
) -> None:
    sim.set_bot_permissions(world.guild.id, EVENTS_BOT)
    heard: list[int] = []

    async def on_scheduled_event_user_add(event: discord.ScheduledEvent, user: Any) -> None:
        heard.append(user.id)

    running.bot.add_listener(on_scheduled_event_user_add)
    event = await create(running, world)
    await sim.press_interested(world.guild.id, event.id, world.carol.id)
    await sim.press_interested(world.guild.id, event.id, world.bob.id)
    await sim.press_interested(world.guild.id, event.id, world.bob.id)  # no second event
    await sim.wait_for(lambda: len(sim.events_named("GUILD_SCHEDULED_EVENT_USER_ADD")) == 2, 5)
    users = [u.id async for u in event.users()]
    assert users == sorted([world.bob.id, world.carol.id])
    # Without the members intent discord.py has not cached Bob or Carol, so it drops the
    # gateway events: the REST route is the reliable way to read them.
    assert heard == []
    # Not even for a member it knows from voice: without the members intent discord.py keeps
    # no user cache at all.
    await sim.set_voice(world.guild.id, world.alice.id, world.lounge.id)
    guild = await guild_of(running, world)
    await sim.wait_for(lambda: guild.get_member(world.alice.id) is not None, 5)
    await sim.press_interested(world.guild.id, event.id, world.alice.id)
    await sim.wait_for(lambda: len(sim.events_named("GUILD_SCHEDULED_EVENT_USER_ADD")) == 3, 5)
    assert heard == []
    await sim.remove_interested(world.guild.id, event.id, world.alice.id)
    assert (await guild.fetch_scheduled_event(event.id, with_counts=True)).user_count == 2
    await sim.remove_interested(world.guild.id, event.id, world.bob.id)
    assert [u.id async for u in event.users()] == [world.carol.id]
    assert sim.events_named("GUILD_SCHEDULED_EVENT_USER_REMOVE")


async def test_with_the_members_intent_the_gateway_events_arrive(
    sim: DiscordSimulator, world: World
) -> None:
    sim.set_bot_permissions(world.guild.id, EVENTS_BOT)
    running = await start_bot(
        sim, BrewTestBot(intents=discord.Intents.default() | discord.Intents(members=True))
    )
    try:
        heard: list[int] = []

        async def on_scheduled_event_user_add(event: discord.ScheduledEvent, user: Any) -> None:
            heard.append(user.id)

        running.bot.add_listener(on_scheduled_event_user_add)
        event = await create(running, world)
        guild = await guild_of(running, world)
        await sim.wait_for(lambda: guild.get_scheduled_event(event.id) is not None, 5)
        await sim.press_interested(world.guild.id, event.id, world.bob.id)
        await sim.wait_for(lambda: heard == [world.bob.id], 5)
    finally:
        await running.stop()


async def test_people_cannot_be_interested_in_what_they_cannot_see(
    sim: DiscordSimulator, world: World, running: RunningBot
) -> None:
    sim.set_bot_permissions(world.guild.id, EVENTS_BOT)
    event = await create(running, world)
    sim.set_overwrite(world.lounge.id, world.bob.id, deny=int(P.VIEW_CHANNEL))
    with pytest.raises(SimulatorError):
        await sim.press_interested(world.guild.id, event.id, world.bob.id)
    await sim.set_scheduled_event_status(world.guild.id, event.id, CANCELED)
    with pytest.raises(SimulatorError):
        await sim.press_interested(world.guild.id, event.id, world.carol.id)


async def test_a_restarted_bot_gets_the_events_in_guild_create(
    sim: DiscordSimulator, world: World, running: RunningBot
) -> None:
    sim.set_bot_permissions(world.guild.id, EVENTS_BOT)
    event = await create(running, world)
    await running.stop()
    again = await start_bot(sim, BrewTestBot(), sync=False)
    try:
        guild = again.bot.get_guild(world.guild.id)
        assert guild is not None
        assert [e.id for e in guild.scheduled_events] == [event.id]
    finally:
        await again.stop()


async def test_events_in_hidden_channels_are_not_listed(
    sim: DiscordSimulator, world: World, running: RunningBot
) -> None:
    sim.set_bot_permissions(world.guild.id, EVENTS_BOT)
    event = await create(running, world)
    sim.set_overwrite(world.lounge.id, sim.bot_id, deny=int(P.VIEW_CHANNEL))
    guild = await guild_of(running, world)
    assert await guild.fetch_scheduled_events() == []
    with pytest.raises(discord.NotFound):
        await guild.fetch_scheduled_event(event.id)


# ------------------------------------------------------------------ rules on the state alone


def state_with_guild() -> tuple[SimState, int, int]:
    state = SimState()
    guild = state.create_guild("G", bot_permissions=EVENTS_BOT)
    voice = state.create_channel(guild.id, {"name": "Lounge", "type": 2}, as_bot=False)
    return state, guild.id, voice.id


def body(**changes: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": "Brew",
        "privacy_level": 2,
        "entity_type": EXTERNAL,
        "entity_metadata": {"location": "The library"},
        "scheduled_start_time": soon().isoformat(),
        "scheduled_end_time": soon(25).isoformat(),
    }
    out.update(changes)
    return {k: v for k, v in out.items() if v is not None}


def errors_of(state: SimState, guild_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(ApiError) as info:
        state.create_scheduled_event(guild_id, payload, actor_id=state.bot.id)
    assert info.value.code == 50035
    return info.value.errors or {}


def test_external_events_need_a_location_and_an_end() -> None:
    state, gid, voice = state_with_guild()
    event = state.create_scheduled_event(gid, body(), actor_id=state.bot.id)
    assert event.location == "The library" and event.channel_id is None
    assert "scheduled_end_time" in errors_of(state, gid, body(scheduled_end_time=None))
    assert "entity_metadata" in errors_of(state, gid, body(entity_metadata={}))
    assert "channel_id" in errors_of(state, gid, body(channel_id=str(voice)))


def test_voice_events_need_a_voice_channel() -> None:
    state, gid, voice = state_with_guild()
    text = state.create_channel(gid, {"name": "chat"}, as_bot=False)
    voice_body = body(entity_type=VOICE, entity_metadata=None)
    assert "channel_id" in errors_of(state, gid, voice_body)
    assert "channel_id" in errors_of(state, gid, {**voice_body, "channel_id": str(text.id)})
    made = state.create_scheduled_event(
        gid, {**voice_body, "channel_id": str(voice)}, actor_id=state.bot.id
    )
    assert made.status == SCHEDULED and made.location is None


def test_every_wrong_field_is_reported_at_once() -> None:
    state, gid, _ = state_with_guild()
    errors = errors_of(state, gid, {"name": "", "privacy_level": 1, "entity_type": 9})
    assert {"name", "privacy_level", "entity_type", "scheduled_start_time"} <= set(errors)


def test_at_most_100_open_events() -> None:
    state, gid, _ = state_with_guild()
    for _ in range(100):
        state.create_scheduled_event(gid, body(), actor_id=state.bot.id)
    with pytest.raises(ApiError) as info:
        state.create_scheduled_event(gid, body(), actor_id=state.bot.id)
    assert info.value.code == 30038
    first = state.guild_scheduled_events(gid)[0]
    state.set_scheduled_event_status(gid, first.id, CANCELED)
    state.create_scheduled_event(gid, body(), actor_id=state.bot.id)
