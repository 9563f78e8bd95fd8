"""The ``bh:*`` custom ids: what each persistent component's id looks like, in one place.

A custom id carries everything a press needs (which brew or room, and for turn buttons the step
they were posted for), so a button posted before a restart still works after it. These strings
are a protocol with messages already in Discord: change a template and old buttons stop working.
Each template is a regular expression with named groups; each builder makes an id it matches.
"""

from __future__ import annotations

import re

TURN = r"bh:turn:(?P<action>done|pass):(?P<room>\d+):(?P<step>\d+)"
MORE_TIME = r"bh:more:(?P<room>\d+):(?P<step>\d+)"
HELP = r"bh:help:(?P<room>\d+)"
REFLECT = r"bh:reflect:(?P<brew>\d+)"
JOIN = r"bh:join:(?P<brew>\d+):(?P<mode>voice|text)"
LEAVE = r"bh:leave:(?P<brew>\d+)"
PERSPECTIVE = r"bh:persp:(?P<brew>\d+)"
PERSPECTIVE_CHOICE = r"bh:perspsel:(?P<brew>\d+)"
#: A submitted reflection form: the brew's database id, or "latest" (resolved on submit).
REFLECTION_FORM = re.compile(r"bh:rf:(?P<brew>\d+|latest)")

_TURN_DONE_PREFIX = "bh:turn:done:"


def turn_id(action: str, room_id: int, step: int) -> str:
    """``action`` is ``done`` ("I'm done") or ``pass``."""
    return f"bh:turn:{action}:{room_id}:{step}"


def is_turn_done(custom_id: str) -> bool:
    """Whether ``custom_id`` is an "I'm done" button (what marks a turn prompt)."""
    return custom_id.startswith(_TURN_DONE_PREFIX)


def more_time_id(room_id: int, step: int) -> str:
    return f"bh:more:{room_id}:{step}"


def help_id(room_id: int) -> str:
    return f"bh:help:{room_id}"


def reflect_id(brew_id: int) -> str:
    return f"bh:reflect:{brew_id}"


def join_id(brew_id: int, mode: str) -> str:
    """``mode`` is ``voice`` or ``text``."""
    return f"bh:join:{brew_id}:{mode}"


def leave_id(brew_id: int) -> str:
    return f"bh:leave:{brew_id}"


def perspective_id(brew_id: int) -> str:
    return f"bh:persp:{brew_id}"


def perspective_choice_id(brew_id: int) -> str:
    return f"bh:perspsel:{brew_id}"


def reflection_form_id(brew_id: int | None) -> str:
    """``None``: the member's most recent brew, found when the form comes back."""
    return f"bh:rf:{brew_id if brew_id is not None else 'latest'}"


#: The sign-up-ahead card of a scheduled brew: "I'll come" (voice or text only), "Can't come
#: after all", and "Add to my calendar". ``occurrence`` is the scheduled occurrence's id.
RSVP = r"bh:rsvp:(?P<occurrence>\d+):(?P<choice>voice|text|cant)"
CALENDAR = r"bh:ics:(?P<occurrence>\d+)"


def rsvp_id(occurrence_id: int, choice: str) -> str:
    """``choice`` is ``voice``, ``text`` or ``cant``."""
    return f"bh:rsvp:{occurrence_id}:{choice}"


def calendar_id(occurrence_id: int) -> str:
    return f"bh:ics:{occurrence_id}"
