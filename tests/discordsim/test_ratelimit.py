"""Rate limits: Discord-shaped headers and 429s that discord.py handles by itself."""

from __future__ import annotations

import asyncio

import aiohttp
import discord
import pytest

from discordsim import DiscordSimulator, RateLimitPolicy, RouteLimit
from discordsim.ratelimit import RateLimiter

from .botkit import start_bot
from .conftest import build_world

MESSAGES = "/channels/{channel_id}/messages"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_fixed_window_per_major_parameter() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimitPolicy.discord_like(), clock=clock)
    for i in range(5):
        decision = limiter.check("POST", MESSAGES, {"channel_id": "1"})
        assert decision.allowed
        assert decision.headers["X-RateLimit-Remaining"] == str(4 - i)
        assert decision.headers["X-RateLimit-Limit"] == "5"
    limited = limiter.check("POST", MESSAGES, {"channel_id": "1"})
    assert not limited.allowed and limited.scope == "user" and not limited.is_global
    assert limited.retry_after == pytest.approx(5.0)
    assert limited.headers["Retry-After"] == "5"
    # Another channel has its own bucket (same hash, different major parameter).
    other = limiter.check("POST", MESSAGES, {"channel_id": "2"})
    assert (
        other.allowed
        and other.headers["X-RateLimit-Bucket"] == limited.headers["X-RateLimit-Bucket"]
    )
    clock.now += 5.0
    assert limiter.check("POST", MESSAGES, {"channel_id": "1"}).allowed


def test_global_limit_and_exemptions() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimitPolicy.discord_like(), clock=clock)
    for i in range(50):
        assert limiter.check("GET", "/guilds/{guild_id}", {"guild_id": str(i)}).allowed
    blocked = limiter.check("GET", "/users/@me", {})
    assert not blocked.allowed and blocked.is_global and blocked.scope == "global"
    assert blocked.headers["X-RateLimit-Global"] == "true"
    # Interaction callbacks are neither limited nor counted globally.
    callback = "/interactions/{interaction_id}/{interaction_token}/callback"
    for _ in range(20):
        decision = limiter.check(
            "POST", callback, {"interaction_id": "1", "interaction_token": "t"}
        )
        assert decision.allowed and decision.headers == {}
    clock.now += 1.0
    assert limiter.check("GET", "/users/@me", {}).allowed


def test_channel_rename_sub_limit() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimitPolicy.discord_like(), clock=clock)
    params = {"channel_id": "9"}
    assert limiter.check("PATCH", "/channels/{channel_id}", params, ["name"]).allowed
    assert limiter.check("PATCH", "/channels/{channel_id}", params, ["topic"]).allowed
    renamed = limiter.check("PATCH", "/channels/{channel_id}", params, ["name"])
    assert not renamed.allowed and renamed.retry_after == pytest.approx(600.0)
    # Other edits still go through; the sub-limit shows as remaining > 0 on the main bucket.
    assert renamed.headers["X-RateLimit-Remaining"] == "3"
    assert limiter.check("PATCH", "/channels/{channel_id}", params, ["user_limit"]).allowed
    scaled = RateLimiter(RateLimitPolicy.discord_like(time_scale=0.01), clock=clock)
    scaled.check("PATCH", "/channels/{channel_id}", params, ["name"])
    scaled.check("PATCH", "/channels/{channel_id}", params, ["name"])
    assert scaled.check(
        "PATCH", "/channels/{channel_id}", params, ["name"]
    ).retry_after == pytest.approx(6.0)


def test_off_policy_has_no_headers() -> None:
    limiter = RateLimiter(RateLimitPolicy.off(), clock=FakeClock())
    for _ in range(100):
        decision = limiter.check("POST", MESSAGES, {"channel_id": "1"})
        assert decision.allowed and decision.headers == {}


