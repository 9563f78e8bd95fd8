"""The comparison for ``brewhost export --format csv``: a plain sqlite3 + csv writer.

It writes, for each server, the same bytes as Brew Host's CSV export (same columns, same row
order, same consent rule, same formula guard), streaming one brew at a time from the database
with the standard library only. It is what "≤ 1.5 × the plain writer's time" is measured
against, and the benchmark checks the bytes are identical, so the comparison is like for like.

    python bench/plain_csv.py DB OUT_DIR [--timezone Europe/London]

Writes ``OUT_DIR/reflections-<guild id>.csv`` per server (as ``brewhost export --out
OUT_DIR/reflections.csv`` does when the database holds several servers).
"""

from __future__ import annotations

import argparse
import csv
import json
import sqlite3
import sys
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# The queries live in bot/db (the SQL boundary rule); they are plain sqlite3, no Brew Host code.
from bot.db.bench_sql import plain_brew_answers, plain_exported_guilds, plain_guild_brews

COLUMNS = (
    "Brew number",
    "Brew title",
    "Area",
    "Brew question",
    "Brew date",
    "Prompt",
    "Answer",
    "Consent to quote",
)
#: The default content's reflection questions, in form order (key, label).
PROMPTS = (
    ("missing", "What's missing?"),
    ("lasting", "What are your lasting thoughts?"),
    ("next", "What could be next?"),
    ("feedback", "How was this brew for you?"),
)
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
MIN_YES = 3


def _safe(cell: str) -> str:
    return "'" + cell if cell.startswith(TRIGGERS) else cell


def _date(started: str, zone: ZoneInfo) -> str:
    return datetime.fromisoformat(started).replace(tzinfo=UTC).astimezone(zone).date().isoformat()


def write_all(db: Path, out_dir: Path, timezone: str = "Europe/London") -> list[Path]:
    """One CSV per server with exported brews; returns the paths written."""
    zone = ZoneInfo(timezone)
    conn = sqlite3.connect(db)
    guilds = plain_exported_guilds(conn)
    written = []
    for guild in guilds:
        brews = [
            (bid, num, title, area or "", question, _date(started, zone))
            for bid, num, title, area, question, started in plain_guild_brews(conn, guild)
        ]
        brews.sort(key=lambda b: (b[5], b[1]))
        path = out_dir / f"reflections-{guild}.csv"
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\r\n")
            writer.writerow(COLUMNS)
            for bid, num, title, area, question, day in brews:
                rows = plain_brew_answers(conn, bid)
                yes = sum(1 for consent, _ in rows if consent)
                grouped: dict[str, list[tuple[str, bool]]] = defaultdict(list)
                for consent, answers in rows:
                    shown = bool(consent) and yes >= MIN_YES
                    for key, text in json.loads(answers).items():
                        text = str(text)
                        if text.strip():
                            grouped[key].append((text.strip(), shown))
                extra = sorted(k for k in grouped if k not in dict(PROMPTS))
                head = (str(num), _safe(title), _safe(area), _safe(question), day)
                for key, label in (*PROMPTS, *((k, k) for k in extra)):
                    for text, shown in sorted(
                        grouped.get(key, ()), key=lambda a: (a[0].casefold(), a[0], a[1])
                    ):
                        writer.writerow(
                            (*head, _safe(label), _safe(text), "yes" if shown else "no")
                        )
        written.append(path)
    conn.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("db", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--timezone", default="Europe/London")
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for path in write_all(args.db, args.out_dir, args.timezone):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
