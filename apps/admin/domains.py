"""The town's own host names: added, proven by a file on the town's web server, removed. Plain forms."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template

from apps.admin.settings import TOWN_ADMIN_ONLY, actor_of
from apps.pages import PathId, page
from domain import domains
from domain.scope import TenantScope
from domain.staff import StaffMember
from infra.i18n import N_, gettext
from infra.settings import Settings

PATH = "/admin/settings/domains"
DONE = {
    "added": N_("The name is added. Publish its file, then verify it."),
    "verified": N_("The name is verified: the portal answers there, and its links now use it."),
    "removed": N_("The name is removed; the portal no longer answers there."),
}


class DomainsController(Controller):
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
        return page(
            request,
            "pages/domains.html",
            status_code=status_code,
            member=admin,
            domains=await domains.listed(scope),
            path=domains.VERIFICATION_PATH,
            values=values or {"host": ""},
            errors=errors or {},
            done=DONE.get(request.query_params.get("done", ""), ""),
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
        settings: NamedDependency[Settings],
    ) -> Template | Redirect:
        host = str((await request.form()).get("host", "")).strip().lower().rstrip(".")
        problem = await domains.problem(tenant_scope, host, settings)
        if problem is None and await domains.add(tenant_scope, actor_of(admin), host) is None:
            problem = domains.TAKEN
        if problem:
            return await self._page(request, admin, tenant_scope, {"host": host}, {"host": problem}, 422)
        return Redirect(f"{PATH}?done=added", status_code=303)

    async def _domain(self, scope: TenantScope, domain_id: int) -> domains.Domain:
        domain = await domains.one(scope, domain_id)
        if domain is None:
            raise NotFoundException()
        return domain

    @post("/{domain_id:int}/verify")
    async def verify(
        self,
        request: Request,
        domain_id: PathId,
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
        settings: NamedDependency[Settings],
    ) -> Template | Redirect:
        domain = await self._domain(tenant_scope, domain_id)
        if not domain.verified:
            if failed := await domains.check(domain, settings):
                message, values = failed
                errors = {f"domain-{domain.id}": gettext(message) % values}
                return await self._page(request, admin, tenant_scope, errors=errors, status_code=422)
            await domains.mark_verified(tenant_scope, actor_of(admin), domain)
            request.app.state.tenant_resolver.forget()
        return Redirect(f"{PATH}?done=verified", status_code=303)

    @post("/{domain_id:int}/remove")
    async def remove(
        self,
        request: Request,
        domain_id: PathId,
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
    ) -> Redirect:
        domain = await self._domain(tenant_scope, domain_id)
        await domains.remove(tenant_scope, actor_of(admin), domain)
        request.app.state.tenant_resolver.forget()
        return Redirect(f"{PATH}?done=removed", status_code=303)
