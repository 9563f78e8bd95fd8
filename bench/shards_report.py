"""What one run of ``bench/bench_shards.py`` measured, and the report over all runs: the table,
where the round trips go, and the check that the cost per brew stays flat.

The cost of a brew is read three ways, and all three must stay within :data:`FLAT_LIMIT` from
the smallest to the largest size (medians over the repetitions):

* CPU per brew-minute and database round trips per brew-minute: what running one brew costs,
  whatever was posted (the issue's "cost per brew");
* database round trips per prompt: what one post costs.

A comparison is only made between runs that did the same work: every brew ended, and the bot
kept up. When a process falls behind, posts whose moment has passed are dropped unsent
("dropped as stale"): fewer prompts per room, so the per-prompt figures carry more of each
room's fixed costs and the per-brew figures less work. A run with more than
:data:`STALE_LIMIT` of its prompts dropped is *overloaded*: the machine, not the code, set its
figures, and the check fails as "not comparable" rather than pass or fail on them.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

#: Largest allowed ratio of the largest size's cost to the smallest's.
FLAT_LIMIT = 1.20
#: Share of prompts dropped as stale above which a run is overloaded.
STALE_LIMIT = 0.01


@dataclass
class Result:
    servers: int
    rooms: int
    brews_ended: int
    prompts: int
    late_p50_ms: float
    late_p99_ms: float
    tick_lag_p99_ms: float
    steps_matched: int
    steps_unmatched: int
    press_p99_ms: float
    presses: int
    start_p99_ms: float
    late_interactions: int
    round_trips: int
    statements: int
    cpu_s: float
    sim_cpu_s: float
    wall_s: float
    hwm_mb: list[float]
    load: str
    #: The brew's length in brew minutes.
    length: int = 30
    #: Seconds from creating the servers to the first ``/brew start``.
    setup_s: float = 0.0
    pool_timeouts: int = 0
    lost_ticks: int = 0
    #: Posts the bot dropped unsent because their moment had passed (it fell behind).
    stale_dropped: int = 0
    #: Round trips by kind (execute, prepare, begin, end, ping, connect), both processes.
    kinds: dict[str, int] = field(default_factory=dict)
    #: Statements by verb and table, both processes.
    by_statement: dict[str, int] = field(default_factory=dict)

    @property
    def brew_minutes(self) -> int:
        return self.servers * self.length

    @property
    def trips_per_prompt(self) -> float:
        return self.round_trips / max(1, self.prompts)

    @property
    def trips_per_brew_minute(self) -> float:
        """Round trips per brew-minute: the cost of running a brew, whatever was posted."""
        return self.round_trips / self.brew_minutes

    @property
    def cpu_per_brew_minute_ms(self) -> float:
        return 1000 * self.cpu_s / self.brew_minutes

    @property
    def cpu_per_prompt_ms(self) -> float:
        return 1000 * self.cpu_s / max(1, self.prompts)

    @property
    def prompts_per_room(self) -> float:
        return self.prompts / max(1, self.rooms)

    @property
    def overloaded(self) -> bool:
        return self.stale_dropped > STALE_LIMIT * max(1, self.prompts + self.stale_dropped)

    @property
    def complete(self) -> bool:
        return self.brews_ended == self.servers


def _mmm(values: Sequence[float], fmt: str = "{:.0f}") -> str:
    if len(values) == 1:
        return fmt.format(values[0])
    return (
        f"{fmt.format(statistics.median(values))} "
        f"({fmt.format(min(values))}-{fmt.format(max(values))})"
    )


Getter = Callable[[Result], float]

COLUMNS: list[tuple[str, Getter, str]] = [
    ("prompt late p50 ms", lambda r: r.late_p50_ms, "{:.0f}"),
    ("prompt late p99 ms", lambda r: r.late_p99_ms, "{:.0f}"),
    ("button answer p99 ms", lambda r: r.press_p99_ms, "{:.0f}"),
    ("prompts / room", lambda r: r.prompts_per_room, "{:.1f}"),
    ("dropped as stale", lambda r: r.stale_dropped, "{:.0f}"),
    ("DB round trips / prompt", lambda r: r.trips_per_prompt, "{:.1f}"),
    ("DB round trips / brew-minute", lambda r: r.trips_per_brew_minute, "{:.1f}"),
    ("CPU ms / prompt", lambda r: r.cpu_per_prompt_ms, "{:.2f}"),
    ("CPU ms / brew-minute", lambda r: r.cpu_per_brew_minute_ms, "{:.1f}"),
    ("peak MB / process", lambda r: max(r.hwm_mb), "{:.0f}"),
]

#: The cost-per-brew figures that must stay flat (see the module doc).
FLAT: list[tuple[str, Getter]] = [
    ("CPU per brew-minute", lambda r: r.cpu_per_brew_minute_ms),
    ("DB round trips per brew-minute", lambda r: r.trips_per_brew_minute),
    ("DB round trips per prompt", lambda r: r.trips_per_prompt),
]


def run_line(rep: int, r: Result) -> str:
    """One line per run, printed as it ends."""
    return (
        f"  run {rep + 1}, {r.servers} servers: {r.rooms} rooms, {r.brews_ended} brews ended, "
        f"late p50/p99 {r.late_p50_ms:.0f}/{r.late_p99_ms:.0f} ms, "
        f"{r.prompts_per_room:.1f} prompts/room, {r.stale_dropped} stale, "
        f"{r.trips_per_prompt:.1f} trips/prompt, {r.trips_per_brew_minute:.1f} trips/brew-min, "
        f"{r.cpu_per_brew_minute_ms:.1f} CPU ms/brew-min, {r.pool_timeouts} pool timeouts, "
        f"{r.lost_ticks} ticks failed, setup {r.setup_s:.0f} s, wall {r.wall_s:.0f} s, "
        f"load {r.load}"
    )


def _per(counts: dict[str, int], prompts: int, top: int | None = None) -> str:
    items = sorted(counts.items(), key=lambda kv: -kv[1])[:top] if top else sorted(counts.items())
    return ", ".join(f"{k} {v / max(1, prompts):.2f}" for k, v in items)


def problems_of(r: Result) -> list[str]:
    """What went wrong in one run, in words (empty: nothing)."""
    problems = []
    if not r.complete:
        problems.append(f"{r.servers - r.brews_ended} brews did not end")
    if r.pool_timeouts or r.lost_ticks:
        problems.append(
            f"{r.pool_timeouts} connection-pool timeouts, {r.lost_ticks} timer ticks failed"
        )
    if r.late_interactions:
        problems.append(f"{r.late_interactions} interactions late or failed")
    if r.steps_unmatched > r.steps_matched * 0.01:
        problems.append(f"{r.steps_unmatched} due steps had no post")
    return problems


def flat_verdicts(by_size: dict[int, list[Result]]) -> tuple[bool, list[str]]:
    """Whether the cost per brew is flat from the smallest size to the largest, with a line per
    figure saying so."""
    sizes = sorted(by_size)
    if len(sizes) < 2:
        return True, []
    small, large = by_size[sizes[0]], by_size[sizes[-1]]
    runs = [*small, *large]
    why_not = []
    if not all(r.complete for r in runs):
        why_not.append("some brews did not run to the end")
    overloaded = [r for r in runs if r.overloaded]
    if overloaded:
        why_not.append(
            "overloaded: "
            + ", ".join(f"{r.servers} servers dropped {r.stale_dropped} posts" for r in overloaded)
            + " as stale (the machine fell behind)"
        )
    ok = not why_not
    lines = []
    for label, get in FLAT:
        ratio = statistics.median(get(r) for r in large) / statistics.median(get(r) for r in small)
        if why_not:
            verdict = "not comparable: " + "; ".join(why_not)
        else:
            verdict = "flat" if ratio <= FLAT_LIMIT else "NOT FLAT"
            ok = ok and ratio <= FLAT_LIMIT
        lines.append(f"  {label}: {sizes[-1]} vs {sizes[0]} servers = {ratio:.2f}x ({verdict})")
    return ok, lines


def report(results: list[Result]) -> bool:
    """Print the table and the checks; True when every run was sound and the cost flat."""
    by_size: dict[int, list[Result]] = {}
    for r in results:
        by_size.setdefault(r.servers, []).append(r)
    print("\nMedian (min-max) over the runs, both processes together unless per process:\n")
    print("| Servers (rooms) | " + " | ".join(c[0] for c in COLUMNS) + " |")
    print("| --- | " + " | ".join("---:" for _ in COLUMNS) + " |")
    for size, group in sorted(by_size.items()):
        cells = [_mmm([get(r) for r in group], fmt) for _, get, fmt in COLUMNS]
        print(f"| {size} ({group[0].rooms}) | " + " | ".join(cells) + " |")
    print("\nAlso measured:")
    for size, group in sorted(by_size.items()):
        print(
            f"  {size} servers: setup {_mmm([r.setup_s for r in group])} s, wall "
            f"{_mmm([r.wall_s for r in group])} s, bot CPU "
            f"{_mmm([r.cpu_s for r in group], '{:.1f}')} s, simulator CPU "
            f"{_mmm([r.sim_cpu_s for r in group], '{:.1f}')} s, /brew start answer p99 "
            f"{_mmm([r.start_p99_ms for r in group])} ms, bot tick lag p99 "
            f"{_mmm([r.tick_lag_p99_ms for r in group])} ms, statements/prompt "
            f"{_mmm([r.statements / max(1, r.prompts) for r in group], '{:.1f}')}, prompts "
            f"{_mmm([float(r.prompts) for r in group])}, presses {group[0].presses}, due steps "
            f"matched {group[0].steps_matched} / unmatched {group[0].steps_unmatched}, "
            f"loadavg at end {', '.join(r.load for r in group)}"
        )
        first = group[0]
        print(f"    round trips per prompt by kind (run 1): {_per(first.kinds, first.prompts)}")
        print(
            "    statements per prompt (run 1): " + _per(first.by_statement, first.prompts, top=12)
        )
    ok = True
    for r in results:
        problems = problems_of(r)
        if problems:
            ok = False
            print(f"  PROBLEM ({r.servers} servers): " + "; ".join(problems))
    flat, lines = flat_verdicts(by_size)
    for line in lines:
        print(line)
    return ok and flat


def as_json(results: list[Result]) -> list[dict[str, Any]]:
    """Every run's figures, for ``--json``."""
    out = []
    for r in results:
        row = dict(r.__dict__)
        row.update(
            trips_per_prompt=r.trips_per_prompt,
            trips_per_brew_minute=r.trips_per_brew_minute,
            cpu_per_brew_minute_ms=r.cpu_per_brew_minute_ms,
            cpu_per_prompt_ms=r.cpu_per_prompt_ms,
            prompts_per_room=r.prompts_per_room,
            overloaded=r.overloaded,
        )
        out.append(row)
    return out
