"""A town administrator's questions for one request type: written in the town's languages, of an Open311
kind, required or not, in order, perhaps asked only when an earlier question has a given answer.

A question's code and its answers' keys never change once made: Open311 clients send them back, and a
later question's condition names them. Deleting a question keeps what citizens answered (requests hold a
snapshot, domain/questions.py). Every change is checked here first and written to the audit log in the
same transaction; a change that would leave a condition pointing at nothing is refused.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from domain import audit
from domain.audit import Actor
from domain.catalog import unique_slug
from domain.questions import KINDS, LIST_KINDS
from domain.scope import TenantScope
from domain.tables import RequestQuestion, RequestType
from infra.i18n import N_

MAX_QUESTIONS = 50
MAX_CHOICES = 30
# How many empty answer rows the form offers beyond those given: more come after saving.
SPARE_CHOICES = 3
LIMITS = {"prompt": 300, "hint": 500, "choice": 100}
CODE_PATTERN = re.compile(r"[a-z0-9]+(?:[-_][a-z0-9]+)*")
CODE_LENGTH = 50

NEEDS_PROMPT = N_("Write the question citizens will answer.")
TOO_LONG = N_("This is too long.")
BAD_KIND = N_("Choose the kind of answer.")
BAD_CODE = N_("Use lower-case letters, digits and hyphens, at most 50, for example how-big.")
TAKEN_CODE = N_("Another question of this type already has this code.")
TOO_FEW_CHOICES = N_("Give at least two answers to choose from.")
UNNAMED_CHOICE = N_("Name this answer in the first language; the other languages may stay empty.")
BAD_CONDITION = N_("Choose an earlier question with answers to choose from, and one of its answers.")
CONDITION_KEPT = N_(
    "Another question is asked only when this one has a certain answer. Keep that answer, and a kind with "
    "answers to choose from, or change the other question first."
)
IN_USE = N_("Another question is asked only when this one has a certain answer: change that question first.")
ORDER_KEPT = N_("A question asked only when another has a certain answer must come after that question.")
TOO_MANY = N_("A request type asks at most 50 questions.")


class QuestionRefused(Exception):
    """A change the questions' conditions do not allow; `message` is a msgid."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, kw_only=True)
class QuestionEntry:
    """A question as its administrator edits it, every language at once."""

    id: int
    code: str
    kind: str
    required: bool
    position: int
    texts: dict[str, dict[str, str]]  # language -> {"prompt", "hint"}
    choices: list[dict[str, Any]]  # [{"key", "names": {language: name}}]
    shown_when: tuple[str, str] | None

    def text(self, language: str, name: str = "prompt") -> str:
        """In `language`, else in the first language stored (the town's first)."""
        own = self.texts.get(language, {}).get(name)
        return own or next(iter(self.texts.values()), {}).get(name, "")

    def choice_name(self, key: str, language: str) -> str:
        for choice in self.choices:
            if choice["key"] == key:
                names = choice["names"]
                return names.get(language) or next(iter(names.values()), key)
        return key


@dataclass(frozen=True, kw_only=True)
class QuestionForm:
    """What the administrator typed, parsed; `errors` by form field name."""

    code: str  # asked for on a new question; "" makes one from the prompt
    kind: str
    required: bool
    texts: dict[str, dict[str, str]]
    choices: list[dict[str, Any]]  # rows with a name; "key" is "" for a new answer
    shown_when: tuple[str, str] | None
    errors: dict[str, str]


def _entry(row: dict[str, Any]) -> QuestionEntry:
    condition = (row["shown_when_code"], row["shown_when_value"]) if row["shown_when_code"] else None
    return QuestionEntry(
        id=row["id"],
        code=row["code"],
        kind=row["kind"],
        required=row["required"],
        position=row["position"],
        texts=row["texts"] or {},
        choices=row["choices"] or [],
        shown_when=condition,
    )


