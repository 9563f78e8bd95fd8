"""Links to channels in a message's text, as Discord's apps make them clickable.

Two forms are clickable: a channel mention ``<#id>`` and a message link
``https://discord.com/channels/<guild>/<channel>`` (also ``ptb.``, ``canary.`` and the old
``discordapp.com``). Clicking one that points at a voice channel joins it, which the driver
models with :meth:`discordsim.DiscordSimulator.click_channel_link`.
"""

from __future__ import annotations

import re

_LINK = re.compile(
    r"https://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/channels/(?P<guild>\d+)/(?P<channel>\d+)"
)
_MENTION = re.compile(r"<#(?P<channel>\d+)>")


def channel_links(text: str, guild_id: int | None = None) -> list[int]:
    """Channel ids linked from ``text``, in order of appearance, each once. With ``guild_id``,
    links that name another server are left out (mentions always belong to the message's)."""
    found: list[tuple[int, int]] = []
    for match in _LINK.finditer(text):
        if guild_id is None or int(match["guild"]) == guild_id:
            found.append((match.start(), int(match["channel"])))
    found += [(m.start(), int(m["channel"])) for m in _MENTION.finditer(text)]
    ids: list[int] = []
    for _, channel_id in sorted(found):
        if channel_id not in ids:
            ids.append(channel_id)
    return ids
