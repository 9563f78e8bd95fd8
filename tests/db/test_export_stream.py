"""Streamed exports (CSV, JSON, Markdown brew by brew from the database) against the whole-data
writers: the same bytes on SQLite and PostgreSQL, bounded memory, and an event loop that keeps
its turn during ``/brew export``."""

from __future__ import annotations

import asyncio
import io
import random
import tracemalloc
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import insert

from bot.core.export import to_csv, to_json, to_markdown
from bot.core.export_model import chart_grouping
from bot.db.exports import ExportFilter, load_export, plan_export, stream_brews
from bot.db.models import Reflection
from bot.export_files import CHART_NAME, render_files, report_title, stream_export
from bot.export_worker import can_use_child, export_in_child
from bot.shell.organiser import send_export
from tests.builders import (
    GUILD,
    NOW,
    Db,
    add_brew,
    db_fixture,  # noqa: F401 - the db fixture
    open_db,
)

GENERATED = date(2024, 8, 1)
TEXTS = (
    "More time together.",
    "  padded  ",
    "",
    "   ",
    "=SUM(A1)",
    "-minus",
    'a "quote", and a comma',
    "two\nlines",
    "# heading **bold** @everyone",
    "émigré",
    "apple",
    "Apple",
)
KEYS = ("missing", "lasting", "next", "feedback", "zz_old", "aa_old")


async def _seed(db: Db, *, brews: int = 9, per_brew: int = 12, seed: int = 5) -> None:
    """Brews on shared days started out of number order, one with no reflections, one with too
    few "yes" to quote, answers under keys no longer asked, empty and tricky answers."""
    rng = random.Random(seed)
    for n in range(1, brews + 1):
        # Brews 1-3 on one day, started in reverse number order; the others spread out.
        started = NOW - timedelta(days=30 - (0 if n <= 3 else n), hours=n if n <= 3 else 0)
        brew_id = await add_brew(
            db.sessions, number=n, title=f"Brew =title {n}", area="Norfolk" if n % 2 else None,
            started_at=started, ended_at=started + timedelta(hours=1),
            question="What's missing?" if n != 4 else "  ",
        )  # fmt: skip
        if n == 5:
            continue  # no reflections at all
        rows = []
        for i in range(per_brew):
            keys = rng.sample(KEYS, rng.randint(0, 4))
            rows.append(
                {
                    "brew_id": brew_id,
                    "submitted_on": started.date() + timedelta(days=rng.choice((0, 0, 1))),
                    "consent": (i < 2) if n == 6 else rng.random() < 0.5,
                    "answers": {k: rng.choice(TEXTS) for k in keys},
                }
            )
        async with db.sessions() as session:
            await session.execute(insert(Reflection), rows)
            await session.commit()


def _whole(data: Any, fmt: str, title: str) -> tuple[bytes, bytes | None]:
    """The non-streaming writers' bytes (to_csv, to_json, to_markdown, and the chart)."""
    if fmt == "csv":
        return to_csv(data.brews, data.reflections, data.prompts), None
    if fmt == "json":
        return to_json(data.brews, data.reflections, data.prompts, generated_on=GENERATED), None
    files = dict(render_files(data, "markdown", title, GENERATED))
    report = to_markdown(
        data.brews, data.reflections, data.prompts, title=title, generated_on=GENERATED,
        chart_filename=CHART_NAME, chart_by=chart_grouping(data.brews),
    )  # fmt: skip
    assert files["brew-report.md"] == report.encode()
    return report.encode(), files[CHART_NAME]


async def _streamed(db: Db, fmt: str, flt: ExportFilter, **kwargs: Any) -> tuple[bytes, Any]:
    """The streamed bytes and chart; CSV and JSON from a plan without counts, as the bot's."""
    content = db.services.content
    async with db.sessions() as session:
        plan = await plan_export(session, flt, content.prompts, counts=fmt == "markdown")
        out = io.BytesIO()
        done = await stream_export(
            session, plan, fmt, out, content, generated_on=GENERATED, **kwargs  # type: ignore[arg-type]
        )  # fmt: skip
        counted = await plan_export(session, flt, content.prompts)
    assert done.reflections == counted.reflections
    return out.getvalue(), done.chart


