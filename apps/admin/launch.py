"""A new town's way to going live: the checklist of what is still missing, the switch between "coming
soon" and live, and the embed snippet for the town's own website with the origins allowed to frame it."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from apps.admin.settings import TOWN_ADMIN_ONLY, actor_of
from apps.pages import page, tenant_of
from domain import catalog, launch
from domain.scope import TenantScope
from domain.staff import StaffMember
from infra.i18n import N_, current_language
from infra.settings import Settings
from tenants.resolve import town_url

LAUNCH = "/admin/settings/launch"
EMBED = "/admin/settings/embed"
NO_ANSWER = N_("Choose whether the portal goes live or shows “coming soon”.")
DONE = {
    "live": N_("The portal is live: citizens can make requests."),
    "paused": N_("The portal shows “coming soon” to the public again; staff still see it."),
    "origins": N_("Saved. Only these sites can show the portal in a frame."),
}


class LaunchController(Controller):
    path = LAUNCH
    include_in_schema = False
    dependencies = TOWN_ADMIN_ONLY

    async def _page(
        self,
        request: Request,
        admin: StaffMember,
        scope: TenantScope,
        error: str = "",
        status_code: int = 200,
    ) -> Template:
        first = tenant_of(request).languages[0]
        steps = await launch.checklist(scope, current_language.get(), first)
        return page(
            request,
            "pages/launch.html",
            status_code=status_code,
            member=admin,
            steps=steps,
            ready=launch.ready(steps),
            live=await launch.is_live(scope),
            error=error,
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

    @post("/live")
    async def switch(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template | Redirect:
        answer = (await request.form()).get("live")
        if answer not in ("yes", "no"):
            return await self._page(request, admin, tenant_scope, NO_ANSWER, 422)
        live = answer == "yes"
        if live:
            first = tenant_of(request).languages[0]
            steps = await launch.checklist(tenant_scope, current_language.get(), first)
            if not launch.ready(steps):
                return await self._page(request, admin, tenant_scope, launch.NOT_READY, 422)
        await launch.set_live(tenant_scope, actor_of(admin), live)
        request.app.state.tenant_resolver.forget()
        return Redirect(f"{LAUNCH}?done={'live' if live else 'paused'}", status_code=303)


class EmbedController(Controller):
    path = EMBED
    include_in_schema = False
    dependencies = TOWN_ADMIN_ONLY

    async def _page(
        self,
        request: Request,
        admin: StaffMember,
        scope: TenantScope,
        settings: Settings,
        typed: str | None = None,
        errors: dict | None = None,
        status_code: int = 200,
    ) -> Template:
        options = await catalog.request_types(scope, current_language.get())
        chosen = request.query_params.get("type", "")
        code = chosen if chosen in {option.code for option in options} else ""
        # The town's public address (its own verified name first), whatever host the admin came in on.
        tenant = tenant_of(request)
        portal_url = town_url(tenant, settings, f"/?type={code}" if code else "/")
        origins = typed if typed is not None else "\n".join(await launch.embed_origins(scope))
        return page(
            request,
            "pages/embed.html",
            status_code=status_code,
            member=admin,
            options=options,
            chosen=code,
            portal_url=portal_url,
            portal_origin=town_url(tenant, settings, "/").rstrip("/"),
            values={"origins": origins},
            errors=errors or {},
            done=DONE.get(request.query_params.get("done", ""), ""),
        )

    @get("/")
    async def show(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
        settings: NamedDependency[Settings],
    ) -> Template:
        return await self._page(request, admin, tenant_scope, settings)

    @post("/")
    async def save(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
        settings: NamedDependency[Settings],
    ) -> Template | Redirect:
        typed = str((await request.form()).get("origins", ""))
        origins = launch.parse_origins(typed)
        if origins is None:
            errors = {"origins": launch.BAD_ORIGINS}
            return await self._page(request, admin, tenant_scope, settings, typed, errors, 422)
        await launch.save_origins(tenant_scope, actor_of(admin), origins)
        request.app.state.tenant_resolver.forget()
        return Redirect(f"{EMBED}?done=origins", status_code=303)
