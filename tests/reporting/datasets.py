"""Report inputs shared by the HTML, Word and regional tests: empty, one brew, 500 brews across
the six Eastern region areas, and hostile text."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from bot.core.export_model import BrewSummary, ReflectionRecord
from bot.core.export_regional import ServerExport
from bot.core.reflections import DEFAULT_PROMPTS, Prompt

AREAS = ("Essex", "Hertfordshire", "Norfolk", "Milton Keynes", "Bedfordshire", "Luton")
PROMPTS: tuple[Prompt, ...] = tuple(DEFAULT_PROMPTS)
GENERATED = date(2024, 10, 1)

LONG_WORD = "Co-production" + "x" * 300
HOSTILE = (
    "# Not a heading",
    "**not bold** and _not italic_ [not a link](https://evil.example)",
    "<script>alert('x')</script>",
    '<img src="https://evil.example/x.png" onerror="alert(1)">',
    '=HYPERLINK("https://evil.example","click")',
    "@everyone & &amp; </blockquote></main>",
    LONG_WORD,
)
# Control characters and a bidi override that must not reach the file (Word cannot hold them).
HOSTILE_CONTROLS = "before\x00\x1b[31m\u202eafter"


@dataclass(frozen=True)
class Dataset:
    name: str
    brews: tuple[BrewSummary, ...]
    reflections: tuple[ReflectionRecord, ...]


EMPTY = Dataset("empty", (), ())

ONE_BREW = Dataset(
    "one brew",
    (BrewSummary(1, "Co-production: what's missing?", "Norfolk", "What is missing?",
                 date(2024, 7, 2), 6, 2),),
    (
        ReflectionRecord(1, date(2024, 7, 2), True, {
            "missing": "Mixed spaces to listen.\nAnd to talk.",
            "next": "Share learning across networks",
            "feedback": "Great chat with people we haven't talked to before",
        }),
        ReflectionRecord(1, date(2024, 7, 3), False, {
            "missing": "PRIVATE-ANSWER time and budget", "feedback": "PRIVATE-FEEDBACK",
        }),
    ),
)  # fmt: skip

HOSTILE_SET = Dataset(
    "hostile",
    (BrewSummary(7, "<b>Title</b> **x** =1+1 " + LONG_WORD, "<i>Area</i> #1",
                 "Question <script>q()</script>\n- list?", date(2024, 7, 4), 4, 1),),
    (*tuple(ReflectionRecord(7, date(2024, 7, 4), True, {"missing": text, "next": text}) for text in (*HOSTILE, HOSTILE_CONTROLS)), ReflectionRecord(7, date(2024, 7, 4), False, {"missing": "<b>PRIVATE</b>"})),
)  # fmt: skip


def region(brews_total: int = 500, seed: int = 2024) -> list[ServerExport]:
    """``brews_total`` brews spread over one server per area, July to September 2024."""
    rng = random.Random(seed)
    servers = []
    for s, area in enumerate(AREAS):
        count = brews_total // len(AREAS) + (1 if s < brews_total % len(AREAS) else 0)
        brews, reflections = [], []
        for n in range(1, count + 1):
            day = date(2024, 7, 1) + timedelta(days=rng.randrange(92))
            people = rng.randrange(3, 13)
            brews.append(
                BrewSummary(
                    n,
                    f"{area} brew {n}",
                    area,
                    "Co-production: what's missing?",
                    day,
                    people,
                    max(1, people // 4),
                )
            )
            for k in range(rng.randrange(0, 4)):
                reflections.append(
                    ReflectionRecord(
                        n,
                        day,
                        rng.random() < 0.6,
                        {
                            "missing": f"{area} reflection {n}.{k} on time and trust",
                            "next": f"{area} next step {n}.{k}",
                            "feedback": f"{area} feedback {n}.{k}",
                        },
                    )
                )
        servers.append(ServerExport(1000 + s, tuple(brews), tuple(reflections)))
    return servers


def flatten(servers: list[ServerExport]) -> Dataset:
    """One server's worth of the region (numbers made unique) for single-server formats."""
    brews, reflections, offset = [], [], 0
    for server in servers:
        for b in server.brews:
            brews.append(
                BrewSummary(
                    b.number + offset, b.title, b.area, b.question, b.date, b.participants, b.rooms
                )
            )
        for r in server.reflections:
            reflections.append(
                ReflectionRecord(r.brew_number + offset, r.date, r.consent, r.answers)
            )
        offset += 1000
    return Dataset("500 brews", tuple(brews), tuple(reflections))
