"""Before a town goes live the public sees "coming soon"; its signed-in staff see the portal as it will be."""

from __future__ import annotations

from litestar import Request
from litestar.response import Template

from apps.admin.auth import SESSION_STAFF, SESSION_TENANT
from apps.pages import page

# The staff workspace (where the town gets ready) and the language choice stay open; assets, the health
# check and the platform's pages have no town at all (apps.web.EXEMPT_FROM_TENANT). The integration API
# takes a key, so the town can connect its maintenance system before it opens; Open311's public data
# answers as an unknown town would until then (apps/api/open311.py).
OPEN_BEFORE_LIVE = ("/admin", "/lang/", "/api/", "/open311/")


async def coming_soon(request: Request) -> Template | None:
    """A `before_request` hook: it answers instead of the route, or lets the route answer (None)."""
    tenant = request.scope.get("state", {}).get("tenant")
    if tenant is None or tenant.live or request.url.path.startswith(OPEN_BEFORE_LIVE):
        return None
    session = request.session or {}
    if session.get(SESSION_TENANT) == tenant.id and session.get(SESSION_STAFF):
        return None
    return page(request, "coming_soon.html")
