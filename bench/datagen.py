"""A big, realistic Brew Host database for the export benchmarks: 500 brews, 100k reflections.

The rows go through the real schema (Alembic migrations, then SQLAlchemy Core inserts with the
models' own column types), so every exporter reads exactly what the bot would have written. The
content is seeded, so two runs with the same arguments give the same database and the same
export bytes.

Shape (defaults): 6 servers, each with its own area label ("Norfolk", "Suffolk", ...), brews
spread over them round-robin and numbered per server; each brew 150-250 participants in rooms of
4 and ``reflections // brews`` reflections answering 1 to 4 of the 4 default questions with a
sentence or three; about 40 % say yes to quoting. A few answers start with ``=`` or ``-`` and a
few carry a comma, a quote or a line break, so the CSV's quoting and formula guard are exercised.

Usage (from the repository root, in the project's virtual environment)::

    python bench/datagen.py /tmp/big.db                 # 500 brews, 100k reflections
    python bench/datagen.py /tmp/small.db --brews 50 --reflections 10000

From code: ``path = ensure_database(cache_dir)`` builds the file once and reuses it.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

AREAS = ("Norfolk", "Suffolk", "Essex", "Cambridgeshire", "Lincolnshire", "Kent")
QUESTIONS = ("missing", "lasting", "next", "feedback")
#: Bumped whenever the generated content changes, so cached files are rebuilt.
VERSION = 2

_OPENINGS = (
    "For me",
    "Honestly",
    "What stayed with me is that",
    "I think",
    "As a carer",
    "From the practice side",
    "Speaking as someone who uses services",
    "In our area",
)
_SUBJECTS = (
    "feedback after we share our stories",
    "time to do co-production properly",
    "carers' voices",
    "trust between people and services",
    "plain words instead of jargon",
    "different faces in every group",
    "money for people's time",
    "follow-up on what was promised",
    "a place to meet that is easy to reach",
    "being listened to, not just heard",
)
_VERBS = ("is missing", "matters most", "keeps coming up", "needs work", "made the difference")
_TAILS = (
    "and I'd like us to come back to it.",
    "but nobody owns it yet.",
    "which I had not expected.",
    "- and that is worth saying twice.",
    'as someone put it, "nothing about us without us".',
    "so thank you, all of you.",
    "even when it is hard.",
)
_FEEDBACK = ("Good", "Really good", "A bit rushed", "Friendly", "Too short", "Helpful, thanks")
_TRICKY = ("=SUM(A1:A9) for carers", "-not enough time", "+1 to what was said", "@everyone listen")


def _sentence(rng: random.Random) -> str:
    return (
        f"{rng.choice(_OPENINGS)} {rng.choice(_SUBJECTS)} {rng.choice(_VERBS)}, "
        f"{rng.choice(_TAILS)}"
    )


def _answer(rng: random.Random, key: str) -> str:
    if key == "feedback":
        return rng.choice(_FEEDBACK)
    roll = rng.random()
    if roll < 0.01:
        return rng.choice(_TRICKY)
    text = " ".join(_sentence(rng) for _ in range(rng.randint(1, 3)))
    if roll < 0.05:
        text = text.replace(", ", ",\n", 1)
    return text


def generate(path: Path, *, brews: int = 500, reflections: int = 100_000, seed: int = 12) -> None:
    """Write a migrated database at ``path`` (replaced if present) with the given shape."""
    from bot.db.bench_sql import bulk_writer
    from bot.db.migrate import upgrade

    if path.exists():
        path.unlink()
    upgrade(f"sqlite+aiosqlite:///{path}")
    rng = random.Random(seed)
    guild_ids = [900_000_000_000_000_000 + i for i in range(len(AREAS))]
    start = datetime(2023, 1, 10, 18, 30, tzinfo=UTC)
    per_brew, extra = divmod(reflections, brews)
    with bulk_writer(path) as write:
        write(
            "guild_settings",
            [
                {"guild_id": g, "area_label": area, "next_brew_number": 1 + brews // len(AREAS)}
                for g, area in zip(guild_ids, AREAS, strict=True)
            ],
        )
        numbers = dict.fromkeys(guild_ids, 0)
        brew_rows = []
        for i in range(brews):
            guild = guild_ids[i % len(guild_ids)]
            numbers[guild] += 1
            started = start + timedelta(days=i * 730 // brews, minutes=rng.randint(0, 120))
            participants = rng.randint(150, 250)
            brew_rows.append(
                {
                    "id": i + 1,
                    "guild_id": guild,
                    "number": numbers[guild],
                    "title": f"Over A Brew {numbers[guild]}",
                    "question": rng.choice(
                        ("What's missing?", "Co-production: what's missing?", "What next?")
                    ),
                    "status": "ended",
                    "group_size": 4,
                    "length_s": 1800,
                    "arrive_s": 120,
                    "think_s": 60,
                    "turn_s": 120,
                    "nudge_s": 30,
                    "still_s": 300,
                    "close_s": 60,
                    "min_reflect_s": 120,
                    "cleanup_s": 600,
                    "seed": rng.randrange(2**31),
                    "perspectives": [],
                    "category_ids": [],
                    "participants": participants,
                    "rooms_count": (participants + 3) // 4,
                    "started_at": started,
                    "ended_at": started + timedelta(minutes=30),
                }
            )
        write("brews", brew_rows)
        batch: list[dict[str, object]] = []
        for i, brew in enumerate(brew_rows):
            day: date = brew["started_at"].date()  # type: ignore[attr-defined]
            for _ in range(per_brew + (1 if i < extra else 0)):
                keys = [k for k in QUESTIONS if rng.random() < 0.7] or [rng.choice(QUESTIONS)]
                batch.append(
                    {
                        "id": f"{rng.getrandbits(128):032x}",
                        "brew_id": brew["id"],
                        "submitted_on": day + timedelta(days=rng.choice((0, 0, 0, 1, 2))),
                        "consent": rng.random() < 0.4,
                        "answers": {k: _answer(rng, k) for k in keys},
                    }
                )
            if len(batch) >= 20_000:
                write("reflections", batch)
                batch.clear()
        if batch:
            write("reflections", batch)


def ensure_database(
    cache_dir: Path, *, brews: int = 500, reflections: int = 100_000, seed: int = 12
) -> Path:
    """The generated database in ``cache_dir``, built on first use and reused afterwards."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"brewhost-{brews}b-{reflections}r-s{seed}-v{VERSION}.db"
    done = path.with_suffix(".done")
    if not (path.exists() and done.exists()):
        generate(path, brews=brews, reflections=reflections, seed=seed)
        done.write_text(json.dumps({"brews": brews, "reflections": reflections, "seed": seed}))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--brews", type=int, default=500)
    parser.add_argument("--reflections", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args(argv)
    began = time.perf_counter()
    generate(args.path, brews=args.brews, reflections=args.reflections, seed=args.seed)
    print(
        f"Wrote {args.path}: {args.brews} brews, {args.reflections} reflections, "
        f"{len(AREAS)} areas in {time.perf_counter() - began:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
