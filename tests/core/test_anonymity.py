from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from bot.core.anonymity import (
    SECRET_BYTES,
    new_secret,
    pair_key,
    pair_keys,
    receipt,
    receipt_matches,
    submitted_on,
)

SECRET = bytes(range(32))
OTHER = bytes(range(1, 33))
ALICE = 123456789012345678
BOB = 987654321098765432


def test_new_secret_is_random_and_long() -> None:
    a, b = new_secret(), new_secret()
    assert len(a) == SECRET_BYTES == 32
    assert a != b


def test_receipt_is_stable_per_secret() -> None:
    assert receipt(SECRET, ALICE) == receipt(SECRET, ALICE)
    assert len(receipt(SECRET, ALICE)) == 64
    int(receipt(SECRET, ALICE), 16)  # hex


def test_receipt_differs_across_secrets_and_people() -> None:
    assert receipt(SECRET, ALICE) != receipt(OTHER, ALICE)
    assert receipt(SECRET, ALICE) != receipt(SECRET, BOB)


def test_receipt_is_keyed_not_a_plain_hash() -> None:
    # Without the secret, hashing guessed ids must not reproduce the receipt.
    for candidate in (str(ALICE).encode(), f"receipt:{ALICE}".encode()):
        assert hashlib.sha256(candidate).hexdigest() != receipt(SECRET, ALICE)


def test_receipt_matches() -> None:
    stored = receipt(SECRET, ALICE)
    assert receipt_matches(SECRET, ALICE, stored)
    assert not receipt_matches(SECRET, BOB, stored)
    assert not receipt_matches(OTHER, ALICE, stored)


def test_pair_key_is_symmetric_and_keyed() -> None:
    assert pair_key(SECRET, ALICE, BOB) == pair_key(SECRET, BOB, ALICE)
    assert pair_key(SECRET, ALICE, BOB) != pair_key(OTHER, ALICE, BOB)
    assert pair_key(SECRET, ALICE, BOB) != pair_key(SECRET, ALICE, BOB + 1)
    assert len(pair_key(SECRET, ALICE, BOB)) == 64


def test_pair_keys_are_every_pair_key_once() -> None:
    people = [BOB, ALICE, 7, ALICE, 42]  # unsorted, with a repeat
    keys = pair_keys(SECRET, people)
    assert len(keys) == 6  # 4 different people
    for key, (low, high) in keys.items():
        assert low < high and key == pair_key(SECRET, high, low)
    assert {frozenset(p) for p in keys.values()} == {
        frozenset((a, b)) for a in (7, 42, ALICE, BOB) for b in (7, 42, ALICE, BOB) if a != b
    }
    assert pair_keys(SECRET, [ALICE]) == {}
    with pytest.raises(ValueError):
        pair_keys(b"short", [ALICE, BOB])
    with pytest.raises(ValueError):
        pair_keys(SECRET, [ALICE, -1])


def test_pair_key_and_receipt_are_domain_separated() -> None:
    assert pair_key(SECRET, 1, 2) != receipt(SECRET, 1)
    assert pair_key(SECRET, 1, 2) != receipt(SECRET, 2)


@pytest.mark.parametrize(
    "call",
    [
        lambda: receipt(b"short", ALICE),
        lambda: receipt("not bytes" * 5, ALICE),  # type: ignore[arg-type]
        lambda: receipt(SECRET, -1),
        lambda: receipt(SECRET, True),
        lambda: receipt(SECRET, "1"),  # type: ignore[arg-type]
        lambda: pair_key(SECRET, ALICE, ALICE),
    ],
)
def test_bad_inputs_are_refused(call: object) -> None:
    with pytest.raises(ValueError):
        call()  # type: ignore[operator]


def test_submitted_on_keeps_only_the_date() -> None:
    now = datetime(2024, 7, 1, 23, 30, tzinfo=UTC)
    assert submitted_on(now) == date(2024, 7, 1)
    bst = timezone(timedelta(hours=1))
    assert submitted_on(now, bst) == date(2024, 7, 2)
    assert type(submitted_on(now)) is date
    with pytest.raises(ValueError):
        submitted_on(datetime(2024, 7, 1, 12))
