"""The simulator's JSON (discordsim/jsoncodec.py) reads and writes what the standard library
does, whichever library is underneath."""

from __future__ import annotations

import json

import pytest

from discordsim import jsoncodec


def test_same_values_as_the_standard_library() -> None:
    value = {"d": {"content": "Café ☕ — naïve", "id": "1234567890123456789"}, "s": 3, 7: [1.5]}
    assert json.loads(jsoncodec.dumps(value)) == json.loads(json.dumps(value))
    assert json.loads(jsoncodec.dumps_bytes(value)) == json.loads(json.dumps(value))
    assert jsoncodec.loads(json.dumps(value).encode()) == json.loads(json.dumps(value))
    assert " " not in jsoncodec.dumps({"a": [1, 2]})  # compact, as Discord sends it


@pytest.mark.parametrize("bad", ["{", b"\xff\xfe", "", "[1,]"])
def test_bad_json_is_a_value_error(bad: str | bytes) -> None:
    with pytest.raises(ValueError):
        jsoncodec.loads(bad)


def test_uses_orjson_when_installed() -> None:
    pytest.importorskip("orjson")
    assert jsoncodec.FAST
