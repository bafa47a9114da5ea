"""The town administrator's business calendar: time zone and weekly hours, holidays one by one or a
year's list from an iCalendar file. Plain forms: they work without JavaScript."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from apps.admin.settings import TOWN_ADMIN_ONLY, actor_of
from apps.pages import page
from domain import business_hours
from domain.audit import DAY_LABELS
from domain.calendar import DAY_NAMES
from domain.scope import TenantScope
from domain.staff import StaffMember
from infra.i18n import N_

DONE = {
    "saved": N_("Your changes are saved. Requests routed from now on follow them."),
    "removed": N_("The holiday is removed."),
}
ADDED = N_("Holidays added: %(count)s.")
MAX_ICAL_BYTES = 1_000_000
PATH = "/admin/settings/calendar"


class CalendarController(Controller):
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
        calendar = await business_hours.current(scope)
        added = request.query_params.get("added", "")
        return page(
            request,
            "pages/calendar.html",
            status_code=status_code,
            member=admin,
            calendar=calendar,
            values=values or {"timezone": calendar.timezone, **calendar.hours},
            errors=errors or {},
            days=DAY_NAMES,
            day_labels=DAY_LABELS,
            done=DONE.get(request.query_params.get("done", ""), ""),
            added=int(added) if added.isdigit() else None,
            added_message=ADDED,
        )

    @get("/")
    async def show(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template:
        return await self._page(request, admin, tenant_scope)

    @post("/hours")
    async def save_hours(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template | Redirect:
        form = await request.form()
        values = {name: str(form.get(name, "")).strip() for name in ("timezone", *DAY_NAMES)}
        calendar, errors = business_hours.parse_hours(values["timezone"], values)
        if calendar is None:
            return await self._page(request, admin, tenant_scope, values, errors, 422)
        await business_hours.save_hours(tenant_scope, actor_of(admin), calendar)
        request.app.state.tenant_resolver.forget()
        return Redirect(f"{PATH}?done=saved", status_code=303)

    @post("/holidays")
    async def add_holiday(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template | Redirect:
        typed = str((await request.form()).get("holiday", ""))
        day = business_hours.parse_date(typed)
        if day is None:
            errors = {"holiday": business_hours.BAD_DATE}
            return await self._page(request, admin, tenant_scope, {"holiday": typed}, errors, 422)
        if not await business_hours.add_holidays(tenant_scope, actor_of(admin), [day], day.isoformat()):
            errors = {"holiday": business_hours.ALREADY_HOLIDAY}
            return await self._page(request, admin, tenant_scope, {"holiday": typed}, errors, 422)
        request.app.state.tenant_resolver.forget()
        return Redirect(f"{PATH}?added=1", status_code=303)

    @post("/holidays/import")
    async def import_holidays(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template | Redirect:
        upload = (await request.form()).get("file")
        content = await upload.read(MAX_ICAL_BYTES + 1) if isinstance(upload, UploadFile) else b""
        days = business_hours.days_in_ical(content) if 0 < len(content) <= MAX_ICAL_BYTES else None
        if not days:
            problem = business_hours.NO_DAYS if days == [] else business_hours.BAD_FILE
            return await self._page(request, admin, tenant_scope, errors={"file": problem}, status_code=422)
        name = upload.filename if isinstance(upload, UploadFile) else ""
        count = await business_hours.add_holidays(tenant_scope, actor_of(admin), days, name[:200])
        request.app.state.tenant_resolver.forget()
        return Redirect(f"{PATH}?added={count}", status_code=303)

    @post("/holidays/remove")
    async def remove_holiday(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
    ) -> Redirect:
        day = str((await request.form()).get("holiday", ""))
        await business_hours.remove_holiday(tenant_scope, actor_of(admin), day)
        request.app.state.tenant_resolver.forget()
        return Redirect(f"{PATH}?done=removed", status_code=303)
