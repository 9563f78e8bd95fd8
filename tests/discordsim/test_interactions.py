"""Interactions end to end: commands, components, modals, deferrals, deadlines."""

from __future__ import annotations

import asyncio

import discord
import pytest

from discordsim import DiscordSimulator, InteractionLate, SimulatorError

from .botkit import RunningBot, start_bot
from .conftest import World, build_world


async def test_command_sync_is_stored(
    sim: DiscordSimulator, world: World, running: RunningBot
) -> None:
    async with asyncio.timeout(10):
        names = {c["name"] for c in sim.commands()}
        assert names == {"brew", "Invite to brew"}
        brew = next(c for c in sim.commands() if c["name"] == "brew")
        subs = {o["name"]: o for o in brew["options"]}
        assert {"open", "report", "feedback", "slow", "admin", "badmodal"} <= set(subs)
        assert subs["admin"]["type"] == 2  # subcommand group
        opts = {o["name"]: o for o in subs["open"]["options"]}
        assert opts["question"]["required"] is True
        assert opts["group_size"]["min_value"] == 2 and opts["group_size"]["max_value"] == 8
        # Re-syncing keeps command ids (bulk overwrite semantics).
        first_id = brew["id"]
        await running.bot.tree.sync()
        assert next(c for c in sim.commands() if c["name"] == "brew")["id"] == first_id
        # Guild commands are stored separately.
        guild = discord.Object(world.guild.id)
        running.bot.tree.copy_global_to(guild=guild)
        await running.bot.tree.sync(guild=guild)
        assert {c["name"] for c in sim.commands(world.guild.id)} == names
        fetched = await running.bot.tree.fetch_commands()
        assert {c.name for c in fetched} == names


async def test_slash_command_round_trip(
    sim: DiscordSimulator, world: World, running: RunningBot
) -> None:
    async with asyncio.timeout(10):
        rec = await sim.invoke_command(
            world.guild.id,
            world.general.id,
            world.alice.id,
            "brew open",
            question="What surprised you?",
            group_size=3,
            facilitator=world.bob,
            lounge=world.lounge.id,
            ratio=0.5,
        )
        resp = await rec.wait_response()
        assert resp.type == 4 and not resp.ephemeral
        assert rec.latency is not None and rec.latency < 3
        msg = rec.original_message
        assert msg is not None
        assert msg.content.splitlines() == [
            "Question: What surprised you?",
            "Groups of 3",
            "Facilitator: Bob",
            "Lounge: Lounge",
        ]
        assert msg.custom_ids() == ["brew:join", "brew:fb"]
        assert msg.author_id == sim.bot_id and msg.interaction_id == rec.id
        assert msg.allowed_mentions == {"parse": []}  # AllowedMentions.none()
        assert sim.messages(world.general.id) == [msg]
        call = running.bot.invocations[0]
        assert isinstance(call["facilitator"], discord.Member)
        assert call["facilitator"].id == world.bob.id
        assert call["lounge"].id == world.lounge.id and call["ratio"] == 0.5
        assert call["user"].id == world.alice.id
        assert call["app_permissions"].manage_channels
        # The bot's cache sees the response message too (MESSAGE_CREATE).
        await sim.wait_for(lambda: any(m.id == msg.id for m in running.bot.seen.messages))


async def test_ephemeral_response(sim: DiscordSimulator, world: World, running: RunningBot) -> None:
    async with asyncio.timeout(10):
        rec = await sim.invoke_command(
            world.guild.id,
            world.general.id,
            world.alice.id,
            "brew open",
            question="Q",
            private=True,
        )
        resp = await rec.wait_response()
        assert resp.ephemeral
        msg = rec.original_message
        assert msg is not None and msg.ephemeral and msg.visible_to == world.alice.id
        assert sim.messages(world.general.id, include_ephemeral=False) == []
        channel = running.bot.get_channel(world.general.id)
        assert isinstance(channel, discord.TextChannel)
        assert [m async for m in channel.history()] == []  # not fetchable by the bot
        assert msg.components == []


