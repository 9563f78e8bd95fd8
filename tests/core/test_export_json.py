from __future__ import annotations

import json
from datetime import date

import pytest

from bot.core.export import (
    JSON_SCHEMA_NAME,
    JSON_SCHEMA_VERSION,
    ReflectionRecord,
    from_json,
    to_json,
)
from tests.builders import PROMPTS, brews, reflections

TODAY = date(2024, 7, 10)


def test_schema_and_version_fields() -> None:
    doc = json.loads(to_json(brews(), reflections(), PROMPTS, generated_on=TODAY))
    assert doc["schema"] == JSON_SCHEMA_NAME == "brew-host.reflections"
    assert doc["version"] == JSON_SCHEMA_VERSION == 1
    assert doc["generated_on"] == "2024-07-10"
    assert list(doc) == ["schema", "version", "generated_on", "prompts", "brews", "reflections"]
    assert [b["number"] for b in doc["brews"]] == [1, 2, 3]
    assert doc["brews"][0] == {
        "number": 1,
        "title": "The value of co-production",
        "area": "Essex",
        "question": "What's missing?",
        "date": "2024-07-01",
        "participants": 12,
        "rooms": 3,
    }
    assert doc["brews"][2]["area"] is None
    assert doc["prompts"][0] == {
        "key": "missing", "label": "What's missing?", "long": True, "max_length": 1000,
    }  # fmt: skip


def test_reflections_have_no_identifying_fields_and_drop_blank_answers() -> None:
    doc = json.loads(to_json(brews(), reflections(), PROMPTS, generated_on=TODAY))
    assert len(doc["reflections"]) == 4
    for r in doc["reflections"]:
        assert set(r) == {"brew_number", "date", "consent", "answers"}
    third = next(r for r in doc["reflections"] if "next" in r["answers"] and r["consent"])
    assert third["answers"] == {"next": "A network"}  # "lasting" was only spaces


def test_round_trip() -> None:
    data = to_json(brews(), reflections(), PROMPTS, generated_on=TODAY)
    parsed = from_json(data)
    assert parsed.generated_on == TODAY
    assert tuple(parsed.prompts) == PROMPTS
    assert sorted(parsed.brews, key=lambda b: b.number) == sorted(brews(), key=lambda b: b.number)
    cleaned = [
        ReflectionRecord(r.brew_number, r.date, r.consent,
                         {k: v for k, v in r.answers.items() if v.strip()})
        for r in reflections()
    ]  # fmt: skip
    key = repr
    assert sorted(parsed.reflections, key=key) == sorted(cleaned, key=key)
    # Writing what was read gives the same bytes: the format is stable.
    again = to_json(parsed.brews, parsed.reflections, parsed.prompts, generated_on=TODAY)
    assert again == data


def test_deterministic_and_independent_of_submission_order() -> None:
    a = to_json(brews(), reflections(), PROMPTS, generated_on=TODAY)
    b = to_json(list(reversed(brews())), list(reversed(reflections())), PROMPTS, generated_on=TODAY)
    assert a == b
    assert a.endswith(b"\n") and not a.startswith(b"\xef\xbb\xbf")


def test_unicode_kept_readable() -> None:
    refl = [ReflectionRecord(1, date(2024, 7, 1), True, {"missing": "caf\u00e9 \u2615"})]
    data = to_json(brews(), refl, PROMPTS, generated_on=TODAY)
    assert "caf\u00e9 \u2615".encode() in data


@pytest.mark.parametrize(
    "doc",
    [
        {"schema": "something-else", "version": 1},
        {"schema": JSON_SCHEMA_NAME, "version": 2},
        {"schema": JSON_SCHEMA_NAME, "version": 1},  # fields missing
        [],
    ],
)
def test_from_json_refuses_other_formats(doc: object) -> None:
    with pytest.raises(ValueError):
        from_json(json.dumps(doc))
