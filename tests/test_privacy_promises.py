"""docs/privacy.md names, for each promise, the test that checks it: those tests must exist.

A promise whose test is renamed or deleted would otherwise stop being checked without anyone
noticing. Each named test is looked up by parsing its file (no import, no run: the tests
themselves run in the normal suite).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ROW = re.compile(r"^\| (?P<promise>[^|]+?) \| `(?P<path>tests/[^:`]+)::(?P<name>\w+)` \|$")


def promised_tests() -> list[tuple[str, str, str]]:
    text = (ROOT / "docs" / "privacy.md").read_text(encoding="utf-8")
    section = text.split("## How each promise is checked", 1)[1]
    return [
        (m["promise"], m["path"], m["name"])
        for line in section.splitlines()
        if (m := ROW.match(line.strip()))
    ]


def test_the_privacy_notice_names_a_test_for_its_promises() -> None:
    assert len(promised_tests()) >= 10


@pytest.mark.parametrize(("promise", "path", "name"), promised_tests())
def test_each_promise_has_its_test(promise: str, path: str, name: str) -> None:
    source = (ROOT / path).read_text(encoding="utf-8")
    defined = {
        node.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    assert name in defined, f"the promise {promise!r} names {path}::{name}, which does not exist"
