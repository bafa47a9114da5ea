"""The town administrator's map and addresses: the gazetteer (address points and streets, imported from CSV
or GeoJSON files), the municipal boundary, and the optional tile server and outside geocoder. Plain forms:
they work without JavaScript."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from apps.admin.settings import TOWN_ADMIN_ONLY, actor_of
from apps.pages import page
from domain import places
from domain.place_files import MAX_BOUNDARY_BYTES, MAX_FILE_BYTES, NO_BOUNDARY_FILE, NO_FILE
from domain.scope import TenantScope
from domain.staff import StaffMember
from infra.i18n import N_

PATH = "/admin/settings/places"
MAP_FIELDS = ("tile_url", "tile_attribution", "geocoder_url")
MAX_FILES = 5
# The import's form: a city's files, 50 MB in all, and room for the form's own parts. (The form is read
# before anyone is known to be its town's administrator: to check its CSRF token.)
IMPORT_MAX_BODY = MAX_FILE_BYTES + 1_000_000
DONE = {
    "boundary": N_("The boundary is saved. Places outside it are refused from now on."),
    "boundary_removed": N_("The boundary is removed. Places anywhere are accepted."),
    "map": N_("The map settings are saved."),
}
IMPORTED = N_("Imported. Addresses and streets in the list now: %(count)s.")
NOT_IMPORTED = N_("Nothing was imported and the list is as it was. Correct the file and upload it again.")
TOO_MANY_FILES = N_("Upload at most five files at once.")


class PlacesController(Controller):
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
        problems: list[str] | None = None,
        status_code: int = 200,
    ) -> Template:
        summary = await places.summary(scope)
        imported = request.query_params.get("imported", "")
        return page(
            request,
            "pages/places.html",
            status_code=status_code,
            member=admin,
            summary=summary,
            values=values or {name: getattr(summary, name) for name in MAP_FIELDS},
            errors=errors or {},
            problems=problems or [],
            done=DONE.get(request.query_params.get("done", ""), ""),
            imported=int(imported) if imported.isdigit() else None,
            imported_message=IMPORTED,
        )

    @get("/")
    async def show(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template:
        return await self._page(request, admin, tenant_scope)

    @post("/import", request_max_body_size=IMPORT_MAX_BODY)
    async def import_places(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template | Redirect:
        """The files replace the town's gazetteer, or, with any problem in them, change nothing."""
        uploads = [
            item for item in (await request.form()).getall("places", []) if isinstance(item, UploadFile)
        ]
        uploads = [upload for upload in uploads if upload.filename]
        problems: list[str] = []
        if not uploads or len(uploads) > MAX_FILES:
            errors = {"places": TOO_MANY_FILES if uploads else NO_FILE}
        else:
            files = [(await upload.read(MAX_FILE_BYTES + 1), upload.filename[:200]) for upload in uploads]
            count, problems = await places.import_files(tenant_scope, actor_of(admin), files)
            errors = {"places": NOT_IMPORTED} if problems else {}
        if errors:
            return await self._page(
                request, admin, tenant_scope, errors=errors, problems=problems, status_code=422
            )
        return Redirect(f"{PATH}?imported={count}", status_code=303)

    @post("/boundary")
    async def upload_boundary(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template | Redirect:
        upload = (await request.form()).get("boundary")
        content = await upload.read(MAX_BOUNDARY_BYTES + 1) if isinstance(upload, UploadFile) else b""
        name = upload.filename[:200] if isinstance(upload, UploadFile) else ""
        problems = (
            await places.import_boundary(tenant_scope, actor_of(admin), content, name)
            if content
            else [NO_BOUNDARY_FILE]
        )
        if problems:
            errors = {"boundary": problems[0]}
            return await self._page(request, admin, tenant_scope, errors=errors, status_code=422)
        return Redirect(f"{PATH}?done=boundary", status_code=303)

    @post("/boundary/remove")
    async def remove_boundary(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
    ) -> Redirect:
        await places.set_map(tenant_scope, actor_of(admin), boundary=None)
        return Redirect(f"{PATH}?done=boundary_removed", status_code=303)

    @post("/map")
    async def save_map(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template | Redirect:
        form = await request.form()
        values = {name: str(form.get(name, "")).strip() for name in MAP_FIELDS}
        tile_url, tile_attribution, geocoder_url = (values[name] for name in MAP_FIELDS)
        if errors := await places.map_problems(tile_url, tile_attribution, geocoder_url):
            return await self._page(request, admin, tenant_scope, values, errors, status_code=422)
        await places.set_map(
            tenant_scope,
            actor_of(admin),
            tile_url=tile_url,
            tile_attribution=tile_attribution,
            geocoder_url=geocoder_url,
        )
        return Redirect(f"{PATH}?done=map", status_code=303)
