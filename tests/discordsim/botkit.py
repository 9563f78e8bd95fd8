"""A minimal discord.py bot used to exercise the simulator.

It deliberately does not import the project's bot shell (written concurrently): it only needs a
``brew`` command group with options, a persistent button view, a modal, a deferred response with
a file, autocomplete and a slow command, which covers every interaction path discord.py has.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass, field
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from discordsim import DiscordSimulator


class JoinView(discord.ui.View):
    """Persistent view: fixed custom_id, no timeout, registered with ``bot.add_view``."""

    def __init__(self, bot: BrewTestBot) -> None:
        super().__init__(timeout=None)
        self.bot = bot

    @discord.ui.button(label="Join", style=discord.ButtonStyle.primary, custom_id="brew:join")
    async def join(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        self.bot.clicks.append(interaction.user.id)
        await interaction.response.edit_message(content=f"{interaction.user.display_name} joined")

    @discord.ui.button(label="Feedback", style=discord.ButtonStyle.secondary, custom_id="brew:fb")
    async def feedback(
        self, interaction: discord.Interaction, button: discord.ui.Button[Any]
    ) -> None:
        await interaction.response.send_modal(FeedbackModal(self.bot))


class FeedbackModal(discord.ui.Modal, title="How was your brew?"):
    feeling = discord.ui.TextInput(label="One word", custom_id="fb:word", max_length=20)
    notes = discord.ui.TextInput(
        label="Anything else?",
        custom_id="fb:notes",
        style=discord.TextStyle.paragraph,
        required=False,
        max_length=4000,
    )

    def __init__(self, bot: BrewTestBot) -> None:
        super().__init__(custom_id="brew:feedback")
        self.bot = bot

    async def on_submit(self, interaction: discord.Interaction) -> None:
        self.bot.feedback.append((self.feeling.value, self.notes.value))
        await interaction.response.send_message(f"Thanks: {self.feeling.value}", ephemeral=True)


class BadModal(discord.ui.Modal):
    """A modal whose title breaks Discord's 45-character limit."""

    answer = discord.ui.TextInput(label="Answer", custom_id="bad:answer")

    def __init__(self) -> None:
        super().__init__(title="T" * 46, custom_id="brew:bad")


class RoomRow(discord.ui.ActionRow["PanelView"]):
    @discord.ui.select(
        custom_id="panel:room",
        placeholder="Pick a room",
        options=[
            discord.SelectOption(label="Room 1", value="r1"),
            discord.SelectOption(label="Room 2", value="r2"),
        ],
    )
    async def room(self, interaction: discord.Interaction, select: discord.ui.Select[Any]) -> None:
        assert self.view is not None
        self.view.bot.picks.append(select.values[0])
        await interaction.response.send_message(f"You picked {select.values[0]}", ephemeral=True)


class ButtonRow(discord.ui.ActionRow["PanelView"]):
    @discord.ui.button(label="Refresh", custom_id="panel:refresh")
    async def refresh(
        self, interaction: discord.Interaction, button: discord.ui.Button[Any]
    ) -> None:
        # Type 6 (DEFERRED_UPDATE_MESSAGE), then edit the message the button is on.
        await interaction.response.defer()
        original = await interaction.original_response()
        assert self.view is not None
        self.view.bot.refreshed.append(original.id)
        self.view.status.content = "Refreshed"
        await interaction.edit_original_response(view=self.view)


class PanelView(discord.ui.LayoutView):
    """A Components V2 layout: text display plus two action rows."""

    def __init__(self, bot: BrewTestBot) -> None:
        super().__init__(timeout=None)
        self.bot = bot
        self.status = discord.ui.TextDisplay("Pick a room")
        self.add_item(self.status)
        self.add_item(RoomRow())
        self.add_item(ButtonRow())


brew = app_commands.Group(name="brew", description="Over A Brew sessions")
admin = app_commands.Group(name="admin", description="Organiser tools", parent=brew)


@brew.command(name="open", description="Open a brew")
@app_commands.describe(question="The question for the groups", group_size="People per group")
async def brew_open(
    interaction: discord.Interaction,
    question: str,
    group_size: app_commands.Range[int, 2, 8] = 4,
    facilitator: discord.Member | None = None,
    lounge: discord.VoiceChannel | None = None,
    ratio: float = 1.0,
    private: bool = False,
) -> None:
    bot = interaction.client
    assert isinstance(bot, BrewTestBot)
    bot.invocations.append(
        {
            "question": question,
            "group_size": group_size,
            "facilitator": facilitator,
            "lounge": lounge,
            "ratio": ratio,
            "user": interaction.user,
            "app_permissions": interaction.app_permissions,
        }
    )
    parts = [f"Question: {question}", f"Groups of {group_size}"]
    if facilitator is not None:
        parts.append(f"Facilitator: {facilitator.display_name}")
    if lounge is not None:
        parts.append(f"Lounge: {lounge.name}")
    if private:
        # No view here: discord.py gives views on ephemeral messages a 15-minute timeout task
        # that bot.close() does not stop, which would leak a task from the test.
        await interaction.response.send_message("\n".join(parts), ephemeral=True)
    else:
        await interaction.response.send_message("\n".join(parts), view=JoinView(bot))


