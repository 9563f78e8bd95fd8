"""The simulated people of ``brewhost demo``: who they are, what they do and what they write.

Everything here is decided up front from the seed (never from timings), so two runs with the same
``--seed`` cast the same people in the same parts with the same words. The sentences are written
for the demo in the spirit of co-production conversations; they are not quotes from anyone.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bot.core.reflections import parse_consent

if TYPE_CHECKING:
    from discordsim import Member, Message

NAMES = (
    "Aisha",
    "Ben",
    "Chloe",
    "Dev",
    "Ewa",
    "Femi",
    "Grace",
    "Hamid",
    "Isla",
    "Jon",
    "Kemi",
    "Liam",
    "Mei",
    "Nadia",
    "Owen",
    "Priya",
    "Rosa",
    "Sam",
    "Tariq",
    "Una",
    "Vik",
    "Wendy",
    "Yusuf",
    "Zara",
)

#: What people taking part by text type in their room when it is their turn.
TYPED_TURNS = (
    "For me what's missing is feedback. We share our stories and then hear nothing back.",
    "Time. Good co-production can't be squeezed into one meeting at the end.",
    "Carers' voices. We hold a lot of it together but we are rarely asked.",
    "Trust. People need to feel safe enough to say what they really think.",
    "Different faces. It is often the same few of us in every group.",
    "Plain words. Half the papers we get are full of jargon.",
)

#: What people taking part by text type while the room reflects together.
TYPED_REFLECTIONS = (
    "Thank you all. I recognise a lot of what was said about time.",
    "Same here. It helps to know I'm not the only one who feels that.",
    "I'm glad we didn't try to solve it straight away.",
    "I liked hearing how different it looks from each side.",
)

#: Reflection answers, by the question keys of the shipped content.
ANSWERS: dict[str, tuple[str, ...]] = {
    "missing": (
        "People who use services in the room from the very start, not invited in at the end.",
        "Real time to build trust before anyone asks for our views.",
        "Carers, because meetings are set when we are at our busiest.",
        "Paying people properly for their time and their expertise.",
        "Plain language. I switch off when the acronyms start.",
        "Young people moving from children's services to adult services.",
        "Hearing back about what changed after we shared our stories.",
        "People from communities we call seldom heard, when really we have not listened.",
        "Venues and online options that work for everyone, so nobody is left out.",
        "Honesty about what can change and what cannot.",
    ),
    "lasting": (
        "Being listened to without anyone trying to fix it felt rare and good.",
        "We want the same things; we just come at them from different places.",
        "Small conversations like this one are where trust starts.",
        "I came in sceptical and I am leaving a little more hopeful.",
        "Lived experience is expertise, and we should treat it that way.",
        "It was good to disagree kindly and still feel part of the group.",
        "I heard things today that I will take back to my team.",
        "Co-production is a habit, not a project.",
    ),
    "next": (
        "Meet again in three months and check what actually changed.",
        "Invite a commissioner to the next brew to listen, not to present.",
        "Start the next piece of work with a blank sheet and the people it is for.",
        "Set aside a small budget so people can be paid for taking part.",
        "Share these reflections with the board, in our own words.",
        "Run a brew in the evening for carers who work during the day.",
        "Ask staff and people with lived experience to co-chair meetings together.",
        "Write a simple welcome guide for people new to the network.",
    ),
    "feedback": (
        "Warm and well paced.",
        "Good to talk to people I had not met before.",
        "The timer made it feel fair for everyone.",
        "Short, but it gave me plenty to think about.",
        "Friendly. I would come again.",
        "Relaxed, with a good mix of people.",
        "I liked that nobody was rushed.",
        "Easier to join than I expected.",
    ),
}

CONSENT_YES = ("yes", "Yes please", "ok")
CONSENT_NO = ("", "no thanks")

#: What the facilitator and the person who asked for help say in the room.
FACILITATOR_HELLO = "Hello, {facilitator} here. I saw the call for help. What would help?"
HELPED_REPLY = "Thanks {facilitator}. I wasn't sure whether to start talking yet. All good now."


@dataclass(frozen=True)
class Part:
    """One simulated person and everything they will do in the demo.

    Durations are in brew seconds (the demo divides them by the speed).
    """

    name: str
    text_only: bool = False
    passes: bool = False
    asks_for_help: bool = False
    more_time: bool = False
    #: How long they talk before pressing "I'm done" (a turn is 120 s by default).
    speak: int = 60
    #: Typed on their turn (text-only people) and while reflecting together.
    typed_turn: str | None = None
    typed_reflection: str | None = None
    #: "button" (at Close), "command" (/reflect after the brew) or "none".
    reflects: str = "button"
    reflect_after: int = 10
    answers: dict[str, str] = field(default_factory=dict)
    consent: str = ""

    @property
    def quotable(self) -> bool:
        return self.reflects != "none" and parse_consent(self.consent)


class _Pool:
    """Draw sentences without repeats until the pool runs out, then start a fresh shuffle."""

    def __init__(self, items: tuple[str, ...], rng: random.Random) -> None:
        self.items = items
        self.rng = rng
        self.left: list[str] = []

    def draw(self) -> str:
        if not self.left:
            self.left = list(self.items)
            self.rng.shuffle(self.left)
        return self.left.pop()


def name_for(index: int) -> str:
    return NAMES[index] if index < len(NAMES) else f"Guest {index + 1}"


def cast(people: int, text_only: int, seed: int) -> list[Part]:
    """``people`` parts (``text_only`` of them by text), decided by ``seed`` alone."""
    if people < 2:
        raise ValueError("a brew needs at least two people")
    if not 0 <= text_only <= people:
        raise ValueError("text_only must be between 0 and the number of people")
    rng = random.Random(seed)
    indexes = list(range(people))
    by_text = set(rng.sample(indexes, text_only))
    passer = rng.choice(indexes)
    extender = rng.choice([i for i in indexes if i != passer])
    others = [i for i in indexes if i not in (passer, extender)]
    helper = rng.choice(others or indexes)

    # Reflections: nearly everyone by the button; one later with /reflect; one not at all.
    reflects = ["button"] * people
    order = list(indexes)
    rng.shuffle(order)
    if people >= 3:
        reflects[order[0]] = "command"
    if people >= 4:
        reflects[order[1]] = "none"
    reflectors = [i for i in indexes if reflects[i] != "none"]
    consent_yes = {i for i in reflectors if rng.random() < 0.6}
    if len(reflectors) >= 2:  # at least one quote and one private reflection to show both
        if not consent_yes:
            consent_yes.add(reflectors[0])
        if consent_yes == set(reflectors):
            consent_yes.discard(reflectors[-1])

    pools = {key: _Pool(items, rng) for key, items in ANSWERS.items()}
    typed_turns = _Pool(TYPED_TURNS, rng)
    typed_reflections = _Pool(TYPED_REFLECTIONS, rng)
    parts = []
    for i in indexes:
        keys = sorted(rng.sample(sorted(ANSWERS), rng.randint(2, 3)))
        answers = {key: pools[key].draw() for key in keys} if reflects[i] != "none" else {}
        consent = rng.choice(CONSENT_YES) if i in consent_yes else rng.choice(CONSENT_NO)
        parts.append(
            Part(
                name=name_for(i),
                text_only=i in by_text,
                passes=i == passer,
                asks_for_help=i == helper,
                more_time=i == extender,
                speak=rng.randint(40, 105),
                typed_turn=typed_turns.draw() if i in by_text else None,
                typed_reflection=typed_reflections.draw() if i in by_text else None,
                reflects=reflects[i],
                reflect_after=rng.randint(4, 20),
                answers=answers,
                consent=consent if reflects[i] != "none" else "",
            )
        )
    return parts


# ------------------------------------------------------------------ during a run
@dataclass
class Person:
    """A part and the simulated member who plays it."""

    part: Part
    member: Member

    @property
    def id(self) -> int:
        return self.member.id

    @property
    def name(self) -> str:
        return self.part.name


@dataclass
class RoomLog:
    """What one room's text channel showed, in order (bot posts only)."""

    channel_id: int
    name: str
    members: list[int] = field(default_factory=list)
    posts: list[Message] = field(default_factory=list)


@dataclass
class Stats:
    """What the people got done, for the checks and the summary."""

    reflections_saved: int = 0
    reflections_expected: int = 0
    files: list[Path] = field(default_factory=list)
    brew_number: int | None = None
