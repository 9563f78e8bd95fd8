"""How often one room may call a facilitator with "Ask for help".

A press tells the facilitators in the brew's channel (a role ping) and by direct message. Eight
presses used to make eight pings: noise that helps nobody and can feel like pressure on the
person who asked. So each room calls at most once per :data:`HELP_CALL_INTERVAL` (brew time,
scaled by ``[timing] speed`` like every other duration); a press in between is told, kindly,
that a facilitator has already been called.
"""

from __future__ import annotations

#: Brew seconds between two calls from the same room.
HELP_CALL_INTERVAL = 300


def help_call_interval_wall(speed: float) -> float:
    """The interval in real seconds at ``speed`` (a sped-up brew also calls more often)."""
    return HELP_CALL_INTERVAL / speed if speed > 0 else float(HELP_CALL_INTERVAL)


def help_call_due(last_call_at: float | None, now: float, interval_wall: float) -> bool:
    """True if the room has not called within the interval (or never has)."""
    return last_call_at is None or now - last_call_at >= interval_wall
