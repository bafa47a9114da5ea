"""The town administrator's questions for one request type: the list in the form's order with moves up and
down, a new question, and each question's page with its deletion. Plain forms: they work without
JavaScript."""

from __future__ import annotations

import re
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template

from apps.admin.settings import TOWN_ADMIN_ONLY, actor_of
from apps.pages import PathId, page, tenant_of
from domain import question_settings, request_types
from domain.question_settings import QuestionEntry, QuestionRefused
from domain.questions import KINDS, LIST_KINDS
from domain.request_types import TypeEntry
from domain.scope import TenantScope
from domain.staff import StaffMember
from infra.i18n import N_

PATH = "/admin/settings/types/{type_id:int}/questions"
DONE = {
    "added": N_("The question is added."),
    "saved": N_("Your changes are saved."),
    "moved": N_("The question is moved."),
    "deleted": N_("The question is deleted. Requests already made keep the answers given to it."),
}
# An answer row's fields (`choice_3_en`, `choice_3_key`), by its number.
ROW_FIELD = re.compile(r"choice_(\d+)_")


def _path(entry: TypeEntry) -> str:
    return f"/admin/settings/types/{entry.id}/questions"


def _values(question: QuestionEntry | None, languages: tuple[str, ...]) -> dict[str, Any]:
    """The form's fields for a question, or for a new one (a short text, not required)."""
    if question is None:
        return {"kind": "string"}
    values: dict[str, Any] = {
        f"{name}_{language}": question.texts.get(language, {}).get(name, "")
        for language in languages
        for name in ("prompt", "hint")
    }
    for row, choice in enumerate(question.choices):
        values[f"choice_{row}_key"] = choice["key"]
        for language in languages:
            values[question_settings.choice_field(row, language)] = choice["names"].get(language, "")
    condition = "=".join(question.shown_when) if question.shown_when else ""
    return values | {"kind": question.kind, "required": question.required, "shown_when": condition}


def _typed_values(form: dict[str, Any]) -> dict[str, Any]:
    """What was posted, shown again beside its errors."""
    return {name: str(value) for name, value in form.items() if name != "_csrf_token"} | {
        "required": form.get("required") == "on"
    }


def _rows(values: dict[str, Any]) -> int:
    """How many answer rows the form shows: up to the last one filled in, then a few empty ones."""
    used = [int(found[1]) for name, value in values.items() if value and (found := ROW_FIELD.match(name))]
    shown = max(used, default=-1) + 1 + question_settings.SPARE_CHOICES
    return min(max(shown, 2 + question_settings.SPARE_CHOICES), question_settings.MAX_CHOICES)