async def type_questions(scope: TenantScope, type_id: int) -> list[QuestionEntry]:
    rows = (
        await scope.select(RequestQuestion)
        .where(RequestQuestion.request_type == type_id)
        .order_by(RequestQuestion.position)
        .order_by(RequestQuestion.id)
    )
    return [_entry(row) for row in rows]


async def one(scope: TenantScope, type_id: int, question_id: int) -> QuestionEntry | None:
    row = (
        await scope.select(RequestQuestion)
        .where((RequestQuestion.request_type == type_id) & (RequestQuestion.id == question_id))
        .first()
    )
    return _entry(row) if row else None


def choice_field(row: int, language: str) -> str:
    return f"choice_{row}_{language}"


def parse(form: dict[str, Any], languages: tuple[str, ...]) -> QuestionForm:
    """`form`: `prompt_en`, `hint_fr`, `kind`, `required`, `code`, `shown_when` (`code=key`), and the
    answer rows `choice_0_en`, `choice_0_key`... (a row with no name is no answer)."""
    first = languages[0]
    errors: dict[str, str] = {}

    def text(name: str) -> str:
        return " ".join(str(form.get(name, "")).split())

    texts = {
        language: {"prompt": text(f"prompt_{language}"), "hint": text(f"hint_{language}")}
        for language in languages
    }
    if not texts[first]["prompt"]:
        errors[f"prompt_{first}"] = NEEDS_PROMPT
    for language, values in texts.items():
        for name, value in values.items():
            if len(value) > LIMITS[name]:
                errors[f"{name}_{language}"] = TOO_LONG
    kind = str(form.get("kind", ""))
    if kind not in KINDS:
        errors["kind"] = BAD_KIND
    code = str(form.get("code", "")).strip()
    if code and (len(code) > CODE_LENGTH or not CODE_PATTERN.fullmatch(code)):
        errors["code"] = BAD_CODE
    choices = []
    for row in range(MAX_CHOICES):
        names = {language: text(choice_field(row, language)) for language in languages}
        if not any(names.values()):
            continue
        if not names[first]:
            errors[choice_field(row, first)] = UNNAMED_CHOICE
        for language, name in names.items():
            if len(name) > LIMITS["choice"]:
                errors[choice_field(row, language)] = TOO_LONG
        key = str(form.get(f"choice_{row}_key", "")).strip()
        choices.append({"key": key, "names": {language: name for language, name in names.items() if name}})
    if kind in LIST_KINDS and len(choices) < 2:
        errors["choices"] = TOO_FEW_CHOICES
    condition_code, _, condition_key = str(form.get("shown_when", "")).partition("=")
    return QuestionForm(
        code=code,
        kind=kind,
        required=form.get("required") == "on",
        texts={language: values for language, values in texts.items() if values["prompt"] or values["hint"]},
        choices=choices if kind in LIST_KINDS else [],
        shown_when=(condition_code, condition_key) if condition_code else None,
        errors=errors,
    )


async def problems(
    scope: TenantScope, type_id: int, typed: QuestionForm, editing: QuestionEntry | None = None
) -> dict[str, str]:
    """The form's own errors, and those the type's other questions show: a code not taken, a condition on
    an earlier question of a list kind and one of its answers, and the conditions of later questions on
    this one kept whole."""
    errors = dict(typed.errors)
    questions = await type_questions(scope, type_id)
    if editing is None and len(questions) >= MAX_QUESTIONS:
        errors["form"] = TOO_MANY
    if editing is None and typed.code in {question.code for question in questions}:
        errors["code"] = TAKEN_CODE
    earlier = questions if editing is None else questions[: _place(questions, editing)]
    if typed.shown_when and not any(
        question.kind in LIST_KINDS
        and question.code == typed.shown_when[0]
        and typed.shown_when[1] in {choice["key"] for choice in question.choices}
        for question in earlier
    ):
        errors["shown_when"] = BAD_CONDITION
    needed = {value for code, value in _conditions(questions) if editing and code == editing.code}
    if needed and typed.kind not in LIST_KINDS:
        errors.setdefault("kind", CONDITION_KEPT)
    elif needed and not needed <= {choice["key"] for choice in _keyed(typed.choices, editing)}:
        errors.setdefault("choices", CONDITION_KEPT)
    return errors