@pytest.mark.parametrize("fmt", ["csv", "json", "markdown"])
async def test_streamed_exports_are_byte_identical_to_the_whole_writers(
    database_url: str, tmp_path: Path, fmt: str
) -> None:
    async with open_db(database_url, tmp_path / "brewhost.db") as db:
        await _seed(db)
        content = db.services.content
        for flt in (ExportFilter(GUILD), ExportFilter(GUILD, brew_number=6)):
            async with db.sessions() as session:
                data = await load_export(session, flt, content.prompts)
            want, want_png = _whole(data, fmt, report_title(content, data))
            # The async session, in batches of 2 rows and queries of about 5 reflections, so
            # brews span several batches and several brews share one query.
            async with db.sessions() as session:
                for counts in (True, False):
                    plan = await plan_export(session, flt, content.prompts, counts=counts)
                    seen = [
                        (b.number, len(r))
                        async for b, r in stream_brews(session, plan, query_rows=5, batch_rows=2)
                    ]
                    assert [n for n, _ in seen] == [b.number for b in plan.brews]
                    assert sum(c for _, c in seen) == len(data.reflections)
                    assert plan.reflections == (len(data.reflections) if counts else 0)
            got, png = await _streamed(db, fmt, flt, offload=True)
            assert got == want
            assert png == want_png
            # Inline, and through a connection of its own where the database is a file.
            got, _ = await _streamed(db, fmt, flt, offload=False, database_url=database_url)
            assert got == want
            if flt.brew_number is None:
                # From a child process with its own connection, as the bot does.
                async with db.sessions() as session:
                    plan = await plan_export(
                        session, flt, content.prompts, counts=fmt == "markdown"
                    )
                path = tmp_path / f"child-{fmt}"
                done = await export_in_child(
                    database_url, plan, fmt, path, title=report_title(content, data),  # type: ignore[arg-type]
                    generated_on=GENERATED, chart_name=None,
                )  # fmt: skip
                assert path.read_bytes() == want and done.chart == want_png
                assert done.reflections == len(data.reflections)


