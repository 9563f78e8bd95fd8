"""Point discord.py at Discord, the local simulator, or another Discord-compatible server.

discord.py reads ``discord.http.Route.BASE`` for every REST call (interaction callbacks and
webhook followups included) and ``DiscordWebSocket.DEFAULT_GATEWAY`` for the websocket, so both
are set before the client starts. This is the only place in Brew Host that sets them: ``brewhost
run`` calls :func:`configure_endpoints` with the config's URLs for the life of the process, and
the rehearsal stage (demo, integration tests, benchmarks) uses :func:`endpoints` with the
simulator's URLs, which puts the previous ones back once the bot has closed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import discord
import discord.gateway
import discord.http
import yarl

_ORIGINAL_GATEWAY = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY


def configure_endpoints(api_base_url: str, gateway_url: str | None) -> None:
    """Send REST calls to ``api_base_url`` and connect to ``gateway_url`` (Discord's own
    gateway when ``None``)."""
    discord.http.Route.BASE = api_base_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = (
        yarl.URL(gateway_url) if gateway_url else _ORIGINAL_GATEWAY
    )


@contextlib.contextmanager
def endpoints(api_base_url: str, gateway_url: str | None) -> Iterator[None]:
    """:func:`configure_endpoints` for the duration of the block, then back to what was set
    before, so nothing sent after a rehearsal can reach a server it was not meant for."""
    base = discord.http.Route.BASE
    gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    configure_endpoints(api_base_url, gateway_url)
    try:
        yield
    finally:
        discord.http.Route.BASE = base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = gateway
