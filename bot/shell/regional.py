"""``/brew export scope: all``: the regional report, for organisers of a server set up for it.

The bot's host lists the servers whose brews make up the region in ``[reports]
regional_servers``. An organiser (checked by the command, in their own server) of a listed server
gets one report across every listed server: the same web page or Word document as
``brewhost export --all-servers`` (:mod:`bot.regional_export`), with ``since``, ``until`` and
``area`` as its filters. Anyone asking from a server that is not listed is told, in plain words,
what the host has to set; nothing is read from any other server first.

Why a list in the config file and not a server setting: the report shows each listed server's
quotes to the organisers of every other listed server, so it is the host (who runs the bot for
all of them) who decides which servers share, never one server on its own.

Reading is asynchronous; building the report and drawing its charts (seconds for a busy region)
runs in a worker thread so the bot keeps answering everyone else meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord

from bot.core.export_model import plural
from bot.core.export_regional import RegionalFilter
from bot.regional_export import DocumentFormat, load_servers, nothing_in_region, render_regional
from bot.shell.errors import UserFacingError
from bot.shell.organiser import parse_date_option, send_files, today

if TYPE_CHECKING:
    from bot.services import Services

__all__ = [
    "BREW_NEEDS_SERVER",
    "REGIONAL_FORMAT_ONLY",
    "regional_not_set_up",
    "send_regional_export",
]

log = logging.getLogger(__name__)

#: Brew numbers are counted per server, so "brew 3" means a different brew in each.
BREW_NEEDS_SERVER = (
    "Brew numbers are counted in each server separately, so the regional report can't pick one "
    "brew. Leave brew empty, or narrow the report with since, until or area."
)
#: The regional report has two charts and their tables inside it: a web page or a Word file.
REGIONAL_FORMAT_ONLY = (
    "The regional report is a document: choose the web page (HTML) or Word (DOCX) format, or "
    "leave the format empty for a web page. Spreadsheets and data (CSV, JSON) come one server "
    "at a time: leave scope empty for this server's."
)


def regional_not_set_up(guild_id: int) -> str:
    """The refusal for a server not in ``[reports] regional_servers``: what it is, who can set
    it up and exactly what they set."""
    return (
        "The regional report isn't set up for this server. It gathers the brews of several "
        "servers, so the person who runs Brew Host decides which servers share theirs: they add "
        f"this server's id, {guild_id}, to regional_servers in the [reports] part of the bot's "
        "config file, then restart the bot. Until then, /brew export without scope gives this "
        "server's own report."
    )


async def send_regional_export(
    interaction: discord.Interaction,
    services: Services,
    format_name: str | None,
    brew_number: int | None,
    since_text: str | None,
    until_text: str | None,
    area: str | None,
) -> None:
    """Answer a deferred ``/brew export scope: all``, already checked as an organiser."""
    guild_id = interaction.guild_id
    assert guild_id is not None
    region = services.config.reports.regional_servers
    if guild_id not in region:
        raise UserFacingError(regional_not_set_up(guild_id))
    fmt: DocumentFormat
    if format_name in (None, "markdown", "html"):
        fmt = "html"
    elif format_name == "docx":
        fmt = "docx"
    else:
        raise UserFacingError(REGIONAL_FORMAT_ONLY)
    if brew_number is not None:
        raise UserFacingError(BREW_NEEDS_SERVER)
    since = parse_date_option(services, since_text)
    until = parse_date_option(services, until_text)
    areas = (area.strip(),) if area and area.strip() else ()
    flt = RegionalFilter(since=since, until=until, areas=areas)
    content = services.content
    async with services.sessions() as session:
        servers = await load_servers(
            session, region, since, content.prompts, services.config.timing.zone()
        )
    report = await asyncio.to_thread(
        render_regional, servers, content.prompts, fmt, flt, today(services)
    )
    if report is None:
        why = nothing_in_region(flt, "the region's servers")
        await interaction.followup.send(content.format("export.nothing", why=why), ephemeral=True)
        return
    log.info(
        "regional report for server %s: %d servers listed, %d brews, %d bytes",
        guild_id, len(region), report.brews, len(report.data),
    )  # fmt: skip
    kind = "regional web page report" if fmt == "html" else "regional Word report"
    intro = (
        f"Here is your {kind}: {plural(report.brews, 'brew')} in "
        f"{plural(report.areas, 'area')}, {plural(report.reflections, 'reflection')}."
    )
    await send_files(interaction, services, [(report.name, report.data)], intro)
