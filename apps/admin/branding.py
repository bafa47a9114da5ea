"""The town administrator's branding: name, colours, logo, public contact and footer links. Plain forms:
they work without JavaScript."""

from __future__ import annotations

import asyncio

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from apps.admin.settings import TOWN_ADMIN_ONLY, actor_of
from apps.pages import page
from domain import branding
from domain.scope import TenantScope
from domain.staff import StaffMember
from infra.i18n import N_
from tenants.onboarding import monogram_logo

PATH = "/admin/settings/branding"
FIELDS = ("name", "brand_color", "brand_text_color", "contact_email", "contact_phone", "footer_links")
DONE = {
    "saved": N_("Your changes are saved; every page shows them now."),
    "logo": N_("The new logo is saved."),
    "monogram": N_("The logo is now the municipality's initial."),
}


class BrandingController(Controller):
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
            "pages/branding.html",
            status_code=status_code,
            member=admin,
            values=values or vars(await branding.current(scope)),
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
    async def save(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template | Redirect:
        form = await request.form()
        values = {name: str(form.get(name, "")).strip() for name in FIELDS}
        values["contact_email"] = values["contact_email"].lower()
        typed = branding.Branding(**values)
        if errors := branding.problems(typed):
            return await self._page(request, admin, tenant_scope, values, errors, 422)
        await branding.save(tenant_scope, actor_of(admin), typed)
        request.app.state.tenant_resolver.forget()
        return Redirect(f"{PATH}?done=saved", status_code=303)

    @post("/logo")
    async def upload_logo(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template | Redirect:
        upload = (await request.form()).get("logo")
        content = await upload.read(branding.MAX_LOGO_BYTES + 1) if isinstance(upload, UploadFile) else b""
        logo = await asyncio.to_thread(branding.logo_from_upload, content)
        if logo is None:
            errors = {"logo": branding.BAD_LOGO}
            return await self._page(request, admin, tenant_scope, errors=errors, status_code=422)
        name = upload.filename[:200] if isinstance(upload, UploadFile) else ""
        await branding.save_logo(tenant_scope, actor_of(admin), logo, name)
        request.app.state.tenant_resolver.forget()
        return Redirect(f"{PATH}?done=logo", status_code=303)

    @post("/logo/monogram")
    async def use_monogram(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
    ) -> Redirect:
        current = await branding.current(tenant_scope)
        logo = monogram_logo(current.name, current.brand_color)
        await branding.save_logo(tenant_scope, actor_of(admin), logo, "")
        request.app.state.tenant_resolver.forget()
        return Redirect(f"{PATH}?done=monogram", status_code=303)
