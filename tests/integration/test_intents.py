"""Brew Host does not ask Discord for what people type (docs/privacy.md, "Conversations").

The bot's gateway session, as the simulator received it in IDENTIFY, leaves out message,
typing and reaction events and the privileged message content: Discord never tells the bot
that someone posted in a room, let alone what they wrote.
"""

from __future__ import annotations

from .conftest import Harness

GUILD_MESSAGES = 1 << 9
GUILD_REACTIONS = 1 << 10
GUILD_TYPING = 1 << 11
DIRECT_MESSAGES = 1 << 12
DIRECT_REACTIONS = 1 << 13
DIRECT_TYPING = 1 << 14
MESSAGE_CONTENT = 1 << 15
GUILDS = 1 << 0
VOICE_STATES = 1 << 7


async def test_discord_is_never_asked_for_what_people_type_in_the_rooms(harness: Harness) -> None:
    sessions = harness.sim.gateway.connected_sessions()
    assert sessions
    for session in sessions:
        assert session.intents & (GUILDS | VOICE_STATES) == GUILDS | VOICE_STATES
        for unwanted in (
            GUILD_MESSAGES,
            GUILD_REACTIONS,
            GUILD_TYPING,
            DIRECT_MESSAGES,
            DIRECT_REACTIONS,
            DIRECT_TYPING,
            MESSAGE_CONTENT,
        ):
            assert not session.intents & unwanted, unwanted
