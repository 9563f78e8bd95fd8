"""Scheduled brews through the simulator with real discord.py: /brew schedule, the card and its
answers, the calendar file, the Discord event, cancelling, and /brew upcoming."""

from __future__ import annotations

from typing import Any

import pytest

from discordsim import DEFAULT_BOT_PERMISSIONS, Message, Permission

from .conftest import Harness

CREATE_EVENTS = int(Permission.CREATE_EVENTS)
SCHEDULED, ACTIVE, COMPLETED, CANCELED = 1, 2, 3, 4


def card_of(harness: Harness) -> Message:
    cards = [m for m in harness.bot_messages(harness.world.hall) if "(planned)" in m.content]
    assert cards, "no sign-up-ahead card was posted"
    return cards[-1]


def button_ids(message: Message) -> list[str]:
    return [
        c["custom_id"]
        for row in message.components
        for c in row.get("components", [])
        if "custom_id" in c
    ]


async def press(harness: Harness, who: Any, custom_id_start: str) -> Any:
    card = card_of(harness)
    custom_id = next(c for c in button_ids(card) if c.startswith(custom_id_start))
    rec = await harness.sim.click_button(who.id, harness.world.hall.id, card.id, custom_id)
    await rec.wait_response(timeout=10)
    return rec


async def schedule(harness: Harness, **options: Any) -> str:
    rec = await harness.command(
        harness.world.facilitator, "brew schedule", question="What's missing?", **options
    )
    return await harness.final_text(rec)


async def test_autocomplete_shows_how_the_time_was_understood(harness: Harness) -> None:
    world = harness.world
    choices = await harness.sim.autocomplete(
        world.guild_id,
        world.hall.id,
        world.facilitator.id,
        "brew schedule",
        "when",
        question="What's missing?",
        when="2027-03-09 14:00",
    )
    assert choices[0]["name"] == "Tuesday 9 March 2027 at 2:00pm (UK time)"
    unread = await harness.sim.autocomplete(
        world.guild_id,
        world.hall.id,
        world.facilitator.id,
        "brew schedule",
        "when",
        question="What's missing?",
        when="whenever suits",
    )
    assert "2026-12-08 14:00" in unread[0]["name"]


async def test_a_time_in_the_past_is_refused_with_an_example(harness: Harness) -> None:
    text = await schedule(harness, when="2020-01-01 10:00")
    assert "has already gone" in text and "2026-12-08 14:00" in text
    assert not [m for m in harness.bot_messages(harness.world.hall) if "(planned)" in m.content]


async def test_schedule_card_answers_calendar_event_and_cancel(harness: Harness) -> None:
    sim, world = harness.sim, harness.world
    sim.set_bot_permissions(world.guild_id, DEFAULT_BOT_PERMISSIONS | CREATE_EVENTS)
    text = await schedule(harness, when="2027-03-09 14:00", title="Spring brew")
    assert "Scheduled: Spring brew, Tuesday 9 March 2027 at 2:00pm (UK time)" in text
    assert "Events list" not in text  # the event was added

    card = card_of(harness)
    assert "Spring brew" in card.content and "<t:" in card.content
    assert "Coming so far: 0 by voice, 0 by text only." in card.content
    assert len(button_ids(card)) == 4

    # The Discord event: a voice event in the main voice channel, guild only.
    events = sim.scheduled_events(world.guild_id)
    assert len(events) == 1
    event = events[0]
    assert event.name == "Spring brew" and event.channel_id == world.lounge.id
    assert event.privacy_level == 2 and event.status == SCHEDULED
    assert event.scheduled_end_time is not None
    assert event.scheduled_end_time > event.scheduled_start_time

    alice, bob, cat, dan = world.people[:4]
    rec = await press(harness, alice, "bh:rsvp:")  # voice is first
    await sim.wait_for(lambda: any("coming by voice" in m.content for m in rec.followups))
    await press(harness, bob, "bh:rsvp:1:text")
    await press(harness, cat, "bh:rsvp:1:cant")
    await sim.wait_for(lambda: "1 by voice, 1 by text only" in card_of(harness).content)

    # Someone who only pressed Interested in the Events list counts as coming by voice.
    await sim.press_interested(world.guild_id, event.id, dan.id)
    rec = await harness.command(world.facilitator, "brew upcoming")
    listing = await harness.final_text(rec)
    assert "1. Spring brew" in listing and "2 by voice, 1 by text only" in listing

    # The calendar file, privately.
    rec = await press(harness, alice, "bh:ics:")

    def files() -> list[Any]:
        messages = [rec.original_message, *rec.followups]
        return [a for m in messages if m is not None for a in m.attachments]

    await sim.wait_for(files)
    attachment = files()[0]
    assert attachment.filename == "brew-2027-03-09-spring-brew.ics"
    ics = attachment.text
    assert "DTSTART;TZID=Europe/London:20270309T140000" in ics
    assert "What's missing?" in ics.replace("\r\n ", "")

    # Cancel: the card says so, the event is cancelled, the two who said they'd come are told.
    rec = await harness.command(world.facilitator, "brew cancel_scheduled", brew=1)
    assert "Cancelled 1 scheduled brew" in await harness.final_text(rec)
    await sim.wait_for(lambda: "has been cancelled" in card_of_any(harness).content)
    assert sim.scheduled_event(world.guild_id, event.id).status == CANCELED
    await sim.wait_for(lambda: sim.dms(alice.id) and sim.dms(bob.id))
    assert len(sim.dms(alice.id)) == 1 and "has been cancelled" in sim.dms(alice.id)[0].content
    assert sim.dms(cat.id) == []
    rec = await harness.command(world.facilitator, "brew upcoming")
    assert "No brews are scheduled" in await harness.final_text(rec)


def card_of_any(harness: Harness) -> Message:
    return [m for m in harness.bot_messages(harness.world.hall) if "Spring brew" in m.content][-1]


async def test_without_create_events_the_brew_is_scheduled_and_the_reply_says_why(
    harness: Harness,
) -> None:
    text = await schedule(harness, when="2027-03-09 14:00")
    assert "Scheduled:" in text
    assert "Create Events" in text and f"<#{harness.world.lounge.id}>" in text
    assert harness.sim.scheduled_events(harness.world.guild_id) == []
    card_of(harness)


@pytest.mark.parametrize(
    ("when", "last"),
    [
        # Across the change to summer time (28 March 2027): still 7pm UK time.
        ("2027-03-22 19:00", "Monday 29 March 2027 at 7:00pm (UK time)"),
    ],
)
async def test_a_weekly_series_keeps_its_wall_time_across_summer_time(
    harness: Harness, when: str, last: str
) -> None:
    text = await schedule(harness, when=when, repeat="weekly", occurrences=2)
    assert f"2 times in all, the last on {last}" in text


async def test_a_series_of_one_refuses_repeats_without_a_repeat(harness: Harness) -> None:
    text = await schedule(harness, when="2027-03-09 14:00", occurrences=3)
    assert "choose how often it repeats" in text