async def test_command_errors_are_clear(
    sim: DiscordSimulator, world: World, running: RunningBot
) -> None:
    async with asyncio.timeout(10):
        with pytest.raises(SimulatorError, match="not registered"):
            await sim.invoke_command(world.guild.id, world.general.id, world.alice.id, "nope")
        with pytest.raises(SimulatorError, match="no option"):
            await sim.invoke_command(
                world.guild.id, world.general.id, world.alice.id, "brew open", question="q", size=3
            )
        with pytest.raises(SimulatorError, match="required option 'question'"):
            await sim.invoke_command(world.guild.id, world.general.id, world.alice.id, "brew open")
        with pytest.raises(SimulatorError, match="above max_value"):
            await sim.invoke_command(
                world.guild.id,
                world.general.id,
                world.alice.id,
                "brew open",
                question="q",
                group_size=9,
            )
        with pytest.raises(SimulatorError, match="is a group"):
            await sim.invoke_command(world.guild.id, world.general.id, world.alice.id, "brew admin")


async def test_subcommand_group_with_role_option(
    sim: DiscordSimulator, world: World, running: RunningBot
) -> None:
    async with asyncio.timeout(10):
        rec = await sim.invoke_command(
            world.guild.id,
            world.general.id,
            world.alice.id,
            "brew admin ping",
            role=world.facilitator,
        )
        assert (await rec.wait_response()).content == "pong Facilitator"
        data = rec.payload["data"]
        assert data["options"][0]["type"] == 2 and data["options"][0]["options"][0]["type"] == 1
        assert str(world.facilitator.id) in data["resolved"]["roles"]


async def test_context_menu(sim: DiscordSimulator, world: World, running: RunningBot) -> None:
    async with asyncio.timeout(10):
        rec = await sim.invoke_user_command(
            world.guild.id, world.general.id, world.alice.id, "Invite to brew", world.bob
        )
        resp = await rec.wait_response()
        assert resp.content == "Invited Bob" and resp.ephemeral


async def test_autocomplete(sim: DiscordSimulator, world: World, running: RunningBot) -> None:
    async with asyncio.timeout(10):
        choices = await sim.autocomplete(
            world.guild.id,
            world.general.id,
            world.alice.id,
            "brew open",
            "question",
            question="grate",
        )
        assert choices == [
            {"name": "What are you grateful for?", "value": "What are you grateful for?"}
        ]


async def test_defer_then_followup_with_attachment(
    sim: DiscordSimulator, world: World, running: RunningBot
) -> None:
    async with asyncio.timeout(10):
        rec = await sim.invoke_command(
            world.guild.id, world.general.id, world.alice.id, "brew report", rows=2
        )
        resp = await rec.wait_response()
        assert resp.type == 5
        await sim.wait_for(lambda: len(rec.followups) == 1)
        original = rec.original_message
        assert original is not None and not original.loading
        # The first followup resolved the "thinking" message; the second is a new message.
        assert original.content == "Here is the report"
        [attachment] = original.attachments
        assert attachment.filename == "report.csv" and attachment.data == b"row 0\nrow 1"
        assert rec.followups[0].content == "And a second message"
        assert [m.id for m in sim.messages(world.general.id)] == [original.id, rec.followups[0].id]
        # Attachment URLs are served, so bots can read them back.
        cached = await running.bot.get_channel(world.general.id).fetch_message(original.id)  # type: ignore[union-attr]
        assert await cached.attachments[0].read() == b"row 0\nrow 1"


async def test_button_click_reaches_persistent_view(
    sim: DiscordSimulator, world: World, running: RunningBot
) -> None:
    async with asyncio.timeout(10):
        rec = await sim.invoke_command(
            world.guild.id, world.general.id, world.alice.id, "brew open", question="Q"
        )
        await rec.wait_response()
        msg = rec.original_message
        assert msg is not None
        click = await sim.click_button(world.bob.id, world.general.id, msg.id, "brew:join")
        resp = await click.wait_response()
        assert resp.type == 7
        assert running.bot.clicks == [world.bob.id]
        assert sim.message(msg.id).content == "Bob joined"
        assert sim.message(msg.id).edited_at is not None
        assert click.payload["message"]["id"] == str(msg.id)
        with pytest.raises(SimulatorError, match="no component"):
            await sim.click_button(world.bob.id, world.general.id, msg.id, "brew:nope")


