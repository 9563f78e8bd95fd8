"""``/brew``: the facilitator's and organisers' commands, as one cog and one slash group.

Thin: each part checks who is asking, translates options into calls to ``bot.shell`` and
``bot.db``, and says what happened in plain words. The parts, in the order their commands
appear: running a brew (:mod:`cogs.brew_running`), controlling it (:mod:`cogs.brew_controls`),
planning brews ahead (:mod:`cogs.brew_schedule`), settings and organisers' tools
(:mod:`cogs.brew_admin`); shared pieces in :mod:`cogs.brew_base`.
"""

from __future__ import annotations

from bot.shell.app import BrewBot

from cogs.brew_running import RunningCommands  # isort: skip - command order follows imports
from cogs.brew_controls import ControlCommands  # isort: skip
from cogs.brew_schedule import ScheduleCommands  # isort: skip
from cogs.brew_admin import AdminCommands  # isort: skip


class BrewCog(RunningCommands, ControlCommands, ScheduleCommands, AdminCommands):
    def __init__(self, bot: BrewBot) -> None:
        self.bot = bot


async def setup(bot: BrewBot) -> None:
    await bot.add_cog(BrewCog(bot))
