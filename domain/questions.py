"""A request type's own questions, as the citizen meets them: of the Open311 datatypes, in the town's
languages, in order, one perhaps asked only when an earlier one has a given answer.

What a citizen answered is kept on the request as a snapshot in the request's language (`read_answers`):
the question as it was worded, the answer as it was shown, and the raw value. A later change to the
questions, or their deletion, never rewrites what was answered. The town administrator's side (adding,
changing, ordering) is domain/question_settings.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.scope import TenantScope
from domain.tables import RequestQuestion
from infra.i18n import N_

# The Open311 GeoReport v2 datatypes, by the names an administrator picks from.
KINDS = {
    "string": N_("Short text"),
    "text": N_("Long text"),
    "number": N_("Number"),
    "datetime": N_("Date and time"),
    "singlevaluelist": N_("One choice"),
    "multivaluelist": N_("Several choices"),
}
LIST_KINDS = frozenset({"singlevaluelist", "multivaluelist"})
# The longest answer each text kind takes: a short text fits on a line, a long one in a paragraph or two.
TEXT_LIMITS = {"string": 200, "text": 2000}
# Up to a billion, with up to six decimals: a size, a count, a depth; more is a typing mistake.
_NUMBER = re.compile(r"[-+]?\d{1,12}(?:[.,]\d{1,6})?")
# What a datetime-local field sends (with or without seconds), the same with a space, or a date alone.
_MOMENTS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S")
_YEARS = range(1900, 2101)

ANSWER_IT = N_("Answer this question.")
CHOOSE_ONE = N_("Choose an answer.")
CHOOSE_SOME = N_("Choose at least one answer.")
ONLY_ONE = N_("Choose only one answer.")
NOT_A_CHOICE = N_("Choose one of the answers given.")
BAD_NUMBER = N_("Enter a number, for example 12.")
BAD_MOMENT = N_("Enter a date and time, for example 2026-03-31 14:30, or the date alone.")
# What an unanswered required question says, by kind; the others say ANSWER_IT.
MISSING = {"singlevaluelist": CHOOSE_ONE, "multivaluelist": CHOOSE_SOME}
TOO_LONG = {
    "string": N_("Keep this answer to 200 characters or fewer."),
    "text": N_("Keep this answer to 2,000 characters or fewer."),
}


@dataclass(frozen=True)
class Question:
    """One question in one language: the reader's, or the town's first where it is not translated."""

    code: str
    kind: str
    required: bool
    prompt: str
    hint: str
    choices: tuple[tuple[str, str], ...] = ()  # (key, name), in order, for the two list kinds
    shown_when: tuple[str, str] | None = None  # (an earlier question's code, one of its choice keys)

    def choice_name(self, key: str) -> str:
        return next((name for choice, name in self.choices if choice == key), key)


def field_name(code: str) -> str:
    """The form field of a question on the citizen's form (partials/questions.html names them so)."""
    return f"q_{code}"


def localised(row: Mapping[str, Any], language: str) -> Question:
    """A stored question in `language`. Texts are stored in the town's language order, so the first one
    stored is the town's first language: what shows where a translation is missing."""
    texts: dict[str, dict[str, str]] = row["texts"] or {}
    own, first = texts.get(language, {}), next(iter(texts.values()), {})
    choices = tuple(
        (choice["key"], _in_language(choice.get("names") or {}, language) or choice["key"])
        for choice in row["choices"] or []
    )
    condition = (row["shown_when_code"], row["shown_when_value"]) if row["shown_when_code"] else None
    return Question(
        code=row["code"],
        kind=row["kind"],
        required=row["required"],
        prompt=own.get("prompt") or first.get("prompt", ""),
        hint=own.get("hint") or first.get("hint", ""),
        choices=choices if row["kind"] in LIST_KINDS else (),
        shown_when=condition,
    )


def _in_language(names: Mapping[str, str], language: str) -> str:
    return names.get(language) or next(iter(names.values()), "")


QUESTION_COLUMNS = (
    RequestQuestion.code,
    RequestQuestion.kind,
    RequestQuestion.required,
    RequestQuestion.texts,
    RequestQuestion.choices,
    RequestQuestion.shown_when_code,
    RequestQuestion.shown_when_value,
)


async def for_type(scope: TenantScope, request_type_id: int, language: str) -> list[Question]:
    """The type's questions in order, in `language`: one range of the index request_question_type."""
    rows = (
        await scope.select(RequestQuestion, *QUESTION_COLUMNS)
        .where(RequestQuestion.request_type == request_type_id)
        .order_by(RequestQuestion.position)
        .order_by(RequestQuestion.id)
    )
    return [localised(row, language) for row in rows]


def given_values(form: Mapping[str, Any], name: str) -> list[str]:
    """Every text value posted under `name`: a Litestar form (several values by `getall`) or a plain
    mapping of a name to a text or a list of texts. Files and empty values are no answer."""
    getall = getattr(form, "getall", None)
    found = getall(name, []) if callable(getall) else form.get(name)
    if found is None:
        return []
    values = found if isinstance(found, list | tuple) else [found]
    return [value for value in values if isinstance(value, str) and value.strip()]


