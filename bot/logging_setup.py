"""Logging through the standard library, with the bot token scrubbed from every line."""

from __future__ import annotations

import logging


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


def setup_logging(level: str, token: str | None = None) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    handler.addFilter(RedactToken(token))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # discord.py's HTTP debug lines are noisy and can include request bodies.
    logging.getLogger("discord.http").setLevel(max(logging.INFO, root.level))
