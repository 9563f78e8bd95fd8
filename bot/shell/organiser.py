"""What organisers do with what was heard: exports, deleting a brew, and retention.

* Exports read brews and reflections from the database, turn them into the pure core's records
  (:class:`bot.core.export.BrewSummary`, :class:`bot.core.export.ReflectionRecord`) and render
  CSV, JSON or a report (Markdown with its chart, a web page or a Word document) in a worker
  thread. The same builders serve ``/brew export`` and ``brewhost export``. No record carries a
  user id; reflections carry their date only. The regional report (``scope: all``) is
  :mod:`bot.shell.regional`.
* ``/brew purge`` deletes one brew and, by the database's cascades, its rooms, memberships,
  reflections, receipts, outbox and pair history, after a confirmation button.
* :func:`apply_retention` (daily) deletes the rows that name people once a brew is older than
  ``[privacy] retention_days``; reflections stay, because they name nobody. It lives in
  :mod:`bot.shell.retention` (re-exported here), so the running bot needs none of the exporters
  this module imports until someone exports.
"""

from __future__ import annotations

import asyncio
import io
import logging
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import discord
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.export import EXPORT_FORMATS
from bot.core.export_model import plural
from bot.core.uploads import MiB, fit_for_upload
from bot.db import privacy
from bot.db.exports import (
    ExportData,
    ExportFilter,
    ExportPlan,
    export_guild_ids,
    load_export,
    plan_export,
)
from bot.db.privacy import RetentionReport
from bot.export_files import (
    CHART_NAME,
    CSV_NAME,
    FORMATS,
    JSON_NAME,
    REPORT_NAME,
    STREAMED_FORMATS,
    Format,
    build_files,
    nothing_reason,
    output_names,
    parse_since,
    report_title,
    stream_export,
)
from bot.export_worker import can_use_child, export_in_child
from bot.shell.access import ORGANISER_ONLY, is_organiser
from bot.shell.errors import UserFacingError, report_component_error
from bot.shell.reflections import checkpoint
from bot.shell.retention import apply_retention

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

__all__ = [
    "CHART_NAME",
    "CSV_NAME",
    "FORMATS",
    "JSON_NAME",
    "REPORT_NAME",
    "ExportData",
    "ExportFilter",
    "ExportPlan",
    "PurgeTarget",
    "PurgeView",
    "RetentionReport",
    "apply_retention",
    "build_files",
    "export_guild_ids",
    "find_purge_target",
    "load_export",
    "nothing_reason",
    "output_names",
    "parse_date_option",
    "parse_since",
    "purge_brew",
    "send_export",
    "send_files",
    "today",
]

#: ``area`` only chooses areas within the regional report.
AREA_NEEDS_REGION = (
    "Choosing an area is for the regional report (scope: all servers in the region). This "
    "server's own report already covers just this server: leave area empty, or choose that scope."
)

#: Discord's per-request upload limit, less a margin for the multipart envelope.
_REQUEST_LIMIT = 25 * MiB - 256 * 1024


# ------------------------------------------------------------------ /brew export
def parse_date_option(services: Services, text: str | None) -> date | None:
    """A ``since``/``until`` option as a date, or a kind error naming what was typed."""
    if not text:
        return None
    try:
        return parse_since(text)
    except ValueError:
        raise UserFacingError(
            services.content.format("export.bad_date", value=text.strip()[:40])
        ) from None


async def send_export(
    interaction: discord.Interaction,
    services: Services,
    format_name: str,
    brew_number: int | None,
    since_text: str | None,
    until_text: str | None = None,
    area: str | None = None,
) -> None:
    """Answer a deferred ``/brew export`` with the files, already checked as an organiser."""
    content = services.content
    fmt: Format = "markdown"
    for known in FORMATS:
        if known == format_name:
            fmt = known
    assert interaction.guild_id is not None
    if area and area.strip():
        raise UserFacingError(AREA_NEEDS_REGION)
    since = parse_date_option(services, since_text)
    until = parse_date_option(services, until_text)
    flt = ExportFilter(guild_id=interaction.guild_id, brew_number=brew_number, since=since)
    zone = services.config.timing.zone()
    async with services.sessions() as session:
        counts = fmt == "markdown"  # only the report needs totals before the first brew
        plan = await plan_export(session, flt, content.prompts, zone, until=until, counts=counts)
        if not plan.brews:
            await interaction.followup.send(
                content.format("export.nothing", why=nothing_reason(flt, until=until)),
                ephemeral=True,
            )
            return
        if fmt in STREAMED_FORMATS:
            reflections, files = await _streamed_files(services, session, plan, fmt)
        else:
            data = await load_export(session, flt, content.prompts, zone, until=until)
            reflections = len(data.reflections)
            files = await build_files(data, fmt, content, generated_on=today(services))
    intro = content.format(
        "export.ready",
        format=EXPORT_FORMATS[fmt].name,
        brews=plural(len(plan.brews), "brew"),
        reflections=plural(reflections, "reflection"),
    )
    await send_files(interaction, services, files, intro)


def today(services: Services) -> date:
    """Today in the community's time zone (the "Generated on" date of a report)."""
    return services.clock.now().astimezone(services.config.timing.zone()).date()


