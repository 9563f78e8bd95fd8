"""The export's reads on a SQLite file with the standard library's ``sqlite3``, no SQLAlchemy.

The same queries as :mod:`bot.db.exports` (``tests/db/test_export_sqlite.py`` holds them to the
same plans and rows), for the one place where their cost shows: writing 100,000 reflections from
a SQLite file (``brewhost export``, and ``/brew export``'s child process). Through SQLAlchemy,
every row went through a result object, a ``fetchone`` and the column types' converters, and
the command loaded SQLAlchemy and the models first (0.3 s and 35 MiB before the first row). Here
rows come as plain tuples, 4,000 to a query, and are turned into records in one loop.

Values are read as SQLAlchemy stores them on SQLite: dates as ``YYYY-MM-DD``, times as
``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC, booleans as 0/1, JSON as text.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, tzinfo
from typing import Any, Literal

from bot.core.export_model import (
    MIN_PEOPLE_PER_CONSENT_GROUP,
    BrewSummary,
    ReflectionRecord,
    ordered_brews,
    quotable,
)
from bot.core.reflections import Prompt
from bot.db.export_records import (
    EXPORTED_STATUSES,
    QUERY_ROWS,
    ExportFilter,
    ExportPlan,
    chunks,
    ordered,
)

__all__ = ["export_guild_ids", "plan_export", "reader", "sqlite_file", "stream_brews"]

_SCHEMES = ("sqlite://", "sqlite+aiosqlite://", "sqlite+pysqlite://")


def sqlite_file(url: str) -> str | None:
    """The file behind a plain SQLite URL (``sqlite+aiosqlite:///brews.db``), or ``None`` for
    anything else: another database, an in-memory one, or a URL with options (those go through
    SQLAlchemy, which reads them)."""
    for scheme in _SCHEMES:
        if url.startswith(scheme + "/"):
            path = url[len(scheme) + 1 :]
            if (
                not path
                or path == ":memory:"
                or "?" in path
                or "%" in path
                or path.startswith("file:")
            ):
                return None
            return path
    return None


@contextmanager
def reader(path: str) -> Iterator[sqlite3.Connection]:
    """A read-only connection to the SQLite file at ``path`` (which must exist)."""
    conn = sqlite3.connect(path, timeout=5.0, check_same_thread=False)
    try:
        conn.execute("PRAGMA query_only=ON")
        yield conn
    finally:
        conn.close()


def _stored(moment: datetime) -> str:
    # SQLAlchemy's SQLite DateTime text, so comparisons order as the bot's own queries do.
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _where(flt: ExportFilter) -> tuple[str, list[Any]]:
    marks = ", ".join("?" for _ in EXPORTED_STATUSES)
    sql = f"b.status IN ({marks}) AND b.started_at IS NOT NULL"
    params: list[Any] = list(EXPORTED_STATUSES)
    if flt.guild_id is not None:
        sql += " AND b.guild_id = ?"
        params.append(flt.guild_id)
    if flt.brew_number is not None:
        sql += " AND b.number = ?"
        params.append(flt.brew_number)
    if flt.since is not None:
        sql += " AND b.started_at >= ?"
        params.append(_stored(datetime(flt.since.year, flt.since.month, flt.since.day, tzinfo=UTC)))
    return sql, params


def export_guild_ids(conn: sqlite3.Connection, flt: ExportFilter) -> list[int]:
    """:func:`bot.db.exports.export_guild_ids` on a plain connection."""
    where, params = _where(flt)
    sql = f"SELECT DISTINCT b.guild_id FROM brews b WHERE {where} ORDER BY b.guild_id"  # noqa: S608
    return [int(g) for (g,) in conn.execute(sql, params)]


def plan_export(
    conn: sqlite3.Connection,
    flt: ExportFilter,
    prompts: Sequence[Prompt],
    tz: tzinfo = UTC,
    *,
    until: date | None = None,
    counts: bool = True,
) -> ExportPlan:
    """:func:`bot.db.exports.plan_export` on a plain connection (same brews, same counts)."""
    where, params = _where(flt)
    sql = (
        "SELECT b.id, b.number, b.title, s.area_label, b.question, b.started_at, "  # noqa: S608
        "b.participants, b.rooms_count FROM brews b "
        f"LEFT OUTER JOIN guild_settings s ON s.guild_id = b.guild_id WHERE {where}"
    )
    ids: dict[int, int] = {}
    brews: list[BrewSummary] = []
    for brew_id, number, title, area, question, started, people, rooms in conn.execute(sql, params):
        day = datetime.fromisoformat(started).replace(tzinfo=UTC).astimezone(tz).date()
        if until is not None and day > until:
            continue
        ids[number] = brew_id
        brews.append(BrewSummary(number, title, area, question, day, people, rooms))
    received: dict[int, int] = {}
    yes: dict[int, int] = {}
    if ids and counts:
        by_id = {brew_id: number for number, brew_id in ids.items()}
        marks = ", ".join("?" for _ in by_id)
        per_brew = (
            "SELECT brew_id, count(*), sum(CASE WHEN consent THEN 1 ELSE 0 END) "  # noqa: S608
            f"FROM reflections WHERE brew_id IN ({marks}) GROUP BY brew_id"
        )
        for brew_id, count, consented in conn.execute(per_brew, list(by_id)):
            number = by_id[brew_id]
            received[number] = int(count)
            consented = int(consented or 0)
            yes[number] = consented if consented >= MIN_PEOPLE_PER_CONSENT_GROUP else 0
    return ExportPlan(tuple(ordered_brews(brews)), ids, received, yes, tuple(prompts), counts)


def _json_texts(rows: Sequence[tuple[Any, ...]]) -> Iterator[str]:
    # A missing value is JSON null, which SQLAlchemy's JSON type also reads as None.
    for row in rows:
        text = row[3]
        yield "null" if text is None else text


def stream_brews(
    conn: sqlite3.Connection,
    plan: ExportPlan,
    *,
    order: Literal["date", "number"] = "date",
    query_rows: int = QUERY_ROWS,
) -> Iterator[tuple[BrewSummary, list[ReflectionRecord]]]:
    """:func:`bot.db.exports.stream_brews` on a plain connection: each brew of ``plan`` with
    its reflections (through :func:`quotable`), a few brews' rows per query."""
    loads, day_of, record = json.loads, date.fromisoformat, ReflectionRecord
    for chunk in chunks(plan, ordered(plan, order), query_rows):
        wanted = {plan.brew_ids[b.number]: b.number for b in chunk}
        found: dict[int, list[ReflectionRecord]] = {b.number: [] for b in chunk}
        if not plan.counted or any(plan.received.get(b.number, 0) for b in chunk):
            marks = ", ".join("?" for _ in wanted)
            rows = conn.execute(
                "SELECT brew_id, submitted_on, consent, answers FROM reflections "  # noqa: S608
                f"WHERE brew_id IN ({marks})",
                list(wanted),
            ).fetchall()
            # One JSON array for the whole query: the decoder runs once in C instead of being
            # called (through three Python layers) once per row.
            decoded = loads("[" + ",".join(_json_texts(rows)) + "]")
            for (brew_id, day, consent, _), answers in zip(rows, decoded, strict=True):
                number = wanted[brew_id]
                found[number].append(
                    record(
                        number,
                        day_of(day),
                        bool(consent),
                        {str(k): str(v) for k, v in (answers or {}).items()},
                    )
                )
            del rows, decoded
        for brew in chunk:
            yield brew, quotable(found.pop(brew.number))
