"""The bot token never reaches a log line, whatever a message or exception contains."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bot.logging_setup import RedactToken, setup_logging

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.Gabcde.secret-secret-secret"


@pytest.fixture(autouse=True)
def keep_root_handlers() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_the_token_is_replaced_in_messages_and_arguments(capsys):
    setup_logging("INFO", TOKEN)
    log = logging.getLogger("brewhost.test")
    log.info("connecting with %s", TOKEN)
    log.warning(f"oops {TOKEN} leaked into an f-string")
    err = capsys.readouterr().err
    assert TOKEN not in err
    assert err.count("[token hidden]") == 2


def test_without_a_token_nothing_is_changed():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "plain %s", ("text",), None)
    assert RedactToken(None).filter(record)
    assert record.getMessage() == "plain text"