async def _streamed_files(
    services: Services, session: AsyncSession, plan: ExportPlan, fmt: Format
) -> tuple[int, list[tuple[str, bytes]]]:
    """How many reflections, and a CSV, JSON or Markdown export as files, built off the loop.

    The file is written brew by brew, reading the database in batches
    (:func:`bot.export_files.stream_export`), in a child process with its own connection
    (:mod:`bot.export_worker`), so buttons and timers in every room keep their turn however
    large the export. An in-memory database (tests) is written from a worker thread instead.
    """
    main, chart = output_names(fmt)
    url = services.config.database.url
    chart_name = chart.name if chart else None
    if can_use_child(url):
        with tempfile.TemporaryDirectory(prefix="brewhost-export-") as folder:
            path = Path(folder) / main.name
            done = await export_in_child(
                url, plan, fmt, path, title=report_title(services.content, plan),
                generated_on=today(services), chart_name=chart_name,
            )  # fmt: skip
            blob = await asyncio.to_thread(path.read_bytes)
    else:
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as out:
            done = await stream_export(
                session, plan, fmt, out, services.content,  # type: ignore[arg-type]
                generated_on=today(services), chart_name=chart_name, database_url=url,
            )  # fmt: skip
            blob = await asyncio.to_thread(_read_all, out)
    files = [(main.name, blob)]
    if chart is not None and done.chart is not None:
        files.append((chart.name, done.chart))
    return done.reflections, files


def _read_all(out: IO[bytes]) -> bytes:
    out.seek(0)
    return out.read()


#: Exports up to this size are built in memory, larger ones in a temporary file.
_SPOOL_BYTES = 4 * MiB


async def send_files(
    interaction: discord.Interaction,
    services: Services,
    files: list[tuple[str, bytes]],
    intro: str,
) -> None:
    """Attach ``files`` to ephemeral followups, zipped or split to fit Discord's upload limits
    (the server's per-file limit and the per-request one); ``intro`` heads the first."""
    guild = interaction.guild
    per_file = min(guild.filesize_limit if guild else 10 * MiB, _REQUEST_LIMIT)
    # Zipping tens of MiB takes a second or more: never on the event loop.
    batches = await asyncio.to_thread(
        fit_for_upload, files, per_file_limit=per_file, per_request_limit=_REQUEST_LIMIT
    )
    sent_names = [name for batch in batches for name, _ in batch]
    if len(batches) > 1 or sent_names != [name for name, _ in files]:
        intro += " " + services.content.format("export.split", count=len(batches))
    for i, batch in enumerate(batches):
        await interaction.followup.send(
            intro if i == 0 else f"Part {i + 1} of {len(batches)}.",
            files=[discord.File(io.BytesIO(data_), filename=name) for name, data_ in batch],
            ephemeral=True,
        )


# ------------------------------------------------------------------ /brew purge
@dataclass(frozen=True)
class PurgeTarget:
    brew_id: int
    number: int
    title: str
    reflections: int


async def find_purge_target(services: Services, guild_id: int, number: int) -> PurgeTarget:
    content = services.content
    async with services.sessions() as session:
        found = await privacy.purge_candidate(session, guild_id, number)
    if found is None:
        raise UserFacingError(content.format("export.purge_missing", number=number))
    if found.busy:
        raise UserFacingError(content.format("export.purge_running", number=number))
    return PurgeTarget(found.brew_id, found.number, found.title, found.reflections)


async def purge_brew(services: Services, guild_id: int, brew_id: int) -> None:
    """Delete the brew row; the database's ``ON DELETE CASCADE`` removes its rooms,
    memberships, sign-ups, reflections, receipts, outbox and pair history with it."""
    async with services.sessions() as session:
        found = await privacy.delete_brew(session, guild_id, brew_id)
    if found is None:
        return
    if found.busy:
        raise UserFacingError(services.content.format("export.purge_running", number=found.number))
    await checkpoint(services)
    log.info("brew %s deleted by an organiser", brew_id)


class PurgeView(discord.ui.View):
    """ "Yes, delete it" / "Cancel" under the ephemeral question. Only in memory: if the bot
    restarts the buttons stop working and the person simply runs /brew purge again."""

    def __init__(self, services: Services, guild_id: int, owner_id: int, target: PurgeTarget):
        super().__init__(timeout=300)
        self.services, self.guild_id, self.owner_id, self.target = (
            services,
            guild_id,
            owner_id,
            target,
        )
        content = services.content
        confirm: discord.ui.Button[PurgeView] = discord.ui.Button(
            label=content.button("confirm_purge"), style=discord.ButtonStyle.danger
        )
        cancel: discord.ui.Button[PurgeView] = discord.ui.Button(
            label=content.text("export.cancel_button"), style=discord.ButtonStyle.secondary
        )
        confirm.callback = self._confirm  # type: ignore[method-assign]
        cancel.callback = self._cancel  # type: ignore[method-assign]
        self.add_item(confirm)
        self.add_item(cancel)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return interaction.user.id == self.owner_id

    async def _confirm(self, interaction: discord.Interaction) -> None:
        content = self.services.content
        if not await is_organiser(self.services, interaction.user, self.guild_id):
            raise UserFacingError(ORGANISER_ONLY)
        await purge_brew(self.services, self.guild_id, self.target.brew_id)
        self.stop()
        await interaction.response.edit_message(
            content=content.format("export.purge_done", number=self.target.number), view=None
        )

    async def _cancel(self, interaction: discord.Interaction) -> None:
        self.stop()
        await interaction.response.edit_message(
            content=self.services.content.text("export.purge_cancelled"), view=None
        )

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        await report_component_error(interaction, error)
