"""What ``brewhost demo`` prints: timestamped lines, and messages as a person would read them.

Discord shows ``<@id>`` as a name, ``<#id>`` as a channel, ``<t:unix:R>`` as "in 2 minutes" and
``**bold**`` as bold; the transcript does the same in plain words, so it reads well in a
terminal and to a screen reader.
"""

from __future__ import annotations

import logging
import re
import textwrap
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from discordsim import DiscordSimulator

WIDTH = 100
PLACE_WIDTH = 12

MENTION = re.compile(r"<@!?(\d+)>")
ROLE = re.compile(r"<@&(\d+)>")
CHANNEL = re.compile(r"<#(\d+)>")
STAMP = re.compile(r"<t:(-?\d+)(?::([tTdDfFR]))?>")
BOLD = re.compile(r"\*\*(.+?)\*\*")


class Transcript:
    """Timestamped, wrapped lines: ``[mm:ss.s] place        text``."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.started = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def stamp(self) -> str:
        tenths = int(self.elapsed() * 10)
        return f"[{tenths // 600:02d}:{tenths % 600 // 10:02d}.{tenths % 10}]"

    def say(self, place: str, text: str) -> None:
        prefix = f"{self.stamp()} {place:<{PLACE_WIDTH}} "
        indent = " " * len(prefix)
        out: list[str] = []
        for i, paragraph in enumerate(text.split("\n")):
            wrapped = textwrap.wrap(
                paragraph,
                WIDTH - len(prefix),
                break_long_words=False,
                break_on_hyphens=False,
            ) or [""]
            for j, line in enumerate(wrapped):
                out.append((prefix if i == 0 and j == 0 else indent) + line)
        self.emit("\n".join(line.rstrip() for line in out))

    def plain(self, text: str = "") -> None:
        self.emit(text)

    def emit(self, text: str) -> None:
        print(text, file=self.stream, flush=True)


class ErrorLog(logging.Handler):
    """Keeps every ERROR record (from the bot, discord.py, the scheduler or the simulator) and
    shows warnings from the bot itself in the transcript."""

    def __init__(self, transcript: Transcript) -> None:
        super().__init__(logging.WARNING)
        self.transcript = transcript
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage().split("\n")[0]
        except Exception:  # a broken log call must not break the demo
            message = str(record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            message += f" ({type(exc).__name__}: {exc})"
        if record.levelno >= logging.ERROR:
            self.errors.append(f"{record.name}: {message}")
            self.transcript.say("log", f"ERROR {record.name}: {message}")
        elif record.name.startswith(("bot", "cogs")):
            self.transcript.say("log", f"warning {record.name}: {message}")


@dataclass
class Names:
    """Who and what the ids in the simulated server are, to print them in words."""

    sim: DiscordSimulator
    speed: float
    #: Users and roles by id.
    people: dict[int, str] = field(default_factory=dict)
    channels: dict[int, str] = field(default_factory=dict)
    #: When the brew's clock and the real clock agreed (the demo's start).
    epoch: float = field(default_factory=time.time)

    def place(self, channel_id: int) -> str:
        """``#text-channel``, a voice channel's name, or ``DM Fran`` for a direct message."""
        name = self.channels.get(channel_id)
        channel = self.sim.state.channels.get(channel_id)
        if name is not None:
            return name if channel is not None and channel.is_voice else f"#{name}"
        if channel is not None and channel.recipient_id is not None:
            return f"DM {self.people.get(channel.recipient_id, '?').split(' ')[0]}"
        return str(channel_id)

    def option(self, value: Any) -> str:
        """A slash command option as typed: ``@Facilitators``, ``Lounge`` or the value."""
        if isinstance(value, int) and value in self.people:
            return f"@{self.people[value]}"
        if isinstance(value, int) and value in self.channels:
            return self.channels[value]
        return str(value)

    def render(self, text: str, at: float) -> str:
        """Message text as a person would see it: names, channel names and times in words."""
        text = MENTION.sub(lambda m: self.people.get(int(m.group(1)), "someone"), text)
        text = ROLE.sub(lambda m: "@" + self.people.get(int(m.group(1)), "role"), text)
        text = CHANNEL.sub(
            lambda m: "#" + self.channels.get(int(m.group(1)), "deleted-channel"), text
        )
        text = STAMP.sub(lambda m: self._stamp(int(m.group(1)), m.group(2) or "f", at), text)
        return BOLD.sub(r"\1", text)

    def _stamp(self, unix: int, style: str, at: float) -> str:
        # Discord timestamps are whole real seconds; +0.5 is the best guess at the moment meant.
        real = unix + 0.5
        if style == "R":
            return relative((real - at) * self.speed)
        brew_time = datetime.fromtimestamp(self.epoch + (real - self.epoch) * self.speed)
        if style in ("t", "T"):
            return brew_time.strftime("%H:%M")
        # Dates (the reflection window) are real days, not brew time.
        when = datetime.fromtimestamp(unix)
        return f"{when.day} {when:%B %Y} at {when:%H:%M}"


def heading(text: str) -> str:
    """The bold first line of a bot post (a phase's name), or ""."""
    first = text.split("\n", 1)[0]
    found = BOLD.fullmatch(first)
    return found.group(1) if found else ""


def names_in_words(names: list[str]) -> str:
    """``Ann``, ``Ann and Ben``, ``Ann, Ben and Cy``."""
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def size(n: int) -> str:
    return f"{n} bytes" if n < 1024 else f"{n / 1024:.1f} kB"


def relative(seconds: float) -> str:
    """A duration in brew seconds as Discord words it: "in 2 minutes", "5 minutes ago"."""
    minutes = round(abs(seconds) / 60)
    if minutes == 0:
        return "in a few seconds" if seconds >= 0 else "a few seconds ago"
    if minutes >= 90:
        hours = round(minutes / 60)
        words = "an hour" if hours == 1 else f"{hours} hours"
    else:
        words = "a minute" if minutes == 1 else f"{minutes} minutes"
    return f"in {words}" if seconds >= 0 else f"{words} ago"
