from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.export import CSV_COLUMNS, BrewSummary, ReflectionRecord, neutralise_formula, to_csv
from tests.builders import PROMPTS, brews, reflections

DANGEROUS = ["=", "+", "-", "@", "\t", "\r"]


def read(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def one_brew(title: str = "T", question: str = "Q", area: str | None = "A") -> list[BrewSummary]:
    return [BrewSummary(1, title, area, question, date(2024, 7, 1), 3, 1)]


def one_answer(text: str, consent: bool = True) -> list[ReflectionRecord]:
    return [ReflectionRecord(1, date(2024, 7, 1), consent, {"missing": text})]


def test_header_bom_and_crlf() -> None:
    data = to_csv(brews(), reflections(), PROMPTS)
    assert data.startswith("\ufeff".encode())
    text = data.decode("utf-8-sig")
    assert text.startswith(",".join(CSV_COLUMNS) + "\r\n")
    assert text.endswith("\r\n")
    # Every record separator is CRLF (bare LF only inside quoted answers; none in this sample).
    assert "\n" not in text.replace("\r\n", "")


def test_one_row_per_answer_with_context() -> None:
    rows = read(to_csv(brews(), reflections(), PROMPTS))
    assert rows[0] == list(CSV_COLUMNS)
    assert len(rows) == 1 + 6  # the blank "lasting" answer is not a row
    assert rows[1] == [
        "1", "The value of co-production", "Essex", "What's missing?", "2024-07-01",
        "What's missing?", "Private thought", "no",
    ]  # fmt: skip
    assert rows[2][6:] == ["Time and budget", "yes"]
    assert rows[-1] == [
        "2", "Direct Payments", "Norfolk", "What is missing?", "2024-07-03",
        "How was this brew for you?", "Too short", "no",
    ]  # fmt: skip


def test_empty_export_is_just_the_header() -> None:
    assert read(to_csv([], [], PROMPTS)) == [list(CSV_COLUMNS)]


def test_missing_area_is_an_empty_cell() -> None:
    rows = read(to_csv(one_brew(area=None), one_answer("x"), PROMPTS))
    assert rows[1][2] == ""


@pytest.mark.parametrize(
    "text",
    [
        'He said "hello", then left',
        "line one\nline two",
        "a,b,c",
        'only "quotes"',
        "tr\u00e8s bien",
    ],
)
def test_quoting_round_trips(text: str) -> None:
    data = to_csv(one_brew(title=text, question=text), one_answer(text), PROMPTS)
    rows = read(data)
    assert rows[1][1] == rows[1][3] == rows[1][6] == text


def test_quotes_are_doubled_and_fields_quoted() -> None:
    data = to_csv(one_brew(), one_answer('say "hi", ok'), PROMPTS).decode("utf-8-sig")
    assert '"say ""hi"", ok"' in data
    data = to_csv(one_brew(), one_answer("a\nb"), PROMPTS).decode("utf-8-sig")
    assert '"a\nb"' in data


@pytest.mark.parametrize("lead", DANGEROUS)
@pytest.mark.parametrize("where", ["title", "question", "answer", "area"])
def test_formula_injection_is_neutralised(lead: str, where: str) -> None:
    payload = lead + "cmd|' /C calc'!A0"
    kwargs = {"title": "T", "question": "Q", "area": "A"}
    answer = "fine"
    if where == "answer":
        answer = payload
    else:
        kwargs[where] = payload
    # Answers are cleaned before storage (tabs, CR removed), but the exporter must not rely on it.
    reflections = [ReflectionRecord(1, date(2024, 7, 1), True, {"missing": answer})]
    rows = read(to_csv(one_brew(**kwargs), reflections, PROMPTS))
    column = {"title": 1, "question": 3, "answer": 6, "area": 2}[where]
    cell = rows[1][column]
    assert not cell.startswith(tuple(DANGEROUS))
    if where == "answer":
        # Answers are trimmed on export, so a leading tab/CR goes and the rest is checked.
        expected = payload.strip()
        assert cell == (expected if lead.isspace() else "'" + expected)
    else:
        assert cell == "'" + payload


def test_formula_injection_in_prompt_label() -> None:
    from bot.core.reflections import Prompt

    rows = read(to_csv(one_brew(), one_answer("x"), [Prompt("missing", "=HYPERLINK()")]))
    assert rows[1][5] == "'=HYPERLINK()"


@pytest.mark.parametrize(
    "text", ["Time and money", "a=b", "3+4", "email me@example.org", "' already", "", "1-2"]
)
def test_harmless_cells_untouched(text: str) -> None:
    assert neutralise_formula(text) == text


@pytest.mark.parametrize("lead", DANGEROUS)
def test_neutralise_formula_each_trigger(lead: str) -> None:
    assert neutralise_formula(lead + "1") == "'" + lead + "1"


@settings(max_examples=50, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=40))
def test_round_trip_any_text(text: str) -> None:
    if not text.strip():
        return
    rows = read(to_csv(one_brew(title=text), one_answer(text), PROMPTS))
    assert len(rows) == 2
    expected = neutralise_formula(text)
    assert rows[1][1] == expected
    assert rows[1][6] == neutralise_formula(text.strip())


_AWKWARD = st.text(
    alphabet=st.sampled_from(
        [*'aB ,"\r\n=+-@\t#*&<>1.)\\|é', "\u2028", "\x00", "\x0b", "\x85", ";"]
    ),
    max_size=10,
)


@given(
    titles=st.lists(_AWKWARD.filter(bool), min_size=1, max_size=3),
    questions=st.lists(_AWKWARD, min_size=3, max_size=3),
    answers=st.lists(
        st.tuples(
            st.integers(0, 2),
            st.booleans(),
            st.dictionaries(st.sampled_from(["missing", "next", "feedback", "zz"]), _AWKWARD),
        ),
        max_size=12,
    ),
)
@settings(max_examples=150, deadline=None)
def test_the_streamed_csv_quotes_every_cell_as_the_csv_module_does(
    titles: list[str], questions: list[str], answers: list[tuple[int, bool, dict[str, str]]]
) -> None:
    """:class:`CsvStream` quotes the brew's cells once per prompt and each answer itself; with
    quotes, commas, line breaks and formula characters anywhere, its bytes are still
    :func:`to_csv`'s (which leaves every cell to the ``csv`` module)."""
    from bot.core.export_csv import CsvStream
    from bot.core.export_model import quotable

    made = [
        BrewSummary(i + 1, title, "Norfolk, \"x\"" if i else None, questions[i],
                    date(2024, 1, 1 + i), 5, 2)
        for i, title in enumerate(titles)
    ]  # fmt: skip
    records = quotable(
        [
            ReflectionRecord(made[i % len(made)].number, date(2024, 1, 1), yes, given_answers)
            for i, yes, given_answers in answers
        ]
    )
    out = io.BytesIO()
    stream = CsvStream(out, PROMPTS)
    for brew in made:
        stream.add(brew, [r for r in records if r.brew_number == brew.number])
    stream.close()
    assert out.getvalue() == to_csv(made, records, PROMPTS)
