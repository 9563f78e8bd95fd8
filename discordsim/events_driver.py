"""Driver helpers for guild scheduled events (mixed into :class:`~discordsim.DiscordSimulator`).

Simulated people press "Interested" (or take it back) in the server's Events list, and tests
play Discord's own status automation; the bot's side goes through the REST routes in
:mod:`.events_rest`::

    sim.scheduled_events(guild_id) -> [ScheduledEvent]; sim.scheduled_event(guild_id, event_id)
    await sim.press_interested(guild_id, event_id, user_id)      # GUILD_SCHEDULED_EVENT_USER_ADD
    await sim.remove_interested(guild_id, event_id, user_id)     # ..._USER_REMOVE
    await sim.set_scheduled_event_status(guild_id, event_id, status)
    sim.set_wall_clock(lambda: datetime)   # what "in the future" means for new events
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Callable
from typing import TYPE_CHECKING

from .errors import ApiError, SimulatorError
from .events import ScheduledEvent

if TYPE_CHECKING:
    from .state import SimState


class ScheduledEventDriver:
    state: SimState

    def scheduled_events(self, guild_id: int) -> list[ScheduledEvent]:
        """Every scheduled event of the guild (whatever the bot can see)."""
        return self.state.guild_scheduled_events(guild_id)

    def scheduled_event(self, guild_id: int, event_id: int) -> ScheduledEvent:
        return self.state.scheduled_event(guild_id, event_id)

    async def press_interested(self, guild_id: int, event_id: int, user_id: int) -> None:
        """The member presses "Interested" on the event (they must be able to see it)."""
        try:
            self.state.subscribe(guild_id, event_id, user_id)
        except ApiError as exc:
            raise SimulatorError(f"Discord would reject this: {exc}") from exc
        await asyncio.sleep(0)

    async def remove_interested(self, guild_id: int, event_id: int, user_id: int) -> None:
        """The member takes back "Interested"."""
        self.state.unsubscribe(guild_id, event_id, user_id)
        await asyncio.sleep(0)

    async def set_scheduled_event_status(self, guild_id: int, event_id: int, status: int) -> None:
        """Move the status as Discord's automation or a moderator in the client would."""
        try:
            self.state.set_scheduled_event_status(guild_id, event_id, status)
        except ApiError as exc:
            raise SimulatorError(f"Discord would reject this: {exc}") from exc
        await asyncio.sleep(0)

    def set_wall_clock(self, clock: Callable[[], datetime.datetime] | None) -> None:
        """The wall clock for "scheduled_start_time must be in the future" (None: real time)."""
        self.state.set_wall_clock(clock)
