"""Logging through the standard library: the bot token scrubbed from every line, what people
wrote in a form never written next to who they are, and no library flooding the log.

Why each rule:

* The token is a password; a mistaken f-string or an exception text must not leak it.
* At DEBUG, discord.py's gateway logger writes each whole gateway event. For the submit of a
  reflection form that line holds the person's user id and their answers together, which would
  break the promise that logs never pair a person with a reflection. :class:`RedactFormAnswers`
  replaces the typed values of every form submit before any handler sees the record. It is
  attached to the loggers that print gateway payloads (so any handler, even one added later by
  whoever runs the bot, gets the redacted record) and to our own handler as well.
* Libraries that print SQL parameters or every scheduled job are pinned to warnings: aiosqlite
  logs each call with its parameters at DEBUG (a reflection's words), SQLAlchemy prints
  parameters when its engine logger is enabled, and APScheduler writes two INFO lines per timer,
  which in a brew of forty rooms buries the lines that matter.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

#: discord.py's loggers that may print a raw gateway payload or an interaction's data.
PAYLOAD_LOGGERS = (
    "discord.gateway",
    "discord.state",
    "discord.client",
    "discord.interactions",
    "discord.ui.view",
    "discord.ui.modal",
    "discord.app_commands.tree",
    "discord.webhook.async_",
    "discord.http",
)

#: Loggers that are too chatty or print parameters, and the lowest level they may log at.
QUIET_LOGGERS: dict[str, int] = {
    "discord.http": logging.INFO,  # request bodies at DEBUG
    "aiosqlite": logging.WARNING,  # every call with its SQL parameters at DEBUG
    "sqlalchemy": logging.WARNING,  # statements with parameters at INFO/DEBUG
    "apscheduler": logging.WARNING,  # "Running job" / "executed successfully" per timer
    "asyncpg": logging.WARNING,
}

#: The interaction type of a modal (form) submit in Discord's API.
MODAL_SUBMIT = 5
REDACTED = "[redacted: typed into a form]"


class RedactToken(logging.Filter):
    """Replace the token wherever it might appear (a mistaken f-string, an exception text)."""

    def __init__(self, secret: str | None) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secret:
            message = record.getMessage()
            if self.secret in message:
                record.msg = message.replace(self.secret, "[token hidden]")
                record.args = None
        return True


def _redact_components(components: Any) -> Any:
    """Components of a submitted form with every typed ``value`` replaced (ids kept)."""
    if isinstance(components, list):
        return [_redact_components(c) for c in components]
    if isinstance(components, dict):
        out = {}
        for key, value in components.items():
            if key in ("value", "values"):
                out[key] = REDACTED
            else:
                out[key] = _redact_components(value)
        return out
    return components


def _is_form_submit(payload: dict[str, Any]) -> bool:
    return payload.get("type") == MODAL_SUBMIT and isinstance(payload.get("data"), dict)


def redact_payload(value: Any) -> Any:
    """``value`` with the typed answers of any form submit inside it replaced.

    Recognises a gateway frame (``{"t": "INTERACTION_CREATE", "d": {...}}``), a bare interaction
    payload, and lists or tuples of them. Anything else is returned as it is (the same object),
    so ordinary log lines cost nothing.
    """
    if isinstance(value, dict):
        inner = value.get("d")
        if isinstance(inner, dict) and _is_form_submit(inner):
            redacted = dict(value)
            redacted["d"] = redact_payload(inner)
            return redacted
        if _is_form_submit(value):
            redacted = copy.copy(value)
            data = dict(value["data"])
            data["components"] = _redact_components(data.get("components", []))
            redacted["data"] = data
            return redacted
        return value
    if isinstance(value, list | tuple):
        items = [redact_payload(v) for v in value]
        if all(a is b for a, b in zip(items, value, strict=True)):
            return value
        return type(value)(items) if isinstance(value, tuple) else items
    return value


class RedactFormAnswers(logging.Filter):
    """Replace what people typed into a form wherever a record carries the raw payload."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and args:
            record.args = tuple(redact_payload(a) for a in args)
        elif isinstance(args, dict) and args:
            record.args = redact_payload(args)
        if isinstance(record.msg, dict | list):
            record.msg = redact_payload(record.msg)
        return True


def quiet_libraries(root_level: int) -> None:
    """Pin the chatty libraries (see :data:`QUIET_LOGGERS`) and guard the payload loggers."""
    for name, floor in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(max(floor, root_level))
    redactor = RedactFormAnswers()
    for name in PAYLOAD_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactFormAnswers) for f in logger.filters):
            logger.addFilter(redactor)


def setup_logging(level: str, token: str | None = None) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    handler.addFilter(RedactFormAnswers())
    handler.addFilter(RedactToken(token))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    quiet_libraries(root.level)
