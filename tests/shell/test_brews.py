"""Checking a facilitator's brew options before anything is saved."""

from __future__ import annotations

import pytest

from bot.shell.brews import parse_perspectives
from bot.shell.errors import UserFacingError


def test_perspectives_are_trimmed_deduplicated_and_made_inert():
    assert parse_perspectives(" carer, practitioner ,carer,, @everyone") == (
        "carer",
        "practitioner",
        "@\u200beveryone",
    )
    assert parse_perspectives(None) == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [("a,b,c,d,e,f", "at most 5"), ("x" * 41, "40 characters or fewer")],
)
def test_too_many_or_too_long_perspectives_are_refused_not_cut(text, message):
    with pytest.raises(UserFacingError, match=message):
        parse_perspectives(text)
