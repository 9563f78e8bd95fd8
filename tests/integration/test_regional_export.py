"""``/brew export scope: all`` through Discord: the real BrewBot against the local simulator.

Three community servers share one bot: Norfolk and Essex are listed in ``[reports]
regional_servers``, Luton is not. Each has run a brew numbered 1 (numbers are per server) with
three people agreeing to be quoted. An organiser in Norfolk or Essex gets the one regional
report (web page or Word) with both areas' quotes and none of Luton's; an organiser in Luton is
told, kindly, what the bot's host must set; a plain member is refused as for any export. The
report is built in a worker thread, not on the bot's event loop.
"""

from __future__ import annotations

import io
import threading
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import pytest

import bot.shell.regional as regional
from bot.config import ReportsConfig
from bot.db.models import GuildSettings
from bot.rehearsal.stage import build_world
from bot.shell.access import ORGANISER_ONLY
from bot.shell.organiser import AREA_NEEDS_REGION
from bot.shell.reflections import save_reflection
from discordsim import DiscordSimulator, Member
from tests.builders import NOW, USERS, add_brew

from .conftest import Harness, World

TIMEOUT = 20.0
FOURTH = 444_444_444_444_444_444


@dataclass
class Region:
    h: Harness
    norfolk: World
    essex: World
    luton: World

    async def ask(self, world: World, user: Member, **options: Any) -> Any:
        """``user`` runs ``/brew export`` in ``world``'s brew hall; returns once answered."""
        rec = await self.h.sim.invoke_command(
            world.guild_id, world.hall.id, user.id, "brew export", **options
        )
        await rec.wait_response(timeout=TIMEOUT)
        await self.h.sim.wait_for(lambda: texts(rec), TIMEOUT)
        return rec


def texts(rec: Any) -> list[str]:
    out = []
    if rec.original_message is not None and rec.original_message.content:
        out.append(rec.original_message.content)
    return out + [m.content for m in rec.followups if m.content]


def attachments(rec: Any) -> dict[str, Any]:
    messages = [rec.original_message, *rec.followups]
    return {a.filename: a for m in messages if m is not None for a in m.attachments}


async def _brew_with_quotes(h: Harness, world: World, area: str, said: str) -> None:
    """Brew 1 in ``world``, two days before NOW, four people, three agreeing to be quoted."""
    services = h.bot.services if h.bot else None
    assert services is not None
    started = NOW - timedelta(days=2)
    brew_id = await add_brew(
        services.sessions, guild_id=world.guild_id, number=1, title=f"{area} brew",
        started_at=started, ended_at=started + timedelta(minutes=30),
        rooms=((*USERS, FOURTH),),
    )  # fmt: skip
    for user, consent in zip((*USERS, FOURTH), ("yes", "yes", "yes", "no"), strict=True):
        outcome = await save_reflection(
            services, guild_id=world.guild_id, brew_id=brew_id, user_id=user,
            raw={"missing": f"{said} from person {user % 10}"}, consent_text=consent,
            now=started + timedelta(hours=1),
        )  # fmt: skip
        assert outcome.result.value == "saved"


@pytest.fixture
async def region(sim: DiscordSimulator, world: World, db_url: str) -> AsyncIterator[Region]:
    essex = build_world(sim, 3, server="Essex Network")
    luton = build_world(sim, 3, server="Luton Network")
    h = Harness(sim, world, db_url, speed=120.0)
    ids = (world.guild_id, essex.guild_id, luton.guild_id)
    h.config = replace(
        h.config,
        discord=replace(h.config.discord, guild_ids=ids),
        reports=ReportsConfig(regional_servers=(world.guild_id, essex.guild_id)),
    )
    await h.start()
    for w in (essex, luton):
        await sim.wait_for(lambda w=w: sim.commands(w.guild_id), TIMEOUT)
    try:
        assert h.bot is not None
        async with h.bot.services.sessions() as session:
            for w, area in ((world, "Norfolk"), (essex, "Essex"), (luton, "Luton")):
                session.add(
                    GuildSettings(
                        guild_id=w.guild_id, area_label=area, organiser_role_id=w.organisers.id,
                        next_brew_number=2,
                    )
                )  # fmt: skip
            await session.commit()
        await _brew_with_quotes(h, world, "Norfolk", "Norfolk needs transport")
        await _brew_with_quotes(h, essex, "Essex", "Essex needs time")
        await _brew_with_quotes(h, luton, "Luton", "Luton needs space")
        yield Region(h, world, essex, luton)
    finally:
        await h.stop()


