"""What organisers do with what was heard: exports, deleting a brew, and retention.

* Exports read brews and reflections from the database, turn them into the pure core's records
  (:class:`bot.core.export.BrewSummary`, :class:`bot.core.export.ReflectionRecord`) and render
  CSV, JSON or the Markdown report with its chart. The same builders serve ``/brew export`` and
  ``brewhost export``. No record carries a user id; reflections carry their date only.
* ``/brew purge`` deletes one brew and, by the database's cascades, its rooms, memberships,
  reflections, receipts, outbox and pair history, after a confirmation button.
* :func:`apply_retention` (daily) deletes the rows that name people once a brew is older than
  ``[privacy] retention_days``; reflections stay, because they name nobody.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import discord
from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.content import Content
from bot.core.export import (
    BrewSummary,
    ReflectionRecord,
    reflections_per_brew,
    to_csv,
    to_json,
    to_markdown,
)
from bot.core.export_model import plural, quotable
from bot.core.reflections import Prompt
from bot.core.uploads import MiB, fit_for_upload
from bot.db.models import (
    Brew,
    GuildSettings,
    Membership,
    Outbox,
    PairHistory,
    Reflection,
    ReflectionReceipt,
    Room,
    Signup,
)
from bot.shell.access import ORGANISER_ONLY, is_organiser
from bot.shell.errors import UserFacingError, report_component_error
from bot.shell.reflections import checkpoint, secure_delete

if TYPE_CHECKING:
    from bot.shell.app import Services

log = logging.getLogger(__name__)

__all__ = [
    "CHART_NAME",
    "CSV_NAME",
    "FORMATS",
    "JSON_NAME",
    "REPORT_NAME",
    "ExportData",
    "ExportFilter",
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
    "parse_since",
    "purge_brew",
    "send_export",
]

Format = Literal["csv", "json", "markdown"]
FORMATS: tuple[Format, ...] = ("csv", "json", "markdown")
CSV_NAME = "brew-reflections.csv"
JSON_NAME = "brew-reflections.json"
REPORT_NAME = "brew-report.md"
CHART_NAME = "brew-report-chart.png"
#: Brews that reached their rooms; open, cancelled and failed brews have nothing to report.
EXPORTED_STATUSES = ("running", "ended")
#: Statuses a brew may not be deleted in: people are (or may soon be) in its channels.
BUSY_STATUSES = ("open", "starting", "running")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
#: Discord's per-request upload limit, less a margin for the multipart envelope.
_REQUEST_LIMIT = 25 * MiB - 256 * 1024


# ------------------------------------------------------------------ reading the database
@dataclass(frozen=True)
class ExportFilter:
    guild_id: int | None = None
    brew_number: int | None = None
    since: date | None = None


@dataclass(frozen=True)
class ExportData:
    brews: tuple[BrewSummary, ...]
    reflections: tuple[ReflectionRecord, ...]
    prompts: tuple[Prompt, ...] = field(default=())

    @property
    def areas(self) -> set[str]:
        return {b.area.strip() for b in self.brews if b.area and b.area.strip()}


def parse_since(value: str) -> date:
    """``YYYY-MM-DD`` only (``2024-07-01``); raises ``ValueError`` for anything else."""
    value = value.strip()
    if not _ISO_DATE.fullmatch(value):
        raise ValueError(value)
    return date.fromisoformat(value)


def _brews_query(flt: ExportFilter) -> Any:
    query = (
        select(Brew, GuildSettings.area_label)
        .outerjoin(GuildSettings, GuildSettings.guild_id == Brew.guild_id)
        .where(Brew.status.in_(EXPORTED_STATUSES), Brew.started_at.is_not(None))
    )
    if flt.guild_id is not None:
        query = query.where(Brew.guild_id == flt.guild_id)
    if flt.brew_number is not None:
        query = query.where(Brew.number == flt.brew_number)
    if flt.since is not None:
        query = query.where(Brew.started_at >= datetime.combine(flt.since, time(0), UTC))
    return query


async def export_guild_ids(session: AsyncSession, flt: ExportFilter) -> list[int]:
    """The servers with brews matching ``flt`` (brew numbers are only unique per server)."""
    inner = _brews_query(flt).subquery()
    return list(
        await session.scalars(select(inner.c.guild_id).distinct().order_by(inner.c.guild_id))
    )


async def load_export(
    session: AsyncSession, flt: ExportFilter, prompts: Sequence[Prompt], tz: tzinfo = UTC
) -> ExportData:
    """Brews and reflections for one server (pass ``flt.guild_id`` when several exist)."""
    rows = (await session.execute(_brews_query(flt).order_by(Brew.started_at, Brew.number))).all()
    numbers: dict[int, int] = {}
    brews: list[BrewSummary] = []
    for brew, area in rows:
        assert brew.started_at is not None
        numbers[brew.id] = brew.number
        brews.append(
            BrewSummary(
                number=brew.number,
                title=brew.title,
                area=area,
                question=brew.question,
                date=brew.started_at.astimezone(tz).date(),
                participants=brew.participants,
                rooms=brew.rooms_count,
            )
        )
    reflections: list[ReflectionRecord] = []
    if numbers:
        found = await session.scalars(
            select(Reflection).where(Reflection.brew_id.in_(list(numbers)))
        )
        reflections = [
            ReflectionRecord(
                brew_number=numbers[r.brew_id],
                date=r.submitted_on,
                consent=bool(r.consent),
                answers={str(k): str(v) for k, v in (r.answers or {}).items()},
            )
            for r in found
        ]
    # Consent is shown only where it cannot tie one person's answers together (see quotable);
    # applied here, per server, so every format and every reader of ExportData gets it.
    return ExportData(tuple(brews), tuple(quotable(reflections)), tuple(prompts))


def nothing_reason(flt: ExportFilter, *, here: str = "in this server") -> str:
    """Why an export came back empty, in the words of what was asked."""
    if flt.brew_number is not None and flt.since is not None:
        return f"brew {flt.brew_number} has not run {here} on or after {flt.since.isoformat()}"
    if flt.brew_number is not None:
        return f"no brew numbered {flt.brew_number} has run {here}"
    if flt.since is not None:
        return f"no brews have run {here} on or after {flt.since.isoformat()}"
    return f"no brews have run {here} yet"


# ------------------------------------------------------------------ rendering files
def output_names(fmt: Format, out: str | Path | None = None) -> tuple[Path, Path | None]:
    """Where the main file (and, for Markdown, the chart beside it) go."""
    default = {"csv": CSV_NAME, "json": JSON_NAME, "markdown": REPORT_NAME}[fmt]
    main = Path(out) if out else Path(default)
    if fmt != "markdown":
        return main, None
    chart = main.with_name(f"{main.stem}-chart.png") if out else Path(CHART_NAME)
    return main, chart


def report_title(content: Content, data: ExportData) -> str:
    areas = data.areas
    if len(areas) == 1:
        return content.format("export.report_title_area", area=next(iter(areas)))
    return content.text("export.report_title")


async def build_files(
    data: ExportData,
    fmt: Format,
    content: Content,
    *,
    generated_on: date,
    main_name: str | None = None,
    chart_name: str | None = None,
) -> list[tuple[str, bytes]]:
    """The export as ``(file name, bytes)``: one file, or the report and its chart.

    The chart is drawn in a worker thread (it takes a few hundred milliseconds).
    """
    brews, reflections, prompts = data.brews, data.reflections, data.prompts
    default_main, default_chart = output_names(fmt)
    name = main_name or default_main.name
    if fmt == "csv":
        return [(name, to_csv(brews, reflections, prompts))]
    if fmt == "json":
        return [(name, to_json(brews, reflections, prompts, generated_on=generated_on))]
    from bot.reporting.chart import participation_chart

    chart = chart_name or (default_chart.name if default_chart else CHART_NAME)
    by: Literal["brew", "area"] = "area" if len(data.areas) > 1 else "brew"
    png = await asyncio.to_thread(
        participation_chart, brews, reflections_per_brew(reflections), by=by
    )
    report = to_markdown(
        brews,
        reflections,
        prompts,
        title=report_title(content, data),
        generated_on=generated_on,
        chart_filename=chart,
        chart_by=by,
    )
    return [(name, report.encode("utf-8")), (chart, png)]


# ------------------------------------------------------------------ /brew export
async def send_export(
    interaction: discord.Interaction,
    services: Services,
    format_name: str,
    brew_number: int | None,
    since_text: str | None,
) -> None:
    """Answer a deferred ``/brew export`` with the files, already checked as an organiser."""
    content = services.content
    fmt: Format = "markdown"
    for known in FORMATS:
        if known == format_name:
            fmt = known
    assert interaction.guild_id is not None
    since = None
    if since_text:
        try:
            since = parse_since(since_text)
        except ValueError:
            raise UserFacingError(
                content.format("export.bad_date", value=since_text.strip()[:40])
            ) from None
    flt = ExportFilter(guild_id=interaction.guild_id, brew_number=brew_number, since=since)
    async with services.sessions() as session:
        data = await load_export(session, flt, content.prompts, services.config.timing.zone())
    if not data.brews:
        await interaction.followup.send(
            content.format("export.nothing", why=nothing_reason(flt)), ephemeral=True
        )
        return
    files = await build_files(
        data,
        fmt,
        content,
        generated_on=services.clock.now().astimezone(services.config.timing.zone()).date(),
    )
    guild = interaction.guild
    per_file = min(guild.filesize_limit if guild else 10 * MiB, _REQUEST_LIMIT)
    batches = fit_for_upload(files, per_file_limit=per_file, per_request_limit=_REQUEST_LIMIT)
    intro = content.format(
        "export.ready",
        format={"csv": "CSV", "json": "JSON", "markdown": "Markdown report"}[fmt],
        brews=plural(len(data.brews), "brew"),
        reflections=plural(len(data.reflections), "reflection"),
    )
    sent_names = [name for batch in batches for name, _ in batch]
    if len(batches) > 1 or sent_names != [name for name, _ in files]:
        intro += " " + content.format("export.split", count=len(batches))
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
        brew = await session.scalar(
            select(Brew).where(Brew.guild_id == guild_id, Brew.number == number)
        )
        if brew is None:
            raise UserFacingError(content.format("export.purge_missing", number=number))
        if brew.status in BUSY_STATUSES:
            raise UserFacingError(content.format("export.purge_running", number=number))
        count = await session.scalar(
            select(func.count()).select_from(Reflection).where(Reflection.brew_id == brew.id)
        )
    return PurgeTarget(brew.id, brew.number, brew.title, int(count or 0))


async def purge_brew(services: Services, guild_id: int, brew_id: int) -> None:
    """Delete the brew row; the database's ``ON DELETE CASCADE`` removes its rooms,
    memberships, sign-ups, reflections, receipts, outbox and pair history with it."""
    content = services.content
    async with services.sessions() as session:
        await secure_delete(session)
        brew = await session.get(Brew, brew_id)
        if brew is None or brew.guild_id != guild_id:
            return
        if brew.status in BUSY_STATUSES:
            raise UserFacingError(content.format("export.purge_running", number=brew.number))
        await session.execute(delete(Brew).where(Brew.id == brew_id))
        await session.commit()
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


# ------------------------------------------------------------------ retention
@dataclass(frozen=True)
class RetentionReport:
    brews: int = 0
    signups: int = 0
    memberships: int = 0
    outbox: int = 0
    pairs: int = 0


def _count(result: Any) -> int:
    return max(int(getattr(result, "rowcount", 0) or 0), 0)


async def apply_retention(services: Services, now: datetime) -> RetentionReport:
    """Forget who took part in brews older than ``[privacy] retention_days``.

    For brews that ended before the cut-off (and cancelled or failed brews created before it):
    sign-ups, memberships and outbox rows are deleted; the facilitator, sign-up channel and card
    message ids and each room's speaking order (user ids) are cleared; any leftover receipt key
    or receipts go too. "Who met whom" hashes older than the cut-off are deleted. Reflections,
    titles, questions, dates and counts stay: they name nobody. Idempotent.
    """
    cutoff = now - timedelta(days=services.config.privacy.retention_days)
    async with services.sessions() as session:
        await secure_delete(session)
        # A sign-up card nobody started or ended is given up once it is as old as the retention
        # period, so its sign-ups do not stay for ever.
        stale = await session.scalars(
            select(Brew).where(Brew.status == "open", Brew.created_at < cutoff)
        )
        for brew in stale:
            brew.status = "cancelled"
        await session.flush()
        ids = list(
            await session.scalars(
                select(Brew.id).where(
                    or_(
                        and_(Brew.status == "ended", Brew.ended_at < cutoff),
                        and_(
                            Brew.status.in_(("cancelled", "failed")),
                            or_(
                                Brew.ended_at < cutoff,
                                and_(Brew.ended_at.is_(None), Brew.created_at < cutoff),
                            ),
                        ),
                    )
                )
            )
        )
        report = RetentionReport()
        if ids:
            rooms = select(Room.id).where(Room.brew_id.in_(ids))
            signups = await session.execute(delete(Signup).where(Signup.brew_id.in_(ids)))
            members = await session.execute(delete(Membership).where(Membership.brew_id.in_(ids)))
            outbox = await session.execute(delete(Outbox).where(Outbox.room_id.in_(rooms)))
            await session.execute(
                delete(ReflectionReceipt).where(ReflectionReceipt.brew_id.in_(ids))
            )
            await session.execute(
                update(Brew)
                .where(Brew.id.in_(ids))
                .values(
                    facilitator_id=None,
                    channel_id=None,
                    card_message_id=None,
                    reflection_secret=None,
                )
            )
            await session.execute(update(Room).where(Room.brew_id.in_(ids)).values(turn_order=[]))
            report = RetentionReport(
                brews=len(ids),
                signups=_count(signups),
                memberships=_count(members),
                outbox=_count(outbox),
            )
        pairs = await session.execute(delete(PairHistory).where(PairHistory.met_on < cutoff.date()))
        await session.commit()
    report = RetentionReport(
        report.brews, report.signups, report.memberships, report.outbox, _count(pairs)
    )
    if report.signups or report.memberships or report.outbox or report.pairs:
        await checkpoint(services)
        log.info(
            "retention: forgot who took part in %d old brews (%d sign-ups, %d memberships, "
            "%d queued posts) and %d old pair notes",
            report.brews,
            report.signups,
            report.memberships,
            report.outbox,
            report.pairs,
        )
    return report
