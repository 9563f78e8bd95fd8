"""``brewhost demo`` end to end: the real bot on the simulator at high speed, checked through
what it prints and the files it writes."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.content import load_content
from bot.rehearsal.people import cast
from bot.rehearsal.transcript import relative

PEOPLE, TEXT_ONLY, SEED = 5, 2, 7
#: A two-minute turn lasts 0.6 s: fast, yet well above how long the bot takes to answer a press
#: on a busy machine (at 600, a turn of 0.2 s was shorter than that, and a pass could miss it).
SPEED = 200
LINE = re.compile(r"^\[\d\d:\d\d\.\d\] (DM \S+|\S+)\s+(.*)$")


def transcript_lines(out: str) -> list[tuple[str, str]]:
    """(place, what was said) per transcript entry, wrapped lines joined with spaces."""
    entries: list[tuple[str, str]] = []
    for line in out.splitlines():
        found = LINE.match(line)
        if found:
            entries.append((found.group(1), found.group(2)))
        elif line.startswith(" ") and entries:
            place, text = entries[-1]
            entries[-1] = (place, f"{text} {line.strip()}")
    return entries


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, str, Path]:
    out_dir = tmp_path_factory.mktemp("demo")
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(
            [
                "demo",
                "--people",
                str(PEOPLE),
                "--text-only",
                str(TEXT_ONLY),
                "--speed",
                str(SPEED),
                "--seed",
                str(SEED),
                "--out",
                str(out_dir),
            ]
        )
    return code, stdout.getvalue(), stderr.getvalue(), out_dir


def test_the_demo_succeeds(demo_run: tuple[int, str, str, Path]) -> None:
    code, out, err, _ = demo_run
    assert code == 0, f"{err}\n{out[-3000:]}"
    assert err == ""
    assert out.rstrip().endswith("The brew went as it should.")


def test_every_room_goes_through_every_phase(demo_run: tuple[int, str, str, Path]) -> None:
    _, out, _, _ = demo_run
    content = load_content()
    names = [
        content.phases[k].name for k in ("arrive", "think", "turns", "reflect", "still", "close")
    ]
    lines = transcript_lines(out)
    rooms = sorted({place for place, _ in lines if place.startswith("#room-")})
    assert len(rooms) == 2  # 5 people in groups of up to 4
    for room in rooms:
        said = [text.removeprefix("Brew Host: ") for place, text in lines if place == room]
        assert [n for t in said for n in names if t.startswith(f"{n} ")] == names, room


def test_everyone_has_their_turn_once_and_one_person_passes(
    demo_run: tuple[int, str, str, Path],
) -> None:
    _, out, _, _ = demo_run
    texts = [text for _, text in transcript_lines(out)]
    parts = cast(PEOPLE, TEXT_ONLY, SEED)
    for part in parts:
        prompts = [t for t in texts if t.startswith(f"Brew Host: {part.name}, it is your turn")]
        assert len(prompts) == 1, part.name
    passer = next(p for p in parts if p.passes)
    assert [t for t in texts if "passed." in t] == [
        f"Brew Host: {passer.name} passed. That's fine."
    ]
    assert sum(t.endswith('presses "Pass"') for t in texts) == 1
    # Text-only people type their answer in the room.
    for part in parts:
        if part.text_only:
            assert f"{part.name}: {part.typed_turn}" in texts
    extender = next(p for p in parts if p.more_time)
    assert any(t.startswith(f"Brew Host: {extender.name} asked for one more minute") for t in texts)


def test_the_help_request_reaches_the_facilitator(demo_run: tuple[int, str, str, Path]) -> None:
    _, out, _, _ = demo_run
    lines = transcript_lines(out)
    helper = next(p for p in cast(PEOPLE, TEXT_ONLY, SEED) if p.asks_for_help)
    assert any(t == f'{helper.name} presses "Ask for help"' for _, t in lines)
    hall = [t for place, t in lines if place == "#brew-hall"]
    assert any("@Facilitators Someone in room" in t for t in hall)
    # The public notice names the room, not the person; the facilitator's DM says who.
    assert not any(helper.name in t for t in hall if "would like a facilitator" in t)
    assert any(
        place == "DM Fran" and t.startswith(f"Brew Host: {helper.name} asked for help")
        for place, t in lines
    )
    assert any(t.startswith("Fran (facilitator): Hello") for _, t in lines)


def test_the_facilitator_sees_status_and_the_moves_are_shown(
    demo_run: tuple[int, str, str, Path],
) -> None:
    _, out, _, _ = demo_run
    assert "Fran (facilitator) runs /brew start" in out
    assert "Brew Host (only Fran sees, updated): Brew 1 has started: 2 rooms are open" in out
    assert "Fran (facilitator) runs /brew status" in out
    assert re.search(r"#room-1: .*; \d of \d have had their turn", out.replace("\n", " "))
    assert "Brew Host moves" in out and "to 'Lounge'" in out
    assert "Brew Host deletes #room-1" in out
    # Mentions and timestamps are shown as a person would read them.
    assert "<@" not in out and "<t:" not in out and "<#" not in out and "**" not in out


def test_the_summary(demo_run: tuple[int, str, str, Path]) -> None:
    _, out, _, out_dir = demo_run
    summary = out[out.index("\nSummary (") :]
    assert f"- Rooms: 2; people: {PEOPLE} ({TEXT_ONLY} by text only)" in summary
    assert re.search(r"- Messages posted in the rooms: \d+, of which 5 turn prompts", summary)
    reflecting = [p for p in cast(PEOPLE, TEXT_ONLY, SEED) if p.reflects != "none"]
    quotable = [p for p in reflecting if p.quotable]
    assert f"- Reflections saved: {len(reflecting)} ({len(quotable)} may be quoted)" in summary
    rest = re.search(r"- REST calls: (\d+), of which (\d+) rate limited", summary)
    assert rest and int(rest.group(1)) > 50
    interactions = re.search(r"- Interactions: (\d+); first answer in (\d+) ms median", summary)
    assert interactions and int(interactions.group(1)) >= 15
    assert "- Late interactions: 0" in summary
    assert f"- Wrote {out_dir / 'brew-report.md'}" in summary
    assert f"- Wrote {out_dir / 'brew-report.html'}" in summary


def test_the_report_quotes_only_those_who_agreed(demo_run: tuple[int, str, str, Path]) -> None:
    _, _, _, out_dir = demo_run
    report = (out_dir / "brew-report.md").read_text(encoding="utf-8")
    assert report.startswith("# Over A Brew in Norfolk: what we heard")
    assert (out_dir / "brew-report-chart.svg").read_bytes().startswith(b"<svg ")
    assert (out_dir / "brew-reflections.csv").exists()
    assert (out_dir / "brew-report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    parts = cast(PEOPLE, TEXT_ONLY, SEED)
    assert any(p.quotable for p in parts) and any(not p.quotable and p.answers for p in parts)
    for part in parts:
        for answer in part.answers.values():
            if part.quotable:
                assert answer in report, (part.name, answer)
            else:
                assert answer not in report, (part.name, answer)


def test_the_cast_depends_on_the_seed_only() -> None:
    assert cast(9, 2, 2024) == cast(9, 2, 2024)
    assert cast(9, 2, 2024) != cast(9, 2, 2025)
    parts = cast(9, 2, 2024)
    assert sum(p.text_only for p in parts) == 2
    assert sum(p.passes for p in parts) == 1 and sum(p.more_time for p in parts) == 1
    assert sum(p.asks_for_help for p in parts) == 1
    assert not any(p.passes and p.more_time for p in parts)
    assert [p.reflects for p in parts].count("command") == 1
    assert [p.reflects for p in parts].count("none") == 1
    two = cast(2, 2, 1)
    assert sum(p.passes for p in two) == 1 and sum(p.more_time for p in two) == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--people", "1"], "--people must be from 2"),
        (["--people", "3", "--text-only", "4"], "--text-only must be from 0"),
        (["--speed", "0"], "--speed must be from 1"),
    ],
)
def test_options_that_cannot_work_are_refused(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["demo", *argv, "--out", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


def test_relative_times_read_like_discord() -> None:
    assert relative(120) == "in 2 minutes"
    assert relative(61) == "in a minute"
    assert relative(10) == "in a few seconds"
    assert relative(-300) == "5 minutes ago"
    assert relative(2 * 3600) == "in 2 hours"


def test_a_fault_in_the_bot_fails_the_demo_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from bot.shell import room_buttons

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("help is broken")

    monkeypatch.setattr(room_buttons, "press_help", broken)
    argv = ["demo", "--people", "3", "--text-only", "0", "--speed", "600", "--out", str(tmp_path)]
    assert main(argv) == 1
    captured = capsys.readouterr()
    [reason] = captured.err.strip().splitlines()
    assert reason.startswith("brewhost demo failed: the bot logged an error: ")
    assert "RuntimeError: help is broken" in reason
    assert "- the help request did not reach the facilitators" in captured.out
    assert "The brew went as it should." not in captured.out


# ---------------------------------------------------------------------- brewhost demo --scheduled
@pytest.fixture(scope="module")
def scheduled_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, str]:
    out_dir = tmp_path_factory.mktemp("demo-scheduled")
    stdout, stderr = io.StringIO(), io.StringIO()
    argv = ["demo", "--scheduled", "--people", str(PEOPLE), "--text-only", str(TEXT_ONLY)]
    argv += ["--speed", "600", "--seed", str(SEED), "--out", str(out_dir)]
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(argv)
    return code, stdout.getvalue(), stderr.getvalue()


def test_the_scheduled_demo_succeeds(scheduled_run: tuple[int, str, str]) -> None:
    code, out, err = scheduled_run
    assert code == 0, f"{err}\n{out[-3000:]}"
    assert err == ""
    assert out.rstrip().endswith("The brew went as it should.")
    assert "Scheduled: the brew is planned ahead" in out


def test_the_scheduled_brew_is_answered_reminded_opened_and_started_by_itself(
    scheduled_run: tuple[int, str, str],
) -> None:
    _, out, _ = scheduled_run
    lines = transcript_lines(out)
    texts = [text for _, text in lines]
    parts = cast(PEOPLE, TEXT_ONLY, SEED)
    text_only = [p.name for p in parts if p.text_only]
    # Nobody opens or starts it by hand.
    assert not any("runs /brew open" in t or "runs /brew start" in t for t in texts)
    schedules = [i for i, t in enumerate(texts) if "schedules the brew 60 minutes ahead" in t]
    assert len(schedules) == 1
    # Two answers on the card (the people taking part by text), one "Interested" on the event.
    answers = [t for t in texts if t.endswith('presses "I\'ll come (text only)"')]
    assert sorted(a.split(" presses")[0] for a in answers) == sorted(text_only)
    assert any(t.endswith('"Interested" on the brew in the server\'s Events list') for t in texts)
    assert any(t.endswith("Coming so far: 0 by voice, 2 by text only.") for t in texts)
    # A reminder by DM to each who answered on the card, and to nobody else.
    reminded = sorted(
        place.removeprefix("DM ")
        for place, t in lines
        if place.startswith("DM ") and t.startswith("Brew Host: Reminder:")
    )
    assert reminded == sorted(text_only)
    # The card opens with the two who answered and the one interested already joined, then
    # the brew starts by itself, in that order.
    opened = next(i for i, t in enumerate(texts) if "People joined so far: 3." in t)
    started = next(i for i, t in enumerate(texts) if "has started by itself for" in t)
    first_reminder = next(i for i, t in enumerate(texts) if t.startswith("Brew Host: Reminder:"))
    assert schedules[0] < first_reminder < opened < started
    assert "Brew Host (updated): Brew 1 has started. Thank you for joining." in texts
    rooms = {place for place, _ in lines if place.startswith("#room-")}
    assert len(rooms) == 2
    assert "<@" not in out and "<t:" not in out and "<#" not in out
