"""What the simulated people of ``brewhost demo`` do, and when.

Who they are and what they say is decided by the seed (:mod:`bot.rehearsal.people`); this is
the acting: the admin sets the server up, the facilitator opens and starts the brew, each person
reacts to the bot's posts in their room as a person would (their turn, a pass, a call for help,
one more minute, typing while the room reflects, the reflection form), and the organiser exports
the report. Everything waits in brew time, so the story is the same at any ``--speed``.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from bot.rehearsal.people import FACILITATOR_HELLO, HELPED_REPLY, Person, RoomLog
from bot.rehearsal.transcript import CHANNEL, MENTION, count, heading, names_in_words
from bot.shell.ui.ids import is_turn_done
from discordsim import SimulatorError

if TYPE_CHECKING:
    from bot.rehearsal.roles import Run
    from discordsim import Channel, InteractionRecord, Member, Message

QUESTION = "Co-production: what's missing?"
TITLE = "Co-production week"
AREA = "Norfolk"
BROADCAST = "No need to fill the silence. Take your time, and thank you for being here."
#: When, in brew seconds after seeing their prompt, the one who passes presses "Pass" and the
#: one who needs longer presses "One more minute" (a turn is 120 s): early, so the press is
#: answered within the turn even when the bot is slow in brew time (see ``take_turn``).
PASS_AFTER = 8
MORE_TIME_AFTER = 25


def is_turn_prompt(message: Message) -> bool:
    """A bot post that names whose turn it is (it carries the "I'm done" button)."""
    return any(is_turn_done(c) for c in message.custom_ids())


class DemoFailed(Exception):
    """The brew did not go as it should; the message is the one-line reason."""


class Script:
    """The people's parts, played against the stage; every task they start is tracked so the
    demo can wait for them, and a part that goes wrong is a failure with its reason."""

    def __init__(self, demo: Run) -> None:
        self.demo = demo
        self.stage = demo.stage
        self.sim = demo.stage.sim
        self.world = demo.stage.world
        self.content = demo.content
        self.transcript = demo.transcript
        self.names = demo.names.people
        self.speed = demo.speed
        self.tasks: set[asyncio.Task[None]] = set()
        self.asked_status = False
        #: How the brew begins and what its number is; None: ``/brew open``, people join,
        #: ``/brew start`` (``--scheduled`` sets :class:`bot.rehearsal.scheduled.ScheduledStart`).
        self.starter: Callable[[], Awaitable[int]] | None = None

    # ------------------------------------------------------------------ timing helpers
    async def pause(self, brew_seconds: float) -> None:
        """Wait ``brew_seconds`` of brew time (at speed 60, a minute is a second)."""
        await asyncio.sleep(brew_seconds / self.speed)

    def spawn(self, what: str, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(self._guard(what, coro))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _guard(self, what: str, coro: Awaitable[None]) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.demo.fail(f"{what}: {type(exc).__name__}: {exc}")

    async def stop(self) -> None:
        """Cancel whatever the people were still doing."""
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def play(self) -> None:
        world, t = self.world, self.transcript
        await self.command(world.admin, "brew settings", **self.stage.settings_options(AREA))
        voice = [p for p in self.demo.people.values() if not p.part.text_only]
        t.say("Lounge", f"{self.names[world.facilitator.id]} joins the Lounge voice channel.")
        await self.join_voice(world.facilitator.id)
        for person in voice:
            await self.join_voice(person.id)
        if voice:
            names = names_in_words([p.name for p in voice])
            t.say("Lounge", f"{names} join the Lounge voice channel.")
        await self.pause(5)

        if self.starter is not None:
            self.demo.stats.brew_number = await self.starter()
        else:
            self.demo.stats.brew_number = await self.open_and_start()

        await self.wait_until_brew_over()
        await self.wait_for_tasks()
        for person in self.demo.people.values():
            if person.part.reflects == "command":
                await self.pause(30)
                await self.reflect_by_command(person)
        await self.wait_for_tasks()
        await self.export()

    async def open_and_start(self) -> int:
        """The facilitator opens the card, text-only people join, the facilitator starts."""
        world = self.world
        rec = await self.command(world.facilitator, "brew open", question=QUESTION, title=TITLE)
        card = rec.original_message
        if card is None:
            raise DemoFailed("/brew open posted no sign-up card")
        join_text = self.content.button("join_text")
        for person in (p for p in self.demo.people.values() if p.part.text_only):
            await self.pause(10)
            await self.press(person.id, card, join_text)
        await self.pause(10)

        rec = await self.command(world.facilitator, "brew start")
        started = await self.stage.final_text(rec, within=60)
        found = re.search(r"Brew (\d+) has started", started)
        if found is None:
            raise DemoFailed(f"/brew start did not start the brew: {started}")
        return int(found.group(1))

    async def join_voice(self, user_id: int) -> None:
        self.demo.watch.expect_voice(user_id, self.world.lounge.id)
        await self.sim.set_voice(self.world.guild_id, user_id, self.world.lounge.id)

    async def command(
        self, user: Member, name: str, channel: Channel | None = None, **options: Any
    ) -> InteractionRecord:
        """``user`` runs ``/name``, said in the transcript as they would type it."""
        channel = channel or self.world.hall
        shown = " ".join(f"{k}:{self.demo.names.option(v)}" for k, v in options.items())
        said = f"{self.names[user.id]} runs /{name}" + (f" {shown}" if shown else "")
        self.transcript.say(self.demo.names.place(channel.id), said)
        return await self.stage.command(user, name, channel, **options)

    async def press(self, user_id: int, message: Message, label: str) -> InteractionRecord:
        """``user_id`` presses the button labelled ``label`` under ``message``."""
        custom_id = message.button(label)["custom_id"]
        self.transcript.say(
            self.demo.names.place(message.channel_id), f'{self.names[user_id]} presses "{label}"'
        )
        rec = await self.sim.click_button(user_id, message.channel_id, message.id, custom_id)
        await rec.wait_response(timeout=10)
        return rec

    async def type_in(self, user_id: int, channel_id: int, text: str) -> None:
        await self.sim.send_message(channel_id, user_id, text)

    async def wait_until_brew_over(self) -> None:
        """Every room closed and tidied away, and the brew marked ended."""
        budget = self.stage.config.brew.length_minutes * 60 / self.speed * 3 + 60
        deadline = time.monotonic() + budget
        while time.monotonic() < deadline:
            if self.demo.rooms and not self.demo.watch.open_rooms():
                if await self.brew_status() == "ended":
                    return
            await asyncio.sleep(0.05)
        raise DemoFailed(f"the brew had not ended after {budget:.0f} seconds")

    async def brew_status(self) -> str | None:
        from bot.db.brews import brew_status

        async with self.stage.sessions() as session:
            return await brew_status(session, self.world.guild_id, self.demo.stats.brew_number)

    async def wait_for_tasks(self) -> None:
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)

    # ------------------------------------------------------------------ people's parts
    def on_room_post(self, room: RoomLog, message: Message) -> None:
        """A bot message appeared in a room: whoever it concerns reacts, as a person would."""
        text = message.content
        title = heading(text)
        phases = self.content.phases
        if is_turn_prompt(message):
            found = MENTION.search(text)
            person = self.demo.people.get(int(found.group(1))) if found else None
            if person is not None:
                self.spawn(f"{person.name}'s turn", self.take_turn(person, message))
        elif title == phases["think"].name:
            for person in self.room_people(room):
                if person.part.asks_for_help:
                    self.spawn(f"{person.name}'s help request", self.ask_for_help(person, message))
        elif title == phases["reflect"].name:
            if not self.asked_status:  # the first room to finish its turns: how are the others?
                self.asked_status = True
                self.spawn("the facilitator's check", self.check_in(delay=20))
            for person in self.room_people(room):
                if person.part.typed_reflection:
                    self.spawn(f"{person.name} typing", self.chat(person, room, 30))
        elif title == phases["close"].name:
            for person in self.room_people(room):
                if person.part.reflects == "button":
                    self.spawn(
                        f"{person.name}'s reflection", self.reflect_by_button(person, message)
                    )

    def on_hall_post(self, message: Message) -> None:
        if "would like a facilitator" in message.content:
            found = CHANNEL.search(message.content)
            if found and int(found.group(1)) in self.demo.rooms:
                room = self.demo.rooms[int(found.group(1))]
                self.spawn("the facilitator's visit", self.visit(room))

    def room_people(self, room: RoomLog) -> list[Person]:
        return [self.demo.people[m] for m in room.members if m in self.demo.people]

    async def take_turn(self, person: Person, prompt: Message) -> None:
        """Speak, pass or ask for more time, early enough in the turn that the press counts.

        The bot's reply to a press takes real time, which at a high ``--speed`` is many brew
        seconds, and the prompt itself reaches the room a little after the turn has started.
        So whoever passes or asks for one more minute does it in the first quarter of their
        turn, as a person who knows they need it would, leaving most of the turn as margin.
        """
        part = person.part
        labels = self.content.button
        if part.passes:
            await self.pause(PASS_AFTER)
            await self.press(person.id, prompt, labels("pass"))
            return
        spoken = 0.0
        if part.typed_turn:
            await self.pause(20)
            spoken += 20
            await self.type_in(person.id, prompt.channel_id, part.typed_turn)
        if part.more_time:
            await self.pause(max(0.0, MORE_TIME_AFTER - spoken))
            spoken = max(spoken, MORE_TIME_AFTER)
            await self.press(person.id, prompt, labels("more_time"))
            await self.pause(60)
            spoken += 60
        await self.pause(max(5.0, part.speak - spoken))
        await self.press(person.id, prompt, labels("done"))

    async def ask_for_help(self, person: Person, think: Message) -> None:
        await self.pause(15)
        await self.press(person.id, think, self.content.button("help"))

    async def visit(self, room: RoomLog) -> None:
        facilitator = self.world.facilitator
        await self.pause(10)
        name = self.names[facilitator.id].split(" ")[0]
        await self.type_in(
            facilitator.id, room.channel_id, FACILITATOR_HELLO.format(facilitator=name)
        )
        for person in self.room_people(room):
            if person.part.asks_for_help:
                await self.pause(10)
                await self.type_in(
                    person.id, room.channel_id, HELPED_REPLY.format(facilitator=name)
                )

    async def chat(self, person: Person, room: RoomLog, after: float) -> None:
        await self.pause(after)
        if person.part.typed_reflection and room.channel_id in self.demo.watch.channels:
            await self.type_in(person.id, room.channel_id, person.part.typed_reflection)

    async def check_in(self, delay: float) -> None:
        """The facilitator looks at how every room is doing, and later sends a word to all."""
        await self.pause(delay)
        await self.command(self.world.facilitator, "brew status")
        await self.pause(300)
        if self.demo.watch.open_rooms():
            await self.command(self.world.facilitator, "brew broadcast", message=BROADCAST)

    async def reflect_by_button(self, person: Person, close: Message) -> None:
        await self.pause(person.part.reflect_after)
        try:
            rec = await self.press(person.id, close, self.content.button("reflect"))
        except SimulatorError:  # the room was tidied away first: /reflect works as well
            await self.reflect_by_command(person)
            return
        await self.fill_in(person, rec)

    async def reflect_by_command(self, person: Person) -> None:
        rec = await self.command(person.member, "reflect")
        await self.fill_in(person, rec)

    async def fill_in(self, person: Person, rec: InteractionRecord) -> None:
        if rec.modal is None:
            raise DemoFailed(f"{person.name} got no reflection form")
        part = person.part
        values = {f"q:{key}": answer for key, answer in part.answers.items()}
        values["consent"] = part.consent
        await self.pause(20)
        quoted = "may be quoted" if part.quotable else "not to be quoted"
        self.transcript.say(
            self.demo.names.place(rec.channel_id),
            f"{person.name} sends the reflection form ({count(len(part.answers), 'answer')}, "
            f"{quoted})",
        )
        self.demo.stats.reflections_expected += 1
        sub = await self.sim.submit_modal(person.id, rec, values)
        await sub.wait_response(timeout=10)
        saved = self.content.text("reflection.saved").split(",")[0]

        def answered() -> bool:
            texts = [m.content for m in sub.followups]
            if sub.original_message is not None:
                texts.append(sub.original_message.content)
            return any(saved in t for t in texts)

        try:
            await self.sim.wait_for(answered, timeout=10)
        except TimeoutError:
            raise DemoFailed(f"{person.name}'s reflection was not saved") from None
        self.demo.stats.reflections_saved += 1
        self.demo.reflected.add(person.id)

    # ------------------------------------------------------------------ the organiser
    async def export(self) -> None:
        number = self.demo.stats.brew_number
        organiser = self.world.organiser
        for fmt in ("markdown", "html", "csv"):  # the HTML report too (issue 14)
            rec = await self.command(organiser, "brew export", format=fmt, brew=number)

            def files(rec: InteractionRecord = rec) -> list[Any]:
                messages = [rec.original_message, *rec.followups]
                return [a for m in messages if m is not None for a in m.attachments]

            try:
                attachments = await self.sim.wait_for(files, timeout=30)
            except TimeoutError:
                raise DemoFailed(f"/brew export format:{fmt} sent no file") from None
            for attachment in attachments:
                path = self.demo.out / attachment.filename
                path.write_bytes(attachment.data)
                self.demo.stats.files.append(path)
