"""The daily retention job: forget who took part in brews older than ``retention_days``.

A module of its own (it was part of :mod:`bot.shell.organiser`) because it runs in every bot
from the start, while the exports beside it are needed only when an organiser asks for one: the
bot imports this without loading the exporters (idle memory, issue 12).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.db import privacy
from bot.db.privacy import RetentionReport
from bot.shell.reflections import checkpoint

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

__all__ = ["RetentionReport", "apply_retention"]


async def apply_retention(services: Services, now: datetime) -> RetentionReport:
    """Forget who took part in brews older than ``[privacy] retention_days``.

    What goes and what stays is :func:`bot.db.privacy.apply_retention`; after deleting anything
    the database file is compacted so no copy of a deleted id is left in it.
    """
    cutoff = now - timedelta(days=services.config.privacy.retention_days)
    async with services.sessions() as session:
        report = await privacy.apply_retention(session, cutoff)
    if report.deleted_anything:
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
