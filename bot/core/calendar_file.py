"""The "Add to my calendar" file for one brew: an iCalendar (RFC 5545) ``.ics``.

Made with the ``icalendar`` library rather than by joining strings: it escapes a facilitator's
commas, semicolons and new lines in the title and question, folds long lines at 75 octets, and
writes the VTIMEZONE for the community's zone from the same tz database that timed the brew, so
a calendar in another zone (or one that ignores TZID) still shows the right moment.

The module is named ``calendar_file`` so it does not shadow the standard ``calendar`` module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

PRODID = "-//Brew Host//Over A Brew//EN"
MEDIA_TYPE = "text/calendar"


@dataclass(frozen=True)
class CalendarBrew:
    """What goes in the file. ``uid`` must stay the same for the same occurrence, so a calendar
    that imports the file twice updates one entry instead of adding a second."""

    uid: str
    title: str
    description: str
    url: str
    start: datetime
    end: datetime
    location: str | None = None


def brew_ics(brew: CalendarBrew, *, zone: tzinfo, stamp: datetime) -> bytes:
    """The ``.ics`` file for ``brew``, with times in ``zone`` and DTSTAMP ``stamp``."""
    if brew.start.tzinfo is None or brew.end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    if brew.end <= brew.start:
        raise ValueError("end must be after start")
    # Imported here: icalendar (with dateutil) is about 3 MiB a running bot needs only when
    # someone asks for a calendar file.
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    event = Event()
    event.add("uid", brew.uid)
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", brew.start.astimezone(zone))
    event.add("dtend", brew.end.astimezone(zone))
    event.add("summary", brew.title)
    event.add("description", brew.description)
    event.add("url", brew.url)
    if brew.location:
        event.add("location", brew.location)
    cal.add_component(event)
    # Only the summer-time rules around this brew: a short file that still covers it exactly.
    cal.add_missing_timezones(
        first_date=brew.start.date() - timedelta(days=366),
        last_date=brew.end.date() + timedelta(days=366),
    )
    return bytes(cal.to_ical())


def ics_filename(title: str, start: datetime) -> str:
    """A safe file name such as ``brew-2026-12-08-planning-the-week.ics``."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40].strip("-")
    day = start.date().isoformat()
    return f"brew-{day}-{slug}.ics" if slug else f"brew-{day}.ics"


def occurrence_uid(guild_id: int, occurrence_id: int) -> str:
    """A UID that stays the same for one occurrence in one server."""
    return f"brew-{guild_id}-{occurrence_id}@brewhost"
