"""The town administrator's request types: the list in the form's order, a new type, and each type's page.
Plain forms: they work without JavaScript."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template

from apps.admin.settings import TOWN_ADMIN_ONLY, actor_of
from apps.pages import PathId, page, row_id, tenant_of
from domain import catalog, lifecycle, request_types, team
from domain.request_types import TypeEntry, TypeForm
from domain.scope import TenantScope
from domain.staff import StaffMember
from infra.i18n import N_, current_language, gettext
from workflows.client import ActionPending, TemporalGateway, TemporalUnavailable
from workflows.service_request import contract

DONE = {"added": N_("The request type is added."), "saved": N_("Your changes are saved.")}
LEVEL_NOTE = N_("Service level changed to the type's current one by %(name)s: %(target)s.")
WITHIN_HOURS = N_("resolve within %(hours)s hours")
NO_TARGET = N_("no due date")
# Nothing of a new type is open data or leaves for the maintenance system until its administrator says so.
NEW_TYPE = {
    "active": True,
    "needs_location": False,
    "target_business": True,
    "assignment_mode": "manual",
    "published": False,
    "send_to_maintenance": False,
    "nearby_metres": "50",
    "emergency": False,
}


def _values(entry: TypeEntry | None, languages: tuple[str, ...]) -> dict[str, Any]:
    """The form's fields for a type, or for a new one."""
    if entry is None:
        return {**NEW_TYPE, "sort_order": "0"}
    values: dict[str, Any] = {
        f"{name}_{language}": entry.texts.get(language, {}).get(name, "")
        for language in languages
        for name in (*request_types.TEXTS, *catalog.NOTICES)
    }
    for name, seconds in entry.durations.items():
        values[name] = "" if seconds is None else f"{seconds / 3600:g}"
    return values | {
        "department": entry.department_id,
        "needs_location": entry.needs_location,
        "active": entry.active,
        "sort_order": str(entry.sort_order),
        "target_business": entry.target_business,
        "assignment_mode": entry.assignment_mode,
        "default_assignee": entry.default_assignee,
        "published": entry.published,
        "send_to_maintenance": entry.send_to_maintenance,
        "nearby_metres": str(entry.nearby_metres),
        "emergency": entry.emergency,
        "emergency_phone": entry.emergency_phone,
    }


def _typed_values(form: dict[str, Any], typed: TypeForm) -> dict[str, Any]:
    """What was posted, shown again beside its errors."""
    return {name: str(value) for name, value in form.items() if name != "_csrf_token"} | {
        "department": typed.department_id,
        "needs_location": typed.needs_location,
        "active": typed.active,
        "target_business": typed.target_business,
        "default_assignee": typed.default_assignee,
        "published": typed.published,
        "send_to_maintenance": typed.send_to_maintenance,
        "emergency": typed.emergency,
    }


