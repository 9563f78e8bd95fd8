"""Fault injection: seeded 5xx, retryable 429 bursts, denials for a while, gateway faults recorded,
and discord.py reacting to each as it does to the real thing (retries, or an error it raises)."""

from __future__ import annotations

import asyncio

import aiohttp
import discord
import pytest

from discordsim import DiscordSimulator

from .botkit import start_bot
from .conftest import World

MESSAGES = "/channels/{channel_id}/messages"
CALLBACK = "/interactions/{interaction_id}/{interaction_token}/callback"


async def _get(sim: DiscordSimulator, path: str) -> tuple[int, dict[str, str], str]:
    headers = {"Authorization": f"Bot {sim.bot_token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{sim.api_base_url}{path}", headers=headers) as r,
    ):
        return r.status, dict(r.headers), await r.text()


async def test_random_server_errors_follow_the_seed_and_rate(
    sim: DiscordSimulator, world: World
) -> None:
    def run(seed: int) -> list[int]:
        sim.faults.fail_fraction(0.2, (500, 502), seed=seed)
        return [
            0 if (a := sim.faults.answer("GET", "/users/@me", "/x", {})) is None else a.status
            for _ in range(500)
        ]

    first, again, other = run(3), run(3), run(4)
    assert first == again and first != other
    failed = [s for s in first if s]
    assert 60 < len(failed) < 140  # 20 % of 500, with room for chance
    assert set(failed) == {500, 502}
    sim.faults.clear()
    status, _, _ = await _get(sim, f"/channels/{world.general.id}")
    assert status == 200


async def test_callbacks_are_spared_unless_asked(sim: DiscordSimulator) -> None:
    sim.faults.fail_fraction(1.0, (500,), seed=1)
    assert sim.faults.answer("POST", CALLBACK, "/cb", {}) is None
    assert sim.faults.answer("POST", MESSAGES, "/m", {"channel_id": "1"}) is not None
    sim.faults.fail_fraction(1.0, (500,), seed=1, include_callbacks=True)
    assert sim.faults.answer("POST", CALLBACK, "/cb", {}) is not None
    sim.faults.clear()
    assert sim.faults.answer("POST", MESSAGES, "/m", {"channel_id": "1"}) is None
    assert sim.faults.count("500") == 2


async def test_a_502_is_cloudflare_html_and_a_500_is_discord_json(
    sim: DiscordSimulator, world: World
) -> None:
    sim.faults.fail_fraction(1.0, (502,), seed=1)
    status, headers, text = await _get(sim, f"/channels/{world.general.id}")
    assert status == 502 and headers["Content-Type"].startswith("text/html")
    assert "Bad Gateway" in text
    sim.faults.fail_fraction(1.0, (500,), seed=1)
    status, headers, text = await _get(sim, f"/channels/{world.general.id}")
    assert status == 500 and '"code":0' in text
    assert sim.rest_calls(status=500) and sim.rest_calls(status=502)


async def test_discord_py_retries_server_errors_and_the_message_posts_once(
    sim: DiscordSimulator, world: World
) -> None:
    running = await start_bot(sim, sync=False)
    try:
        # Two failures, then success: discord.py sleeps 1 s and 3 s between its tries.
        sim.faults.fail_fraction(1.0, (500, 502), seed=2, methods=["POST"])
        channel = running.bot.get_partial_messageable(world.general.id)
        send = asyncio.create_task(channel.send("after two failures"))
        await sim.wait_for(lambda: sim.faults.count() >= 2, timeout=10)
        sim.faults.clear()
        sent = await asyncio.wait_for(send, 15)
        assert sent.content == "after two failures"
        posts = sim.rest_calls(method="POST", route=MESSAGES)
        assert [c.status for c in posts][-1] == 200 and len(posts) >= 3
        assert [m.content for m in sim.messages(world.general.id)] == ["after two failures"]
    finally:
        await running.stop()


async def test_a_429_burst_is_retried_by_discord_py(sim: DiscordSimulator, world: World) -> None:
    running = await start_bot(sim, sync=False)
    try:
        sim.faults.burst_429(
            "POST", MESSAGES, 3, retry_after=0.2, params={"channel_id": world.general.id}
        )
        channel = running.bot.get_partial_messageable(world.general.id)
        sent = await asyncio.wait_for(channel.send("through the burst"), 15)
        assert sent.content == "through the burst"
        statuses = [c.status for c in sim.rest_calls(method="POST", route=MESSAGES)]
        assert statuses == [429, 429, 429, 200]
        limited = sim.rest_calls(status=429)[0]
        assert limited.path.endswith(f"/channels/{world.general.id}/messages")
        assert sim.faults.kinds() == {"429": 3}
    finally:
        await running.stop()


async def test_the_429_carries_discords_headers(sim: DiscordSimulator, world: World) -> None:
    sim.faults.burst_429("GET", "/channels/{channel_id}", 1, retry_after=1.5)
    status, headers, text = await _get(sim, f"/channels/{world.general.id}")
    assert status == 429
    assert headers["Via"] == "1.1 google" and headers["Retry-After"] == "2"
    assert headers["X-RateLimit-Scope"] == "user" and headers["X-RateLimit-Remaining"] == "0"
    assert '"retry_after":1.5' in text and '"global":false' in text
    status, _, _ = await _get(sim, f"/channels/{world.general.id}")
    assert status == 200  # the burst is spent


async def test_a_denial_covers_one_channel_for_a_while(sim: DiscordSimulator, world: World) -> None:
    running = await start_bot(sim, sync=False)
    try:
        sim.faults.deny("POST", MESSAGES, seconds=30, params={"channel_id": world.general.id})
        denied = running.bot.get_partial_messageable(world.general.id)
        with pytest.raises(discord.Forbidden) as caught:
            await denied.send("not now")
        assert caught.value.code == 50013
        # Other channels are not affected.
        other = sim.create_channel(world.guild.id, "other")
        await running.bot.get_partial_messageable(other.id).send("fine here")
        sim.advance_time(31)
        await denied.send("allowed again")
        assert [m.content for m in sim.messages(world.general.id)] == ["allowed again"]
        assert sim.faults.kinds() == {"denied": 1}
    finally:
        await running.stop()


async def test_gateway_faults_are_recorded_and_survived(
    sim: DiscordSimulator, world: World
) -> None:
    async with asyncio.timeout(15):
        running = await start_bot(sim, sync=False)
        try:
            await sim.drop_connections()
            await sim.wait_for(lambda: running.bot.seen.resumed == 1)
            sim.invalidate_sessions()
            await sim.wait_for(lambda: len(sim.events_named("READY")) == 2)
            await sim.wait_until_connected()
            assert sim.faults.kinds() == {"gateway drop": 1, "invalid session": 1}
        finally:
            await running.stop()


def test_rate_out_of_range_is_refused() -> None:
    sim = DiscordSimulator()
    with pytest.raises(ValueError, match="between 0 and 1"):
        sim.faults.fail_fraction(1.5)
