"""The words Brew Host says, loaded from a TOML content file.

Nothing people read is hard-coded in the cogs: the shipped ``bot/content/default.toml`` holds the
guide, the Camerados principles, phase prompts, reflection questions and every message, and a
server may replace any part of it (``[content] path``). A replacement is merged over the default,
so a partial file works, and it is checked when the bot starts: a template that names a field the
bot does not fill, or a missing question key, is refused then rather than mid-brew.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from bot.core.reflections import Prompt

#: Template fields each message may use. Others are refused at load time.
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
    "turns.paused": frozenset(),
    "turns.resumed": frozenset({"ends_rel", "ends_time"}),
    "turns.broadcast": frozenset({"message"}),
    "signup.card": frozenset({"title", "question", "count"}),
    "room.not_your_turn": frozenset({"speaker"}),
    "room.help_alert": frozenset({"room", "brew", "channel", "link"}),
    "room.help_direct": frozenset({"who", "room", "brew", "channel", "link"}),
    "room.could_not_open": frozenset({"members", "brew"}),
    "guide.steps[]": frozenset({"arrive", "think", "turn"}),
    "signup.card_perspectives": frozenset({"perspectives"}),
    "reflection.saved": frozenset({"closes"}),
    "reflection.replaced": frozenset({"closes"}),
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

PHASE_KEYS = ("arrive", "think", "turns", "reflect", "still", "close")


class ContentError(ValueError):
    """A content file is missing something or uses a field the bot cannot fill."""


@dataclass(frozen=True)
class PhaseText:
    name: str
    text: str


@dataclass(frozen=True)
class Content:
    """Everything from the content file, as plain values (see default.toml for meanings)."""

    raw: Mapping[str, Any]
    phases: Mapping[str, PhaseText]
    principles: tuple[str, ...]
    prompts: tuple[Prompt, ...]

    def text(self, dotted: str) -> str:
        """A message by its dotted key, e.g. ``turns.nudge``."""
        node: Any = self.raw
        for part in dotted.split("."):
            if not isinstance(node, Mapping) or part not in node:
                raise ContentError(f"content has no {dotted!r}")
            node = node[part]
        if not isinstance(node, str):
            raise ContentError(f"content {dotted!r} should be text")
        return node

    def format(self, dotted: str, **values: Any) -> str:
        return self.text(dotted).format(**values)

    def button(self, name: str) -> str:
        return self.text(f"buttons.{name}")

    def list(self, dotted: str) -> tuple[str, ...]:
        section, _, key = dotted.rpartition(".")
        value = self.raw.get(section, {}).get(key) if section else self.raw.get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ContentError(f"content {dotted!r} should be a list of text")
        return tuple(value)


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _fields_of(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _check_templates(raw: Mapping[str, Any], source: str) -> None:
    for pattern, allowed in FIELDS.items():
        section, _, key = pattern.partition(".")
        if key.endswith("[]"):
            values = raw.get(section, {}).get(key[:-2])
            if not isinstance(values, list):
                raise ContentError(f"{source}: {pattern[:-2]} should be a list of text")
            items = [(f"{pattern[:-2]}[{i}]", v) for i, v in enumerate(values)]
        elif key.startswith("*."):
            field = key[2:]
            items = [
                (f"{section}.{k}.{field}", v.get(field)) for k, v in raw.get(section, {}).items()
            ]
        else:
            items = [(pattern, raw.get(section, {}).get(key))]
        for dotted, template in items:
            if not isinstance(template, str):
                raise ContentError(f"{source}: {dotted} is missing or not text")
            try:
                unknown = _fields_of(template) - allowed
            except ValueError as exc:
                raise ContentError(
                    f"{source}: {dotted}: {exc} (use {{{{ }}}} for a brace)"
                ) from None
            if unknown:
                raise ContentError(
                    f"{source}: {dotted} uses {{{', '.join(sorted(unknown))}}}; "
                    f"it may use {', '.join('{' + f + '}' for f in sorted(allowed)) or 'no fields'}"
                )


def parse_content(raw: Mapping[str, Any], source: str = "content") -> Content:
    _check_templates(raw, source)
    phases = {}
    for key in PHASE_KEYS:
        node = raw.get("phases", {}).get(key)
        if not isinstance(node, Mapping) or not isinstance(node.get("name"), str):
            raise ContentError(f"{source}: phases.{key} needs a name and a text")
        phases[key] = PhaseText(node["name"], node["text"])
    questions = raw.get("reflection", {}).get("questions")
    if not isinstance(questions, list) or not 1 <= len(questions) <= 4:
        raise ContentError(
            f"{source}: reflection.questions needs 1 to 4 questions "
            "(a form holds 5 fields, one is consent)"
        )
    prompts = []
    for i, q in enumerate(questions):
        if not isinstance(q, Mapping) or "key" not in q or "label" not in q:
            raise ContentError(f"{source}: reflection.questions[{i}] needs a key and a label")
        try:
            prompt = Prompt(
                key=str(q["key"]),
                label=str(q["label"]),
                long=bool(q.get("long", True)),
                max_length=int(q.get("max_length", 1000)),
            )
        except (TypeError, ValueError) as exc:
            # Prompt checks Discord's form limits (45-character labels, 4000 characters).
            raise ContentError(f"{source}: reflection.questions[{i}]: {exc}") from None
        prompts.append(prompt)
    if len({p.key for p in prompts}) != len(prompts):
        raise ContentError(f"{source}: reflection.questions keys must be different")
    content = Content(raw=raw, phases=phases, principles=(), prompts=tuple(prompts))
    principles = content.list("guide.principles")
    return Content(raw=raw, phases=phases, principles=principles, prompts=tuple(prompts))


def default_raw() -> dict[str, Any]:
    text = resources.files("bot").joinpath("content/default.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def load_content(path: str | Path | None = None) -> Content:
    """The shipped content, with the file at ``path`` merged over it if given."""
    raw = default_raw()
    source = "bot/content/default.toml"
    if path is not None:
        source = str(path)
        try:
            override = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ContentError(f"{source}: file not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise ContentError(f"{source}: not valid TOML: {exc}") from None
        raw = _merge(raw, override)
    return parse_content(raw, source)
