"""Payload limits reported like Discord reports them (400 / 50035 with an error tree)."""

from __future__ import annotations

from typing import Any

import pytest

from discordsim import ApiError
from discordsim.validation import check_autocomplete, check_message, check_modal


def _errors(fn: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ApiError) as info:
        fn(*args, **kwargs)
    assert info.value.status == 400 and info.value.code == 50035
    assert info.value.errors is not None
    return info.value.errors


def _text_input(**extra: Any) -> dict[str, Any]:
    return {"type": 4, "custom_id": "t", "label": "L", "style": 1, **extra}


def test_modal_limits() -> None:
    ok = {
        "title": "T",
        "custom_id": "m",
        "components": [{"type": 1, "components": [_text_input()]}],
    }
    check_modal(ok, ["data"])
    errs = _errors(check_modal, {**ok, "title": "x" * 46}, ["data"])
    assert errs["data"]["title"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"
    errs = _errors(check_modal, {**ok, "components": []}, ["data"])
    assert errs["data"]["components"]["_errors"][0]["code"] == "BASE_TYPE_BAD_LENGTH"
    six = [{"type": 1, "components": [_text_input(custom_id=f"t{i}")]} for i in range(6)]
    _errors(check_modal, {**ok, "components": six}, ["data"])
    big = {**ok, "components": [{"type": 1, "components": [_text_input(max_length=4001)]}]}
    errs = _errors(check_modal, big, ["data"])
    assert "max_length" in errs["data"]["components"]["0"]["components"]["0"]
    label = {
        "type": 18,
        "label": "Your answer",
        "component": _text_input(custom_id="c" * 101),
    }
    errs = _errors(check_modal, {**ok, "components": [label]}, ["data"])
    assert "custom_id" in errs["data"]["components"]["0"]["component"]


def test_message_components_and_embeds() -> None:
    button = {"type": 2, "style": 1, "label": "Go", "custom_id": "go"}
    check_message({"components": [{"type": 1, "components": [button]}]})
    errs = _errors(
        check_message,
        {"components": [{"type": 1, "components": [button, dict(button)]}]},
    )
    leaf = errs["components"]["0"]["components"]["1"]["custom_id"]["_errors"][0]
    assert leaf["code"] == "COMPONENT_CUSTOM_ID_DUPLICATED"
    errs = _errors(check_message, {"components": [{"type": 1, "components": [button] * 0}]})
    assert "components" in errs["components"]["0"]
    errs = _errors(check_message, {"embeds": [{"title": "t"}] * 11})
    assert errs["embeds"]["_errors"][0]["message"] == "Must be 10 or fewer in length."
    errs = _errors(check_message, {"content": "hi", "flags": 1 << 15})
    assert "content" in errs
    errs = _errors(
        check_message, {"content": "x", "allowed_mentions": {"parse": ["users"], "users": ["1"]}}
    )
    assert "users" in errs["allowed_mentions"]


def test_empty_message_is_50006() -> None:
    with pytest.raises(ApiError) as info:
        check_message({"content": ""})
    assert info.value.code == 50006
    check_message({"content": ""}, has_files=True)


def test_autocomplete_choices_limit() -> None:
    choices = [{"name": f"c{i}", "value": str(i)} for i in range(26)]
    errs = _errors(check_autocomplete, {"choices": choices}, ["data"])
    assert errs["data"]["choices"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"
    check_autocomplete({"choices": choices[:25]}, ["data"])