class QuestionsController(Controller):
    path = PATH
    include_in_schema = False
    dependencies = TOWN_ADMIN_ONLY

    async def _type(self, request: Request, scope: TenantScope, type_id: int) -> TypeEntry:
        entry = await request_types.one(scope, type_id, tenant_of(request).languages[0])
        if entry is None:
            raise NotFoundException()
        return entry

    async def _question(self, scope: TenantScope, kind: TypeEntry, question_id: int) -> QuestionEntry:
        question = await question_settings.one(scope, kind.id, question_id)
        if question is None:
            raise NotFoundException()
        return question

    async def _list_page(
        self,
        request: Request,
        admin: StaffMember,
        scope: TenantScope,
        kind: TypeEntry,
        error: str = "",
        status_code: int = 200,
    ) -> Template:
        return page(
            request,
            "pages/questions.html",
            status_code=status_code,
            member=admin,
            entry=kind,
            questions=await question_settings.type_questions(scope, kind.id),
            kinds=KINDS,
            done=DONE.get(request.query_params.get("done", ""), ""),
            error=error,
        )

    async def _form_page(
        self,
        request: Request,
        admin: StaffMember,
        scope: TenantScope,
        kind: TypeEntry,
        question: QuestionEntry | None,
        values: dict[str, Any],
        errors: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Template:
        questions = await question_settings.type_questions(scope, kind.id)
        if question is not None:  # a condition names an earlier question only
            questions = questions[: [item.id for item in questions].index(question.id)]
        return page(
            request,
            "pages/question.html",
            status_code=status_code,
            member=admin,
            entry=kind,
            question=question,
            values=values,
            errors=errors or {},
            kinds=KINDS,
            list_kinds=LIST_KINDS,
            conditions=[item for item in questions if item.kind in LIST_KINDS],
            choice_rows=_rows(values),
        )

    @get("/")
    async def list_questions(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        type_id: PathId,
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template:
        kind = await self._type(request, tenant_scope, type_id)
        return await self._list_page(request, admin, tenant_scope, kind)

    @get("/new")
    async def new_question(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        type_id: PathId,
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template:
        kind = await self._type(request, tenant_scope, type_id)
        return await self._form_page(request, admin, tenant_scope, kind, None, _values(None, ()))

    @post("/new")
    async def add_question(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        type_id: PathId,
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template | Redirect:
        kind = await self._type(request, tenant_scope, type_id)
        form = dict(await request.form())
        typed = question_settings.parse(form, tenant_of(request).languages)
        if errors := await question_settings.problems(tenant_scope, kind.id, typed):
            values = _typed_values(form)
            return await self._form_page(request, admin, tenant_scope, kind, None, values, errors, 422)
        await question_settings.add(tenant_scope, actor_of(admin), kind.id, typed)
        return Redirect(f"{_path(kind)}?done=added", status_code=303)

    @get("/{question_id:int}")
    async def show_question(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        type_id: PathId,
        question_id: PathId,
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template:
        kind = await self._type(request, tenant_scope, type_id)
        question = await self._question(tenant_scope, kind, question_id)
        values = _values(question, tenant_of(request).languages)
        return await self._form_page(request, admin, tenant_scope, kind, question, values)

    @post("/{question_id:int}")
    async def change_question(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        type_id: PathId,
        question_id: PathId,
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template | Redirect:
        kind = await self._type(request, tenant_scope, type_id)
        question = await self._question(tenant_scope, kind, question_id)
        form = dict(await request.form())
        typed = question_settings.parse(form, tenant_of(request).languages)
        if errors := await question_settings.problems(tenant_scope, kind.id, typed, editing=question):
            values = _typed_values(form)
            return await self._form_page(request, admin, tenant_scope, kind, question, values, errors, 422)
        await question_settings.update(tenant_scope, actor_of(admin), kind.id, question, typed)
        return Redirect(f"{_path(kind)}?done=saved", status_code=303)

    @post("/{question_id:int}/delete")
    async def delete_question(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        type_id: PathId,
        question_id: PathId,
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template | Redirect:
        kind = await self._type(request, tenant_scope, type_id)
        question = await self._question(tenant_scope, kind, question_id)
        try:
            await question_settings.delete(tenant_scope, actor_of(admin), kind.id, question)
        except QuestionRefused as refused:
            return await self._list_page(request, admin, tenant_scope, kind, refused.message, 409)
        return Redirect(f"{_path(kind)}?done=deleted", status_code=303)

    @post("/{question_id:int}/move")
    async def move_question(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        type_id: PathId,
        question_id: PathId,
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template | Redirect:
        """`direction`: up or down; anything else moves nothing."""
        kind = await self._type(request, tenant_scope, type_id)
        question = await self._question(tenant_scope, kind, question_id)
        direction = (await request.form()).get("direction")
        if direction not in ("up", "down"):
            return Redirect(_path(kind), status_code=303)
        try:
            await question_settings.move(tenant_scope, actor_of(admin), kind.id, question, direction == "up")
        except QuestionRefused as refused:
            return await self._list_page(request, admin, tenant_scope, kind, refused.message, 409)
        return Redirect(f"{_path(kind)}?done=moved", status_code=303)
