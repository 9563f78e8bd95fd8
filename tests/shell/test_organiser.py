"""Exports built from the database, deleting a brew, and the retention job."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from bot.core.export import JSON_SCHEMA_NAME, from_json
from bot.db.models import (
    Brew,
    Membership,
    Outbox,
    PairHistory,
    Reflection,
    ReflectionReceipt,
    Room,
    Signup,
)
from bot.shell.errors import UserFacingError
from bot.shell.organiser import (
    CHART_NAME,
    CSV_NAME,
    JSON_NAME,
    REPORT_NAME,
    ExportFilter,
    apply_retention,
    build_files,
    export_guild_ids,
    find_purge_target,
    load_export,
    nothing_reason,
    output_names,
    parse_since,
    purge_brew,
)
from tests.builders import (
    GUILD,
    NOW,
    USERS,
    Db,
    add_brew,
    db_fixture,  # noqa: F401 - the db fixture
    reflect,
)

FOURTH = 666_666_666_666_666_666


async def _reflect(db: Db, brew_id: int, user: int, answers: dict[str, str], consent: str = ""):
    outcome = await reflect(db, user, brew_id, answers, consent)
    assert outcome.result.value in ("saved", "replaced")


async def _two_brews(db: Db) -> tuple[int, int]:
    first = await add_brew(
        db.sessions,
        number=1,
        title="Spring brew",
        started_at=NOW - timedelta(days=40),
        ended_at=NOW - timedelta(days=40) + timedelta(hours=1),
        window_days=60,
        area="Norfolk",
    )
    # Brew 2 has three people who agree to be quoted (fewer and nobody is quoted, see
    # export_model.quotable) and one who does not.
    second = await add_brew(
        db.sessions, number=2, title="Summer brew", area="Norfolk", rooms=((*USERS, FOURTH),)
    )
    await _reflect(db, first, USERS[0], {"missing": '=HYPERLINK("x")'}, "no")
    await _reflect(
        db, second, USERS[0], {"missing": "Quote me on this.", "feedback": "Good"}, "yes"
    )
    await _reflect(db, second, USERS[1], {"lasting": "Keep this private please."}, "")
    await _reflect(db, second, USERS[2], {"next": "Quote me too."}, "yes")
    await _reflect(db, second, FOURTH, {"next": "And me."}, "yes")
    return first, second


async def _export(db: Db, flt: ExportFilter):
    async with db.sessions() as session:
        return await load_export(session, flt, db.services.content.prompts)


async def test_export_records_come_from_the_database_with_filters(db: Db) -> None:
    await _two_brews(db)
    await add_brew(db.sessions, number=3, status="cancelled", started_at=None)
    await add_brew(db.sessions, guild_id=GUILD + 1, number=1, title="Elsewhere")

    everything = await _export(db, ExportFilter(guild_id=GUILD))
    assert [b.number for b in everything.brews] == [1, 2]  # cancelled brew left out
    assert {b.area for b in everything.brews} == {"Norfolk"}
    assert everything.brews[1].date == NOW.date() and everything.brews[1].participants == 4
    assert len(everything.reflections) == 5
    assert all(r.date == NOW.date() for r in everything.reflections)

    only_two = await _export(db, ExportFilter(guild_id=GUILD, brew_number=2))
    assert [b.number for b in only_two.brews] == [2]
    assert {r.brew_number for r in only_two.reflections} == {2}

    since = await _export(db, ExportFilter(guild_id=GUILD, since=NOW.date() - timedelta(days=1)))
    assert [b.number for b in since.brews] == [2]

    async with db.sessions() as session:
        assert await export_guild_ids(session, ExportFilter()) == [GUILD, GUILD + 1]
        assert await export_guild_ids(session, ExportFilter(brew_number=2)) == [GUILD]
    nothing = await _export(db, ExportFilter(guild_id=GUILD, brew_number=9))
    assert nothing.brews == () and "brew numbered 9" in nothing_reason(ExportFilter(brew_number=9))


async def test_csv_has_a_bom_one_row_per_answer_and_neutralised_formulas(db: Db) -> None:
    await _two_brews(db)
    data = await _export(db, ExportFilter(guild_id=GUILD))
    [(name, blob)] = await build_files(data, "csv", db.services.content, generated_on=NOW.date())
    assert name == CSV_NAME
    assert blob.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(blob.decode("utf-8-sig"), newline="")))
    assert rows[0][:3] == ["Brew number", "Brew title", "Area"]
    assert len(rows) == 1 + 6  # six answers in five reflections
    answers = {r[6]: r for r in rows[1:]}
    assert '\'=HYPERLINK("x")' in answers
    assert answers["Quote me on this."][7] == "yes"
    assert answers["Keep this private please."][7] == "no"
    assert all(r[2] == "Norfolk" for r in rows[1:])
    assert str(USERS[0]) not in blob.decode("utf-8-sig")


async def test_json_is_the_documented_schema_and_reads_back(db: Db) -> None:
    await _two_brews(db)
    data = await _export(db, ExportFilter(guild_id=GUILD))
    [(name, blob)] = await build_files(data, "json", db.services.content, generated_on=NOW.date())
    assert name == JSON_NAME
    document = json.loads(blob)
    assert document["schema"] == JSON_SCHEMA_NAME and document["version"] == 1
    parsed = from_json(blob)
    assert len(parsed.reflections) == 5 and len(parsed.brews) == 2


async def test_markdown_report_quotes_only_consented_words_and_has_its_chart(db: Db) -> None:
    await _two_brews(db)
    data = await _export(db, ExportFilter(guild_id=GUILD))
    files = dict(await build_files(data, "markdown", db.services.content, generated_on=NOW.date()))
    assert set(files) == {REPORT_NAME, CHART_NAME}
    report = files[REPORT_NAME].decode("utf-8")
    assert report.startswith("# Over A Brew in Norfolk: what we heard")
    assert f"]({CHART_NAME})" in report
    assert "Quote me on this." in report
    assert "Keep this private please." not in report
    assert "Spring brew" in report and "Summer brew" in report
    assert files[CHART_NAME].startswith(b"<svg ") and b"<desc " in files[CHART_NAME]


def test_file_names_and_dates() -> None:
    assert output_names("csv") == (output_names("csv")[0], None)
    main, chart = output_names("markdown", "out/report.md")
    assert str(main) == "out/report.md" and str(chart) == "out/report-chart.svg"
    assert parse_since(" 2024-07-01 ") == date(2024, 7, 1)
    for bad in ("2024-7-1", "20240701", "yesterday", "2024-02-30"):
        with pytest.raises(ValueError):
            parse_since(bad)


async def _count(db: Db, model: type) -> int:
    async with db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_retention_forgets_who_took_part_and_keeps_reflections(db: Db) -> None:
    old = await add_brew(
        db.sessions,
        number=1,
        started_at=NOW - timedelta(days=100),
        ended_at=NOW - timedelta(days=100) + timedelta(hours=1),
        window_days=None,
    )
    recent = await add_brew(db.sessions, number=2)
    async with db.sessions() as session:
        old_room = await session.scalar(select(Room.id).where(Room.brew_id == old))
        for brew_id in (old, recent):
            session.add(Signup(brew_id=brew_id, user_id=USERS[0]))
        session.add(Outbox(room_id=old_room, kind="post", nonce="n1", ping_user_id=USERS[0]))
        session.add(
            PairHistory(guild_id=GUILD, brew_id=old, pair_key="a" * 64, met_on=date(2024, 3, 1))
        )
        session.add(
            PairHistory(guild_id=GUILD, brew_id=recent, pair_key="b" * 64, met_on=NOW.date())
        )
        session.add(Reflection(brew_id=old, submitted_on=date(2024, 3, 24), answers={"next": "x"}))
        await session.commit()

    report = await apply_retention(db.services, NOW)
    assert (report.brews, report.signups, report.memberships, report.outbox, report.pairs) == (
        1,
        1,
        3,
        1,
        1,
    )
    async with db.sessions() as session:
        brews = {b.id: b for b in await session.scalars(select(Brew))}
        members = list(await session.scalars(select(Membership.brew_id)))
        rooms = {r.brew_id: r for r in await session.scalars(select(Room))}
        pairs = list(await session.scalars(select(PairHistory.brew_id)))
        signups = list(await session.scalars(select(Signup.brew_id)))
    assert brews[old].facilitator_id is None and brews[old].channel_id is None
    assert brews[old].card_message_id is None and brews[old].reflection_secret is None
    assert rooms[old].turn_order == [] and rooms[recent].turn_order == list(USERS)
    assert set(members) == {recent} and signups == [recent] and pairs == [recent]
    assert brews[recent].facilitator_id is not None
    assert await _count(db, Reflection) == 1  # anonymous: kept
    assert await _count(db, Outbox) == 0
    again = await apply_retention(db.services, NOW)
    assert (again.signups, again.memberships, again.outbox, again.pairs) == (0, 0, 0, 0)


async def test_purge_refuses_a_running_brew_and_deletes_everything_of_an_ended_one(db: Db) -> None:
    running = await add_brew(db.sessions, number=1, status="running", ended_at=None)
    ended = await add_brew(db.sessions, number=2)
    await _reflect(db, ended, USERS[0], {"missing": "Something"})
    async with db.sessions() as session:
        session.add(
            PairHistory(guild_id=GUILD, brew_id=ended, pair_key="c" * 64, met_on=NOW.date())
        )
        session.add(Signup(brew_id=ended, user_id=USERS[1]))
        await session.commit()

    with pytest.raises(UserFacingError, match="still running"):
        await find_purge_target(db.services, GUILD, 1)
    with pytest.raises(UserFacingError, match="no brew numbered 5"):
        await find_purge_target(db.services, GUILD, 5)
    with pytest.raises(UserFacingError):
        await purge_brew(db.services, GUILD, running)

    target = await find_purge_target(db.services, GUILD, 2)
    assert (target.brew_id, target.reflections) == (ended, 1)
    await purge_brew(db.services, GUILD + 1, ended)  # another server's organiser: nothing
    assert await _count(db, Reflection) == 1
    await purge_brew(db.services, GUILD, ended)
    async with db.sessions() as session:
        assert [b.number for b in await session.scalars(select(Brew))] == [1]
    for model in (Reflection, ReflectionReceipt, PairHistory, Signup):
        assert await _count(db, model) == 0, model.__name__
    assert await _count(db, Membership) == 3  # the running brew's people only


async def test_retention_gives_up_a_sign_up_card_nobody_started(db: Db) -> None:
    """A card left open for longer than the retention period does not keep sign-ups for ever."""
    stale = await add_brew(
        db.sessions,
        number=1,
        status="open",
        started_at=None,
        ended_at=None,
        window_days=None,
        rooms=(),
    )
    fresh = await add_brew(
        db.sessions,
        number=2,
        status="open",
        started_at=None,
        ended_at=None,
        window_days=None,
        rooms=(),
    )
    async with db.sessions() as session:
        (await session.get(Brew, stale)).created_at = NOW - timedelta(days=91)  # type: ignore[union-attr]
        for brew_id in (stale, fresh):
            session.add(Signup(brew_id=brew_id, user_id=USERS[0], perspective="carer"))
        await session.commit()

    await apply_retention(db.services, NOW)

    async with db.sessions() as session:
        statuses = {b.id: b.status for b in await session.scalars(select(Brew))}
        left = list(await session.scalars(select(Signup.brew_id)))
    assert statuses == {stale: "cancelled", fresh: "open"}
    assert left == [fresh]
