"""What a content file may contain: every key, its type, its fields and Discord's length limit.

A content file is written by a volunteer, and a mistake in it must be found when Brew Host
starts (``brewhost check-config`` or ``brewhost run``), not when a room needs the message: a
turn prompt that fails to format is a room that silently stops. So the whole merged file is
walked against :data:`SCHEMA` here, and the first problem becomes one plain line naming the
file, the key and what is wrong.

Pure: no Discord, no database. The longest realistic values of each field live here too
(:data:`SAMPLES`), so that a message that fits with "Sam" but not with a 500-character question
is refused up front. They mirror limits set in the shell (``bot/shell/brews.py``); a test keeps
them in step.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Discord's limits (characters).
MESSAGE_LIMIT = 2000
BUTTON_LIMIT = 80
OPTION_LIMIT = 100
MODAL_TITLE_LIMIT = 45
INPUT_LABEL_LIMIT = 45
PLACEHOLDER_LIMIT = 100
EVENT_DESCRIPTION_LIMIT = 1000

#: Longest values the shell lets in (mirrors of bot/shell/brews.py and cogs/brew.py).
QUESTION_LIMIT = 500
TITLE_LIMIT = 80
PERSPECTIVE_LIMIT = 40
MAX_PERSPECTIVES = 5
MAX_GROUP = 8
BROADCAST_LIMIT = 1500
AREA_LIMIT = 100

PHASE_KEYS = ("arrive", "think", "turns", "reflect", "still", "close")

#: Template fields each text may use; a text not listed here may use none. ``phases.*.text``
#: stands for the text of every phase and ``guide.steps[]`` for every line of the steps.
FIELDS: dict[str, frozenset[str]] = {
    "phases.*.text": frozenset({"question", "ends_rel", "ends_time", "order"}),
    "turns.start": frozenset({"mention", "name", "position", "total", "ends_rel", "ends_time"}),
    "turns.start_text": frozenset(
        {"mention", "name", "position", "total", "ends_rel", "ends_time"}
    ),
    "turns.nudge": frozenset({"name", "seconds"}),
    "turns.skipped": frozenset({"name", "position", "total"}),
    "turns.passed": frozenset({"name"}),
    "turns.done": frozenset({"name"}),
    "turns.extended": frozenset({"by", "ends_rel", "ends_time"}),
    "turns.extended_facilitator": frozenset({"duration", "ends_rel", "ends_time"}),
    "turns.recall": frozenset({"delete_rel"}),
    "turns.resumed": frozenset({"ends_rel", "ends_time"}),
    "turns.broadcast": frozenset({"message"}),
    "signup.card": frozenset({"title", "question", "count"}),
    "signup.card_perspectives": frozenset({"perspectives"}),
    "room.not_your_turn": frozenset({"speaker"}),
    "room.help_alert": frozenset({"room", "brew", "channel", "link"}),
    "room.help_direct": frozenset({"who", "room", "brew", "channel", "link"}),
    "room.could_not_open": frozenset({"members", "brew"}),
    "room.voice_link": frozenset({"channel", "link"}),
    "guide.steps[]": frozenset({"arrive", "think", "turn"}),
    "reflection.saved": frozenset({"closes"}),
    "reflection.replaced": frozenset({"closes"}),
    "reflection.failed": frozenset({"ref"}),
    "reflection.closes_after_end": frozenset({"days"}),
    "export.report_title_area": frozenset({"area"}),
    "export.nothing": frozenset({"why"}),
    "export.bad_date": frozenset({"value"}),
    "export.ready": frozenset({"format", "brews", "reflections"}),
    "export.split": frozenset({"count"}),
    "export.purge_confirm": frozenset({"number", "title", "reflections"}),
    "export.purge_done": frozenset({"number"}),
    "export.purge_running": frozenset({"number"}),
    "export.purge_missing": frozenset({"number"}),
    "schedule.card": frozenset(
        {"title", "question", "starts", "starts_rel", "length", "opens_rel", "voice", "text"}
    ),
    "schedule.card_cancelled": frozenset({"title", "starts"}),
    "schedule.calendar_description": frozenset({"title", "question", "link"}),
    "schedule.event_description": frozenset({"title", "question", "channel"}),
    "schedule.reminder": frozenset(
        {"title", "question", "starts", "starts_rel", "card_link", "channel"}
    ),
    "schedule.reminder_fallback": frozenset(
        {"mentions", "title", "question", "starts", "starts_rel", "card_link", "channel"}
    ),
    "schedule.too_few": frozenset({"title", "count", "card_link"}),
    "schedule.ping_start": frozenset({"facilitators", "title", "count", "card_link"}),
    "schedule.missed": frozenset({"title", "starts"}),
    "schedule.cancelled_notice": frozenset({"title", "starts", "channel"}),
    "schedule.scheduled": frozenset({"title", "understood", "series"}),
    "schedule.series_repeats": frozenset({"repeat", "occurrences", "last"}),
    "schedule.event_permission": frozenset({"channel"}),
    "schedule.upcoming_line": frozenset({"number", "title", "starts", "voice", "text"}),
    "schedule.cancelled_done": frozenset({"count"}),
    "schedule.cancel_missing": frozenset({"number"}),
    "schedule.cancel_open": frozenset({"number"}),
    "schedule.cancelled_fallback": frozenset({"mentions", "title", "starts", "channel"}),
    "schedule.started": frozenset({"number", "title", "count", "rooms"}),
    "schedule.start_refused": frozenset({"title", "reason"}),
    "schedule.card_started": frozenset({"number"}),
    "schedule.opened_elsewhere": frozenset({"facilitators", "title", "brew", "count", "card_link"}),
    "schedule.card_joined_elsewhere": frozenset({"title", "starts", "brew", "card_link"}),
    "schedule.when_empty": frozenset({"text", "example"}),
    "schedule.when_unreadable": frozenset({"text", "example"}),
    "schedule.when_no_time": frozenset({"text", "example"}),
    "schedule.when_no_such_day": frozenset({"text", "example"}),
    "schedule.when_no_such_time": frozenset({"text", "example"}),
    "schedule.when_wrong_weekday": frozenset({"text", "example", "date", "weekday"}),
    "schedule.when_past": frozenset({"text", "example", "understood"}),
    "schedule.when_too_far": frozenset({"text", "example", "understood"}),
    "schedule.autocomplete_unreadable": frozenset({"text", "example"}),
}

_ID = "9" * 20  # the longest Discord id (snowflakes reach 20 digits)
_MENTION = f"<@{_ID}>"
_STAMP = "<t:99999999999:R>"

#: The longest realistic value of each field, as the bot fills it in.
SAMPLES: dict[str, str] = {
    "question": "q" * QUESTION_LIMIT,
    "title": "t" * TITLE_LIMIT,
    "mention": _MENTION,
    "name": _MENTION,
    "speaker": _MENTION,
    "by": _MENTION,
    "who": _MENTION,
    "order": ", ".join([_MENTION] * MAX_GROUP),
    "members": ", ".join([_MENTION] * MAX_GROUP),
    "position": str(MAX_GROUP),
    "total": str(MAX_GROUP),
    "ends_rel": _STAMP,
    "ends_time": _STAMP,
    "delete_rel": _STAMP,
    "seconds": "300",
    "duration": "1799 seconds",
    "message": "m" * BROADCAST_LIMIT,
    "count": "100000",
    "perspectives": ", ".join(["p" * PERSPECTIVE_LIMIT] * MAX_PERSPECTIVES),
    "room": "500",
    "brew": "999999",
    "channel": f"<#{_ID}>",
    "link": f"https://discord.com/channels/{_ID}/{_ID}",
    "closes": "<t:99999999999:f>",  # or reflection.closes_after_end, whichever is longer
    "ref": "ABCDEF12",
    "days": "365",
    "area": "a" * AREA_LIMIT,
    "why": "w" * 120,
    "value": "v" * 40,
    "format": "Markdown report",
    "brews": "999999 brews",
    "reflections": "999999 reflections",
    "number": "999999",
    # Scheduled brews (bot/core/schedule.py, bot/core/when.py). {text} is what someone typed
    # as a time in the when_* replies, and a count elsewhere; the typed text is the longer.
    "starts": "<t:99999999999:f>",
    "starts_rel": _STAMP,
    "opens_rel": _STAMP,
    "length": "180 minutes",
    "voice": "100000",
    "text": "x" * 100,
    "card_link": f"https://discord.com/channels/{_ID}/{_ID}/{_ID}",
    "mentions": ", ".join([_MENTION] * 20),
    "facilitators": f"<@&{_ID}>",
    "understood": "Wednesday 30 September 2026 at 23:30 (summer time moved this)",
    "series": "s" * 120,  # series_once or series_repeats filled in; both are checked alone
    "repeat": "fortnightly",
    "occurrences": "52",
    "last": "Wednesday 30 September 2026",
    "example": "2026-12-08 14:00",
    "date": "Wednesday 30 September 2026",
    "weekday": "Wednesday",
    "rooms": "999",
    # A refusal of /brew start, as the bot words it (the longest lists the people kept apart).
    "reason": "r" * 1200,
    "arrive": "1799 seconds",
    "think": "599 seconds",
    "turn": "599 seconds",
}


@dataclass(frozen=True)
class Text:
    """One text. ``limit`` applies after the fields are filled with :data:`SAMPLES`;
    ``prefix`` is how many characters the bot may put in front (a role mention)."""

    limit: int = MESSAGE_LIMIT
    what: str = "message"
    prefix: int = 0


@dataclass(frozen=True)
class TextList:
    """A list of texts (the guide's steps and principles)."""

    limit: int = MESSAGE_LIMIT


@dataclass(frozen=True)
class Questions:
    """The ``[[reflection.questions]]`` list of tables."""


Spec = Text | TextList | Questions | Mapping[str, Any]

MESSAGE = Text()
PART = Text(what="part of a message")  # counted within the message it is part of
BUTTON = Text(BUTTON_LIMIT, "button label")

_role_prefix = len(f"<@&{_ID}> ")

SCHEMA: dict[str, Any] = {
    "guide": {
        "heading": PART,
        "intro": PART,
        "steps": TextList(),
        "question_heading": PART,
        "principles_heading": PART,
        "principles": TextList(),
        "members_heading": PART,
        "text_turns_note": PART,
        "mixed_turns_note": PART,
        "buttons_note": PART,
    },
    "phases": {key: {"name": PART, "text": PART} for key in PHASE_KEYS},
    "turns": {
        key: MESSAGE
        for key in (
            "start",
            "start_text",
            "nudge",
            "skipped",
            "passed",
            "done",
            "extended",
            "extended_facilitator",
            "recall",
            "paused",
            "resumed",
            "broadcast",
        )
    },
    "room": {
        "finished": MESSAGE,
        "turn_over": MESSAGE,
        "not_your_turn": MESSAGE,
        "members_only": MESSAGE,
        "step_over": MESSAGE,
        "already_extended": MESSAGE,
        "help_sent": MESSAGE,
        "help_already": MESSAGE,
        "help_alert": Text(prefix=_role_prefix),
        "help_direct": MESSAGE,
        "could_not_open": MESSAGE,
        "voice_link": MESSAGE,
    },
    "buttons": {
        key: BUTTON
        for key in (
            "join_voice",
            "join_text",
            "leave",
            "done",
            "pass",
            "help",
            "more_time",
            "reflect",
            "confirm_purge",
            "choose_perspective",
            "rsvp_voice",
            "rsvp_text",
            "rsvp_cant",
            "add_to_calendar",
        )
    },
    "signup": {
        "card": PART,
        "card_perspectives": PART,
        "joined_voice": MESSAGE,
        "joined_text": MESSAGE,
        "left": MESSAGE,
        "not_open": MESSAGE,
        "started": MESSAGE,
        "started_leave": MESSAGE,
        "perspective_prompt": MESSAGE,
        "perspective_saved": MESSAGE,
    },
    "reflection": {
        "title": Text(MODAL_TITLE_LIMIT, "form title"),
        "intro": MESSAGE,
        "consent_label": Text(INPUT_LABEL_LIMIT, "form label"),
        "consent_placeholder": Text(PLACEHOLDER_LIMIT, "form placeholder"),
        "saved": MESSAGE,
        "replaced": MESSAGE,
        "not_participant": MESSAGE,
        "window_closed": MESSAGE,
        "no_brew": MESSAGE,
        "not_yet": MESSAGE,
        "form_placeholder": Text(PLACEHOLDER_LIMIT, "form placeholder"),
        "kept_heading": MESSAGE,
        "failed": MESSAGE,
        "closes_after_end": PART,
        "questions": Questions(),
    },
    "export": {
        "report_title": MESSAGE,
        "report_title_area": MESSAGE,
        "nothing": MESSAGE,
        "bad_date": MESSAGE,
        "ready": PART,
        "split": PART,
        "purge_confirm": MESSAGE,
        "purge_done": MESSAGE,
        "purge_cancelled": MESSAGE,
        "purge_running": MESSAGE,
        "purge_missing": MESSAGE,
        "purge_expired": MESSAGE,
        "cancel_button": BUTTON,
    },
    # Scheduled brews. The event description goes on a Discord scheduled event (1,000
    # characters); the calendar description goes into an .ics file (no Discord limit, but it
    # is kept to a message's length); the autocomplete hint is a choice (100 characters).
    "schedule": {
        **{
            key: MESSAGE
            for key in (
                "card",
                "card_cancelled",
                "answered_voice",
                "answered_text",
                "answered_cant",
                "calendar_sent",
                "calendar_description",
                "reminder",
                "reminder_fallback",
                "too_few",
                "ping_start",
                "missed",
                "cancelled_notice",
                "scheduled",
                "series_once",
                "series_repeats",
                "event_permission",
                "upcoming_heading",
                "upcoming_line",
                "upcoming_none",
                "cancelled_done",
                "cancel_missing",
                "cancel_open",
                "cancelled_fallback",
                "no_voice_channel",
                "started",
                "start_refused",
                "start_other_card",
                "card_started",
                "opened_elsewhere",
                "card_joined_elsewhere",
                "occurrences_range",
                "occurrences_need_repeat",
                "when_empty",
                "when_unreadable",
                "when_no_time",
                "when_no_such_day",
                "when_no_such_time",
                "when_wrong_weekday",
                "when_past",
                "when_too_far",
            )
        },
        "event_description": Text(EVENT_DESCRIPTION_LIMIT, "event description"),
        "autocomplete_unreadable": Text(OPTION_LIMIT, "choice label"),
    },
}

#: Texts the bot sends joined into one message: (keys, separator).
COMBINED: tuple[tuple[tuple[str, ...], str], ...] = (
    (("signup.card", "signup.card_perspectives"), "\n"),
    (("export.ready", "export.split"), " "),
)

QUESTION_KEYS = {"key": "text", "label": "text", "long": "true or false", "max_length": "number"}


class SchemaError(ValueError):
    """One problem with the shape of a content file, as ``key: what is wrong``."""


def fields_for(dotted: str) -> frozenset[str]:
    """The fields the text at ``dotted`` may use (empty for a plain text)."""
    if dotted in FIELDS:
        return FIELDS[dotted]
    parts = dotted.split(".")
    if len(parts) == 3 and parts[0] == "phases" and parts[2] == "text":
        return FIELDS["phases.*.text"]
    if dotted.startswith("guide.steps["):
        return FIELDS["guide.steps[]"]
    return frozenset()


def _show(value: Any) -> str:
    shown = repr(value).replace("\n", " ")
    return shown if len(shown) <= 40 else shown[:37] + "..."


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a table"
    return type(value).__name__


def _unknown(dotted: str, key: str, known: Mapping[str, Any]) -> SchemaError:
    # Imported here: only a mistake in a content file needs it, and a running bot would
    # otherwise carry it for nothing (idle memory, issue 12).
    import difflib

    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    prefix = dotted.rpartition(".")[0]
    if close:
        hint = f"did you mean {prefix + '.' if prefix else ''}{close[0]}?"
    else:
        hint = f"expected one of {', '.join(known)}"
    return SchemaError(f"{dotted}: not a key Brew Host knows; {hint}")


def check_template(dotted: str, template: str) -> None:
    """Refuse unbalanced braces, fields the bot does not fill, and field formatting."""
    allowed = fields_for(dotted)
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise SchemaError(
            f"{dotted}: {exc} (to show a brace, write it twice: {{{{ or }}}})"
        ) from None
    unknown = []
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in allowed:
            unknown.append(name)
        elif spec or conversion:
            raise SchemaError(f"{dotted}: write the field as {{{name}}}, without ! or :")
    if unknown:
        shown = ", ".join("{" + u + "}" for u in unknown)
        may = ", ".join("{" + f + "}" for f in sorted(allowed)) or "no fields"
        raise SchemaError(
            f"{dotted} uses {shown}; it may use {may} (to show a brace, write {{{{ or }}}})"
        )


def check_shape(raw: Mapping[str, Any]) -> None:
    """Walk ``raw`` against :data:`SCHEMA`: unknown keys, wrong types, missing keys, bad
    templates and per-text limits. The first problem is raised as a :class:`SchemaError`."""
    _check_table("", raw, SCHEMA)


def _check_table(dotted: str, table: Any, schema: Mapping[str, Any]) -> None:
    if not isinstance(table, Mapping):
        raise SchemaError(f"{dotted}: expected a table ([{dotted}]), got {_kind(table)}")
    for key in table:
        if key not in schema:
            raise _unknown(f"{dotted}.{key}" if dotted else key, key, schema)
    for key, spec in schema.items():
        where = f"{dotted}.{key}" if dotted else key
        if key not in table:
            raise SchemaError(f"{where}: missing")
        _check_value(where, table[key], spec)


def _check_value(dotted: str, value: Any, spec: Any) -> None:
    if isinstance(spec, Mapping):
        _check_table(dotted, value, spec)
    elif isinstance(spec, Text):
        _check_text(dotted, value, spec)
    elif isinstance(spec, TextList):
        if not isinstance(value, list) or not value:
            raise SchemaError(f"{dotted}: expected a list of texts in quotes, got {_show(value)}")
        for i, item in enumerate(value):
            _check_text(f"{dotted}[{i}]", item, Text(spec.limit))
    elif isinstance(spec, Questions):
        _check_questions(dotted, value)


def _check_text(dotted: str, value: Any, spec: Text) -> None:
    if not isinstance(value, str):
        raise SchemaError(f"{dotted}: expected text in quotes, got {_show(value)}")
    if not value.strip() and spec.what in ("button label", "form title", "form label"):
        raise SchemaError(f"{dotted}: the {spec.what} is empty")
    check_template(dotted, value)
    filled = fill(dotted, value)
    if spec is not PART and len(filled) + spec.prefix > spec.limit:
        raise SchemaError(too_long(dotted, spec.what, len(filled) + spec.prefix, spec.limit))


def _check_questions(dotted: str, value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(q, Mapping) for q in value):
        raise SchemaError(f"{dotted}: expected a list of [[{dotted}]] tables, got {_kind(value)}")
    for i, question in enumerate(value):
        for key, item in question.items():
            where = f"{dotted}[{i}].{key}"
            if key not in QUESTION_KEYS:
                raise _unknown(where, key, QUESTION_KEYS)
            ok = {
                "key": isinstance(item, str),
                "label": isinstance(item, str),
                "long": isinstance(item, bool),
                "max_length": isinstance(item, int) and not isinstance(item, bool),
            }[key]
            if not ok:
                raise SchemaError(f"{where}: expected {QUESTION_KEYS[key]}, got {_show(item)}")
            if key == "label":
                check_template(where, item)


def fill(dotted: str, template: str, **extra: str) -> str:
    """``template`` with every field filled with its longest realistic value."""
    # A field without a sample (a new one) is measured at 100 characters rather than failing;
    # a test keeps every field in FIELDS with a sample of its own.
    values = {name: SAMPLES.get(name, "x" * 100) for name in fields_for(dotted)}
    values.update(extra)
    return template.format(**values) if values else literal(template)


def literal(template: str) -> str:
    """A text with no fields as people see it (``{{`` shows as ``{``)."""
    return "".join(text for text, *_ in string.Formatter().parse(template))


def too_long(dotted: str, what: str, length: int, limit: int) -> str:
    return (
        f"{dotted}: the {what} can reach {length} characters with the longest names, "
        f"questions and times filled in; Discord allows {limit}"
    )


def check_messages(raw: Mapping[str, Any]) -> None:
    """Limits on messages the bot builds from several texts (after :func:`check_shape`)."""
    for key in PHASE_KEYS:
        phase = raw["phases"][key]
        dotted = f"phases.{key}"
        body = fill(f"{dotted}.text", phase["text"])
        length = len(f"**{literal(phase['name'])}**\n{body}")
        if length > MESSAGE_LIMIT:
            raise SchemaError(too_long(dotted, "message (name and text)", length, MESSAGE_LIMIT))
    closes = max(
        SAMPLES["closes"],
        fill("reflection.closes_after_end", _at(raw, "reflection.closes_after_end")),
        key=len,
    )
    for key in ("reflection.saved", "reflection.replaced"):
        length = len(fill(key, _at(raw, key), closes=closes))
        if length > MESSAGE_LIMIT:
            raise SchemaError(too_long(key, "message", length, MESSAGE_LIMIT))
    series = max(
        (fill(k, _at(raw, k)) for k in ("schedule.series_once", "schedule.series_repeats")),
        key=len,
    )
    length = len(fill("schedule.scheduled", _at(raw, "schedule.scheduled"), series=series))
    if length > MESSAGE_LIMIT:
        raise SchemaError(too_long("schedule.scheduled", "message", length, MESSAGE_LIMIT))
    for keys, separator in COMBINED:
        length = len(separator.join(fill(k, _at(raw, k)) for k in keys))
        if length > MESSAGE_LIMIT:
            raise SchemaError(too_long(" with ".join(keys), "message", length, MESSAGE_LIMIT))


def _at(raw: Mapping[str, Any], dotted: str) -> str:
    section, _, key = dotted.partition(".")
    value = raw[section][key]
    assert isinstance(value, str)
    return value
