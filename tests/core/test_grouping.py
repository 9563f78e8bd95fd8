"""Tests for bot/core/grouping.py: the hard rules (sizes, keep-apart, text-only
layout, determinism) as properties, keep-apart completeness by brute force,
and the soft mixing goals on fixed cases."""

from __future__ import annotations

import math
import os
import random
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Iterator, Sequence
from itertools import combinations
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.grouping import (
    ApartConstraintError,
    Group,
    GroupingError,
    Person,
    group_sizes,
    mixing_cost,
    pair_weights,
    pairs_in,
    plan_groups,
)
from tests.grouping_oracle import brute_force_solvable

FAST = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------- helpers


def fs(a: str, b: str) -> frozenset[str]:
    return frozenset((a, b))


def people_n(n: int, *, text: Sequence[int] = (), persp: Sequence[str | None] = ()) -> list[Person]:
    return [
        Person(
            f"p{i}",
            text_only=i in text,
            perspective=persp[i] if i < len(persp) else None,
        )
        for i in range(n)
    ]


def check_basic(people: Sequence[Person], group_size: int, groups: list[Group]) -> None:
    """Rules that hold for every result: a partition, the documented sizes,
    nobody alone, and turns_in_text exactly when a text-only person is in."""
    keys = [p.key for p in people]
    seated = [k for g in groups for k in g.members]
    assert sorted(seated) == sorted(keys), "everyone exactly once"
    sizes = sorted((len(g.members) for g in groups), reverse=True)
    assert sizes == group_sizes(len(people), group_size)
    assert min(sizes) >= 2
    assert max(sizes) - min(sizes) <= 1
    text = {p.key for p in people if p.text_only}
    for g in groups:
        assert g.turns_in_text == any(k in text for k in g.members)


def ideal_text_rooms(sizes: Sequence[int], t: int) -> tuple[int, int]:
    """Independent statement of rule 2: (fewest rooms that can hold the t
    text-only people, fewest voice people who then share those rooms)."""
    if t == 0:
        return 0, 0
    for m in range(1, len(sizes) + 1):
        caps = {sum(c) for c in combinations(sizes, m)}
        ok = [c for c in caps if c >= t]
        if ok:
            return m, min(ok) - t
    raise AssertionError


def check_text_layout(people: Sequence[Person], groups: list[Group]) -> None:
    text = {p.key for p in people if p.text_only}
    t = len(text)
    sizes = [len(g.members) for g in groups]
    rooms_with_text = [g for g in groups if any(k in text for k in g.members)]
    m, slack = ideal_text_rooms(sizes, t)
    assert len(rooms_with_text) == m
    voice_typing = sum(1 for g in rooms_with_text for k in g.members if k not in text)
    assert voice_typing == slack
    if t == 1:
        assert len(rooms_with_text[0].members) == min(sizes), "lone text-only joins a small room"
    if t >= 2:
        mixed = [g for g in rooms_with_text if any(k not in text for k in g.members)]
        assert len(mixed) <= 1, "text rooms are filled with text-only people first"


# ---------------------------------------------------------------- sizes


@pytest.mark.parametrize(
    ("n", "size", "expected"),
    [
        (2, 2, [2]),
        (2, 6, [2]),
        (3, 2, [3]),
        (3, 4, [3]),
        (4, 3, [2, 2]),
        (5, 2, [3, 2]),
        (5, 4, [3, 2]),
        (6, 4, [3, 3]),
        (7, 3, [3, 2, 2]),
        (7, 4, [4, 3]),
        (9, 4, [3, 3, 3]),
        (10, 4, [4, 3, 3]),
        (11, 2, [3, 2, 2, 2, 2]),
        (13, 5, [5, 4, 4]),
        (40, 4, [4] * 10),
    ],
)
def test_documented_awkward_numbers(n: int, size: int, expected: list[int]) -> None:
    assert group_sizes(n, size) == expected


