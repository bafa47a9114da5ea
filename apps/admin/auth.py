"""Who the staff member is: the session holds their id and tenant; both are checked on every request."""

from __future__ import annotations

from litestar import Request
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from apps.pages import scope_of, tenant_of
from domain import staff as staff_service

SESSION_STAFF = "staff_id"
SESSION_TENANT = "tenant_id"


class LoginRequired(NotAuthorizedException):
    """Turned into a redirect to the sign-in page."""


async def current_staff(request: Request) -> dict:
    """A dependency: the signed-in staff member of *this* tenant, or LoginRequired."""
    session = request.session or {}
    if session.get(SESSION_TENANT) != tenant_of(request).id or not session.get(SESSION_STAFF):
        raise LoginRequired()
    member = await staff_service.get_active(scope_of(request), session[SESSION_STAFF])
    if member is None:
        request.clear_session()
        raise LoginRequired()
    return member


def require_acting(member: dict) -> None:
    if not staff_service.can_act(member):
        raise PermissionDeniedException("viewers cannot change requests")
