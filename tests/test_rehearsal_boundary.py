"""The simulator is a rehearsal tool: only ``bot/rehearsal`` may import it, never the product."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return names


def test_only_the_rehearsal_imports_the_simulator() -> None:
    files = sorted([*(ROOT / "bot").rglob("*.py"), *(ROOT / "cogs").rglob("*.py")])
    assert len(files) >= 20
    rehearsal = ROOT / "bot" / "rehearsal"
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in files
        if rehearsal not in path.parents
        for name in _imports(path)
        if name.split(".")[0] == "discordsim"
    ]
    assert offenders == []
    # ...and the rehearsal does use it (the check above is not vacuous).
    assert any(name.startswith("discordsim") for name in _imports(rehearsal / "stage.py"))


def test_the_simulator_never_imports_the_bot() -> None:
    files = sorted((ROOT / "discordsim").rglob("*.py"))
    assert len(files) >= 10
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in files
        for name in _imports(path)
        if name.split(".")[0] in ("bot", "cogs")
    ]
    assert offenders == []
