"""The "Add to my calendar" file (bot.core.calendar_file)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from icalendar import Calendar

from bot.core.calendar_file import CalendarBrew, brew_ics, ics_filename, occurrence_uid
from bot.core.content import load_content

LONDON = ZoneInfo("Europe/London")
START = datetime(2026, 12, 8, 14, 0, tzinfo=LONDON)
LINK = "https://discord.com/channels/111/222"


def make(title: str = "Planning the week", question: str = "What's missing?") -> CalendarBrew:
    content = load_content()
    return CalendarBrew(
        uid=occurrence_uid(111, 7),
        title=title,
        description=content.format(
            "schedule.calendar_description", title=title, question=question, link=LINK
        ),
        url=LINK,
        start=START,
        end=START + timedelta(minutes=30),
        location="Discord: #brews",
    )


def parse(data: bytes) -> Calendar:
    return Calendar.from_ical(data)


def test_file_has_the_parts_rfc_5545_and_calendars_need() -> None:
    data = brew_ics(make(), zone=LONDON, stamp=datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    text = data.decode()
    assert text.startswith("BEGIN:VCALENDAR\r\n")
    assert "VERSION:2.0\r\n" in text and "PRODID:" in text
    assert "DTSTART;TZID=Europe/London:20261208T140000\r\n" in text
    assert "DTEND;TZID=Europe/London:20261208T143000\r\n" in text
    assert "DTSTAMP:20261201T090000Z\r\n" in text
    assert "UID:brew-111-7@brewhost\r\n" in text
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    cal = parse(data)
    [event] = cal.walk("VEVENT")
    [zone] = cal.walk("VTIMEZONE")
    assert str(zone["TZID"]) == "Europe/London"
    assert event.decoded("dtstart") == START
    assert event.decoded("dtend") == START + timedelta(minutes=30)
    assert str(event["summary"]) == "Planning the week"
    assert str(event["url"]) == LINK
    description = str(event["description"])
    assert "What's missing?" in description and LINK in description


def test_a_summer_brew_is_at_the_right_instant() -> None:
    summer = datetime(2027, 7, 1, 19, 0, tzinfo=LONDON)
    brew = make()
    brew = CalendarBrew(**{**brew.__dict__, "start": summer, "end": summer + timedelta(hours=1)})
    cal = parse(brew_ics(brew, zone=LONDON, stamp=summer - timedelta(days=3)))
    [event] = cal.walk("VEVENT")
    assert event.decoded("dtstart").astimezone(UTC) == datetime(2027, 7, 1, 18, 0, tzinfo=UTC)
    # The VTIMEZONE spells out the summer offset, for calendars that do not know the zone.
    assert "TZOFFSETTO:+0100" in cal.to_ical().decode()


@given(
    st.text(min_size=1, max_size=100).filter(lambda s: s.strip()),
    st.text(min_size=1, max_size=1000).filter(lambda s: s.strip()),
)
def test_facilitators_text_is_escaped_and_comes_back_unchanged(title: str, question: str) -> None:
    # Line breaks are normalised by calendar readers; compare the rest exactly.
    title = title.replace("\r", "")
    question = question.replace("\r", "")
    data = brew_ics(make(title, question), zone=LONDON, stamp=START - timedelta(days=1))
    [event] = parse(data).walk("VEVENT")
    assert str(event["summary"]) == title
    assert question in str(event["description"])
    assert data.count(b"BEGIN:VEVENT") == 1  # nothing in the text could open a second event


def test_refuses_naive_or_backwards_times() -> None:
    brew = make()
    with pytest.raises(ValueError):
        brew_ics(
            CalendarBrew(**{**brew.__dict__, "start": START.replace(tzinfo=None)}),
            zone=LONDON,
            stamp=START,
        )
    with pytest.raises(ValueError):
        brew_ics(CalendarBrew(**{**brew.__dict__, "end": START}), zone=LONDON, stamp=START)


def test_file_names_are_safe() -> None:
    assert ics_filename("Planning the week!", START) == "brew-2026-12-08-planning-the-week.ics"
    assert ics_filename("../../etc", START) == "brew-2026-12-08-etc.ics"
    assert ics_filename("☕☕", START) == "brew-2026-12-08.ics"
    assert len(ics_filename("x" * 300, START)) < 70