async def test_modal_round_trip(sim: DiscordSimulator, world: World, running: RunningBot) -> None:
    async with asyncio.timeout(10):
        rec = await sim.invoke_command(
            world.guild.id, world.general.id, world.alice.id, "brew feedback"
        )
        resp = await rec.wait_response()
        assert resp.type == 9 and rec.modal is not None
        assert rec.modal["title"] == "How was your brew?"
        submit = await sim.submit_modal(
            world.alice.id, rec, {"fb:word": "warm", "fb:notes": "lovely group"}
        )
        answer = await submit.wait_response()
        assert answer.content == "Thanks: warm" and answer.ephemeral
        assert running.bot.feedback == [("warm", "lovely group")]
        thanks = submit.original_message
        assert thanks is not None and thanks.visible_to == world.alice.id
        with pytest.raises(SimulatorError, match="ephemeral"):
            await sim.click_button(world.bob.id, world.general.id, thanks.id, "anything")
        with pytest.raises(SimulatorError, match="required"):
            await sim.submit_modal(world.alice.id, rec, {"fb:notes": "no word"})
        with pytest.raises(SimulatorError, match="at most 20"):
            await sim.submit_modal(world.alice.id, rec, {"fb:word": "x" * 21})


async def test_modal_from_button(sim: DiscordSimulator, world: World, running: RunningBot) -> None:
    async with asyncio.timeout(10):
        rec = await sim.invoke_command(
            world.guild.id, world.general.id, world.alice.id, "brew open", question="Q"
        )
        await rec.wait_response()
        assert rec.original_message is not None
        click = await sim.click_button(
            world.carol.id, world.general.id, rec.original_message.id, "brew:fb"
        )
        assert (await click.wait_response()).type == 9
        submit = await sim.submit_modal(world.carol.id, click, {"fb:word": "calm"})
        await submit.wait_response()
        assert running.bot.feedback == [("calm", "")]
        assert submit.payload["message"]["id"] == str(rec.original_message.id)


async def test_invalid_modal_is_rejected(
    sim: DiscordSimulator, world: World, running: RunningBot
) -> None:
    async with asyncio.timeout(10):
        rec = await sim.invoke_command(
            world.guild.id, world.general.id, world.alice.id, "brew badmodal"
        )
        await sim.wait_for(lambda: running.bot.errors)
        [error] = running.bot.errors
        assert isinstance(error, discord.HTTPException)
        assert error.code == 50035 and "title" in error.text
        # The rejected modal did not count as a response; the fallback message did.
        assert (await rec.wait_response()).content == "modal rejected"


async def test_late_response_is_recorded(
    sim: DiscordSimulator, world: World, running: RunningBot
) -> None:
    async with asyncio.timeout(10):
        rec = await sim.invoke_command(
            world.guild.id, world.general.id, world.alice.id, "brew slow"
        )
        await asyncio.sleep(0.05)
        sim.advance_time(3.5)  # the bot is now past Discord's 3-second deadline
        assert rec.failed
        running.bot.release.set()
        with pytest.raises(InteractionLate):
            await rec.wait_response()
        late = await rec.wait_response(allow_late=True)
        assert late.late and late.latency > 3
        assert sim.late_interactions == [rec]
        await sim.wait_for(lambda: running.bot.errors)
        [error] = running.bot.errors
        assert isinstance(error, discord.NotFound) and error.code == 10062
        assert sim.messages(world.general.id) == []


async def test_followup_token_expires_after_15_minutes(
    sim: DiscordSimulator, world: World, running: RunningBot
) -> None:
    async with asyncio.timeout(10):
        seen: list[discord.Interaction] = []

        @running.bot.tree.command(name="keep", description="keeps the interaction")
        async def keep(interaction: discord.Interaction) -> None:
            seen.append(interaction)
            await interaction.response.send_message("ok")

        await running.bot.tree.sync()
        rec = await sim.invoke_command(world.guild.id, world.general.id, world.alice.id, "keep")
        await rec.wait_response()
        interaction = seen[0]
        await interaction.followup.send("still fine")
        await interaction.edit_original_response(content="edited")
        assert rec.original_message is not None and rec.original_message.content == "edited"
        sim.advance_time(15 * 60 + 1)
        with pytest.raises(discord.HTTPException) as info:
            await interaction.followup.send("too late")
        assert info.value.status == 401 and info.value.code == 50027