class RequestTypesController(Controller):
    path = "/admin/settings/types"
    include_in_schema = False
    dependencies = TOWN_ADMIN_ONLY

    @get("/")
    async def list_types(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template:
        languages = tenant_of(request).languages
        departments = await catalog.departments(tenant_scope, current_language.get())
        return page(
            request,
            "pages/request_types.html",
            member=admin,
            types=await request_types.all_types(tenant_scope, languages[0]),
            department_names={department["id"]: department["name"] for department in departments},
            modes=request_types.ASSIGNMENT_MODES,
            language=current_language.get(),
            done=DONE.get(request.query_params.get("done", ""), ""),
        )

    async def _form_page(
        self,
        request: Request,
        admin: StaffMember,
        scope: TenantScope,
        entry: TypeEntry | None,
        values: dict[str, Any],
        errors: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Template:
        people = [person for person in await team.members(scope) if person.active and not person.invited]
        applied = request.query_params.get("applied", "")
        return page(
            request,
            "pages/request_type.html",
            status_code=status_code,
            member=admin,
            entry=entry,
            values=values,
            errors=errors or {},
            departments=await catalog.departments(scope, current_language.get()),
            people=people,
            modes=request_types.ASSIGNMENT_MODES,
            durations=request_types.DURATIONS,
            texts=request_types.TEXTS,
            notices=catalog.NOTICES,
            open_count=await request_types.open_count(scope, entry.id) if entry else 0,
            applied=_applied_notice(applied),
        )

    @get("/new")
    async def new_type(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template:
        values = _values(None, tenant_of(request).languages)
        return await self._form_page(request, admin, tenant_scope, None, values)

    @post("/new")
    async def add_type(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template | Redirect:
        form = dict(await request.form())
        typed = request_types.parse(form, tenant_of(request).languages, row_id)
        if errors := await request_types.problems(tenant_scope, typed):
            values = _typed_values(form, typed)
            return await self._form_page(request, admin, tenant_scope, None, values, errors, 422)
        await request_types.add(tenant_scope, actor_of(admin), typed)
        return Redirect("/admin/settings/types?done=added", status_code=303)

    async def _entry(self, request: Request, scope: TenantScope, type_id: int) -> TypeEntry:
        entry = await request_types.one(scope, type_id, tenant_of(request).languages[0])
        if entry is None:
            raise NotFoundException()
        return entry

    @get("/{type_id:int}")
    async def show_type(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        type_id: PathId,
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template:
        entry = await self._entry(request, tenant_scope, type_id)
        values = _values(entry, tenant_of(request).languages)
        return await self._form_page(request, admin, tenant_scope, entry, values)

    @post("/{type_id:int}")
    async def change_type(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        type_id: PathId,
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template | Redirect:
        entry = await self._entry(request, tenant_scope, type_id)
        form = dict(await request.form())
        typed = request_types.parse(form, tenant_of(request).languages, row_id)
        if errors := await request_types.problems(tenant_scope, typed, editing=entry.id):
            values = _typed_values(form, typed)
            return await self._form_page(request, admin, tenant_scope, entry, values, errors, 422)
        await request_types.change(tenant_scope, actor_of(admin), entry, typed)
        return Redirect("/admin/settings/types?done=saved", status_code=303)

    @post("/{type_id:int}/apply")
    async def apply_level(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        type_id: PathId,
        tenant_scope: NamedDependency[TenantScope],
        temporal: NamedDependency[TemporalGateway],
    ) -> Redirect:
        """Sends the type's current level to its open requests, a batch at a time; each request's own
        workflow recomputes its due dates from the time its clock has run."""
        entry = await self._entry(request, tenant_scope, type_id)
        level = await request_types.current_level(tenant_scope, entry.id)
        if level is None:
            raise NotFoundException()
        target = (
            gettext(WITHIN_HOURS, hours=f"{level.target_seconds / 3600:g}")
            if level.target_seconds
            else gettext(NO_TARGET)
        )
        note = gettext(LEVEL_NOTE, name=admin.name, target=target)
        command = contract.LevelCommand(actor_id=admin.id, level=level, body=note, actor_role=admin.role)
        applied = failed = 0
        references = await request_types.open_references(tenant_scope, entry.id)
        tenant = tenant_of(request)
        for reference in references:
            try:
                await temporal.act(tenant.slug, reference, contract.APPLY_SERVICE_LEVEL, command)
                applied += 1
            except (lifecycle.TransitionRefused, TemporalUnavailable, ActionPending):
                failed += 1
        more = max(await request_types.open_count(tenant_scope, entry.id) - applied - failed, 0)
        return Redirect(
            f"/admin/settings/types/{entry.id}?applied={applied}-{failed}-{more}", status_code=303
        )


def _applied_notice(text: str) -> dict[str, int] | None:
    parts = text.split("-")
    if len(parts) != 3 or not all(part.isdigit() and len(part) <= 7 for part in parts):
        return None
    return dict(zip(("applied", "failed", "more"), map(int, parts), strict=True))
