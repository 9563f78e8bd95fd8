"""The words Brew Host says, loaded from a TOML content file.

Nothing people read is hard-coded in the cogs: the shipped ``bot/content/default.toml`` holds the
guide, the Camerados principles, phase prompts, reflection questions and every message, and a
server may replace any part of it (``[content] path``). A replacement is merged over the default,
so a partial file works, and the whole result is checked when the bot starts
(``bot/core/content_schema.py``: every key's type, every template's fields, Discord's length
limits), so a mistake is one line from ``brewhost check-config`` rather than a room that stops.
In every text, ``{{`` and ``}}`` show a single brace.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from bot.core.content_schema import (
    FIELDS,
    MAX_GROUP,
    MESSAGE_LIMIT,
    PHASE_KEYS,
    QUESTION_LIMIT,
    SAMPLES,
    TITLE_LIMIT,
    SchemaError,
    check_messages,
    check_shape,
    fields_for,
    literal,
)
from bot.core.messages import guide_text
from bot.core.phases import Timing
from bot.core.reflections import Prompt

__all__ = ["FIELDS", "PHASE_KEYS", "Content", "ContentError", "PhaseText", "load_content"]


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
        if not fields_for(dotted):
            # A text without fields is shown as written, except that {{ shows as {, the same
            # rule as in texts with fields (the load-time check refused any field in it).
            return literal(node)
        return node

    def format(self, dotted: str, **values: Any) -> str:
        """The text at ``dotted`` with its fields filled (a plain text is returned as is)."""
        if not fields_for(dotted):
            return self.text(dotted)
        return self.text(dotted).format(**values)

    def button(self, name: str) -> str:
        return self.text(f"buttons.{name}")

    def list(self, dotted: str) -> tuple[str, ...]:
        section, _, key = dotted.rpartition(".")
        value = self.raw.get(section, {}).get(key) if section else self.raw.get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ContentError(f"content {dotted!r} should be a list of text")
        if not fields_for(f"{dotted}[]"):
            return tuple(literal(v) for v in value)
        return tuple(value)


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def parse_content(raw: Mapping[str, Any], source: str = "content") -> Content:
    """Check everything in ``raw`` (already merged over the default) and build the content.

    Every key's type, every template's fields and every length Discord enforces are checked
    here, so a mistake is one line at start-up instead of a room that silently stops.
    """
    try:
        check_shape(raw)
        check_messages(raw)
    except SchemaError as exc:
        raise ContentError(f"{source}: {exc}") from None
    phases = {
        key: PhaseText(literal(raw["phases"][key]["name"]), raw["phases"][key]["text"])
        for key in PHASE_KEYS
    }
    questions = raw["reflection"]["questions"]
    if not 1 <= len(questions) <= 4:
        raise ContentError(
            f"{source}: reflection.questions needs 1 to 4 questions "
            "(a form holds 5 fields, one is consent)"
        )
    prompts = []
    for i, q in enumerate(questions):
        if "key" not in q or "label" not in q:
            raise ContentError(f"{source}: reflection.questions[{i}] needs a key and a label")
        try:
            prompt = Prompt(
                key=q["key"],
                label=literal(q["label"]),
                long=q.get("long", True),
                max_length=q.get("max_length", 1000),
            )
        except (TypeError, ValueError) as exc:
            # Prompt checks Discord's form limits (45-character labels, 4000 characters).
            raise ContentError(f"{source}: reflection.questions[{i}]: {exc}") from None
        prompts.append(prompt)
    if len({p.key for p in prompts}) != len(prompts):
        raise ContentError(f"{source}: reflection.questions keys must be different")
    content = Content(raw=raw, phases=phases, principles=(), prompts=tuple(prompts))
    content = Content(
        raw=raw, phases=phases, principles=content.list("guide.principles"), prompts=tuple(prompts)
    )
    _check_guide(content, source)
    return content


def _check_guide(content: Content, source: str) -> None:
    """The guide is one message: with the longest question, title and group it must fit."""
    longest = max(
        ("guide.text_turns_note", "guide.mixed_turns_note"), key=lambda k: len(content.text(k))
    )
    text = guide_text(
        content,
        SAMPLES["question"],
        [10**19] * MAX_GROUP,
        title=SAMPLES["title"],
        turns_in_text=True,
        all_text_only=longest == "guide.text_turns_note",
        timing=Timing(arrive=1799, think=599, turn=599),
    )
    if len(text) > MESSAGE_LIMIT:
        raise ContentError(
            f"{source}: guide: the guide posted in each room can reach {len(text)} characters "
            f"with a {QUESTION_LIMIT}-character question, a {TITLE_LIMIT}-character title and "
            f"{MAX_GROUP} people; Discord allows {MESSAGE_LIMIT}, so shorten the [guide] texts "
            f"by {len(text) - MESSAGE_LIMIT} characters"
        )


def default_raw() -> dict[str, Any]:
    text = resources.files("bot").joinpath("content/default.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def read_toml(path: str | Path) -> dict[str, Any]:
    """A content file's tables, or a :class:`ContentError` naming the file and the problem."""
    source = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise ContentError(f"{source}: file not found") from None
    except IsADirectoryError:
        raise ContentError(f"{source}: is a folder, not a content file") from None
    except OSError as exc:
        raise ContentError(f"{source}: cannot be read ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ContentError(
            f"{source}: not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); "
            "save the file as UTF-8"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message ends with "(at line L, column C)".
        raise ContentError(f"{source}: not valid TOML: {exc}") from None


def load_content(path: str | Path | None = None) -> Content:
    """The shipped content, with the file at ``path`` merged over it if given."""
    raw = default_raw()
    source = "bot/content/default.toml"
    if path is not None:
        source = str(path)
        raw = _merge(raw, read_toml(path))
    return parse_content(raw, source)
