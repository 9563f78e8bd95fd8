"""No Python file in ``bot/`` or ``cogs/`` is over 600 lines.

Why a limit at all: a file that grows past a few hundred lines is usually doing more than one
job, and the next person has to read all of it to change any of it (``bot/demo.py`` and
``bot/core/grouping.py`` each reached about a thousand lines before they were split). The
test names every file over the limit, so the fix starts with knowing where to look.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "cogs")
MAX_LINES = 600


def line_count(path: Path) -> int:
    """Lines as an editor shows them (a last line without a newline still counts)."""
    return len(path.read_text(encoding="utf-8").splitlines())


def oversized(root: Path, packages: Iterable[str] = PACKAGES, limit: int = MAX_LINES) -> list[str]:
    """``"path: N lines"`` for every ``.py`` file under ``packages`` longer than ``limit``."""
    found = []
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            lines = line_count(path)
            if lines > limit:
                found.append(f"{path.relative_to(root).as_posix()}: {lines} lines")
    return found


def test_no_file_in_bot_or_cogs_is_over_the_limit() -> None:
    assert (ROOT / "bot").is_dir() and (ROOT / "cogs").is_dir()
    too_big = oversized(ROOT)
    assert not too_big, (
        f"Over {MAX_LINES} lines (split by job, see docs/ARCHITECTURE.md): " + "; ".join(too_big)
    )


def test_the_check_names_an_oversized_file(tmp_path: Path) -> None:
    """The check itself can fail: a file one line over is named, one at the limit is not."""
    package = tmp_path / "bot" / "shell"
    package.mkdir(parents=True)
    (package / "big.py").write_text("x = 1\n" * (MAX_LINES + 1), encoding="utf-8")
    (package / "fine.py").write_text("x = 1\n" * MAX_LINES, encoding="utf-8")
    (tmp_path / "cogs").mkdir()
    assert oversized(tmp_path) == [f"bot/shell/big.py: {MAX_LINES + 1} lines"]
