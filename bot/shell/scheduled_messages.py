"""How a scheduled brew speaks: direct messages with one channel message as the fallback for
people whose DMs are closed (reminders and cancel notices), channel posts that ping exactly
whom they name, and the facilitators' mentions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import discord

from bot.db.scheduling import SeriesInfo
from bot.shell.errors import only_pinging

log = logging.getLogger(__name__)


async def direct_message(client: discord.Client, user_id: int, text: str) -> bool:
    """Send ``text`` privately; False when Discord refuses (DMs closed, unknown user)."""
    try:
        user = client.get_user(user_id) or await client.fetch_user(user_id)
        await user.send(text, allowed_mentions=discord.AllowedMentions.none())
    except discord.HTTPException as exc:
        log.info("could not send a direct message (%s)", exc.status)
        return False
    return True


async def tell_channel(
    client: discord.Client,
    channel_id: int | None,
    text: str,
    *,
    users: Sequence[int] = (),
    roles: Sequence[int] = (),
) -> None:
    """Post in the brew's channel, pinging exactly ``users`` and ``roles``."""
    channel = client.get_channel(channel_id or 0)
    if not isinstance(channel, discord.abc.Messageable):
        log.warning("scheduled brew: nowhere to post in channel %s", channel_id)
        return
    try:
        await channel.send(text, allowed_mentions=only_pinging(users=users, roles=roles))
    except discord.HTTPException as exc:
        log.warning("scheduled brew: could not post in channel %s (%s)", channel_id, exc)


async def tell_each(
    client: discord.Client,
    channel_id: int | None,
    people: Sequence[int],
    text: str,
    fallback: Callable[[str], str],
) -> list[int]:
    """``text`` to each person privately; those whose DMs are refused get one message in the
    channel, ``fallback(mentions)``, that mentions (and pings) only them. Returns them."""
    refused = [uid for uid in people if not await direct_message(client, uid, text)]
    if refused:
        mentions = " ".join(f"<@{uid}>" for uid in refused)
        await tell_channel(client, channel_id, fallback(mentions), users=refused)
    return refused


def facilitators(
    series: SeriesInfo, facilitator_role_id: int | None
) -> tuple[str, list[int], list[int]]:
    """Who to ping about a scheduled brew: (their mentions, users, roles) - the facilitator
    role and the one who scheduled it. The mentions are empty when there is nobody to ping."""
    users = [series.facilitator_id] if series.facilitator_id else []
    roles = [facilitator_role_id] if facilitator_role_id else []
    mentions = " ".join([*(f"<@&{r}>" for r in roles), *(f"<@{u}>" for u in users)])
    return mentions, users, roles


__all__ = ["direct_message", "facilitators", "tell_channel", "tell_each"]
