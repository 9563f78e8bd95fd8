from __future__ import annotations

import re
from datetime import date

from bot.core.export import (
    BrewSummary,
    ReflectionRecord,
    chart_alt_text,
    escape_markdown,
    escape_markdown_inline,
    reflections_per_brew,
    to_markdown,
)
from tests.builders import PROMPTS, brews, reflections

ZWSP = "\u200b"
TODAY = date(2024, 7, 10)


def render(b: list[BrewSummary] | None = None, r: list[ReflectionRecord] | None = None,
           chart: str | None = "chart.png") -> str:  # fmt: skip
    return to_markdown(
        brews() if b is None else b,
        reflections() if r is None else r,
        PROMPTS,
        title="Over A Brew: Co-production Week",
        generated_on=TODAY,
        chart_filename=chart,
    )


def test_heading_intro_and_totals() -> None:
    md = render()
    assert md.startswith("# Over A Brew: Co-production Week\n")
    assert "Generated on 10 July 2024." in md
    assert "Across 3 brews, 21 people took part in 5 rooms and left 4 reflections." in md
    assert "2 reflections can be quoted here; the other 2 were shared privately" in md
    everyone = [ReflectionRecord(1, date(2024, 7, 1), True, {"next": "x"})]
    assert "Everyone who left a reflection agreed to be quoted." in render(r=everyone)
    one_private = [*everyone, ReflectionRecord(1, date(2024, 7, 1), False, {"next": "y"})]
    assert "1 reflection can be quoted here; the other one was" in render(r=one_private)
    nobody = [ReflectionRecord(1, date(2024, 7, 1), False, {"next": "x"})]
    assert "All of them were shared privately" in render(r=nobody)
    assert "quoted" not in render(r=[]).split("\n\n")[2]
    assert md.endswith("\n") and not md.endswith("\n\n")


def test_only_consented_quotes_appear_and_private_ones_are_counted() -> None:
    md = render()
    assert "- Time and budget" in md
    assert "- A network" in md
    assert "- Great chat" in md
    for private in ("Private thought", "Private next", "Too short"):
        assert private not in md
    brew1 = md.split("## Brew 1:")[1].split("## Brew 2:")[0]
    assert brew1.count("1 more reflection was shared privately.") == 2  # missing, next
    feedback = md.split("## Feedback on the sessions")[1]
    assert "2 people told us how their brew went." in feedback
    assert "1 more piece of feedback was shared privately." in feedback


def test_all_private_prompt_says_so_without_more() -> None:
    r = [ReflectionRecord(1, date(2024, 7, 1), False, {"missing": "a"}),
         ReflectionRecord(1, date(2024, 7, 1), False, {"missing": "b"})]  # fmt: skip
    md = render(r=r)
    assert "2 reflections were shared privately." in md
    assert "- a" not in md and "- b" not in md


def test_per_brew_facts() -> None:
    md = render()
    brew1 = md.split("## Brew 1: The value of co-production")[1].split("## Brew 2")[0]
    assert "- Area: Essex" in brew1
    assert "- Date: 1 July 2024" in brew1
    assert "- People: 12, in 3 rooms" in brew1
    assert "- Reflections received: 3" in brew1
    assert "The question for this brew: What's missing?" in brew1
    assert "### What we heard" in brew1
    assert "#### What's missing?" in brew1
    assert "#### What could be next?" in brew1
    assert "How was this brew for you?" not in brew1  # feedback is reported separately
    brew3 = md.split("## Brew 3: Open brew")[1]
    assert "- Area: Not given" in brew3
    assert "No reflections were received for this brew." in brew3
    brew2 = md.split("## Brew 2: Direct Payments")[1].split("## Brew 3")[0]
    assert "feedback on the session only" in brew2


def test_brews_in_date_order_and_summary_table() -> None:
    md = render()
    assert md.index("## Brew 1:") < md.index("## Brew 2:") < md.index("## Brew 3:")
    assert "| 1: The value of co-production | Essex | 1 July 2024 | 12 | 3 | 3 |" in md
    assert "| 3: Open brew | Not given | 4 July 2024 | 4 | 1 | 0 |" in md


def test_chart_embedded_with_alt_text_or_left_out() -> None:
    md = render(chart="brew chart (1).png")
    alt = chart_alt_text(brews(), reflections_per_brew(reflections()), by="brew")
    assert f"![{escape_markdown_inline(alt)}](brew%20chart%20%281%29.png)" in md
    assert "![" not in render(chart=None)


def test_hostile_reflection_is_escaped() -> None:
    text = "# heading\n**bold** @everyone [link](x) <@123> <script>\n> quote\n1. list\n| a | b |"
    r = [ReflectionRecord(1, date(2024, 7, 1), True, {"missing": text})]
    md = render(r=r)
    body = md.split("#### What's missing?")[1].split("##")[0]
    assert "\n# heading" not in md
    assert "- \\# heading\\\n" in body
    assert "\\*\\*bold\\*\\*" in body and "**bold**" not in body
    assert f"@{ZWSP}everyone" in body and "@everyone" not in md
    assert "\\[link\\](x)" in body and "[link](x)" not in md
    assert f"\\<@{ZWSP}123>" in body and "<@123>" not in md
    assert "\\<script>" in body and re.search(r"(?<!\\)<script>", md) is None
    assert "\n  \\> quote" in body
    assert "\n  1\\. list" in body
    assert "\\| a \\| b \\|" in body
    # Every line of the answer stays inside its list item.
    item = body.strip().split("\n\n")[0]
    assert all(line.startswith(("- ", "  ")) for line in item.split("\n"))


def test_hostile_titles_are_escaped() -> None:
    b = [BrewSummary(1, "**Big** @here", "[x](y)", "# q", date(2024, 7, 1), 2, 1)]
    md = render(b=b, r=[])
    assert f"## Brew 1: \\*\\*Big\\*\\* @{ZWSP}here" in md
    assert "- Area: \\[x\\](y)" in md
    assert "The question for this brew: \\# q" in md


def test_no_emoji_and_empty_report() -> None:
    md = render(b=[], r=[], chart=None)
    assert "There are no brews to report yet." in md
    assert "No feedback on the sessions was received." in md
    assert not re.search("[\U0001f300-\U0001faff\u2600-\u27bf]", render())


def test_escape_markdown_keeps_plain_text_readable() -> None:
    assert escape_markdown("Time, money & trust - don't (ever) stop!") == (
        "Time, money & trust - don't (ever) stop!"
    )
    assert escape_markdown("&amp; &#60;") == "\\&amp; &\\#60;"
    assert escape_markdown("- item\n\n\n+ more\n   indented") == "\\- item\\\n\\+ more\\\nindented"
    assert escape_markdown_inline("two\nlines") == "two lines"
    assert escape_markdown("~~strike~~ `code` $x$ _u_") == (
        "\\~\\~strike\\~\\~ \\`code\\` \\$x\\$ \\_u\\_"
    )


def test_consent_sentence_groups_thousands_on_both_counts() -> None:
    """Large counts read the same way on both sides of the sentence ("10,054", not "10054")."""
    from bot.core.export_model import consent_sentence

    sentence = consent_sentence(40_000, 50_054)
    assert "40,000 reflections can be quoted here" in sentence
    assert "the other 10,054 were shared privately" in sentence
