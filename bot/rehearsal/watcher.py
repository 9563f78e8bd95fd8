"""The demo's eyes: what changes in the simulated server, printed, and passed to the people.

Nothing here decides what anyone does (that is :mod:`bot.rehearsal.script`); it notices new
channels, messages, edits and voice moves, writes them in the transcript and tells the demo
about every bot post in a room or in the brew hall.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from bot.rehearsal.people import RoomLog
from bot.rehearsal.transcript import MENTION, names_in_words, size
from discordsim import GUILD_CATEGORY, GUILD_TEXT

if TYPE_CHECKING:
    from bot.rehearsal.roles import Run
    from discordsim import Channel, Message


class Watcher:
    """Prints what changes in the simulated server and tells the people what concerns them.

    It wakes on every change in the simulator's state (and at least every 0.1 s) and looks only
    at what is new: message lists by length, interaction answers that may still be edited,
    channels and who is in which voice channel.
    """

    def __init__(self, demo: Run) -> None:
        self.demo = demo
        self.sim = demo.stage.sim
        self.guild_id = demo.stage.world.guild_id
        self.wake = asyncio.Event()
        self.stopped = False
        self.seen: dict[int, int] = {}
        self.editable: dict[int, str] = {}
        self.channels: dict[int, Channel] = {c.id: c for c in self.sim.channels(self.guild_id)}
        self.voice: dict[int, int | None] = {}
        self.expected: dict[int, int | None] = {}
        self.hall_posts: list[Message] = []
        self.guide_shown = False
        for user_id in self._tracked():
            self.voice[user_id] = self.sim.voice_channel_of(self.guild_id, user_id)
        self.sim.state.listeners.append(self.wake.set)

    def _tracked(self) -> list[int]:
        return [self.demo.stage.world.facilitator.id, *self.demo.people]

    def expect_voice(self, user_id: int, channel_id: int | None) -> None:
        """The next change for ``user_id`` is their own doing (not a move by the bot)."""
        self.expected[user_id] = channel_id

    def open_rooms(self) -> list[int]:
        return [cid for cid in self.demo.rooms if cid in self.channels]

    async def run(self) -> None:
        try:
            while not self.stopped:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.1):
                        await self.wake.wait()
                self.wake.clear()
                self.scan()
        finally:
            with contextlib.suppress(ValueError):
                self.sim.state.listeners.remove(self.wake.set)

    def stop(self) -> None:
        self.stopped = True
        self.wake.set()

    def scan(self) -> None:
        self._channels_created()
        self._messages()
        self._edits()
        self._voice()
        self._channels_deleted()

    # -------------------------------------------------------------- channels
    def _channels_created(self) -> None:
        demo = self.demo
        fresh = [c for c in self.sim.channels(self.guild_id) if c.id not in self.channels]
        for channel in fresh:
            self.channels[channel.id] = channel
            demo.names.channels[channel.id] = channel.name or str(channel.id)
        if not fresh:
            return
        named = []
        for channel in fresh:
            if channel.type == GUILD_CATEGORY:
                named.append(f"category {channel.name!r}")
            elif channel.type == GUILD_TEXT:
                named.append(f"#{channel.name}")
                if (channel.name or "").startswith("room-"):
                    demo.rooms[channel.id] = RoomLog(channel.id, channel.name or "")
            else:
                named.append(f"voice {channel.name!r}")
        demo.transcript.say("server", f"Brew Host creates {', '.join(named)}")

    def _channels_deleted(self) -> None:
        current = {c.id for c in self.sim.channels(self.guild_id)}
        gone = [c for cid, c in self.channels.items() if cid not in current]
        for channel in gone:
            del self.channels[channel.id]
        if gone:
            names = [
                f"#{c.name}" if not c.is_voice and not c.is_category else repr(c.name) for c in gone
            ]
            self.demo.transcript.say("server", f"Brew Host deletes {', '.join(names)}")

    # -------------------------------------------------------------- messages
    def _messages(self) -> None:
        state = self.sim.state
        fresh: list[int] = []
        for channel_id, ids in list(state.channel_messages.items()):
            count = self.seen.get(channel_id, 0)
            if len(ids) > count:
                fresh.extend(ids[count:])
                self.seen[channel_id] = len(ids)
        for message_id in sorted(fresh):
            message = state.messages[message_id]
            if self._scheduled_card(message):
                self.editable[message.id] = message.content  # it changes by itself
            if message.interaction_id is not None or message.loading:
                self.editable[message.id] = ""
                if message.loading or not message.content:
                    continue
                self.editable[message.id] = message.content
            self._show(message)
            self._react(message)

    def _scheduled_card(self, message: Message) -> bool:
        """A scheduled brew's card in the hall (``--scheduled``): its edits are shown too."""
        demo = self.demo
        return (
            bool(getattr(demo.args, "scheduled", False))
            and message.author_id == self.sim.bot_id
            and message.channel_id == demo.stage.world.hall.id
            and bool(message.components)
        )

    def _edits(self) -> None:
        state = self.sim.state
        for message_id, shown in list(self.editable.items()):
            message = state.messages.get(message_id)
            if message is None or message.loading or message.deleted:
                continue
            if message.content and message.content != shown:
                self.editable[message_id] = message.content
                before = set(shown.split("\n"))
                changed = [line for line in message.content.split("\n") if line not in before]
                self._show(message, "\n".join(changed), edited=bool(shown))
            elif message.attachments and shown == "":
                self.editable[message_id] = message.content or "(files)"
                self._show(message)

    def _show(self, message: Message, text: str | None = None, *, edited: bool = False) -> None:
        demo = self.demo
        at = message.created_at.timestamp()
        body = demo.names.render(message.content if text is None else text, at)
        author = demo.names.people.get(message.author_id, "someone")
        notes = []
        if message.ephemeral:
            viewer = demo.names.people.get(message.visible_to or 0, "them").split(" ")[0]
            notes.append(f"only {viewer} sees")
        if edited:
            notes.append("updated")
        if notes:
            author += f" ({', '.join(notes)})"
        room = demo.rooms.get(message.channel_id)
        guide = demo.content.text("guide.heading")
        if room is not None and message.content.startswith(f"**{guide}"):
            members = [int(i) for i in MENTION.findall(message.content)]
            room.members = members
            if self.guide_shown:  # once in full is enough
                names = names_in_words([demo.names.people.get(m, "someone") for m in members])
                body = f"(the same guide as above) In this room: {names}."
            self.guide_shown = True
        if message.attachments:
            files = ", ".join(f"{a.filename} ({size(a.size)})" for a in message.attachments)
            body += f"\n[attached: {files}]"
        demo.transcript.say(demo.names.place(message.channel_id), f"{author}: {body}")

    def _react(self, message: Message) -> None:
        demo = self.demo
        if message.author_id != self.sim.bot_id or message.ephemeral:
            return
        room = demo.rooms.get(message.channel_id)
        if room is not None:
            room.posts.append(message)
            demo.script.on_room_post(room, message)
        elif message.channel_id == demo.stage.world.hall.id:
            self.hall_posts.append(message)
            demo.script.on_hall_post(message)

    # -------------------------------------------------------------- voice
    def _voice(self) -> None:
        demo = self.demo
        moved: dict[tuple[int | None, int | None], list[str]] = {}
        joined: list[int] = []
        for user_id in self._tracked():
            now = self.sim.voice_channel_of(self.guild_id, user_id)
            if now == self.voice.get(user_id):
                continue
            before = self.voice.get(user_id)
            self.voice[user_id] = now
            if user_id in self.expected and self.expected[user_id] == now:
                del self.expected[user_id]
                joined.append(user_id)  # their own doing, already told
                continue
            moved.setdefault((before, now), []).append(demo.names.people[user_id])
        for (before, now), names in moved.items():
            if now is None:
                where = demo.names.channels.get(before or 0, "voice")
                verb = "is" if len(names) == 1 else "are"
                text = f"{names_in_words(names)} {verb} disconnected from {where!r}"
            else:
                target = demo.names.channels.get(now, "?")
                text = f"Brew Host moves {names_in_words(names)} to {target!r}"
            demo.transcript.say("voice", text)
