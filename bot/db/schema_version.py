"""Is the database already at the newest shipped migration? Answered without Alembic.

``brewhost run`` asks this before migrating: on every start but the first the answer is yes, and
Alembic (with Mako, about 10 MiB of resident memory a running bot never needs again) is not
imported at all. Any doubt answers no, and the normal migration (:mod:`bot.db.migrate`) runs.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["schema_is_current", "shipped_heads"]

_REVISION = re.compile(r"^(down_revision|revision)\b[^=]*=\s*(.+?)\s*$", re.MULTILINE)


def shipped_heads() -> set[str] | None:
    """The newest migration revisions shipped with the package, read from the scripts' own
    ``revision`` / ``down_revision`` lines (no Alembic import); None if any is unreadable."""
    import ast

    import migrations

    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (Path(migrations.__file__).parent / "versions").glob("*.py"):
        found = dict(
            (key, value) for key, value in _REVISION.findall(script.read_text(encoding="utf-8"))
        )
        if "revision" not in found:
            continue
        try:
            revision = ast.literal_eval(found["revision"])
            down = ast.literal_eval(found.get("down_revision", "None"))
        except (ValueError, SyntaxError):
            return None
        if not isinstance(revision, str):
            return None
        revisions.add(revision)
        parents.update([down] if isinstance(down, str) else list(down or ()))
    heads = revisions - parents
    return heads or None


async def schema_is_current(url: str) -> bool:
    """True when the database is already at the shipped head, so ``brewhost run`` can skip
    Alembic entirely. Any doubt (no version table, unreadable scripts) answers False, and the
    normal migration runs."""
    from bot.db.session import create_engine

    heads = shipped_heads()
    if heads is None:
        return False
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT version_num FROM alembic_version"))
            current = {str(row[0]) for row in rows}
    except SQLAlchemyError:
        return False
    finally:
        await engine.dispose()
    return current == heads