async def test_an_organiser_of_a_listed_server_gets_the_regional_report(
    region: Region, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[threading.Thread] = []
    real = regional.render_regional

    def recording(*args: Any) -> Any:
        threads.append(threading.current_thread())
        return real(*args)

    monkeypatch.setattr(regional, "render_regional", recording)
    norfolk = region.norfolk
    rec = await region.ask(norfolk, norfolk.organiser, scope="region")
    files = attachments(rec)
    assert set(files) == {"brew-regional-report.html"}, texts(rec)
    assert texts(rec)[0] == (
        "Here is your regional web page report: 2 brews in 2 areas, 8 reflections."
    )
    page = files["brew-regional-report.html"].text
    assert "Norfolk needs transport from person 1" in page
    assert "Essex needs time from person 2" in page
    assert "Luton" not in page  # not a listed server: not a word of it
    assert "<h2>Essex</h2>" in page and "<h2>Norfolk</h2>" in page
    assert "Summary by area" in page and "How this was collected" in page
    # The report was built off the event loop.
    assert threads and all(t is not threading.main_thread() for t in threads)

    # From the other listed server, as a Word document, for one area.
    essex = region.essex
    rec = await region.ask(essex, essex.organiser, scope="region", format="docx", area="norfolk")
    [(name, doc)] = attachments(rec).items()
    assert name == "brew-regional-report.docx"
    with zipfile.ZipFile(io.BytesIO(doc.data)) as archive:
        body = archive.read("word/document.xml").decode()
    assert "Norfolk needs transport" in body and "Essex needs time" not in body
    assert texts(rec)[0].startswith("Here is your regional Word report: 1 brew in 1 area")

    # Filters that leave nothing, and options that make no sense across servers.
    rec = await region.ask(norfolk, norfolk.organiser, scope="region", until="2024-06-01")
    assert "nothing to export" in texts(rec)[0] and "the region's servers" in texts(rec)[0]
    assert not attachments(rec)
    rec = await region.ask(norfolk, norfolk.organiser, scope="region", format="csv")
    assert texts(rec) == [regional.REGIONAL_FORMAT_ONLY]
    rec = await region.ask(norfolk, norfolk.organiser, scope="region", brew=1)
    assert texts(rec) == [regional.BREW_NEEDS_SERVER]
    rec = await region.ask(norfolk, norfolk.organiser, scope="region", since="next week")
    assert "year-month-day" in texts(rec)[0]

    # This server's own export keeps working, with until and without area.
    rec = await region.ask(norfolk, norfolk.organiser, format="html")
    own = attachments(rec)["brew-report.html"].text
    assert "Norfolk needs transport" in own and "Essex" not in own
    rec = await region.ask(norfolk, norfolk.organiser, until="2024-06-30")  # the brew's day
    assert "Markdown report export: 1 brew, 4 reflections" in texts(rec)[0]
    rec = await region.ask(norfolk, norfolk.organiser, until="2024-06-29")
    assert "no brews have run in this server up to 2024-06-29" in texts(rec)[0]
    rec = await region.ask(norfolk, norfolk.organiser, area="Norfolk")
    assert texts(rec) == [AREA_NEEDS_REGION]

    assert not region.h.sim.failed_interactions


async def test_outside_the_region_or_without_the_role_the_answer_is_a_kind_no(
    region: Region,
) -> None:
    luton = region.luton
    rec = await region.ask(luton, luton.organiser, scope="region")
    [said] = texts(rec)
    assert said == regional.regional_not_set_up(luton.guild_id)
    assert "isn't set up for this server" in said and str(luton.guild_id) in said
    assert "regional_servers in the [reports] part of the bot's config file" in said
    assert not attachments(rec)

    member = region.norfolk.people[0]
    rec = await region.ask(region.norfolk, member, scope="region")
    assert texts(rec) == [ORGANISER_ONLY] and not attachments(rec)
    assert not region.h.sim.failed_interactions