def _place(questions: list[QuestionEntry], entry: QuestionEntry) -> int:
    return next(n for n, question in enumerate(questions) if question.id == entry.id)


def _conditions(questions: list[QuestionEntry]) -> list[tuple[str, str]]:
    """(code, key) of every condition the questions have: what their earlier questions must keep."""
    return [question.shown_when for question in questions if question.shown_when]


def _ascii(text: str) -> str:
    """The text a code or key is made from, its accents dropped: `Côté rue` makes `cote-rue`, not
    `c-t-rue`."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _keyed(choices: list[dict[str, Any]], editing: QuestionEntry | None) -> list[dict[str, Any]]:
    """The answers with their keys: an answer that was there keeps its key; a new one gets one from its
    first name."""
    before = {choice["key"] for choice in editing.choices} if editing else set()
    taken = {choice["key"] for choice in choices if choice["key"] in before}
    keyed: list[dict[str, Any]] = []
    for choice in choices:
        key = choice["key"]
        if key not in before or key in {done["key"] for done in keyed}:  # new, or a row posted twice
            key = unique_slug(_ascii(next(iter(choice["names"].values()), "")), taken, "answer")
            taken.add(key)
        keyed.append({"key": key, "names": choice["names"]})
    return keyed


def _columns(typed: QuestionForm, editing: QuestionEntry | None) -> dict[str, Any]:
    code, value = typed.shown_when or ("", "")
    return {
        "kind": typed.kind,
        "required": typed.required,
        "texts": typed.texts,
        "choices": _keyed(typed.choices, editing),
        "shown_when_code": code,
        "shown_when_value": value,
    }


def _audited(code: str, columns: dict[str, Any]) -> dict[str, Any]:
    """The question as the log shows it: each language's texts, each answer with its key."""
    shown: dict[str, Any] = {"code": code, "kind": columns["kind"], "must_answer": columns["required"]}
    for language, texts in columns["texts"].items():
        shown |= {f"{name}_{language}": text for name, text in texts.items() if text}
    shown["choices"] = [
        f"{choice['key']}: {' / '.join(choice['names'].values())}" for choice in columns["choices"]
    ]
    condition = columns["shown_when_code"]
    shown["shown_when"] = f"{condition} = {columns['shown_when_value']}" if condition else None
    return shown


async def _subject(scope: TenantScope, type_id: int, texts: dict[str, dict[str, str]]) -> str:
    row = await scope.select(RequestType, RequestType.name).where(RequestType.id == type_id).first()
    prompt = next(iter(texts.values()), {}).get("prompt", "")
    return f"{row['name'] if row else ''}: {prompt}"


async def add(scope: TenantScope, actor: Actor, type_id: int, typed: QuestionForm) -> int:
    """A new question (checked with `problems` first), asked last; its code is the one typed or one made
    from its first prompt, and never changes."""
    questions = await type_questions(scope, type_id)
    taken = {question.code for question in questions}
    first_prompt = next(iter(typed.texts.values()))["prompt"]
    code = typed.code or unique_slug(_ascii(first_prompt), taken, "question")[:CODE_LENGTH]
    columns = _columns(typed, None)
    position = max((question.position for question in questions), default=0) + 1
    row = scope.new(RequestQuestion, request_type=type_id, code=code, position=position, **columns)
    await row.save()
    subject = await _subject(scope, type_id, typed.texts)
    await audit.record(scope, actor, "question.added", subject, after=_audited(code, columns))
    return row.id


