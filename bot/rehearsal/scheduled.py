"""``brewhost demo --scheduled``: the brew is planned ahead instead of opened by hand.

Fran plans it an hour ahead on the brew's clock (one minute at ``--speed 60``), through the
same :meth:`bot.shell.scheduling.Scheduling.schedule` that ``/brew schedule`` calls once it
has read the typed time (a typed time is on the whole minute, which at demo speeds would be
hours of brew time away). Then, with nobody at the keyboard:

* people answer on the sign-up-ahead card (those taking part by text only, and enough others
  for two answers), and one person presses "Interested" on the Discord event;
* a reminder reaches each person who answered, by direct message, 15 brew-minutes before;
* 10 brew-minutes before, the card becomes the normal sign-up card with them already joined;
* at the start time the brew starts by itself, with the people in the Lounge voice channel.

Every wait here is for something to happen (a message, an edit, a status), with a generous
limit, so a slow machine makes the demo slower, not wrong. The rest of the brew is the usual
demo's (:class:`bot.rehearsal.script.Script`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from bot.core.schedule import Repeat
from bot.db.scheduling import NewSeries
from bot.rehearsal.script import QUESTION, TITLE, DemoFailed

if TYPE_CHECKING:
    from bot.rehearsal.people import Person
    from bot.rehearsal.script import Script
    from discordsim import Message

T = TypeVar("T")

#: Brew-minutes between planning and the start, the reminder, and the sign-up opening.
LEAD_MINUTES = 60
REMINDER_MINUTES = 15
SIGNUP_MINUTES = 10
STARTED = re.compile(r"Brew (\d+), .*, has started by itself")


class Scheduled:
    """What the scheduled part saw, for its checks."""

    def __init__(self) -> None:
        self.answered: list[int] = []
        self.interested: int | None = None
        self.event_id: int | None = None
        self.card_id: int | None = None


class ScheduledStart:
    """The story's beginning for ``--scheduled``: :attr:`Script.starter` calls it in place of
    ``/brew open`` and ``/brew start``; :meth:`check` runs with the demo's other checks."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.seen = Scheduled()

    async def __call__(self) -> int:
        return await plan_and_start(self.script, self.seen)

    def check(self) -> None:
        check_scheduled(self.script, self.seen)


async def plan_and_start(script: Script, seen: Scheduled) -> int:
    """Plan the brew, answer, and wait until it has started by itself; its number."""
    demo, stage, sim, world = script.demo, script.stage, script.sim, script.world
    bot = stage.bot
    assert bot is not None and bot.scheduling is not None
    guild, hall = bot.get_guild(world.guild_id), bot.get_channel(world.hall.id)
    assert guild is not None and hall is not None
    start = datetime.now(UTC) + timedelta(seconds=LEAD_MINUTES * 60 / script.speed)
    config = stage.config
    new = NewSeries(
        guild_id=world.guild_id,
        title=TITLE,
        question=QUESTION,
        channel_id=world.hall.id,
        voice_channel_id=world.lounge.id,
        facilitator_id=world.facilitator.id,
        repeat=Repeat.ONCE,
        occurrences=1,
        first_start=start,
        timezone=config.timing.timezone,
        signup_minutes=SIGNUP_MINUTES,
        reminder_minutes=(REMINDER_MINUTES,),
        auto_start=True,
        group_size=None,
        length_s=config.brew.length_minutes * 60,
        turn_s=None,
        think_s=None,
        speed=script.speed,
    )
    script.transcript.say(
        "#brew-hall",
        f"{script.names[world.facilitator.id]} schedules the brew {LEAD_MINUTES} minutes ahead "
        f"(as /brew schedule does), with sign-up opening {SIGNUP_MINUTES} minutes before and a "
        f"reminder {REMINDER_MINUTES} minutes before",
    )
    made = await bot.scheduling.schedule(guild, hall, new)  # type: ignore[arg-type]
    if made.event_problem:
        raise DemoFailed(f"the scheduled brew has no Discord event: {made.event_problem}")
    seen.card_id = made.occurrence.card_message_id
    seen.event_id = made.occurrence.discord_event_id
    if seen.card_id is None or seen.event_id is None:
        raise DemoFailed("the scheduled brew posted no card or made no event")
    card = await _wait(
        script,
        lambda: sim.state.messages.get(seen.card_id or 0),
        10,
        "the sign-up-ahead card was not posted",
    )
    assert card is not None

    people = list(demo.people.values())
    answering = [p for p in people if p.part.text_only]
    answering += [p for p in people if not p.part.text_only][: max(0, 2 - len(answering))]
    for person in answering:
        await script.pause(60)
        await _answer(script, person, card)
        seen.answered.append(person.id)
    others = [p for p in people if p.id not in seen.answered]
    if others:
        await script.pause(60)
        who = others[0]
        script.transcript.say(
            "server", f'{who.name} presses "Interested" on the brew in the server\'s Events list'
        )
        await sim.press_interested(world.guild_id, seen.event_id, who.id)
        seen.interested = who.id

    budget = LEAD_MINUTES * 60 / script.speed * 3 + 30
    reminder = script.content.text("schedule.reminder").split(":")[0]  # "Reminder"

    def reminded() -> bool:
        return all(
            any(m.content.startswith(reminder) for m in sim.dms(uid)) for uid in seen.answered
        )

    joined = script.content.text("signup.card").split("{count}")[0].splitlines()[-1].strip()
    await _wait(script, reminded, budget, "the reminders did not reach the people who answered")
    await _wait(
        script,
        lambda: joined in sim.state.messages[seen.card_id or 0].content,
        budget,
        "the sign-up-ahead card did not open",
    )

    def started() -> re.Match[str] | None:
        for message in script.demo.watch.hall_posts:
            found = STARTED.search(message.content)
            if found:
                return found
        return None

    found = await _wait(script, started, budget, "the brew did not start by itself")
    assert found is not None
    return int(found.group(1))


async def _answer(script: Script, person: Person, card: Message) -> None:
    label = script.content.button("rsvp_text" if person.part.text_only else "rsvp_voice")
    rec = await script.press(person.id, card, label)
    await script.sim.wait_for(lambda: rec.followups, timeout=10)


async def _wait(script: Script, predicate: Callable[[], T], budget: float, why: str) -> T:
    try:
        return await script.sim.wait_for(predicate, timeout=budget)
    except TimeoutError:
        raise DemoFailed(why) from None


def check_scheduled(script: Script, seen: Scheduled) -> None:
    """The scheduled part's own checks: one reminder each, only to those who answered; the
    Discord event active or completed; the card closed once the brew started."""
    demo, sim = script.demo, script.sim
    reminder = script.content.text("schedule.reminder").split(":")[0]
    for person in demo.people.values():
        got = sum(m.content.startswith(reminder) for m in sim.dms(person.id))
        expected = 1 if person.id in seen.answered else 0
        if got != expected:
            demo.fail(f"{person.name} got {got} reminders, expected {expected}")
    if seen.event_id is not None:
        status = sim.scheduled_event(script.world.guild_id, seen.event_id).status
        if status not in (2, 3):  # active, completed
            demo.fail(f"the Discord event did not become active (status {status})")
    card = sim.state.messages.get(seen.card_id or 0)
    if card is None or card.components:
        demo.fail("the sign-up card was not closed when the brew started")


__all__ = ["Scheduled", "ScheduledStart", "check_scheduled", "plan_and_start"]
