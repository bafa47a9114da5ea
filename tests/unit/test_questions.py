"""Reading a citizen's answers to a type's questions: every kind, required or not, conditions on earlier
answers, bad values and lengths, from a plain mapping or a Litestar form, and the snapshot kept."""

from __future__ import annotations

import pytest
from litestar.datastructures import FormMultiDict

from domain.questions import (
    ANSWER_IT,
    BAD_MOMENT,
    BAD_NUMBER,
    CHOOSE_ONE,
    CHOOSE_SOME,
    NOT_A_CHOICE,
    ONLY_ONE,
    TOO_LONG,
    Question,
    localised,
    read_answers,
)

SIZE = Question(
    "size",
    "singlevaluelist",
    True,
    "How big is it?",
    "",
    (("hand", "Smaller than a hand"), ("tyre", "Larger than a tyre")),
)
DEPTH = Question("depth", "number", True, "How deep, in cm?", "A guess is fine.", shown_when=("size", "tyre"))
WHERE = Question(
    "where",
    "multivaluelist",
    False,
    "Where is it?",
    "",
    (("road", "In the road"), ("lane", "In the cycle lane"), ("sidewalk", "On the sidewalk")),
)
NOTE = Question("note", "string", False, "Your note", "")
DETAILS = Question("details", "text", False, "Anything else?", "")
WHEN = Question("when", "datetime", False, "Since when?", "")
POTHOLE = [SIZE, DEPTH, WHERE, NOTE, DETAILS, WHEN]


def test_every_kind_is_read_into_a_snapshot_in_the_questions_order():
    form = {
        "q_size": "tyre",
        "q_depth": "12,5",
        "q_where": ["sidewalk", "road"],
        "q_note": "  near   the school ",
        "q_details": "Deep.\r\nSince Monday.  ",
        "q_when": "2026-03-31T14:30",
    }
    answers, errors, posted = read_answers(POTHOLE, form)
    assert errors == {}
    assert answers == [
        {"code": "size", "question": "How big is it?", "answer": "Larger than a tyre", "value": "tyre"},
        {"code": "depth", "question": "How deep, in cm?", "answer": "12,5", "value": "12.5"},
        {
            "code": "where",
            "question": "Where is it?",
            "answer": "In the road, On the sidewalk",
            "value": ["road", "sidewalk"],
        },
        {"code": "note", "question": "Your note", "answer": "near the school", "value": "near the school"},
        {
            "code": "details",
            "question": "Anything else?",
            "answer": "Deep.\nSince Monday.",
            "value": "Deep.\nSince Monday.",
        },
        {
            "code": "when",
            "question": "Since when?",
            "answer": "2026-03-31 14:30",
            "value": "2026-03-31T14:30",
        },
    ]
    assert posted["q_where"] == ["sidewalk", "road"] and posted["q_note"] == "  near   the school "


def test_a_litestar_form_gives_several_choices_and_a_plain_mapping_a_text_or_a_list():
    form = FormMultiDict([("q_size", "hand"), ("q_where", "road"), ("q_where", "lane")])
    answers, errors, _ = read_answers(POTHOLE, form)
    assert errors == {} and [answer["value"] for answer in answers] == ["hand", ["road", "lane"]]
    answers, _, _ = read_answers(POTHOLE, {"q_size": ["hand"], "q_where": "lane"})
    assert [answer["value"] for answer in answers] == ["hand", ["lane"]]


def test_required_questions_say_what_is_missing_and_optional_ones_leave_no_line():
    answers, errors, posted = read_answers(POTHOLE, {})
    assert answers == [] and errors == {"q_size": CHOOSE_ONE}
    assert posted == {"q_size": "", "q_depth": "", "q_where": [], "q_note": "", "q_details": "", "q_when": ""}
    text = Question("name", "string", True, "Your name", "")
    several = Question("kinds", "multivaluelist", True, "Which?", "", (("a", "A"), ("b", "B")))
    assert read_answers([text, several], {"q_name": "   "})[1] == {
        "q_name": ANSWER_IT,
        "q_kinds": CHOOSE_SOME,
    }


def test_a_question_whose_condition_is_not_met_is_neither_required_nor_kept():
    answers, errors, posted = read_answers(POTHOLE, {"q_size": "hand", "q_depth": "30"})
    assert errors == {} and [answer["code"] for answer in answers] == ["size"]
    assert posted["q_depth"] == "30"  # shown again as typed, should the citizen change the size
    _, errors, _ = read_answers(POTHOLE, {"q_size": "tyre"})
    assert errors == {"q_depth": ANSWER_IT}
    # An earlier answer that is not valid meets no condition either.
    _, errors, _ = read_answers(POTHOLE, {"q_size": "bus", "q_depth": "deep"})
    assert errors == {"q_size": NOT_A_CHOICE}


def test_a_condition_on_a_question_that_is_not_asked_itself_is_not_met():
    kind = Question("kind", "singlevaluelist", True, "Kind?", "", (("hole", "Hole"), ("crack", "Crack")))
    size = Question(
        "size", "singlevaluelist", True, "Size?", "", (("big", "Big"), ("small", "Small")), ("kind", "hole")
    )
    depth = Question("depth", "number", True, "Depth?", "", shown_when=("size", "big"))
    answers, errors, _ = read_answers([kind, size, depth], {"q_kind": "crack", "q_size": "big"})
    assert errors == {} and [answer["code"] for answer in answers] == ["kind"]


