"""What the buttons under a room's messages do: "I'm done", "Pass", "One more minute" and
"Ask for help". Each press is acknowledged first, before any database or Discord work (a quiet
deferred update: nothing changes on screen), so it is answered well within Discord's three
seconds however busy the database is. Then it checks who pressed and whether the step is still
current, and asks the runner to change the room; refusals ("it's not your turn", "that step is
over") and the help answer follow privately, as ephemeral follow-ups with the same words.

The buttons themselves are in :mod:`bot.shell.ui.room`; they pass in the runner (as the
:class:`~bot.shell.protocols.RoomControls` it offers) and the bot's services."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import discord

from bot.core import phases
from bot.core.help_calls import help_call_interval_wall
from bot.core.phases import Event, Phase, RoomState
from bot.db import repo
from bot.db.models import Room
from bot.db.rooms import claim_help_call
from bot.services import Services
from bot.shell import answer_first
from bot.shell.access import is_facilitator
from bot.shell.errors import UserFacingError
from bot.shell.protocols import RoomControls


async def _acknowledge(interaction: discord.Interaction) -> None:
    """The first answer to every room button, before any work: Discord's three seconds are
    then met whatever the database or the rate limits do afterwards. The work after it waits
    (briefly) for other presses' first answers (:mod:`bot.shell.answer_first`)."""
    answers = answer_first.gate()
    if not interaction.response.is_done():
        await answers.answer(interaction.response.defer())
    await answers.then()


async def _room(services: Services, room_id: int) -> Room:
    async with services.sessions() as session:
        room = await repo.load_room(session, room_id)
    if room is None or room.status != "running":
        raise UserFacingError(services.content.text("room.finished"))
    return room


async def _say(
    services: Services, interaction: discord.Interaction, key: str, **values: object
) -> None:
    """A private word to the person who pressed (the press itself is already answered)."""
    text = services.content.format(key, **values)
    if interaction.response.is_done():
        await interaction.followup.send(text, ephemeral=True)
    else:
        await interaction.response.send_message(text, ephemeral=True)


async def press_turn_button(
    runner: RoomControls,
    services: Services,
    interaction: discord.Interaction,
    room_id: int,
    step: int,
    passed: bool,
) -> None:
    """Only the speaker (or a facilitator) can end a turn; a press for an old turn does nothing."""
    await _acknowledge(interaction)
    room = await _room(services, room_id)
    speaker = (
        room.turn_order[room.turn_index]
        if room.phase == Phase.TURNS.value and 0 <= room.turn_index < len(room.turn_order)
        else None
    )
    if room.step != step or speaker is None:
        await _say(services, interaction, "room.turn_over")
        return
    if speaker != interaction.user.id and not await is_facilitator(
        services, interaction.user, room.brew.guild_id
    ):
        await _say(services, interaction, "room.not_your_turn", speaker=f"<@{speaker}>")
        return

    def change(
        state: RoomState, timing: phases.Timing, now: float, present: Callable[[str], bool]
    ) -> tuple[RoomState, list[Event]]:
        if state.step != step:
            return state, []
        return phases.finish_turn(state, timing, now, str(speaker), passed=passed, present=present)

    await runner.change_room(room_id, change)


async def press_more_time(
    runner: RoomControls,
    services: Services,
    interaction: discord.Interaction,
    room_id: int,
    step: int,
) -> None:
    """One extra minute for the current step, once per step, for anyone in the room."""
    await _acknowledge(interaction)
    room = await _room(services, room_id)
    member = any(m.user_id == interaction.user.id for m in room.members)
    if not member and not await is_facilitator(services, interaction.user, room.brew.guild_id):
        await _say(services, interaction, "room.members_only")
        return
    if room.step != step:
        await _say(services, interaction, "room.step_over")
        return
    if room.extended:
        await _say(services, interaction, "room.already_extended")
        return
    who = str(interaction.user.id)

    def change(
        state: RoomState, timing: phases.Timing, now: float, present: Callable[[str], bool]
    ) -> tuple[RoomState, list[Event]]:
        if state.step != step:
            return state, []
        return phases.extend(state, 60, timing, once=True, by=who)

    await runner.change_room(room_id, change)


async def press_help(
    runner: RoomControls, services: Services, interaction: discord.Interaction, room_id: int
) -> None:
    """Tell the facilitators where help is wanted, without interrupting the room.

    The notice in the brew's channel names the room, not the person (that channel may be
    public); the facilitator running the brew also gets a direct message saying who asked.
    A room calls at most once per :data:`bot.core.help_calls.HELP_CALL_INTERVAL`.
    """
    await _acknowledge(interaction)
    room = await _room(services, room_id)
    brew = room.brew
    now = services.clock.now()
    interval = timedelta(seconds=help_call_interval_wall(brew.speed))
    async with services.sessions() as session:
        called = await claim_help_call(session, room_id, now, interval)
    if not called:
        # One call per room every few minutes: later presses are told help is on its way.
        await _say(services, interaction, "room.help_already")
        return
    await _say(services, interaction, "room.help_sent")
    content = services.content
    link = f"https://discord.com/channels/{brew.guild_id}/{room.text_channel_id}"
    values = {
        "room": room.index + 1,
        "brew": brew.number,
        "channel": f"<#{room.text_channel_id}>",
        "link": link,
    }
    await runner.tell_facilitators(brew, content.format("room.help_alert", **values), ping=True)
    if brew.facilitator_id and brew.facilitator_id != interaction.user.id:
        client = interaction.client
        user = client.get_user(brew.facilitator_id) or await _fetch_user(
            client, brew.facilitator_id
        )
        if user is not None:
            try:
                await user.send(
                    content.format("room.help_direct", who=f"<@{interaction.user.id}>", **values)
                )
            except discord.HTTPException:
                pass  # direct messages closed: the channel notice is enough


async def _fetch_user(client: discord.Client, user_id: int) -> discord.User | None:
    try:
        return await client.fetch_user(user_id)
    except discord.HTTPException:
        return None
