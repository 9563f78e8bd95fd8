"""People follow the link in their room's guide: the bot does not move them (issue 12).

Under Discord-like limits (windows shortened) 80 people take a while to move, 10 per window,
while their 20 rooms are made twice as fast. Everyone clicks their link the moment their guide
pings them: people whose room opened early are moved before that, the rest get there first.
The bot never moves someone who was already in their room when it checked, and the
facilitator's progress and summary count who joined by themselves.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bot.db.models import Room
from bot.rehearsal.self_join import SelfJoin
from discordsim import DiscordSimulator, RateLimitPolicy

from .conftest import Harness, World, build_world

MEMBER = "/guilds/{guild_id}/members/{user_id}"
PEOPLE = 80
#: The bot checks where someone is only when their move can go out at once (bot/shell/rooms.py),
#: so a move can follow a click only by the time the click takes to reach the bot and the move
#: to reach Discord: a few milliseconds, far less than this (a window is 1.5 s here).
RACE_S = 0.3
ORIGINAL = "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"


@pytest.fixture
def speed() -> float:
    return 1.0


@pytest.fixture
def rate_limits() -> RateLimitPolicy:
    return RateLimitPolicy.discord_like(time_scale=0.15)


@pytest.fixture
def world(sim: DiscordSimulator) -> World:
    return build_world(sim, people=PEOPLE)


async def test_people_who_follow_their_link_are_not_moved_and_are_counted(
    harness: Harness,
) -> None:
    sim, world = harness.sim, harness.world
    await harness.put_in_voice([*world.people, world.facilitator])
    start = len(sim.rest_log)
    rec = await sim.invoke_command(
        world.guild.id, world.hall.id, world.facilitator.id, "brew start",
        question="What's missing?", group_size=4,
    )  # fmt: skip
    await rec.wait_response(timeout=3)
    clickers = harness.click_links(SelfJoin(median_s=0.0))

    summary = await harness.final_text(rec, timeout=90)
    calls = list(sim.rest_log)[start:]
    moves = [
        (int(c.path.rsplit("/", 1)[1]), c.at)
        for c in calls
        if c.route == MEMBER and c.method == "PATCH" and 200 <= c.status < 300
    ]
    moved = {who for who, _ in moves}
    joined = set(clickers.clicked)
    # Some people got there first; none of them was moved once the bot could know it.
    assert len(joined) >= PEOPLE // 4, (len(joined), len(moved))
    late = [(who, at) for who, at in moves if who in joined and at > clickers.clicked[who] + RACE_S]
    assert late == [], late
    assert len(moves) == len(moved)  # nobody moved twice
    # The bot's counts match what happened.
    # Someone who clicked while their move was on its way (checked just before) is moved into
    # the room they are already in: harmless, and counted as moved.
    raced = len(moved & joined)
    n = len(joined) - raced
    assert f"{n} people joined their room by themselves" in summary, summary
    assert f"{PEOPLE - n} people were moved" in summary, summary
    # Everyone is in their own room.
    async with harness.sessions() as session:
        rooms = list(await session.scalars(select(Room).options(selectinload(Room.members))))
    for room in rooms:
        for member in room.members:
            assert sim.voice_channel_of(world.guild.id, member.user_id) == room.voice_channel_id
    last = max(rooms, key=lambda r: r.index)
    # Right under the guide's heading: the one-click link to the room's voice channel.
    guide = sim.messages(last.text_channel_id or 0, include_ephemeral=False)[0]
    link = f"https://discord.com/channels/{world.guild.id}/{last.voice_channel_id}"
    assert link in guide.content.splitlines()[1]
    assert f"<#{last.voice_channel_id}>" in guide.content.splitlines()[1]
    # The facilitator's progress says how many joined by themselves.
    progress = [
        str((c.body or {}).get("content"))
        for c in calls
        if c.route == ORIGINAL and c.method == "PATCH" and "rooms ready" in str(c.body)
    ]
    assert progress, "no progress was shown"
    assert any("have joined their room by themselves" in p for p in progress), progress
    assert not sim.late_interactions
