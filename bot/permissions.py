"""The least Discord permissions Brew Host needs, each with the reason a server admin can read.

The invite link asks for exactly these; never Administrator. Before opening rooms the bot checks
it still holds them, so a facilitator hears "I need Move Members" instead of a half-started brew.

Server-wide permissions are not enough: Discord checks Move Members in the voice channel a
person is in as well as the one they go to, and a channel's own settings can take any
permission away. So the channels a brew uses are checked one by one too
(:func:`missing_in_voice_channel`, :func:`missing_in_text_channel`), from the integer that
discord.py's ``channel.permissions_for(guild.me).value`` gives.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import urlencode

#: (permission name as discord.py spells it, bit, what it is for)
REQUIRED: tuple[tuple[str, int, str], ...] = (
    ("view_channel", 1 << 10, "see the channels where brews are run and the rooms it creates"),
    (
        "manage_channels",
        1 << 4,
        "create each group's private voice and text room, then delete them",
    ),
    ("send_messages", 1 << 11, "post the sign-up card, the guide, the timings and turn prompts"),
    ("read_message_history", 1 << 16, "check after a restart which prompts were already posted"),
    (
        "connect",
        1 << 20,
        "let group members into their private voice room (a bot can only grant "
        "permissions it holds)",
    ),
    ("speak", 1 << 21, "let group members speak in their private voice room (same reason)"),
    (
        "move_members",
        1 << 24,
        "move people from the main voice channel into their group's room and back at the end",
    ),
)

#: Asked for in the invite link but not needed to run a brew: without it the feature named is
#: left out and the bot says which permission would add it.
OPTIONAL: tuple[tuple[str, int, str], ...] = (
    (
        "create_events",
        1 << 44,
        "optional: add each brew planned with /brew schedule to the server's Events list (and "
        "keep it in step); without it the brew is still scheduled, just not listed there",
    ),
)

CREATE_EVENTS = 1 << 44
ADMINISTRATOR = 1 << 3
SCOPES = ("bot", "applications.commands")


def permission_integer() -> int:
    """Every permission the invite link asks for: the required ones and the optional ones."""
    value = 0
    for _, bit, _ in REQUIRED + OPTIONAL:
        value |= bit
    return value


def client_id_from_token(token: str) -> int | None:
    """A bot token's first part is the base64 of the bot's user id (= the application id)."""
    first = token.split(".", 1)[0]
    try:
        raw = base64.b64decode(first + "=" * (-len(first) % 4), validate=False)
        return int(raw.decode("ascii"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def invite_url(client_id: int) -> str:
    query = urlencode(
        {"client_id": client_id, "permissions": permission_integer(), "scope": " ".join(SCOPES)}
    )
    return f"https://discord.com/oauth2/authorize?{query}"


def can_create_events(have: int) -> bool:
    """Whether the server-wide permissions ``have`` let the bot add scheduled events."""
    return bool(have & (ADMINISTRATOR | CREATE_EVENTS))


def missing_names(have: int) -> list[str]:
    """Names of required permissions absent from the permission integer ``have``."""
    if have & ADMINISTRATOR:
        return []
    return [name for name, bit, _ in REQUIRED if not have & bit]


def human_name(name: str) -> str:
    return name.replace("_", " ").title()


VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
CONNECT = 1 << 20
MOVE_MEMBERS = 1 << 24

#: What the bot needs in a voice channel people are moved out of or back into.
VOICE_CHANNEL_NEEDS: tuple[tuple[str, int], ...] = (
    ("View Channel", VIEW_CHANNEL),
    ("Connect", CONNECT),
    ("Move Members", MOVE_MEMBERS),
)
#: What the bot needs in the text channel where a brew is run (the card, notices, alerts).
TEXT_CHANNEL_NEEDS: tuple[tuple[str, int], ...] = (
    ("View Channel", VIEW_CHANNEL),
    ("Send Messages", SEND_MESSAGES),
)


def _missing(have: int, needs: tuple[tuple[str, int], ...]) -> list[str]:
    if have & ADMINISTRATOR:
        return []
    return [name for name, bit in needs if not have & bit]


def missing_in_voice_channel(have: int) -> list[str]:
    """Plain names of what the bot lacks in a voice channel, given its effective permissions
    there (channel overwrites applied), e.g. ``["View Channel", "Move Members"]``."""
    return _missing(have, VOICE_CHANNEL_NEEDS)


def missing_in_text_channel(have: int) -> list[str]:
    """Plain names of what the bot lacks in the brew's text channel."""
    return _missing(have, TEXT_CHANNEL_NEEDS)
