"""The town administrator's routing rules (by type, keyword or area, to a department and optionally a
person) and their preview. Plain forms: they work without JavaScript; the preview is a GET, so its
address can be shared."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template

from apps.admin.settings import TOWN_ADMIN_ONLY, actor_of
from apps.pages import PathId, page, row_id
from domain import catalog, routing_settings, team
from domain.routing_settings import BOX
from domain.scope import TenantScope
from domain.staff import StaffMember, assignees
from infra.i18n import N_, current_language

PATH = "/admin/settings/routing"
FIELDS = ("request_type", "keyword", *BOX, "department", "assignee", "position")
DONE = {
    "added": N_("The rule is added; it applies to requests routed from now on."),
    "removed": N_("The rule is removed."),
}
PREVIEW_TYPE = N_("Choose the request type to preview.")


class RoutingController(Controller):
    path = PATH
    include_in_schema = False
    dependencies = TOWN_ADMIN_ONLY

    async def _page(
        self,
        request: Request,
        admin: StaffMember,
        scope: TenantScope,
        values: dict | None = None,
        errors: dict | None = None,
        status_code: int = 200,
    ) -> Template:
        language = current_language.get()
        query = request.query_params
        tried = {name: query.get(name, "") for name in ("type", "text", "latitude", "longitude")}
        result, preview_error = None, ""
        if tried["type"] or tried["text"]:
            type_id = row_id(tried["type"])
            place = [
                routing_settings.parse_number(tried[name]) if tried[name] else None
                for name in ("latitude", "longitude")
            ]
            result = type_id and await routing_settings.preview(
                scope, language, type_id, tried["text"][:2000], place[0], place[1]
            )
            preview_error = "" if result else PREVIEW_TYPE
        departments = await team.departments(scope, language)
        people = {department.id: await assignees(scope, department.id) for department in departments}
        return page(
            request,
            "pages/routing.html",
            status_code=status_code,
            member=admin,
            rules=await routing_settings.entries(scope, language),
            types=await catalog.request_types(scope, language),
            departments=departments,
            people=people,
            values=values or {"position": "0"},
            errors=errors or {},
            tried=tried,
            preview=result or None,
            preview_error=preview_error,
            done=DONE.get(query.get("done", ""), ""),
        )

    @get("/")
    async def show(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template:
        return await self._page(request, admin, tenant_scope)

    @post("/")
    async def add(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template | Redirect:
        form = await request.form()
        typed = {name: str(form.get(name, "")).strip() for name in FIELDS}
        rule, errors = await routing_settings.parse(tenant_scope, typed)
        if errors:
            return await self._page(request, admin, tenant_scope, typed, errors, 422)
        await routing_settings.add(tenant_scope, actor_of(admin), rule)
        return Redirect(f"{PATH}?done=added", status_code=303)

    @post("/{rule_id:int}/remove")
    async def remove(
        self,
        request: Request,
        rule_id: PathId,
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
    ) -> Redirect:
        if not await routing_settings.remove(tenant_scope, actor_of(admin), rule_id):
            raise NotFoundException()
        return Redirect(f"{PATH}?done=removed", status_code=303)
