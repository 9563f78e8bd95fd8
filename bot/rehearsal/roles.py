"""What the demo's parts see of one run, as protocols, so the script, the watcher and the checks
do not import :mod:`bot.rehearsal.demo` (which imports them): no import cycle, even one hidden
behind ``TYPE_CHECKING`` (``tests/test_no_import_cycles.py``). :class:`bot.rehearsal.demo.Demo`
is the one implementation."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from bot.rehearsal.people import Person, RoomLog, Stats
from bot.rehearsal.stage import Stage
from bot.rehearsal.transcript import ErrorLog, Names, Transcript

if TYPE_CHECKING:
    from bot.core.content import Content
    from discordsim import Channel, Message


class Watching(Protocol):
    """What the script and the checks ask of the watcher."""

    channels: dict[int, Channel]
    hall_posts: list[Message]

    def expect_voice(self, user_id: int, channel_id: int | None) -> None: ...

    def open_rooms(self) -> list[int]: ...


class Scripted(Protocol):
    """What the watcher tells the script."""

    def on_room_post(self, room: RoomLog, message: Message) -> None: ...

    def on_hall_post(self, message: Message) -> None: ...


class Run(Protocol):
    """One run of the demo: what the people, the watcher and the checks share."""

    args: argparse.Namespace
    speed: float
    out: Path
    transcript: Transcript
    errors: ErrorLog
    failures: list[str]
    stats: Stats
    rooms: dict[int, RoomLog]
    people: dict[int, Person]
    reflected: set[int]
    stage: Stage
    names: Names
    content: Content

    @property
    def script(self) -> Scripted: ...

    @property
    def watch(self) -> Watching: ...

    def fail(self, reason: str) -> None: ...