async def update(
    scope: TenantScope, actor: Actor, type_id: int, entry: QuestionEntry, typed: QuestionForm
) -> None:
    columns = _columns(typed, entry)
    await scope.update(RequestQuestion, columns).where(RequestQuestion.id == entry.id)
    before = _audited(entry.code, _columns_of(entry))
    before_shown, after_shown = audit.changed(before, _audited(entry.code, columns))
    if before_shown or after_shown:
        subject = await _subject(scope, type_id, typed.texts)
        await audit.record(scope, actor, "question.changed", subject, before_shown, after_shown)


def _columns_of(entry: QuestionEntry) -> dict[str, Any]:
    code, value = entry.shown_when or ("", "")
    return {
        "kind": entry.kind,
        "required": entry.required,
        "texts": entry.texts,
        "choices": entry.choices,
        "shown_when_code": code,
        "shown_when_value": value,
    }


async def delete(scope: TenantScope, actor: Actor, type_id: int, entry: QuestionEntry) -> None:
    """Refused (QuestionRefused) while a later question is asked only on this one's answer."""
    if any(code == entry.code for code, _ in _conditions(await type_questions(scope, type_id))):
        raise QuestionRefused(IN_USE)
    await scope.delete(RequestQuestion).where(RequestQuestion.id == entry.id)
    subject = await _subject(scope, type_id, entry.texts)
    await audit.record(
        scope, actor, "question.removed", subject, before=_audited(entry.code, _columns_of(entry))
    )


async def move(scope: TenantScope, actor: Actor, type_id: int, entry: QuestionEntry, up: bool) -> None:
    """One place up or down; refused (QuestionRefused) when it would put a question before the one its
    condition names. Positions are renumbered 1, 2, 3... in the new order."""
    questions = await type_questions(scope, type_id)
    here = _place(questions, entry)
    there = here - 1 if up else here + 1
    if not 0 <= there < len(questions):
        return
    above, below = (questions[there], entry) if up else (entry, questions[there])
    if below.shown_when and below.shown_when[0] == above.code:
        raise QuestionRefused(ORDER_KEPT)
    questions[here], questions[there] = questions[there], questions[here]
    for position, question in enumerate(questions, start=1):
        if question.position != position:
            await scope.update(RequestQuestion, {RequestQuestion.position: position}).where(
                RequestQuestion.id == question.id
            )
    subject = await _subject(scope, type_id, entry.texts)
    await audit.record(
        scope, actor, "question.moved", subject, {"position": here + 1}, {"position": there + 1}
    )


async def add_from_data(
    scope: TenantScope, type_code: str, entries: list[dict[str, Any]], languages: tuple[str, ...]
) -> None:
    """A starter catalogue's questions for one of the town's types, in the town's languages (the first
    falls back to English): `{"code", "kind", "required", "prompt": {language: text}, "hint": {...},
    "choices": [{"key", "names": {...}}], "shown_when": [code, key]}`. Part of making the town, which
    is audited as a whole, so no entry of its own."""
    kind = await scope.select(RequestType, RequestType.id).where(RequestType.code == type_code).first()
    if kind is None:
        return

    def in_languages(texts: dict[str, str]) -> dict[str, str]:
        found = {language: texts[language] for language in languages if texts.get(language)}
        if languages[0] not in found and texts.get("en"):
            found = {languages[0]: texts["en"], **found}
        return found

    for position, entry in enumerate(entries, start=1):
        prompts, hints = in_languages(entry["prompt"]), in_languages(entry.get("hint", {}))
        condition = entry.get("shown_when") or ("", "")
        await scope.new(
            RequestQuestion,
            request_type=kind["id"],
            code=entry["code"],
            kind=entry["kind"],
            required=entry.get("required", False),
            position=position,
            texts={
                language: {"prompt": prompt, "hint": hints.get(language, "")}
                for language, prompt in prompts.items()
            },
            choices=[
                {"key": choice["key"], "names": in_languages(choice["names"])}
                for choice in entry.get("choices", [])
            ],
            shown_when_code=condition[0],
            shown_when_value=condition[1],
        ).save()