async def test_double_response_is_rejected(
    sim: DiscordSimulator, world: World, running: RunningBot
) -> None:
    async with asyncio.timeout(10):
        errors: list[discord.HTTPException] = []

        @running.bot.tree.command(name="twice", description="answers twice")
        async def twice(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("one")
            adapter = discord.webhook.async_.async_context.get()
            params = discord.webhook.async_.interaction_response_params(4, {"content": "two"})
            try:
                await adapter.create_interaction_response(
                    interaction.id, interaction.token, session=interaction._session, params=params
                )
            except discord.HTTPException as exc:
                errors.append(exc)

        await running.bot.tree.sync()
        await sim.invoke_command(world.guild.id, world.general.id, world.alice.id, "twice")
        await sim.wait_for(lambda: errors)
        assert errors[0].code == 40060


async def test_components_v2_select_and_deferred_update(
    sim: DiscordSimulator, world: World, running: RunningBot
) -> None:
    async with asyncio.timeout(10):
        rec = await sim.invoke_command(
            world.guild.id, world.general.id, world.alice.id, "brew panel"
        )
        await rec.wait_response()
        panel = rec.original_message
        assert panel is not None and panel.flags & (1 << 15) and panel.content == ""
        assert "Pick a room" in panel.text
        assert panel.custom_ids() == ["panel:room", "panel:refresh"]
        pick = await sim.select(world.bob.id, world.general.id, panel.id, "panel:room", ["r2"])
        assert (await pick.wait_response()).content == "You picked r2"
        assert running.bot.picks == ["r2"]
        with pytest.raises(SimulatorError, match="not an option"):
            await sim.select(world.bob.id, world.general.id, panel.id, "panel:room", ["r9"])
        refresh = await sim.click_button(world.bob.id, world.general.id, panel.id, "panel:refresh")
        assert (await refresh.wait_response()).type == 6
        await sim.wait_for(lambda: "Refreshed" in sim.message(panel.id).text)
        assert running.bot.refreshed == [panel.id]
        assert refresh.original_message is not None and refresh.original_message.id == panel.id


async def test_command_in_dms(sim: DiscordSimulator, world: World, running: RunningBot) -> None:
    async with asyncio.timeout(10):
        dm = sim.open_dm(world.alice.id)
        rec = await sim.invoke_command(None, dm.id, world.alice.id, "brew open", question="Alone?")
        resp = await rec.wait_response()
        assert resp.content is not None and resp.content.startswith("Question: Alone?")
        assert "member" not in rec.payload and rec.payload["user"]["id"] == str(world.alice.id)
        assert [m.content for m in sim.dms(world.alice.id)] == [resp.content]
        assert running.bot.invocations[0]["user"].id == world.alice.id


async def test_late_response_in_real_time() -> None:
    """Same rule on the real clock, with the deadline shortened so the test stays fast."""
    async with asyncio.timeout(10), DiscordSimulator(interaction_deadline=0.2) as sim:
        world = build_world(sim)
        with sim.patch_discord():
            running = await start_bot(sim)
            try:
                rec = await sim.invoke_command(
                    world.guild.id, world.general.id, world.alice.id, "brew slow"
                )
                await asyncio.sleep(0.3)
                running.bot.release.set()
                await sim.wait_for(lambda: rec.late)
                assert sim.failed_interactions == [rec]
                assert rec.latency is not None and rec.latency >= 0.3
            finally:
                await running.stop()


async def test_sent_at_is_when_the_frame_reached_the_bot_socket(
    sim: DiscordSimulator, world: World, running: RunningBot
) -> None:
    async with asyncio.timeout(10):
        recs = await asyncio.gather(
            *(
                sim.invoke_command(
                    world.guild.id,
                    world.general.id,
                    world.alice.id,
                    "brew open",
                    question=f"Question {i}?",
                    group_size=3,
                    facilitator=world.bob,
                    lounge=world.lounge.id,
                    ratio=0.5,
                )
                for i in range(5)
            )
        )
        for rec in recs:
            resp = await rec.wait_response()
            assert rec.sent_at is not None and rec.created_at <= rec.sent_at <= resp.at
            assert resp.since_sent == pytest.approx(resp.at - rec.sent_at)
            assert resp.latency == pytest.approx(resp.at - rec.created_at)
        # One event loop: in a burst, no frame is written before every payload is built. That
        # wait is the simulator's, not the bot's, and since_sent leaves it out.
        assert min(r.sent_at or 0 for r in recs) >= max(r.created_at for r in recs)
