"""What the shell's lower modules may ask of the runner and the bot, without importing them.

The room buttons, the room opener and the sign-up card use the runner and the bot through these
protocols rather than importing :mod:`bot.shell.runner` or :mod:`bot.shell.app` (which import
them in turn): the shell has no import cycles, and ``tests/test_no_import_cycles.py`` keeps it
that way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Config
from bot.core.phases import Event, RoomState, Timing
from bot.db.models import Brew, Room
from bot.services import Services

#: How a room changes: ``(state, timing, now, present) -> (new state, events)``.
Change = Callable[[RoomState, Timing, float, Callable[[str], bool]], tuple[RoomState, list[Event]]]


class RoomControls(Protocol):
    """What buttons and the room opener ask of the runner (:class:`bot.shell.runner.BrewRunner`)."""

    async def change_room(
        self, room_id: int, change: Change, *, respect_pause: bool = True
    ) -> list[Event]: ...

    async def start_room(self, room_id: int, largest_group: int) -> None: ...

    def queue_guide(self, session: AsyncSession, room: Room, text: str) -> None: ...

    async def maybe_finish_brew(self, brew_id: int) -> None: ...

    async def tell_facilitators(
        self, brew: Brew, text: str, *, ping: bool = False, ping_users: Sequence[int] = ()
    ) -> None: ...


class Host(Protocol):
    """What shell modules use of the bot (:class:`bot.shell.app.BrewBot`)."""

    @property
    def services(self) -> Services: ...

    @property
    def config(self) -> Config: ...

    @property
    def runner(self) -> RoomControls | None: ...
