"""Throughput of the Discord simulator with an unmodified discord.py bot.

Run: ``python bench/simulator_throughput.py [N]``. Measures slash-command round trips (dispatch,
bot callback, response stored) and channel messages sent by the bot, with rate limits off, so
the numbers show the simulator's own overhead: how many simulated users a demo or an
integration test can drive per second on this machine.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import discord
from discord import app_commands

from discordsim import DiscordSimulator


async def main(n: int) -> None:
    async with DiscordSimulator() as sim:
        guild = sim.create_guild("Bench")
        channel = sim.create_channel(guild.id, "general")
        users = [sim.create_member(guild.id, f"User {i}") for i in range(20)]
        with sim.patch_discord():
            client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.05)
            tree = app_commands.CommandTree(client)

            @tree.command(name="ping", description="pong")
            async def ping(interaction: discord.Interaction) -> None:
                await interaction.response.send_message("pong")

            task = asyncio.create_task(client.start(sim.bot_token))
            await sim.wait_for(client.is_ready, 10)
            await tree.sync()

            start = time.perf_counter()
            records = [
                await sim.invoke_command(guild.id, channel.id, users[i % 20].id, "ping")
                for i in range(n)
            ]
            await asyncio.gather(*(r.wait_response(30) for r in records))
            took = time.perf_counter() - start
            print(f"{n} slash commands: {took:.2f}s, {n / took:.0f}/s")

            target = client.get_partial_messageable(channel.id)
            start = time.perf_counter()
            for i in range(n):
                await target.send(f"message {i}")
            took = time.perf_counter() - start
            print(f"{n} sequential channel messages: {took:.2f}s, {n / took:.0f}/s")

            await client.close()
            await task


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 500))
