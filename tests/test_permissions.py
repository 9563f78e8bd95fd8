"""The per-channel permission check names what is missing in plain words."""

from __future__ import annotations

import discord

from bot.permissions import missing_in_text_channel, missing_in_voice_channel


def test_a_voice_channel_with_everything_needs_nothing():
    have = discord.Permissions(view_channel=True, connect=True, move_members=True).value
    assert missing_in_voice_channel(have) == []


def test_a_hidden_voice_channel_lacks_everything():
    # discord.py's permissions_for clears a channel's permissions when it cannot be seen.
    assert missing_in_voice_channel(0) == ["View Channel", "Connect", "Move Members"]


def test_only_move_members_missing():
    have = discord.Permissions(view_channel=True, connect=True, speak=True).value
    assert missing_in_voice_channel(have) == ["Move Members"]


def test_administrator_needs_nothing():
    assert missing_in_voice_channel(discord.Permissions(administrator=True).value) == []
    assert missing_in_text_channel(discord.Permissions(administrator=True).value) == []


def test_a_text_channel_needs_view_and_send():
    assert missing_in_text_channel(discord.Permissions(view_channel=True).value) == [
        "Send Messages"
    ]
    both = discord.Permissions(view_channel=True, send_messages=True).value
    assert missing_in_text_channel(both) == []