async def test_burst_in_one_channel_gets_429s_that_discord_py_retries() -> None:
    """A bot restarted mid-burst (or a second process on the same token) shares the channel's
    bucket without knowing its state: its first request gets a 429, which discord.py retries
    transparently after ``retry_after``. Every message arrives, in order per client."""
    async with (
        asyncio.timeout(20),
        DiscordSimulator(rate_limits=RateLimitPolicy.discord_like()) as sim,
    ):
        world = build_world(sim)
        with sim.patch_discord():
            running = await start_bot(sim, sync=False)
            second = discord.Client(intents=discord.Intents.none())
            try:
                channel = running.bot.get_channel(world.general.id)
                assert isinstance(channel, discord.TextChannel)
                first_burst = asyncio.gather(*(channel.send(f"a{i}") for i in range(5)))
                await sim.wait_for(lambda: len(sim.messages(world.general.id)) == 5)
                await second.login(sim.bot_token)
                target = second.get_partial_messageable(world.general.id)
                second_burst = [await_send(target, f"b{i}") for i in range(3)]
                await asyncio.gather(first_burst, *second_burst)
            finally:
                await second.close()
                await running.stop()
        contents = [m.content for m in sim.messages(world.general.id)]
        assert sorted(contents) == sorted([f"a{i}" for i in range(5)] + [f"b{i}" for i in range(3)])
        limited = sim.rest_calls("POST", MESSAGES, status=429)
        assert limited, "expected at least one 429"
        assert all(not c.is_global and c.retry_after and c.retry_after <= 5 for c in limited)
        ok_times = [c.at for c in sim.rest_calls("POST", MESSAGES, status=200)]
        # Never more than 5 accepted messages in any 5-second window.
        for i in range(len(ok_times) - 5):
            assert ok_times[i + 5] - ok_times[i] >= 4.9


async def await_send(target: discord.PartialMessageable, content: str) -> discord.Message:
    return await target.send(content)


async def test_global_limit_is_waited_out_by_discord_py() -> None:
    policy = RateLimitPolicy(global_limit=5, global_window=0.5)
    async with asyncio.timeout(20), DiscordSimulator(rate_limits=policy) as sim:
        world = build_world(sim)
        channels = [sim.create_channel(world.guild.id, f"ch{i}") for i in range(5)]
        with sim.patch_discord():
            running = await start_bot(sim, sync=False)
            try:
                sends = [
                    running.bot.get_partial_messageable(c.id).send(f"{c.name}-{i}")
                    for c in channels
                    for i in range(4)
                ]
                await asyncio.gather(*sends)
            finally:
                await running.stop()
        assert sum(len(sim.messages(c.id)) for c in channels) == 20
        global_429 = [c for c in sim.rest_log if c.status == 429]
        assert global_429 and all(c.is_global for c in global_429)


async def test_raw_headers_and_429_shape() -> None:
    policy = RateLimitPolicy.off().with_routes(
        RouteLimit("POST", MESSAGES, 2, 10.0, major=("channel_id",), name="tiny")
    )
    async with asyncio.timeout(10), DiscordSimulator(rate_limits=policy) as sim:
        world = build_world(sim)
        url = f"{sim.api_base_url}/channels/{world.general.id}/messages"
        headers = {"Authorization": f"Bot {sim.bot_token}"}
        async with aiohttp.ClientSession() as http:
            for remaining in ("1", "0"):
                async with http.post(url, json={"content": "hi"}, headers=headers) as r:
                    assert r.status == 200
                    assert r.headers["X-RateLimit-Limit"] == "2"
                    assert r.headers["X-RateLimit-Remaining"] == remaining
                    assert float(r.headers["X-RateLimit-Reset-After"]) <= 10.0
                    assert float(r.headers["X-RateLimit-Reset"]) > 1_600_000_000
                    bucket = r.headers["X-RateLimit-Bucket"]
            async with http.post(url, json={"content": "hi"}, headers=headers) as r:
                assert r.status == 429
                assert r.headers["Via"] == "1.1 google"
                assert r.headers["X-RateLimit-Scope"] == "user"
                assert r.headers["X-RateLimit-Bucket"] == bucket
                assert int(r.headers["Retry-After"]) == 10
                assert r.headers["Content-Type"] == "application/json"
                body = await r.json()
                assert body["message"] == "You are being rate limited."
                assert body["global"] is False and 9 < body["retry_after"] <= 10


async def test_invalid_request_ban_looks_like_cloudflare() -> None:
    policy = RateLimitPolicy(invalid_limit=3)
    async with asyncio.timeout(10), DiscordSimulator(rate_limits=policy) as sim:
        build_world(sim)
        with sim.patch_discord():
            client = discord.Client(intents=discord.Intents.none())
            try:
                await client.login(sim.bot_token)
                for _ in range(3):
                    with pytest.raises(discord.NotFound):
                        await client.http.request(
                            discord.http.Route("GET", "/channels/{channel_id}", channel_id=1)
                        )
                # 404s do not count; 403s do.
                hidden = sim.create_guild("Elsewhere", with_bot=False)
                for _ in range(3):
                    with pytest.raises(discord.Forbidden):
                        await client.http.request(
                            discord.http.Route("GET", "/guilds/{guild_id}", guild_id=hidden.id)
                        )
                with pytest.raises(discord.HTTPException) as info:
                    await client.http.request(discord.http.Route("GET", "/users/@me"))
                assert info.value.status == 429 and "1015" in info.value.text
            finally:
                await client.close()
        assert sim.invalid_request_count() == 3
