"""Point discord.py at Discord, the local simulator, or another Discord-compatible server.

discord.py reads ``discord.http.Route.BASE`` for every REST call (interaction callbacks and
webhook followups included) and ``DiscordWebSocket.DEFAULT_GATEWAY`` for the websocket, so both
are set before the client starts.
"""

from __future__ import annotations

import discord
import discord.gateway
import discord.http
import yarl

from bot.config import DEFAULT_API_BASE_URL

_ORIGINAL_GATEWAY = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY


def configure_endpoints(api_base_url: str, gateway_url: str | None) -> None:
    discord.http.Route.BASE = api_base_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = (
        yarl.URL(gateway_url) if gateway_url else _ORIGINAL_GATEWAY
    )


def reset_endpoints() -> None:
    configure_endpoints(DEFAULT_API_BASE_URL, None)
