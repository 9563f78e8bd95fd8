"""Benchmark for Brew Host group planning (bot/core/grouping.py).

Run from the repository root:

    python bench/bench_mixing.py            # full run (about a minute)
    python bench/bench_mixing.py --quick    # fewer repetitions, for a smoke test

It prints one table per question and exits non-zero if a target is missed:

1. Repeat meetings: 20 successive brews of 40 people drawn from a pool of 60,
   groups of 4, Brew Host fed the last 10 brews through ``pair_weights``.
   What share of the pairs put together had already met in the last 10 brews,
   compared with plain random grouping run on the same attendance?
   Target: at most a third of random's share.
2. Perspective mix: the same, with four perspectives spread 50/25/15/10 across
   the pool.  Share of rooms holding at least two perspectives.
3. Keep-apart: random small instances; share of the solvable ones (ground
   truth by brute force) that are solved.  Target: 100 %, and every refusal
   is for an instance that really has no solution.
4. Timing: 200 people into groups of 4, median and p95 milliseconds.
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import sys
import time
from collections.abc import Sequence
from itertools import combinations
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.core.grouping import (
    ApartConstraintError,
    Group,
    Person,
    group_sizes,
    pair_weights,
    pairs_in,
    plan_groups,
)
from tests.grouping_oracle import brute_force_solvable

POOL = 60
ATTEND = 40
BREWS = 20
GROUP = 4
WINDOW = 10
MAX_BRUTE = 12  # keep-apart instances are checked by brute force up to this size


def random_groups(people: Sequence[Person], group_size: int, rng: random.Random) -> list[Group]:
    """Plain random grouping with the same room sizes: the baseline."""
    order = list(people)
    rng.shuffle(order)
    out: list[Group] = []
    i = 0
    for size in group_sizes(len(order), group_size):
        chunk = order[i : i + size]
        i += size
        out.append(Group(tuple(p.key for p in chunk), any(p.text_only for p in chunk)))
    return out


def simulate(
    seed: int, with_perspectives: bool, pool_size: int = POOL, attend: int = ATTEND
) -> dict[str, float]:
    """One run of BREWS brews; returns repeat shares and perspective-mix shares."""
    rng = random.Random(seed)
    shares = [0.50, 0.25, 0.15, 0.10]
    labels = ["person drawing on care", "carer", "practitioner", "manager"]
    counts = [round(s * pool_size) for s in shares]
    counts[0] += pool_size - sum(counts)
    persp_list = [lab for lab, c in zip(labels, counts, strict=True) for _ in range(c)]
    rng.shuffle(persp_list)
    pool = [
        Person(f"p{i:02d}", perspective=persp_list[i] if with_perspectives else None)
        for i in range(pool_size)
    ]
    persp = {p.key: p.perspective for p in pool}
    hist: dict[str, list[set[frozenset[str]]]] = {"brewhost": [], "random": []}
    met_pairs = {"brewhost": 0, "random": 0}
    met_last = {"brewhost": 0, "random": 0}
    all_pairs = {"brewhost": 0, "random": 0}
    mixed_rooms = {"brewhost": 0, "random": 0}
    mixed3_rooms = {"brewhost": 0, "random": 0}
    rooms = {"brewhost": 0, "random": 0}
    plan_rng = random.Random(seed * 7919 + 1)
    base_rng = random.Random(seed * 7919 + 2)
    for _ in range(BREWS):
        today = rng.sample(pool, attend)
        for method in ("brewhost", "random"):
            past = hist[method][:WINDOW]
            if method == "brewhost":
                groups = plan_groups(today, GROUP, rng=plan_rng, recent_pairs=pair_weights(past))
            else:
                groups = random_groups(today, GROUP, base_rng)
            seen: set[frozenset[str]] = set().union(*past) if past else set()
            pairs = pairs_in(groups)
            met_pairs[method] += len(pairs & seen)
            met_last[method] += len(pairs & past[0]) if past else 0
            all_pairs[method] += len(pairs)
            for g in groups:
                rooms[method] += 1
                distinct = len({persp[k] for k in g.members})
                mixed_rooms[method] += distinct >= 2
                mixed3_rooms[method] += distinct >= 3
            hist[method].insert(0, pairs)
    return {
        "bh_repeat": met_pairs["brewhost"] / all_pairs["brewhost"],
        "rnd_repeat": met_pairs["random"] / all_pairs["random"],
        "bh_last": met_last["brewhost"] / all_pairs["brewhost"],
        "rnd_last": met_last["random"] / all_pairs["random"],
        "bh_mixed": mixed_rooms["brewhost"] / rooms["brewhost"],
        "rnd_mixed": mixed_rooms["random"] / rooms["random"],
        "bh_mixed3": mixed3_rooms["brewhost"] / rooms["brewhost"],
        "rnd_mixed3": mixed3_rooms["random"] / rooms["random"],
    }


def keep_apart_trials(n_trials: int, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    out = {"instances": 0, "solvable": 0, "solved": 0, "refused_unsolvable": 0, "wrong": 0}
    for _ in range(n_trials):
        n = rng.randint(2, MAX_BRUTE)
        gsize = rng.randint(2, 5)
        keys = [f"k{i}" for i in range(n)]
        people = [Person(k, text_only=rng.random() < 0.3) for k in keys]
        all_pairs = [frozenset(p) for p in combinations(keys, 2)]
        density = rng.choice([0.1, 0.25, 0.4, 0.6])
        apart = {p for p in all_pairs if rng.random() < density}
        sizes = group_sizes(n, gsize)
        solvable = brute_force_solvable(keys, sizes, apart)
        out["instances"] += 1
        out["solvable"] += solvable
        try:
            groups = plan_groups(people, gsize, rng=random.Random(rng.random()), apart=apart)
        except ApartConstraintError:
            if solvable:
                out["wrong"] += 1
            else:
                out["refused_unsolvable"] += 1
            continue
        if not solvable or pairs_in(groups) & apart:
            out["wrong"] += 1
        else:
            out["solved"] += 1
    return out


def timing(reps: int, seed: int, *, stress: bool = False) -> tuple[float, float, float]:
    """Median, p95 and max ms for 200 people with 10 brews of history.

    Normal: 5 perspective labels (one "none"), 10 % text-only, 10 keep-apart
    pairs.  Stress: two perspectives 50/50 (so same-perspective pairs are
    forced in every room and the search never runs out of things to try),
    20 % text-only, 40 keep-apart pairs.
    """
    rng = random.Random(seed)
    labels: list[str | None] = (
        ["carer", "practitioner"]
        if stress
        else ["person drawing on care", "carer", "practitioner", "manager", None]
    )
    text_share = 0.2 if stress else 0.1
    people = [
        Person(f"u{i:03d}", text_only=rng.random() < text_share, perspective=rng.choice(labels))
        for i in range(200)
    ]
    history: list[set[frozenset[str]]] = []
    for _ in range(WINDOW):
        history.append(pairs_in(random_groups(people, GROUP, rng)))
    weights = pair_weights(history)
    keys = [p.key for p in people]
    apart = {frozenset(rng.sample(keys, 2)) for _ in range(40 if stress else 10)}
    ms: list[float] = []
    for r in range(reps):
        t0 = time.perf_counter()
        plan_groups(people, GROUP, rng=random.Random(r), recent_pairs=weights, apart=apart)
        ms.append((time.perf_counter() - t0) * 1000)
    ms.sort()
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return statistics.median(ms), p95, ms[-1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = ap.parse_args()
    runs = 3 if args.quick else 10
    trials = 300 if args.quick else 2000
    reps = 30 if args.quick else 200

    print(f"Python {platform.python_version()} on {platform.machine()}, ", end="")
    print(f"{__import__('os').cpu_count()} cores")
    ok = True

    print(f"\n1+2. {BREWS} brews of {ATTEND} from a pool of {POOL}, groups of {GROUP},")
    print(f"     history window {WINDOW} brews, averaged over {runs} seeded runs")
    print(
        f"{'scenario':<28}{'method':<11}{'pairs already met':>18}"
        f"{'rooms 2+ persp.':>17}{'rooms 3+ persp.':>17}"
    )
    for with_p in (False, True):
        res = [simulate(seed, with_p) for seed in range(runs)]
        avg = {k: statistics.mean(r[k] for r in res) for k in res[0]}
        name = "4 perspectives 50/25/15/10" if with_p else "no perspectives"
        for label, who in (("Brew Host", "bh"), ("random", "rnd")):
            rep = avg[f"{who}_repeat"]
            if with_p:
                mix = f"{avg[who + '_mixed']:>17.1%}{avg[who + '_mixed3']:>17.1%}"
            else:
                mix = f"{'-':>17}{'-':>17}"
            print(f"{name:<28}{label:<11}{rep:>18.2%}{mix}")
        ratio = avg["bh_repeat"] / avg["rnd_repeat"]
        print(f"{'':<28}{'ratio':<11}{ratio:>18.3f}   (target <= 0.333)")
        ok &= ratio <= 1 / 3
        if with_p:
            ok &= avg["bh_mixed"] >= avg["rnd_mixed"]

    print(
        f"\n1b. A small circle: {BREWS} brews of 12 from a pool of 14, groups of {GROUP}, 4 persp."
    )
    print("    Nearly every pair has met within 10 brews here, so repeats are unavoidable;")
    print("    what the recency weighting still buys is fewer repeats of *last* brew. No target.")
    print(
        f"{'method':<11}{'met in last 10':>16}{'met last brew':>15}"
        f"{'rooms 2+ persp.':>17}{'rooms 3+ persp.':>17}"
    )
    res = [simulate(seed, True, pool_size=14, attend=12) for seed in range(runs)]
    avg = {k: statistics.mean(r[k] for r in res) for k in res[0]}
    for label, who in (("Brew Host", "bh"), ("random", "rnd")):
        print(
            f"{label:<11}{avg[who + '_repeat']:>16.1%}{avg[who + '_last']:>15.1%}"
            f"{avg[who + '_mixed']:>17.1%}{avg[who + '_mixed3']:>17.1%}"
        )

    print(f"\n3. Keep-apart: {trials} random instances, 2-{MAX_BRUTE} people, group size 2-5")
    ka = keep_apart_trials(trials, seed=2024)
    solved_pct = ka["solved"] / ka["solvable"] if ka["solvable"] else 1.0
    print(f"{'instances':<30}{ka['instances']:>8}")
    print(f"{'solvable (brute force)':<30}{ka['solvable']:>8}")
    print(f"{'solved':<30}{ka['solved']:>8}   ({solved_pct:.1%} of solvable)")
    print(f"{'refused, truly unsolvable':<30}{ka['refused_unsolvable']:>8}")
    print(f"{'wrong (violation/bad refusal)':<30}{ka['wrong']:>8}")
    ok &= ka["wrong"] == 0 and ka["solved"] == ka["solvable"]

    print(f"\n4. Timing: 200 people, groups of {GROUP}, {WINDOW} brews of history, {reps} runs")
    print(f"{'case':<48}{'median ms':>10}{'p95 ms':>9}{'max ms':>9}")
    for stress, name in (
        (False, "normal (5 labels, 10% text-only, 10 apart)"),
        (True, "stress (2 labels 50/50, 20% text, 40 apart)"),
    ):
        med, p95, worst = timing(reps, seed=7, stress=stress)
        print(f"{name:<48}{med:>10.1f}{p95:>9.1f}{worst:>9.1f}")
        ok &= p95 < 100

    print("\nall targets met" if ok else "\nTARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
