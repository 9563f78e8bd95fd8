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


MODAL_FRAME = {
    "op": 0,
    "t": "INTERACTION_CREATE",
    "s": 42,
    "d": {
        "type": 5,
        "id": "1300000000000000001",
        "member": {"user": {"id": "111111111111111111", "username": "ewa"}},
        "data": {
            "custom_id": "bh:reflect:form:7",
            "components": [
                {
                    "type": 1,
                    "components": [
                        {"type": 4, "custom_id": "missing", "value": "My carer's name is Jo"}
                    ],
                },
                {"type": 18, "component": {"type": 4, "custom_id": "consent", "value": "yes"}},
            ],
        },
    },
}


@pytest.mark.parametrize("level", ["DEBUG", "INFO"])
def test_no_log_line_pairs_a_person_with_what_they_typed_in_a_form(capsys, level):
    """discord.py's gateway logger prints whole events at DEBUG: the form's answers are
    replaced before any handler sees them, and the frame itself is not changed."""
    setup_logging(level)
    logging.getLogger("discord.gateway").debug(
        "For Shard ID %s: WebSocket Event: %s", None, MODAL_FRAME
    )
    logging.getLogger("discord.state").debug("raw: %s", MODAL_FRAME["d"])
    err = capsys.readouterr().err
    assert "Jo" not in err and "'yes'" not in err
    if level == "DEBUG":
        assert "111111111111111111" in err and "[redacted" in err
    assert MODAL_FRAME["d"]["data"]["components"][0]["components"][0]["value"] == (
        "My carer's name is Jo"
    )


def test_a_handler_added_later_also_gets_the_redacted_record():
    setup_logging("DEBUG")
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    logger = logging.getLogger("discord.gateway")
    extra = Keep()
    logger.addHandler(extra)
    try:
        logger.debug("WebSocket Event: %s", MODAL_FRAME)
    finally:
        logger.removeHandler(extra)
    assert seen and "Jo" not in seen[0]


def test_chatty_libraries_are_pinned_to_warnings_even_at_debug():
    setup_logging("DEBUG")
    for name in ("aiosqlite", "sqlalchemy.engine", "apscheduler.executors.default"):
        assert not logging.getLogger(name).isEnabledFor(logging.INFO), name
    assert logging.getLogger("bot.shell.runner").isEnabledFor(logging.DEBUG)