@brew_open.autocomplete("question")
async def question_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    options = ["What surprised you?", "What are you grateful for?", "What will you try?"]
    return [app_commands.Choice(name=o, value=o) for o in options if current.lower() in o.lower()]


@brew.command(name="panel", description="Post the room panel")
async def brew_panel(interaction: discord.Interaction) -> None:
    bot = interaction.client
    assert isinstance(bot, BrewTestBot)
    await interaction.response.send_message(view=PanelView(bot))


@brew.command(name="report", description="Post a report file")
async def brew_report(interaction: discord.Interaction, rows: int = 3) -> None:
    await interaction.response.defer(thinking=True)
    data = "\n".join(f"row {i}" for i in range(rows)).encode()
    await interaction.followup.send(
        "Here is the report", file=discord.File(io.BytesIO(data), "report.csv")
    )
    await interaction.followup.send("And a second message")


@brew.command(name="feedback", description="Leave feedback")
async def brew_feedback(interaction: discord.Interaction) -> None:
    bot = interaction.client
    assert isinstance(bot, BrewTestBot)
    await interaction.response.send_modal(FeedbackModal(bot))


@brew.command(name="badmodal", description="Send an invalid modal")
async def brew_badmodal(interaction: discord.Interaction) -> None:
    bot = interaction.client
    assert isinstance(bot, BrewTestBot)
    try:
        await interaction.response.send_modal(BadModal())
    except discord.HTTPException as exc:
        bot.errors.append(exc)
        await interaction.response.send_message("modal rejected", ephemeral=True)


@brew.command(name="slow", description="Answer only when released")
async def brew_slow(interaction: discord.Interaction) -> None:
    bot = interaction.client
    assert isinstance(bot, BrewTestBot)
    await bot.release.wait()
    try:
        await interaction.response.send_message("finally")
    except discord.HTTPException as exc:
        bot.errors.append(exc)


@admin.command(name="ping", description="Nested subcommand group")
async def admin_ping(interaction: discord.Interaction, role: discord.Role | None = None) -> None:
    await interaction.response.send_message(f"pong {role.name if role else ''}".strip())


@app_commands.context_menu(name="Invite to brew")
async def invite_menu(interaction: discord.Interaction, member: discord.Member) -> None:
    await interaction.response.send_message(f"Invited {member.display_name}", ephemeral=True)


@dataclass
class Seen:
    messages: list[discord.Message] = field(default_factory=list)
    resumed: int = 0


class BrewTestBot(commands.Bot):
    """Default intents, no pings: what Brew Host runs with."""

    def __init__(self, **kwargs: Any) -> None:
        intents = kwargs.pop("intents", discord.Intents.default())
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            allowed_mentions=discord.AllowedMentions.none(),
            guild_ready_timeout=0.05,
            **kwargs,
        )
        self.invocations: list[dict[str, Any]] = []
        self.clicks: list[int] = []
        self.feedback: list[tuple[str, str]] = []
        self.picks: list[str] = []
        self.refreshed: list[int] = []
        self.errors: list[Exception] = []
        self.seen = Seen()
        self.release = asyncio.Event()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        # discord.py sleeps 5 s before every non-initial IDENTIFY (Discord's identify limit);
        # the simulator has no such limit, so tests skip the wait.
        return None

    async def setup_hook(self) -> None:
        self.tree.add_command(brew)
        self.tree.add_command(invite_menu)
        self.add_view(JoinView(self))

    async def on_message(self, message: discord.Message) -> None:
        self.seen.messages.append(message)

    async def on_resumed(self) -> None:
        self.seen.resumed += 1


class RunningBot:
    """A started bot plus the task running it; ``stop()`` closes it and awaits the task."""

    def __init__(self, bot: BrewTestBot, task: asyncio.Task[None]) -> None:
        self.bot = bot
        self.task = task

    async def stop(self) -> None:
        if not self.bot.is_closed():
            await self.bot.close()
        try:
            await asyncio.wait_for(self.task, 5)
        except (discord.DiscordException, OSError):
            pass


async def start_bot(
    sim: DiscordSimulator, bot: BrewTestBot | None = None, *, sync: bool = True
) -> RunningBot:
    """Start ``bot`` against ``sim`` and wait for on_ready (and a global command sync)."""
    bot = bot or BrewTestBot()
    task = asyncio.create_task(bot.start(sim.bot_token), name="test-bot")
    running = RunningBot(bot, task)
    try:
        await sim.wait_for(lambda: bot.is_ready() or task.done(), 5, message="bot not ready")
        if task.done():
            task.result()  # re-raise the start-up failure
            raise RuntimeError("bot stopped during start-up")
        if sync:
            await bot.tree.sync()
    except BaseException:
        await running.stop()
        raise
    return running
