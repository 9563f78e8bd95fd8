"""Every kind of mistake in a content file is one plain line at load time, never mid-brew."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.core.content import ContentError, load_content
from bot.core.content_schema import SAMPLES


def _refused(tmp_path: Path, toml: str | bytes) -> str:
    path = tmp_path / "mine.toml"
    if isinstance(toml, bytes):
        path.write_bytes(toml)
    else:
        path.write_text(toml, encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        load_content(path)
    message = str(caught.value)
    assert "\n" not in message, "the error must be one line"
    assert message.startswith(f"{path}: ")
    return message[len(f"{path}: ") :]


def test_a_number_where_a_button_label_belongs(tmp_path):
    assert _refused(tmp_path, "[buttons]\ndone = 5\n") == (
        "buttons.done: expected text in quotes, got 5"
    )


def test_a_table_where_text_belongs(tmp_path):
    assert _refused(tmp_path, "[turns.nudge]\nname = 'x'\n") == (
        "turns.nudge: expected text in quotes, got {'name': 'x'}"
    )


def test_a_text_where_a_table_belongs(tmp_path):
    assert _refused(tmp_path, 'turns = "hello"\n') == ("turns: expected a table ([turns]), got str")


def test_a_list_with_something_other_than_text(tmp_path):
    assert _refused(tmp_path, "[guide]\nprinciples = ['Be kind', 3]\n") == (
        "guide.principles[1]: expected text in quotes, got 3"
    )


def test_an_empty_list_of_steps(tmp_path):
    assert _refused(tmp_path, "[guide]\nsteps = []\n") == (
        "guide.steps: expected a list of texts in quotes, got []"
    )


def test_a_misspelled_key_gets_a_suggestion(tmp_path):
    assert _refused(tmp_path, '[turns]\nnudg = "hurry"\n') == (
        "turns.nudg: not a key Brew Host knows; did you mean turns.nudge?"
    )


def test_a_misspelled_table_gets_a_suggestion(tmp_path):
    assert _refused(tmp_path, '[buttns]\ndone = "Done"\n') == (
        "buttns: not a key Brew Host knows; did you mean buttons?"
    )


def test_an_unknown_key_with_nothing_close_lists_the_known_ones(tmp_path):
    message = _refused(tmp_path, '[buttons]\nzzzz = "?"\n')
    assert message.startswith("buttons.zzzz: not a key Brew Host knows; expected one of join_voice")


def test_a_misspelled_field(tmp_path):
    assert _refused(tmp_path, '[turns]\nnudge = "{nmae}, hurry"\n') == (
        "turns.nudge uses {nmae}; it may use {name}, {seconds} (to show a brace, write {{ or }})"
    )


def test_a_field_in_a_text_that_has_none(tmp_path):
    assert _refused(tmp_path, '[room]\nturn_over = "Too late, {name}."\n') == (
        "room.turn_over uses {name}; it may use no fields (to show a brace, write {{ or }})"
    )


def test_a_stray_opening_brace(tmp_path):
    assert _refused(tmp_path, '[turns]\ndone = "Thank you {name"\n') == (
        "turns.done: expected '}' before end of string (to show a brace, write it twice: {{ or }})"
    )


def test_a_stray_closing_brace_in_a_plain_message(tmp_path):
    assert _refused(tmp_path, '[room]\nhelp_sent = "Told :}"\n') == (
        "room.help_sent: Single '}' encountered in format string "
        "(to show a brace, write it twice: {{ or }})"
    )


def test_empty_braces(tmp_path):
    assert _refused(tmp_path, '[turns]\npassed = "{} passed"\n') == (
        "turns.passed uses {}; it may use {name} (to show a brace, write {{ or }})"
    )


def test_a_field_with_formatting(tmp_path):
    assert _refused(tmp_path, '[turns]\nnudge = "{name}: {seconds:d} left"\n') == (
        "turns.nudge: write the field as {seconds}, without ! or :"
    )


def test_a_field_in_a_reflection_question_label(tmp_path):
    toml = "[[reflection.questions]]\nkey = 'k'\nlabel = 'What about {x}?'\n"
    assert _refused(tmp_path, toml) == (
        "reflection.questions[0].label uses {x}; it may use no fields "
        "(to show a brace, write {{ or }})"
    )


def test_a_question_with_a_wrongly_typed_setting(tmp_path):
    toml = "[[reflection.questions]]\nkey = 'k'\nlabel = 'Q?'\nlong = 'yes'\n"
    assert _refused(tmp_path, toml) == (
        "reflection.questions[0].long: expected true or false, got 'yes'"
    )


def test_a_question_with_a_misspelled_setting(tmp_path):
    toml = "[[reflection.questions]]\nkey = 'k'\nlabel = 'Q?'\nmax_lenght = 10\n"
    assert _refused(tmp_path, toml) == (
        "reflection.questions[0].max_lenght: not a key Brew Host knows; "
        "did you mean reflection.questions[0].max_length?"
    )


def test_a_button_label_over_80_characters(tmp_path):
    label = "x" * 81
    assert _refused(tmp_path, f'[buttons]\nhelp = "{label}"\n') == (
        "buttons.help: the button label can reach 81 characters with the longest names, "
        "questions and times filled in; Discord allows 80"
    )


def test_a_form_title_over_45_characters(tmp_path):
    assert _refused(tmp_path, f'[reflection]\ntitle = "{"t" * 46}"\n') == (
        "reflection.title: the form title can reach 46 characters with the longest names, "
        "questions and times filled in; Discord allows 45"
    )


def test_a_form_label_over_45_characters(tmp_path):
    message = _refused(tmp_path, f'[reflection]\nconsent_label = "{"c" * 46}"\n')
    assert message.startswith("reflection.consent_label: the form label can reach 46 characters")
    assert message.endswith("Discord allows 45")


def test_a_placeholder_over_100_characters(tmp_path):
    message = _refused(tmp_path, f'[reflection]\nform_placeholder = "{"p" * 101}"\n')
    assert message.startswith("reflection.form_placeholder: the form placeholder can reach 101")
    assert message.endswith("Discord allows 100")


def test_a_message_too_long_only_once_its_fields_are_filled(tmp_path):
    # 1,600 characters of words fit; with a 500-character question they do not.
    words = "w" * 1600
    message = _refused(tmp_path, f'[signup]\ncard = "{{question}} {words}"\n')
    perspectives = load_content().format(
        "signup.card_perspectives", perspectives=SAMPLES["perspectives"]
    )
    length = len(SAMPLES["question"]) + 1 + 1600 + len("\n") + len(perspectives)
    assert message.startswith(
        f"signup.card with signup.card_perspectives: the message can reach {length} characters"
    )
    assert message.endswith("Discord allows 2000")


def test_a_plain_message_over_2000_characters(tmp_path):
    assert _refused(tmp_path, f'[room]\nhelp_sent = "{"h" * 2001}"\n') == (
        "room.help_sent: the message can reach 2001 characters with the longest names, "
        "questions and times filled in; Discord allows 2000"
    )


def test_a_phase_name_and_text_together_over_2000(tmp_path):
    toml = f'[phases.close]\nname = "{"n" * 1000}"\ntext = "{"t" * 997}"\n'
    message = _refused(tmp_path, toml)
    assert message.startswith("phases.close: the message (name and text) can reach 2002")


def test_a_guide_too_long_for_one_message(tmp_path):
    # The shipped guide reaches 1,902 characters at worst; 500 more words of intro cannot fit.
    default_intro = len(load_content().text("guide.intro"))
    toml = f'[guide]\nintro = "{"i" * (default_intro + 500)}"\n'
    message = _refused(tmp_path, toml)
    assert message.startswith("guide: the guide posted in each room can reach 2402 characters")
    assert message.endswith("Discord allows 2000, so shorten the [guide] texts by 402 characters")


def test_doubled_braces_show_one_brace_everywhere(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(
        '[room]\nhelp_sent = "Told {{quietly}}."\n[turns]\ndone = "{{Thanks}}, {name}."\n'
        '[guide]\nprinciples = ["Be {{kind}}"]\n',
        encoding="utf-8",
    )
    content = load_content(path)
    assert content.format("room.help_sent") == "Told {quietly}."
    assert content.text("room.help_sent") == "Told {quietly}."
    assert content.format("turns.done", name="Sam") == "{Thanks}, Sam."
    assert content.principles == ("Be {kind}",)


# ------------------------------------------------------------------ the file itself
def test_a_missing_file(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(ContentError) as caught:
        load_content(path)
    assert str(caught.value) == f"{path}: file not found"


def test_a_folder(tmp_path):
    with pytest.raises(ContentError) as caught:
        load_content(tmp_path)
    assert str(caught.value) == f"{tmp_path}: is a folder, not a content file"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file(tmp_path):
    path = tmp_path / "secret.toml"
    path.write_text("", encoding="utf-8")
    path.chmod(0)
    try:
        with pytest.raises(ContentError) as caught:
            load_content(path)
    finally:
        path.chmod(0o600)
    assert str(caught.value) == f"{path}: cannot be read (Permission denied)"


def test_a_file_that_is_not_utf8(tmp_path):
    assert _refused(tmp_path, b'[turns]\n\ndone = "Merci \xe9"\n') == (
        "not UTF-8 text (byte 0xe9 on line 3); save the file as UTF-8"
    )


def test_a_file_that_is_not_toml(tmp_path):
    assert _refused(tmp_path, "[turns]\ndone: Thanks\n") == (
        "not valid TOML: Expected '=' after a key in a key/value pair (at line 2, column 5)"
    )


def test_the_shipped_content_passes():
    assert load_content().button("done") == "I'm done"


def test_the_samples_mirror_the_limits_the_shell_enforces():
    from bot.core import content_schema as schema
    from bot.shell import brews

    assert schema.QUESTION_LIMIT == brews.QUESTION_LIMIT
    assert schema.TITLE_LIMIT == brews.TITLE_LIMIT
    assert schema.PERSPECTIVE_LIMIT == brews.PERSPECTIVE_LIMIT
    assert schema.MAX_PERSPECTIVES == brews.MAX_PERSPECTIVES


def test_a_path_through_a_file(tmp_path):
    # Any other reason the file cannot be read is named too (this one works even as root).
    (tmp_path / "plain").write_text("", encoding="utf-8")
    path = tmp_path / "plain" / "content.toml"
    with pytest.raises(ContentError) as caught:
        load_content(path)
    assert str(caught.value) == f"{path}: cannot be read (Not a directory)"


def test_every_field_has_a_longest_value_to_measure_with():
    from bot.core.content_schema import FIELDS

    assert {f for fields in FIELDS.values() for f in fields} <= set(SAMPLES)


def test_every_templated_key_is_in_the_schema():
    from bot.core.content_schema import FIELDS, SCHEMA

    for pattern in FIELDS:
        section, _, key = pattern.partition(".")
        key = key.removesuffix("[]")
        if key.startswith("*."):
            assert all(key[2:] in v for v in SCHEMA[section].values()), pattern
        else:
            assert key in SCHEMA[section], pattern


def test_a_scheduled_message_too_long_with_its_series_sentence(tmp_path):
    # Each fits alone; "scheduled" with the 1,000-character series sentence in it does not.
    toml = f'[schedule]\nseries_once = "{"s" * 1000}"\nscheduled = "{{series}} {"x" * 1000}"\n'
    assert _refused(tmp_path, toml) == (
        "schedule.scheduled: the message can reach 2001 characters with the longest names, "
        "questions and times filled in; Discord allows 2000"
    )


def test_an_autocomplete_hint_over_100_characters(tmp_path):
    message = _refused(tmp_path, f'[schedule]\nautocomplete_unreadable = "{"a" * 101}"\n')
    assert message.startswith("schedule.autocomplete_unreadable: the choice label can reach 101")
    assert message.endswith("Discord allows 100")


def test_a_misspelled_schedule_key(tmp_path):
    assert _refused(tmp_path, '[schedule]\nreminderr = "x"\n') == (
        "schedule.reminderr: not a key Brew Host knows; did you mean schedule.reminder?"
    )