def read_answers(
    questions: list[Question],
    form: Mapping[str, Any],
    field: Callable[[str], str] = field_name,
) -> tuple[list[dict[str, Any]], dict[str, str], dict[str, Any]]:
    """The answers to `questions` in `form`, checked: (the snapshot to keep on the request, the errors by
    form field name, the values as posted to show again: a text, or a list for several choices).

    A question asked only when an earlier one has a given answer is neither required nor kept unless the
    earlier one was asked and has that answer. Unanswered questions leave no line in the snapshot."""
    answers: list[dict[str, Any]] = []
    errors: dict[str, str] = {}
    posted: dict[str, Any] = {}
    asked: dict[str, tuple[str, ...]] = {}  # code -> the keys chosen, of the questions asked and answered
    earlier: set[str] = set()
    for question in questions:
        name = field(question.code)
        values = given_values(form, name)
        posted[name] = values if question.kind == "multivaluelist" else (values[0] if values else "")
        condition = question.shown_when
        is_asked = (
            condition is None or condition[0] not in earlier or condition[1] in asked.get(condition[0], ())
        )
        earlier.add(question.code)
        if not is_asked:
            continue
        answer, problem = _answer(question, values)
        if problem:
            errors[name] = problem
        elif answer is not None:
            answers.append({"code": question.code, "question": question.prompt, **answer})
            kept = answer["value"]
            asked[question.code] = tuple(kept) if isinstance(kept, list) else (kept,)
    return answers, errors, posted


def _answer(question: Question, values: list[str]) -> tuple[dict[str, Any] | None, str | None]:
    """({"answer": what is shown, "value": what was meant} or None when unanswered, a problem's msgid)."""
    if not values:
        return None, MISSING.get(question.kind, ANSWER_IT) if question.required else None
    if question.kind == "multivaluelist":
        return _several(question, values)
    if question.kind == "singlevaluelist":
        if len(set(values)) > 1:
            return None, ONLY_ONE
        if values[0] not in dict(question.choices):
            return None, NOT_A_CHOICE
        return {"answer": question.choice_name(values[0]), "value": values[0]}, None
    if question.kind == "number":
        return _number(values[0])
    if question.kind == "datetime":
        return _moment(values[0])
    return _text(question, values[0])


def _several(question: Question, values: list[str]) -> tuple[dict[str, Any] | None, str | None]:
    keys = set(values)
    if keys - dict(question.choices).keys():
        return None, NOT_A_CHOICE
    chosen = [(key, name) for key, name in question.choices if key in keys]  # in the question's order
    return {"answer": ", ".join(name for _, name in chosen), "value": [key for key, _ in chosen]}, None


def _number(typed: str) -> tuple[dict[str, Any] | None, str | None]:
    """`12`, `-3`, `2.5` or `2,5`, spaces between thousands allowed; shown as typed, kept with a dot."""
    shown = typed.strip()
    compact = re.sub(r"[\s\u00a0\u202f]", "", shown)
    if not _NUMBER.fullmatch(compact):
        return None, BAD_NUMBER
    return {"answer": shown, "value": compact.replace(",", ".").lstrip("+")}, None


def _moment(typed: str) -> tuple[dict[str, Any] | None, str | None]:
    """A date and time as the form's field sends it (the town's local time), one with its offset as a
    program sends it (`2026-03-31T14:30:00Z`, kept with the offset), or a date alone."""
    text = typed.strip()
    for pattern in _MOMENTS:
        try:
            local = datetime.strptime(text, pattern)
        except ValueError:
            continue
        return _moment_answer(local, f"{local:%Y-%m-%d %H:%M}", f"{local:%Y-%m-%dT%H:%M}")
    try:
        day = datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        pass
    else:
        return _moment_answer(day, f"{day:%Y-%m-%d}", f"{day:%Y-%m-%d}")
    try:
        placed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None, BAD_MOMENT
    if placed.tzinfo is None or "T" not in text:
        return None, BAD_MOMENT
    shown = placed.isoformat(sep=" ", timespec="minutes")
    return _moment_answer(placed, shown, placed.isoformat(timespec="minutes"))


def _moment_answer(moment: datetime, answer: str, value: str) -> tuple[dict[str, Any] | None, str | None]:
    if moment.year not in _YEARS:
        return None, BAD_MOMENT
    return {"answer": answer, "value": value}, None


def _text(question: Question, typed: str) -> tuple[dict[str, Any] | None, str | None]:
    """A short text on one line; a long one keeps its line breaks."""
    if question.kind == "string":
        text = " ".join(typed.split())
    else:
        text = "\n".join(line.rstrip() for line in typed.replace("\r\n", "\n").strip().split("\n"))
    limit = TEXT_LIMITS.get(question.kind, TEXT_LIMITS["text"])
    if len(text) > limit:
        return None, TOO_LONG.get(question.kind, TOO_LONG["text"])
    return {"answer": text, "value": text}, None
