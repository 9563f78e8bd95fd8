"""Did the brew go as it should? The demo's checks, and the summary it prints at the end.

A brew must take every room through every phase in order, give each person exactly one turn
prompt, show the one pass, get the help request to the facilitators, give one person one more
minute, save every reflection sent and write the report and chart. The bot must log no errors
and answer no interaction too late. Each miss is a failure with its reason; the causes (errors
in the bot) come first, since they explain the rest.
"""

from __future__ import annotations

import statistics
import sys
from typing import TYPE_CHECKING

from bot.rehearsal.script import is_turn_prompt
from bot.rehearsal.transcript import MENTION, heading

if TYPE_CHECKING:
    from bot.rehearsal.roles import Run

PHASE_KEYS = ("arrive", "think", "turns", "reflect", "still", "close")
EXIT_FAILED = 1


def check(demo: Run) -> None:
    """Everything a brew must do; each miss is a failure with its reason."""
    phases = [demo.content.phases[p].name for p in PHASE_KEYS]
    if not demo.rooms:
        demo.fail("no rooms were opened")
    passes = 0
    for room in demo.rooms.values():
        headings = [heading(m.content) for m in room.posts[1:]]
        seen = [h for h in headings if h in phases]
        if seen != phases:
            missing = [p for p in phases if p not in seen]
            demo.fail(
                f"#{room.name}: phases {', '.join(missing) or 'out of order'} "
                f"{'missing' if missing else ''}".strip()
            )
        turns = [
            int(found.group(1))
            for m in room.posts
            if is_turn_prompt(m) and (found := MENTION.search(m.content))
        ]
        for member in room.members:
            count = turns.count(member)
            if count != 1:
                demo.fail(
                    f"#{room.name}: {demo.names.people.get(member, member)} had "
                    f"{'no turn prompt' if count == 0 else f'{count} turn prompts'}"
                )
        passes += sum("passed." in m.content for m in room.posts)
    if passes != 1:
        demo.fail(f"expected exactly one pass, saw {passes}")
    if not any("would like a facilitator" in m.content for m in demo.watch.hall_posts):
        demo.fail("the help request did not reach the facilitators")
    extended = demo.content.text("turns.extended").split("}")[1].split(".")[0]
    if not any(extended in m.content for r in demo.rooms.values() for m in r.posts):
        demo.fail("nobody got one more minute")
    if demo.stats.reflections_saved != demo.stats.reflections_expected:
        demo.fail(
            f"{demo.stats.reflections_saved} of {demo.stats.reflections_expected} "
            "reflections were saved"
        )
    report = next((f for f in demo.stats.files if f.suffix == ".md"), None)
    chart = next((f for f in demo.stats.files if f.suffix == ".svg"), None)
    if report is None or not report.read_text(encoding="utf-8").startswith("# "):
        demo.fail("no Markdown report was written")
    if chart is None or not chart.read_bytes().startswith(b"<svg "):
        demo.fail("no chart was written")


def summarise(demo: Run) -> int:
    """Print the summary; 0 when the brew went as it should, 1 (with the first reason on
    stderr) when not."""
    sim, t = demo.stage.sim, demo.transcript
    interactions = sim.interactions
    latencies = sorted(r.latency for r in interactions if r.latency is not None)
    late = len(sim.late_interactions)
    failed = len(sim.failed_interactions)
    # The causes first: an error in the bot explains a missing phase, not the other way.
    causes = [f"the bot logged an error: {error}" for error in demo.errors.errors]
    if late:
        causes.append(f"{late} interactions were answered too late")
    elif failed:
        causes.append(f"{failed} interactions failed")
    demo.failures[:0] = causes
    rest = list(sim.rest_log)
    throttled = sum(1 for c in rest if c.status == 429)
    posts = [m for r in demo.rooms.values() for m in r.posts]
    prompts = sum(1 for m in posts if is_turn_prompt(m))
    t.plain()
    t.plain(f"Summary ({t.elapsed():.1f} s)")
    t.plain(
        f"- Rooms: {len(demo.rooms)}; people: {demo.args.people} "
        f"({demo.args.text_only} by text only)"
    )
    t.plain(f"- Messages posted in the rooms: {len(posts)}, of which {prompts} turn prompts")
    t.plain(
        f"- Reflections saved: {demo.stats.reflections_saved} "
        f"({sum(1 for p in demo.people.values() if p.id in demo.reflected and p.part.quotable)}"
        " may be quoted)"
    )
    t.plain(f"- REST calls: {len(rest)}, of which {throttled} rate limited (429)")
    if latencies:
        t.plain(
            f"- Interactions: {len(interactions)}; first answer in "
            f"{statistics.median(latencies) * 1000:.0f} ms median, "
            f"{latencies[-1] * 1000:.0f} ms at most (Discord allows 3 s)"
        )
    t.plain(f"- Late interactions: {late}")
    for path in demo.stats.files:
        t.plain(f"- Wrote {path}")
    if demo.failures:
        t.plain(f"Problems: {len(demo.failures)}")
        for failure in demo.failures:
            t.plain(f"- {failure}")
        print(f"brewhost demo failed: {demo.failures[0]}", file=sys.stderr)
        return EXIT_FAILED
    t.plain("The brew went as it should.")
    return 0
