"""The plain ``sqlite3`` reads of an export (:mod:`bot.db.exports_sqlite`) against the
SQLAlchemy ones (:mod:`bot.db.exports`): the same servers, plans, brews and records for every
filter, so ``brewhost export`` of a SQLite file writes what the bot's own reads would."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.db import exports_sqlite
from bot.db.exports import ExportFilter, export_guild_ids, plan_export, stream_brews
from tests.builders import GUILD, NOW, Db, add_brew
from tests.builders import db_fixture as db_fixture  # the db fixture
from tests.db.test_export_stream import _seed


async def test_plain_reads_match_sqlalchemy_for_every_filter(db: Db) -> None:
    await _seed(db)
    await add_brew(db.sessions, guild_id=GUILD + 1, number=1, title="Elsewhere")
    prompts = db.services.content.prompts
    path = exports_sqlite.sqlite_file(db.url)
    assert path is not None
    since = (NOW - timedelta(days=27)).date()
    until = (NOW - timedelta(days=25)).date()
    filters = [
        (ExportFilter(), None),
        (ExportFilter(GUILD), None),
        (ExportFilter(GUILD, brew_number=6), None),
        (ExportFilter(GUILD, since=since), None),
        (ExportFilter(GUILD), until),
        (ExportFilter(GUILD + 1), None),
    ]
    with exports_sqlite.reader(path) as conn:
        for flt, up_to in filters:
            async with db.sessions() as session:
                assert exports_sqlite.export_guild_ids(conn, flt) == await export_guild_ids(
                    session, flt
                )
                if flt.guild_id is None:
                    continue
                for tz in (ZoneInfo("UTC"), ZoneInfo("Pacific/Kiritimati")):
                    for counts in (True, False):
                        want = await plan_export(
                            session, flt, prompts, tz, until=up_to, counts=counts
                        )
                        got = exports_sqlite.plan_export(
                            conn, flt, prompts, tz, until=up_to, counts=counts
                        )
                        assert got == want
                        for order in ("date", "number"):
                            rows = [
                                (b, r) async for b, r in stream_brews(session, want, order=order)
                            ]
                            plain = list(
                                exports_sqlite.stream_brews(conn, got, order=order, query_rows=5)
                            )
                            assert plain == rows


def test_only_a_plain_sqlite_file_url_is_read_without_sqlalchemy() -> None:
    assert exports_sqlite.sqlite_file("sqlite+aiosqlite:////tmp/b.db") == "/tmp/b.db"
    assert exports_sqlite.sqlite_file("sqlite:///data/b.db") == "data/b.db"
    for url in (
        "sqlite+aiosqlite:///:memory:",
        "sqlite+aiosqlite://",
        "sqlite:///b.db?mode=ro",
        "sqlite:///file:b.db",
        "postgresql+asyncpg://postgres@127.0.0.1:5432/test",
    ):
        assert exports_sqlite.sqlite_file(url) is None