def test_only_a_database_another_process_can_open_is_exported_from_a_child() -> None:
    assert can_use_child("sqlite+aiosqlite:////tmp/brewhost.db")
    assert can_use_child("postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    assert not can_use_child("sqlite+aiosqlite:///:memory:")
    assert not can_use_child("sqlite+aiosqlite://")


async def test_plan_counts_and_until_match_the_loaded_data(db: Db) -> None:
    await _seed(db)
    prompts = db.services.content.prompts
    until = (NOW - timedelta(days=25)).date()
    async with db.sessions() as session:
        plan = await plan_export(session, ExportFilter(GUILD), prompts, until=until)
        data = await load_export(session, ExportFilter(GUILD), prompts, until=until)
    assert [b.number for b in plan.brews] == [b.number for b in data.brews]
    assert all(b.date <= until for b in plan.brews) and 9 not in plan.brew_ids
    assert plan.reflections == len(data.reflections)
    assert plan.consented == sum(r.consent for r in data.reflections)
    # Brews 1-3 share a day and started in reverse order: date, then number, as the writers.
    assert [b.number for b in plan.brews] == [1, 2, 3, 4, 5]
    assert plan.received.get(5) is None
    async with db.sessions() as session:
        everything = await plan_export(session, ExportFilter(GUILD), prompts)
    assert everything.received[6] == 12
    assert everything.quotable_yes[6] == 0  # two people said yes: nobody may be quoted


async def _bulk(db: Db, brews: int, per_brew: int) -> None:
    rng = random.Random(1)
    words = "time trust people voices listening care support together missing".split()
    for n in range(1, brews + 1):
        brew_id = await add_brew(db.sessions, number=n, started_at=NOW - timedelta(days=n))
        rows = [
            {
                "brew_id": brew_id,
                "submitted_on": NOW.date(),
                "consent": rng.random() < 0.6,
                "answers": {
                    k: " ".join(rng.choice(words) for _ in range(rng.randint(8, 28)))
                    for k in ("missing", "lasting", "feedback")
                },
            }
            for _ in range(per_brew)
        ]
        async with db.sessions() as session:
            await session.execute(insert(Reflection), rows)
            await session.commit()


@pytest.fixture
async def big(tmp_path: Path):
    path = tmp_path / "big.db"
    async with open_db(f"sqlite+aiosqlite:///{path}", path) as db:
        await _bulk(db, brews=100, per_brew=200)  # 20,000 reflections, about 6 MB of CSV
        yield db


@pytest.mark.parametrize("fmt", ["csv", "json", "markdown"])
async def test_a_streamed_export_of_20k_reflections_holds_a_few_brews_in_memory(
    big: Db, tmp_path: Path, fmt: str
) -> None:
    content = big.services.content
    async with big.sessions() as session:
        plan = await plan_export(session, ExportFilter(GUILD), content.prompts)
        assert plan.reflections == 20_000
        await stream_export(  # once first, so imports and caches are not counted
            session, plan, fmt, io.BytesIO(), content, generated_on=GENERATED,  # type: ignore[arg-type]
            offload=False, database_url=big.url,
        )  # fmt: skip
        tracemalloc.start()
        try:
            with (tmp_path / "out").open("wb") as fh:
                await stream_export(
                    session, plan, fmt, fh, content, generated_on=GENERATED,  # type: ignore[arg-type]
                    offload=False, database_url=big.url,
                )  # fmt: skip
            streamed = tracemalloc.get_traced_memory()[1]
            tracemalloc.reset_peak()
            await load_export(session, ExportFilter(GUILD), content.prompts)
            whole = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert (tmp_path / "out").stat().st_size > 3_000_000
    # Streaming holds one query's worth of brews (about 4,000 reflections); loading holds all.
    assert streamed < 12 * 2**20, f"peak {streamed / 2**20:.1f} MiB while streaming"
    assert whole > 2 * streamed


class _Followup:
    def __init__(self) -> None:
        self.sent: list[tuple[str, list[Any]]] = []

    async def send(self, text: str, *, files: Any = (), ephemeral: bool = False) -> None:
        self.sent.append((text, [f.filename for f in files]))


@pytest.mark.parametrize("fmt", ["csv", "markdown"])
async def test_brew_export_never_stalls_the_event_loop(big: Db, fmt: str) -> None:
    """A probe sleeping 10 ms records how late it wakes while /brew export runs."""
    interaction = SimpleNamespace(
        guild_id=GUILD, guild=SimpleNamespace(filesize_limit=25 * 2**20), followup=_Followup()
    )
    loop = asyncio.get_running_loop()
    worst = 0.0
    running = True

    async def probe() -> None:
        nonlocal worst
        while running:
            before = loop.time()
            await asyncio.sleep(0.010)
            worst = max(worst, loop.time() - before - 0.010)

    task = asyncio.create_task(probe())
    await asyncio.sleep(0.05)
    try:
        await send_export(interaction, big.services, fmt, None, None)  # type: ignore[arg-type]
    finally:
        running = False
        await task
    [(text, names)] = interaction.followup.sent
    assert "20,000 reflections" in text
    assert names[0] in ("brew-reflections.csv", "brew-report.md")
    # The 100 ms target is measured by bench/bench_export_stream.py (figures in BENCHMARKS.md);
    # a test on a shared machine only proves the export is off the loop: built on the loop, this
    # 20k export stalled it for well over a second (5 to 14 s for 100k in issue 12's figures).
    assert worst < 1.0, f"the event loop stalled {worst * 1000:.0f} ms"


def test_the_export_child_runs_below_the_bots_priority() -> None:
    """The child steps back for the bot: on busy cores the kernel then runs the bot's loop
    first instead of sharing the CPU evenly with the export (issue 12, loop stalls)."""
    import os

    from bot.export_worker import CHILD_NICENESS, child_pool

    ours = os.nice(0)
    pool = child_pool()
    try:
        theirs = pool.submit(os.nice, 0).result(timeout=60)
    finally:
        pool.shutdown()
    assert theirs == min(ours + CHILD_NICENESS, 19)
