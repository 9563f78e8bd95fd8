"""Opening rooms at the REST floor (issue 3, "Opening rooms fast"), read from the simulator's log.

The floor: per room two channel creates with the permission overwrites inside the create body
and one guide post; one move per voice member; one category per 25 rooms; nothing edited
afterwards that could have been sent whole. Independent calls overlap in time. With
Discord-like rate limits every room still opens, 429s are retried without anyone noticing, and
the facilitator sees "N of M rooms ready" while it takes a while.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import discord.http
import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bot.db.models import Room
from bot.shell.rooms import CREATE_CONCURRENCY, MOVE_CONCURRENCY
from discordsim import GUILD_CATEGORY, DiscordSimulator, RateLimitPolicy, RestCall

from .conftest import Harness, World, build_world

VIEW_CHANNEL = 1 << 10
GUIDE_MARK = "Welcome to your Over A Brew room"
QUESTION = "What's missing from support in our area?"

CHANNELS = "/guilds/{guild_id}/channels"
MESSAGES = "/channels/{channel_id}/messages"
MEMBER = "/guilds/{guild_id}/members/{user_id}"
ORIGINAL = "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"

#: Discord-like limits with every window shortened, so 40 people open in a few seconds while
#: the counts (5 creates per window, 10 moves per window, ...) stay Discord's.
TIME_SCALE = 0.15


@pytest.fixture
def speed() -> float:
    return 1.0  # real time: the rooms' timetables stay in "arrive" while we look


@pytest.fixture
def rate_limits(request: pytest.FixtureRequest) -> RateLimitPolicy:
    return getattr(request, "param", None) or RateLimitPolicy.off()


@pytest.fixture
def world(sim: DiscordSimulator, request: pytest.FixtureRequest) -> World:
    return build_world(sim, people=getattr(request, "param", 26))


@pytest.fixture
def bot_requests(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """Every REST request as the bot issued it: from the call into discord.py (including any
    wait in its rate-limit queue) to the answer. Shows what the bot asked for at once."""
    spans: list[dict[str, Any]] = []
    original = discord.http.HTTPClient.request

    async def request(self: Any, route: discord.http.Route, **kwargs: Any) -> Any:
        span = {
            "method": route.method,
            "route": route.path,
            "json": kwargs.get("json"),
            "start": time.monotonic(),
            "end": None,
        }
        spans.append(span)
        try:
            return await original(self, route, **kwargs)
        finally:
            span["end"] = time.monotonic()

    monkeypatch.setattr(discord.http.HTTPClient, "request", request)
    yield spans


@dataclass
class Opening:
    """What happened between ``/brew start`` and its final "has started" reply."""

    calls: list[RestCall]
    summary: str
    rooms: list[Room]
    category_id: int | None
    defer_latency: float


async def open_brew(harness: Harness, voice: int, text_only: int) -> Opening:
    """``voice`` people in the Lounge, ``text_only`` signed up by text; ``/brew start``."""
    sim, world = harness.sim, harness.world
    voice_people = world.people[:voice]
    text_people = world.people[voice : voice + text_only]
    await harness.put_in_voice([*voice_people, world.facilitator])
    if text_people:
        rec = await harness.command(world.facilitator, "brew open", question=QUESTION)
        card = rec.original_message
        assert card is not None
        for person in text_people:
            click = await sim.click_button(
                person.id, world.hall.id, card.id, card.button("Join (text only)")["custom_id"]
            )
            await click.wait_response()
            await sim.wait_for(lambda c=click: c.followups)  # "you're in", privately
        await sim.wait_for(
            lambda: f"joined so far: {len(text_people)}" in sim.message(card.id).content
        )
    start_index = len(sim.rest_log)
    options: dict[str, Any] = {"group_size": 4}
    if not text_people:
        options["question"] = QUESTION
    rec = await sim.invoke_command(
        world.guild.id, world.hall.id, world.facilitator.id, "brew start", **options
    )
    resp = await rec.wait_response(timeout=3)
    summary = await harness.final_text(rec, timeout=30)
    assert "has started" in summary, summary
    calls = list(sim.rest_log)[start_index:]
    done = [
        i
        for i, c in enumerate(calls)
        if c.route == ORIGINAL and "has started" in str((c.body or {}).get("content"))
    ]
    assert done, "the final reply is not in the REST log"
    async with harness.sessions() as session:
        rooms = list(
            await session.scalars(
                select(Room).options(selectinload(Room.members)).order_by(Room.index)
            )
        )
    categories = [c for c in sim.channels(world.guild.id, type=GUILD_CATEGORY)]
    return Opening(
        calls=calls[: done[0] + 1],
        summary=summary,
        rooms=rooms,
        category_id=categories[0].id if categories else None,
        defer_latency=resp.latency,
    )


def channel_of(call: RestCall) -> int:
    return int(call.path.split("/channels/")[1].split("/")[0])


def ok(call: RestCall) -> bool:
    return 200 <= call.status < 300


def body(call: RestCall) -> dict[str, Any]:
    return call.body if isinstance(call.body, dict) else {}


def creates(opening: Opening) -> list[RestCall]:
    return [c for c in opening.calls if c.method == "POST" and c.route == CHANNELS and ok(c)]


def moves(opening: Opening) -> list[RestCall]:
    return [
        c
        for c in opening.calls
        if c.method == "PATCH" and c.route == MEMBER and "channel_id" in body(c) and ok(c)
    ]


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    events = sorted([(a, 1) for a, _ in intervals] + [(b, -1) for _, b in intervals])
    best = current = 0
    for _, step in events:
        current += step
        best = max(best, current)
    return best


# --------------------------------------------------------------------------- the floor
async def test_rooms_open_at_the_rest_floor(
    harness: Harness, bot_requests: list[dict[str, Any]]
) -> None:
    sim, world = harness.sim, harness.world
    voice_people, text_people = world.people[:24], world.people[24:26]
    opening = await open_brew(harness, voice=24, text_only=2)
    rooms = opening.rooms
    n = len(rooms)
    assert n == 7, [len(r.members) for r in rooms]  # 26 people in rooms of 4 and 3
    assert f"{n} rooms are open for 26 people" in opening.summary
    assert "24 people were moved" in opening.summary
    assert opening.defer_latency < 1.0  # well within Discord's 3 seconds
    members_of = {r.index: {m.user_id for m in r.members} for r in rooms}
    text_only_ids = {p.id for p in text_people}
    assert any(text_only_ids <= m for m in members_of.values())  # text-only people together

    # Exactly one category, then exactly two channel creates per room, overwrites inside.
    made = creates(opening)
    categories = [c for c in made if body(c).get("type") == GUILD_CATEGORY]
    assert len(categories) == 1
    room_creates = [c for c in made if body(c).get("type") != GUILD_CATEGORY]
    assert len(room_creates) == 2 * n
    names = Counter(body(c)["name"] for c in room_creates)
    assert names == Counter(
        [f"Room {r.index + 1}" for r in rooms] + [f"room-{r.index + 1}" for r in rooms]
    )
    for call in room_creates:
        b = body(call)
        index = int(b["name"].split(" ")[-1].split("-")[-1]) - 1
        assert int(b["parent_id"]) == opening.category_id
        overwrites = {int(o["id"]): o for o in b.get("permission_overwrites") or []}
        assert overwrites, f"{b['name']} was created without its overwrites"
        everyone = overwrites[world.guild.id]
        assert int(everyone["deny"]) & VIEW_CHANNEL
        for user_id in members_of[index]:
            assert int(overwrites[user_id]["allow"]) & VIEW_CHANNEL, (b["name"], user_id)
        others = {p.id for p in world.people} - members_of[index]
        assert not others & set(overwrites), f"{b['name']} lets in people from other rooms"
        assert world.facilitators.id in overwrites and sim.bot_id in overwrites

    # Nothing about the channels was edited afterwards: no channel PATCH, no overwrite PUT.
    edits = [
        c
        for c in opening.calls
        if (c.route == "/channels/{channel_id}" and c.method == "PATCH")
        or c.route == "/channels/{channel_id}/permissions/{overwrite_id}"
        or (c.route == CHANNELS and c.method == "PATCH")
    ]
    assert edits == [], [str(c) for c in edits]

    # Exactly one guide per room, and it is the room's first message.
    text_ids = {r.text_channel_id: r for r in rooms}
    assert None not in text_ids
    for text_id, room in text_ids.items():
        posts = [
            c
            for c in opening.calls
            if c.method == "POST" and c.route == MESSAGES and channel_of(c) == text_id
        ]
        assert posts and ok(posts[0]) and GUIDE_MARK in body(posts[0])["content"]
        assert QUESTION in body(posts[0])["content"]
        assert sum(GUIDE_MARK in str(body(c).get("content")) for c in posts) == 1
        first = sim.messages(text_id, include_ephemeral=False)[0]
        assert GUIDE_MARK in first.content and first.author_id == sim.bot_id
        # Everyone in the room is named (and pinged once), so all have a link to it.
        assert set(first.mentions) == members_of[room.index]

    # One move per voice member, into their own room; nobody else is moved.
    moved = Counter(int(c.path.rsplit("/", 1)[1]) for c in moves(opening))
    assert moved == Counter({p.id: 1 for p in voice_people})
    voice_of = {uid: r.voice_channel_id for r in rooms for uid in members_of[r.index]}
    for call in moves(opening):
        assert int(body(call)["channel_id"]) == voice_of[int(call.path.rsplit("/", 1)[1])]
    assert not text_only_ids & set(moved) and world.facilitator.id not in moved

    # The floor, exactly: 1 category + 2 creates per room + 1 guide per room + 24 moves.
    guides = [
        c
        for c in opening.calls
        if c.route == MESSAGES and ok(c) and GUIDE_MARK in str(body(c).get("content"))
    ]
    assert (len(made), len(guides), len(moves(opening))) == (1 + 2 * n, n, 24)

    # Pacing (bot/shell/room_lanes.py). The creates went through a lane: the first room's
    # two channels asked for together, then never more than CREATE_CONCURRENCY in
    # discord.py's hands at once (a crowd in its rate-limit queue costs whole windows), each
    # asked for as soon as an earlier one was answered, room by room.
    asked = sorted(
        (s["start"], s["end"], (s["json"] or {}).get("name"))
        for s in bot_requests
        if s["route"] == CHANNELS
        and s["method"] == "POST"
        and (s["json"] or {}).get("type") != GUILD_CATEGORY
    )
    assert len(asked) == 2 * n
    spans = [(start, end) for start, end, _ in asked]
    assert spans[1][0] < spans[0][1], "the first room's creates were awaited one by one"
    assert max_overlap(spans) == CREATE_CONCURRENCY
    assert [name for *_, name in asked[:4]] == ["Room 1", "room-1", "Room 2", "room-2"]
    ends = sorted(end for _, end in spans)
    # Moves went through their own lane, one at a time (each decided when it can go out),
    # and began as soon as the first room existed, long before the last room's channels.
    moved_spans = sorted(
        (s["start"], s["end"])
        for s in bot_requests
        if s["method"] == "PATCH" and s["route"] == MEMBER and "channel_id" in (s["json"] or {})
    )
    assert len(moved_spans) == 24 and max_overlap(moved_spans) == MOVE_CONCURRENCY
    assert moved_spans[0][0] < sorted(ends)[4], "moves waited for later rooms' channels"
    # ... and on the wire the rooms overlapped too: a room's guide went out after a later
    # room's channels had started, which a room-by-room loop can never do. Rooms open
    # independently, each as soon as its own channels exist.
    created_at = {
        int(body(c)["name"].split("-")[-1]) - 1: c.at
        for c in room_creates
        if body(c)["name"].startswith("room-")
    }
    guide_at = {
        text_ids[channel_of(c)].index: c.at
        for c in opening.calls
        if c.route == MESSAGES and ok(c) and GUIDE_MARK in str(body(c).get("content"))
    }
    interleaved = [
        (i, j)
        for i in range(n)
        for j in range(n)
        if created_at[j] > created_at[i] and created_at[j] < guide_at[i]
    ]
    assert interleaved, "each room waited for the previous one"
    in_progress = [(created_at[i] - 1e-9, guide_at[i]) for i in range(n)]
    assert max_overlap(in_progress) > 1
    assert not sim.late_interactions


# --------------------------------------------------------------------------- rate limits
@pytest.mark.parametrize(
    ("rate_limits", "world"),
    [(RateLimitPolicy.discord_like(time_scale=TIME_SCALE), 40)],
    indirect=True,
    ids=["discord_like-40-people"],
)
async def test_rooms_open_under_discord_like_rate_limits(harness: Harness) -> None:
    sim, world = harness.sim, harness.world
    started = sim.now()
    opening = await open_brew(harness, voice=40, text_only=0)
    took = opening.calls[-1].at - started
    rooms = opening.rooms
    assert len(rooms) == 10
    assert "10 rooms are open for 40 people" in opening.summary
    assert "40 people were moved" in opening.summary
    assert "could not" not in opening.summary
    assert opening.defer_latency < 1.0
    assert all(r.status == "running" for r in rooms)

    # Still the floor: 1 category + 20 creates, 10 guides, 40 moves (429s are extra attempts).
    made = creates(opening)
    assert len(made) == 21
    assert len(moves(opening)) == 40
    for room in rooms:
        messages = sim.messages(room.text_channel_id, include_ephemeral=False)
        assert messages and GUIDE_MARK in messages[0].content
        for member in room.members:
            assert sim.voice_channel_of(world.guild.id, member.user_id) == room.voice_channel_id

    # The creates and the moves were paced (bot/shell/room_lanes.py): no 429 on either
    # bucket, and each bucket was used window after window with no window lost: 21 creates
    # at 5 per window need 5 windows, 40 moves at 10 per window need 4.
    bucket_calls = [
        c for c in opening.calls if (c.method, c.route) in (("POST", CHANNELS), ("PATCH", MEMBER))
    ]
    assert [str(c) for c in bucket_calls if c.status == 429] == []
    create_at = sorted(c.at for c in made)
    move_at = sorted(c.at for c in moves(opening))
    window = 5 * TIME_SCALE
    assert create_at[-1] - create_at[0] < 4 * window + window / 2, create_at
    assert move_at[-1] - move_at[0] < 3 * (2 * window) + window, move_at
    # Moves began with the first room, while the other rooms' channels were being made.
    assert move_at[0] < create_at[5]

    # Every 429 was retried until it went through; nothing was given up on.
    limited = [c for c in opening.calls if c.status == 429]
    for call in limited:
        assert call.retry_after is not None and call.retry_after <= 10
        assert any(
            later.method == call.method and later.path == call.path and ok(later)
            for later in opening.calls
            if later.at >= call.at and later is not call
        ), f"{call} was not retried"
    assert all(c.status < 400 or c.status == 429 for c in opening.calls), [
        str(c) for c in opening.calls if c.status >= 400 and c.status != 429
    ]

    # It took a while (Discord's limits: 21 creates at 5 per window, 40 moves at 10 per
    # window), so the facilitator saw progress, edited at most every 3 seconds.
    assert took > 3.0
    progress = [
        c
        for c in opening.calls
        if c.route == ORIGINAL
        and c.method == "PATCH"
        and ok(c)
        and "rooms ready" in str(body(c).get("content"))
    ]
    assert progress, "no progress was shown while rooms opened"
    assert any(" of 10 rooms ready" in body(c)["content"] for c in progress)
    throttled = [c.at for c in progress[:-1]]  # the last one is the final "10 of 10"
    gaps = [b - a for a, b in pairwise(throttled)]
    assert all(gap >= 2.9 for gap in gaps), gaps
    assert not sim.late_interactions
