"""Who the staff member is and what they may do: the session holds their id and tenant; both, and the
account's active flag, are checked on every request, so deactivating someone ends their sessions at once."""

from __future__ import annotations

from litestar import Request
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException

from apps.pages import tenant_of
from domain import staff as staff_service
from domain.scope import TenantScope
from domain.staff import StaffMember
from infra import sessions
from infra.settings import Settings

SESSION_STAFF = "staff_id"
SESSION_TENANT = "tenant_id"


class LoginRequired(NotAuthorizedException):
    """Turned into a redirect to the sign-in page."""


async def current_staff(
    request: Request, settings: NamedDependency[Settings], tenant_scope: NamedDependency[TenantScope]
) -> StaffMember:
    """A dependency: the signed-in, active staff member of *this* tenant, with their access."""
    session = request.session or {}
    if session.get(SESSION_TENANT) != tenant_of(request).id or not session.get(SESSION_STAFF):
        raise LoginRequired()
    if sessions.expired(request, settings.session_idle_seconds, settings.session_absolute_seconds):
        request.clear_session()
        raise LoginRequired()
    member = await staff_service.get_active(tenant_scope, session[SESSION_STAFF])
    if member is None:
        request.clear_session()
        raise LoginRequired()
    return member


def sign_in(request: Request, member: StaffMember) -> None:
    sessions.begin(request, {SESSION_STAFF: member.id, SESSION_TENANT: tenant_of(request).id})