def test_a_condition_naming_no_earlier_question_does_not_hide_a_question():
    orphan = Question("depth", "number", True, "Depth?", "", shown_when=("gone", "big"))
    assert read_answers([orphan], {})[1] == {"q_depth": ANSWER_IT}


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("12", "12"),
        ("-3", "-3"),
        ("+4", "4"),
        ("2.5", "2.5"),
        ("2,5", "2.5"),
        ("1 000", "1000"),
        ("0,75", "0.75"),
    ],
)
def test_numbers_take_a_comma_or_a_dot_and_keep_a_dot(typed, value):
    answers, errors, _ = read_answers([Question("n", "number", True, "N?", "")], {"q_n": typed})
    assert errors == {} and answers[0]["value"] == value and answers[0]["answer"] == typed


@pytest.mark.parametrize(
    "typed", ["twelve", "12cm", "1e5", "1.2.3", "--1", "1234567890123", "1,1234567", "NaN"]
)
def test_other_numbers_are_refused_with_an_example(typed):
    number = Question("n", "number", False, "N?", "")
    assert read_answers([number], {"q_n": typed}) == ([], {"q_n": BAD_NUMBER}, {"q_n": typed})


@pytest.mark.parametrize(
    ("typed", "answer", "value"),
    [
        ("2026-03-31T14:30", "2026-03-31 14:30", "2026-03-31T14:30"),
        ("2026-03-31T14:30:15", "2026-03-31 14:30", "2026-03-31T14:30"),
        ("2026-03-31 09:05", "2026-03-31 09:05", "2026-03-31T09:05"),
        ("2026-03-31", "2026-03-31", "2026-03-31"),
        ("2026-03-31T18:30:00Z", "2026-03-31 18:30+00:00", "2026-03-31T18:30+00:00"),
        ("2026-03-31T14:30:00-04:00", "2026-03-31 14:30-04:00", "2026-03-31T14:30-04:00"),
    ],
)
def test_a_moment_is_the_browsers_local_date_and_time_or_a_date_alone(typed, answer, value):
    answers, errors, _ = read_answers([WHEN], {"q_when": typed})
    assert errors == {} and (answers[0]["answer"], answers[0]["value"]) == (answer, value)


@pytest.mark.parametrize(
    "typed",
    [
        "yesterday",
        "31/03/2026",
        "2026-02-30",
        "2026-03-31T25:00",
        "0999-01-01",
        "3000-01-01T10:00",
        "3000-01-01T10:00:00Z",
        "2026-03-31T14:30+99:00",
        "2026-03-31Z",
    ],
)
def test_other_moments_are_refused_with_an_example(typed):
    assert read_answers([WHEN], {"q_when": typed})[1] == {"q_when": BAD_MOMENT}


def test_choices_must_be_among_those_given_and_one_choice_is_one():
    assert read_answers([SIZE], {"q_size": "bus"})[1] == {"q_size": NOT_A_CHOICE}
    assert read_answers([SIZE], {"q_size": ["hand", "tyre"]})[1] == {"q_size": ONLY_ONE}
    assert read_answers([SIZE], {"q_size": ["hand", "hand"]})[1] == {}
    assert read_answers([WHERE], {"q_where": ["road", "moon"]})[1] == {"q_where": NOT_A_CHOICE}
    answers, errors, _ = read_answers([WHERE], {"q_where": ["road", "road"]})
    assert errors == {} and answers[0]["value"] == ["road"]


def test_lengths_are_capped_by_kind():
    assert read_answers([NOTE], {"q_note": "x" * 200})[1] == {}
    assert read_answers([NOTE], {"q_note": "x" * 201})[1] == {"q_note": TOO_LONG["string"]}
    assert read_answers([DETAILS], {"q_details": "x" * 2000})[1] == {}
    assert read_answers([DETAILS], {"q_details": "x" * 2001})[1] == {"q_details": TOO_LONG["text"]}


def test_the_field_names_are_the_callers():
    answers, errors, posted = read_answers(
        [SIZE, DEPTH], {"attribute[size]": ["tyre"]}, field=lambda code: f"attribute[{code}]"
    )
    assert [answer["code"] for answer in answers] == ["size"] and errors == {"attribute[depth]": ANSWER_IT}
    assert set(posted) == {"attribute[size]", "attribute[depth]"}


def test_files_and_empty_values_are_no_answer():
    class Upload:
        filename = "x.png"

    assert read_answers([NOTE, WHERE], {"q_note": Upload(), "q_where": ["", " "]}) == (
        [],
        {},
        {"q_note": "", "q_where": []},
    )


def test_a_stored_question_reads_in_the_readers_language_or_the_towns_first():
    row = {
        "code": "size",
        "kind": "singlevaluelist",
        "required": True,
        "texts": {
            "en": {"prompt": "How big is it?", "hint": "Roughly."},
            "fr": {"prompt": "Quelle taille?", "hint": ""},
        },
        "choices": [
            {"key": "hand", "names": {"en": "A hand", "fr": "Une main"}},
            {"key": "tyre", "names": {"en": "A tyre"}},
        ],
        "shown_when_code": "",
        "shown_when_value": "",
    }
    french = localised(row, "fr")
    assert (french.prompt, french.hint, french.choices) == (
        "Quelle taille?",
        "Roughly.",
        (("hand", "Une main"), ("tyre", "A tyre")),
    )
    assert localised(row, "de").prompt == "How big is it?" and french.shown_when is None
    number = localised(row | {"kind": "number", "shown_when_code": "kind", "shown_when_value": "big"}, "en")
    assert number.choices == () and number.shown_when == ("kind", "big")