@given(st.integers(2, 500), st.integers(2, 40))
@settings(max_examples=300, deadline=None)
def test_group_sizes_rule(n: int, size: int) -> None:
    sizes = group_sizes(n, size)
    assert sum(sizes) == n
    assert min(sizes) >= 2
    assert max(sizes) - min(sizes) <= 1
    assert sizes == sorted(sizes, reverse=True)
    assert len(sizes) == min(math.ceil(n / size), n // 2)
    # Only groups of 2 with an odd number of people ever exceed the size.
    if max(sizes) > size:
        assert size == 2 and n % 2 == 1 and sizes.count(3) == 1


@pytest.mark.parametrize(("n", "size"), [(0, 4), (1, 4), (1, 2), (5, 1), (5, 0), (5, -3)])
def test_too_few_people_or_tiny_groups_are_refused_kindly(n: int, size: int) -> None:
    with pytest.raises(GroupingError) as info:
        group_sizes(n, size)
    msg = str(info.value)
    assert msg and msg[0].isupper() and msg.endswith(".")
    with pytest.raises(GroupingError):
        plan_groups(people_n(n), size, rng=random.Random(0))


def test_grouping_error_is_a_value_error() -> None:
    assert issubclass(GroupingError, ValueError)
    assert issubclass(ApartConstraintError, GroupingError)


def test_duplicate_keys_are_refused() -> None:
    with pytest.raises(GroupingError, match="twice"):
        plan_groups([Person("a"), Person("b"), Person("a")], 2, rng=random.Random(0))


# ---------------------------------------------------------------- properties

people_strategy = st.integers(2, 30).flatmap(
    lambda n: st.lists(
        st.tuples(st.booleans(), st.sampled_from([None, "carer", "practitioner", "drawing"])),
        min_size=n,
        max_size=n,
    )
)


@given(
    spec=people_strategy,
    size=st.integers(2, 7),
    seed=st.integers(0, 10**6),
    text_share=st.floats(0, 1),
    data=st.data(),
)
@FAST
def test_invariants_hold_for_any_input(
    spec: list[tuple[bool, str | None]],
    size: int,
    seed: int,
    text_share: float,
    data: st.DataObject,
) -> None:
    rnd = random.Random(seed)
    people = [
        Person(f"u{i}", text_only=flag and rnd.random() < text_share, perspective=p)
        for i, (flag, p) in enumerate(spec)
    ]
    keys = [p.key for p in people]
    pairs = [fs(a, b) for a, b in combinations(keys, 2)]
    recent = {p: rnd.choice([0.0, 0.5, 1.0, 2.3]) for p in pairs if rnd.random() < 0.3}
    density = data.draw(st.sampled_from([0.0, 0.02, 0.1]))
    apart = {p for p in pairs if rnd.random() < density}
    try:
        groups = plan_groups(
            people, size, rng=random.Random(seed), recent_pairs=recent, apart=apart, effort=400
        )
    except ApartConstraintError as err:
        assert apart, "only keep-apart can make planning fail"
        assert set(map(frozenset, err.pairs)) <= apart
        if len(people) <= 9:
            assert not brute_force_solvable(keys, group_sizes(len(people), size), apart)
        return
    check_basic(people, size, groups)
    assert not (pairs_in(groups) & apart), "keep-apart is never violated"
    if not apart:
        check_text_layout(people, groups)


@given(
    n=st.integers(2, 40),
    size=st.integers(2, 6),
    text=st.integers(0, 40),
    seed=st.integers(0, 10**6),
)
@FAST
def test_text_only_people_are_concentrated(n: int, size: int, text: int, seed: int) -> None:
    rnd = random.Random(seed)
    t = min(text, n)
    text_idx = set(rnd.sample(range(n), t))
    people = people_n(n, text=sorted(text_idx))
    groups = plan_groups(people, size, rng=random.Random(seed), effort=200)
    check_basic(people, size, groups)
    check_text_layout(people, groups)


def test_single_text_only_person_joins_a_voice_room_with_typed_turns() -> None:
    people = people_n(10, text=[3])
    groups = plan_groups(people, 4, rng=random.Random(1))
    (room,) = [g for g in groups if "p3" in g.members]
    assert room.turns_in_text
    assert len(room.members) == 3  # one of the smaller rooms (sizes 4, 3, 3)
    assert sum(g.turns_in_text for g in groups) == 1


def test_text_only_rooms_fill_with_text_only_people_first() -> None:
    # 12 people in rooms of 4, five text-only: one all-text room, and the
    # fifth person with three voice people (fewest rooms, fill first).
    people = people_n(12, text=[0, 2, 4, 6, 8])
    groups = plan_groups(people, 4, rng=random.Random(3))
    counts = sorted(
        (sum(k in {"p0", "p2", "p4", "p6", "p8"} for k in g.members) for g in groups),
        reverse=True,
    )
    assert counts == [4, 1, 0]
    # 7 text-only in rooms 4,4,3,3: exactly a 4 and a 3, nobody voice typing.
    people = people_n(14, text=range(7))
    groups = plan_groups(people, 4, rng=random.Random(3))
    text_rooms = [g for g in groups if g.turns_in_text]
    assert sorted(len(g.members) for g in text_rooms) == [3, 4]
    assert all(int(k[1:]) < 7 for g in text_rooms for k in g.members)


@given(
    n=st.integers(2, 25),
    size=st.integers(2, 5),
    seed=st.integers(0, 10**6),
    text=st.integers(0, 6),
)
@FAST
def test_deterministic_under_seed_and_independent_of_list_order(
    n: int, size: int, seed: int, text: int
) -> None:
    rnd = random.Random(seed)
    people = people_n(n, text=range(min(text, n)), persp=[rnd.choice("abc") for _ in range(n)])
    keys = [p.key for p in people]
    recent = {fs(a, b): 1.0 for a, b in combinations(keys, 2) if rnd.random() < 0.3}
    apart = {fs(a, b) for a, b in combinations(keys, 2) if rnd.random() < 0.03}

    def run(ps: Sequence[Person]) -> list[Group] | str:
        try:
            return plan_groups(
                ps, size, rng=random.Random(seed), recent_pairs=recent, apart=apart, effort=300
            )
        except ApartConstraintError as err:
            return str(err)

    first = run(people)
    assert run(people) == first
    shuffled = list(people)
    rnd.shuffle(shuffled)
    assert run(shuffled) == first


def test_same_result_whatever_the_hash_seed() -> None:
    """Nothing may depend on set/dict iteration order of strings, which
    changes between processes (PYTHONHASHSEED)."""
    code = textwrap.dedent(
        """
        import random
        from itertools import combinations
        from bot.core.grouping import Person, plan_groups
        ps = [Person(f"k{i}", text_only=i % 5 == 0, perspective="abc"[i % 3]) for i in range(23)]
        ks = [p.key for p in ps]
        r = {frozenset((a, b)): 1.0 for a, b in combinations(ks, 2) if len(a + b) % 3 == 0}
        ap = {frozenset(("k1", "k2")), frozenset(("k3", "k4")), frozenset(("k6", "k7"))}
        print(plan_groups(ps, 4, rng=random.Random(7), recent_pairs=r, apart=ap))
        """
    )
    root = Path(__file__).resolve().parents[2]
    outs = set()
    for hash_seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        res = subprocess.run(
            [sys.executable, "-c", code],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        outs.add(res.stdout)
    assert len(outs) == 1


def test_different_seeds_give_different_groupings() -> None:
    people = people_n(20)
    results = {
        tuple(g.members for g in plan_groups(people, 4, rng=random.Random(s))) for s in range(5)
    }
    assert len(results) > 1


def test_effort_zero_is_a_valid_random_grouping() -> None:
    people = people_n(23, text=[1, 5, 9])
    apart = {fs("p0", "p1"), fs("p2", "p3")}
    groups = plan_groups(people, 4, rng=random.Random(0), apart=apart, effort=0)
    check_basic(people, 4, groups)
    check_text_layout(people, groups)
    assert not pairs_in(groups) & apart


# ---------------------------------------------------------------- keep-apart


def test_keep_apart_complete_for_every_apart_list_up_to_five_people() -> None:
    """Exhaustive: every keep-apart graph on 2-5 people, every group size."""
    for n in range(2, 6):
        keys = [f"p{i}" for i in range(n)]
        all_pairs = [fs(a, b) for a, b in combinations(keys, 2)]
        people = people_n(n, text=[0] if n > 3 else [])
        for mask in range(1 << len(all_pairs)):
            apart = {p for i, p in enumerate(all_pairs) if mask >> i & 1}
            for size in range(2, n + 1):
                solvable = brute_force_solvable(keys, group_sizes(n, size), apart)
                try:
                    groups = plan_groups(
                        people, size, rng=random.Random(mask), apart=apart, effort=0
                    )
                except ApartConstraintError:
                    assert not solvable, (n, size, apart)
                    continue
                assert solvable
                assert not pairs_in(groups) & apart


@pytest.mark.parametrize("seed", range(6))
def test_keep_apart_complete_on_random_instances_up_to_nine_people(seed: int) -> None:
    """Random instances, 6-9 people, densities from sparse to hopeless, with
    and without text-only people; compared with brute force."""
    rnd = random.Random(1000 + seed)
    outcomes = Counter()
    for _ in range(60):
        n = rnd.randint(6, 9)
        size = rnd.randint(2, 5)
        keys = [f"p{i}" for i in range(n)]
        people = [Person(k, text_only=rnd.random() < 0.35) for k in keys]
        density = rnd.choice([0.1, 0.2, 0.3, 0.45, 0.6])
        apart = {fs(a, b) for a, b in combinations(keys, 2) if rnd.random() < density}
        solvable = brute_force_solvable(keys, group_sizes(n, size), apart)
        try:
            groups = plan_groups(people, size, rng=random.Random(seed), apart=apart, effort=50)
        except ApartConstraintError as err:
            assert not solvable
            assert err.proven
            outcomes["refused"] += 1
            continue
        assert solvable
        check_basic(people, size, groups)
        assert not pairs_in(groups) & apart
        outcomes["solved"] += 1
    assert outcomes["solved"] and outcomes["refused"]


def test_apart_error_names_a_minimal_clashing_set() -> None:
    # Rooms of 3 and 3: a, b, c mutually apart is impossible (pigeonhole);
    # the unrelated pair d-e is not part of the clash.
    people = people_n(6)
    apart = {fs("p0", "p1"), fs("p0", "p2"), fs("p1", "p2"), fs("p3", "p4")}
    with pytest.raises(ApartConstraintError) as info:
        plan_groups(people, 3, rng=random.Random(0), apart=apart)
    err = info.value
    assert err.proven and err.minimal
    assert set(err.pairs) == {("p0", "p1"), ("p0", "p2"), ("p1", "p2")}
    msg = str(err)
    assert "p0 & p1" in msg and "p3 & p4" not in msg
    assert "keep-apart" in msg
    # Minimal: dropping any named pair makes it possible.
    keys = [p.key for p in people]
    named = {frozenset(p) for p in err.pairs}
    for pair in named:
        assert brute_force_solvable(keys, [3, 3], named - {pair})


def test_apart_pair_in_a_single_room_is_refused() -> None:
    with pytest.raises(ApartConstraintError) as info:
        plan_groups(people_n(3), 2, rng=random.Random(0), apart=[fs("p0", "p2")])
    assert info.value.pairs == (("p0", "p2"),)


def test_search_budget_exhaustion_is_reported_honestly() -> None:
    keys = [f"p{i}" for i in range(12)]
    # Dense enough that the quick greedy pass fails, so the full search runs.
    apart = {fs(a, b) for a, b in combinations(keys, 2) if (int(a[1:]) + int(b[1:])) % 3}
    with pytest.raises(ApartConstraintError) as info:
        plan_groups(people_n(12), 3, rng=random.Random(0), apart=apart, search_budget=1)
    assert not info.value.proven
    assert "may still be possible" in str(info.value)


def test_keep_apart_beats_text_only_concentration_when_they_clash() -> None:
    # Five text-only people, rooms of 4,4,4.  Ideal: four of them together.
    # But p0-p1 and p2-p3 must be apart, so no four of p0..p4 can share a
    # room; the planner must still succeed (3 + 2) and keep every text-only
    # person in a room with typed turns.
    people = people_n(12, text=range(5))
    apart = {fs("p0", "p1"), fs("p2", "p3")}
    for seed in range(10):
        groups = plan_groups(people, 4, rng=random.Random(seed), apart=apart)
        check_basic(people, 4, groups)
        assert not pairs_in(groups) & apart
        text_rooms = [g for g in groups if g.turns_in_text]
        assert len(text_rooms) == 2  # still as concentrated as keep-apart allows


def test_apart_entries_are_read_safely() -> None:
    people = people_n(9)
    # A set of three keys means all three apart; a one-key set and absent
    # people are ignored.
    apart = [frozenset({"p0", "p1", "p2"}), frozenset({"p5"}), fs("p3", "ghost")]
    for seed in range(10):
        groups = plan_groups(people, 3, rng=random.Random(seed), apart=apart)
        together = pairs_in(groups)
        assert not {fs("p0", "p1"), fs("p0", "p2"), fs("p1", "p2")} & together


# ---------------------------------------------------------------- mixing


def same_perspective_excess(groups: Sequence[Group], persp: dict[str, str | None]) -> int:
    """Same-perspective pairs in rooms beyond the fewest the counts force."""
    pairs = 0
    for g in groups:
        c = Counter(persp[k] for k in g.members if persp[k] is not None)
        pairs += sum(v * (v - 1) // 2 for v in c.values())
    return pairs


def random_groups(people: Sequence[Person], size: int, rng: random.Random) -> list[Group]:
    order = list(people)
    rng.shuffle(order)
    out, i = [], 0
    for s in group_sizes(len(order), size):
        out.append(Group(tuple(p.key for p in order[i : i + s]), False))
        i += s
    return out


def test_perspectives_spread_at_least_as_well_as_random() -> None:
    labels = ["drawing on care"] * 10 + ["carer"] * 5 + ["practitioner"] * 3 + ["manager"] * 2
    people = [Person(f"p{i:02d}", perspective=lab) for i, lab in enumerate(labels)]
    persp = {p.key: p.perspective for p in people}
    planned = [
        same_perspective_excess(plan_groups(people, 4, rng=random.Random(s)), persp)
        for s in range(10)
    ]
    rnd = random.Random(99)
    baseline = [same_perspective_excess(random_groups(people, 4, rnd), persp) for _ in range(10)]
    assert max(planned) <= min(baseline)
    # The floor the counts force: 10 people over 5 rooms -> 2 per room.
    assert min(planned) == 5
    for s in range(5):
        groups = plan_groups(people, 4, rng=random.Random(s))
        assert all(len({persp[k] for k in g.members}) >= 2 for g in groups)


def test_repeat_pairs_are_reduced() -> None:
    people = people_n(24)
    rnd = random.Random(5)
    history = [pairs_in(random_groups(people, 4, rnd)) for _ in range(4)]
    weights = pair_weights(history)
    met = set().union(*history)
    planned = [
        len(pairs_in(plan_groups(people, 4, rng=random.Random(s), recent_pairs=weights)) & met)
        for s in range(5)
    ]
    baseline = [len(pairs_in(random_groups(people, 4, rnd)) & met) for _ in range(20)]
    assert sum(planned) / len(planned) <= sum(baseline) / len(baseline) / 3
    assert max(planned) <= 2


def test_improvement_never_worse_than_the_random_start() -> None:
    rnd = random.Random(8)
    people = [Person(f"p{i}", perspective=rnd.choice("ab")) for i in range(17)]
    keys = [p.key for p in people]
    weights = {fs(a, b): rnd.random() for a, b in combinations(keys, 2) if rnd.random() < 0.4}
    for seed in range(5):
        start = plan_groups(people, 3, rng=random.Random(seed), recent_pairs=weights, effort=0)
        better = plan_groups(people, 3, rng=random.Random(seed), recent_pairs=weights)
        assert mixing_cost(better, people, weights) <= mixing_cost(start, people, weights)


def test_small_brews_reach_the_optimum() -> None:
    """On tiny brews the local search should find the best grouping there is."""

    def partitions(keys: list[str], sizes: list[int]) -> Iterator[list[tuple[str, ...]]]:
        if not keys:
            yield []
            return
        for s in sorted(set(sizes)):
            rest_sizes = list(sizes)
            rest_sizes.remove(s)
            for others in combinations(keys[1:], s - 1):
                room = (keys[0], *others)
                left = [k for k in keys if k not in room]
                for p in partitions(left, rest_sizes):
                    yield [room, *p]

    rnd = random.Random(11)
    for _ in range(25):
        n = rnd.randint(5, 9)
        size = rnd.choice([2, 3, 4])
        people = [Person(f"p{i}", perspective=rnd.choice("abc")) for i in range(n)]
        keys = [p.key for p in people]
        weights = {fs(a, b): rnd.choice([0.0, 0.5, 1.0]) for a, b in combinations(keys, 2)}
        best = min(
            mixing_cost([Group(r, False) for r in part], people, weights)
            for part in partitions(keys, group_sizes(n, size))
        )
        got = mixing_cost(
            plan_groups(people, size, rng=random.Random(n), recent_pairs=weights), people, weights
        )
        assert got <= best + 1.0  # at most one recent meeting / two shared perspectives away


# ---------------------------------------------------------------- history helpers


def test_pair_weights_recency_and_repetition() -> None:
    ab, bc, cd = fs("a", "b"), fs("b", "c"), fs("c", "d")
    history = [{ab}, {bc}, {ab, cd}]
    w = pair_weights(history, decay=0.5)
    assert w == {ab: 1.0 + 0.25, bc: 0.5, cd: 0.25}
    assert w[bc] > w[cd]  # more recent weighs more
    assert pair_weights(history, decay=0.5, window=1) == {ab: 1.0}
    assert pair_weights([]) == {}
    assert pair_weights([{frozenset({"a"}), ab}]) == {ab: 1.0}
    with pytest.raises(ValueError):
        pair_weights(history, decay=0)


def test_pairs_in() -> None:
    groups = [Group(("a", "b", "c"), False), Group(("d", "e"), True)]
    assert pairs_in(groups) == {fs("a", "b"), fs("a", "c"), fs("b", "c"), fs("d", "e")}
    assert pairs_in([]) == set()


def test_recent_pairs_may_mention_people_not_present() -> None:
    people = people_n(6)
    recent = {fs("p0", "nobody"): 3.0, fs("p0", "p1"): -1.0, frozenset({"p2"}): 1.0}
    groups = plan_groups(people, 3, rng=random.Random(0), recent_pairs=recent)
    check_basic(people, 3, groups)
