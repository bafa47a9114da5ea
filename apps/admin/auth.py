"""Who the staff member is and what they may do: the session holds their id and tenant; both, and the
account's active flag, are checked on every request, so deactivating someone ends their sessions at once.

Two-step sign-in. The session records how its owner signed in; in a town that requires a second step, a
session opened with a password alone (before the town turned the requirement on) ends at its next request.
A member who has not set up an authenticator app yet sees its secret only after the password *and* a link
mailed to their staff address, opened in the same browser: the password alone (phished, guessed, reused)
does not let anyone enrol their own app in the member's name.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import smtplib

from litestar import Request
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException

from apps.pages import scope_of, tenant_of, town_link
from domain import staff as staff_service
from domain.scope import TenantScope
from domain.staff import StaffMember
from infra import ratelimit, sessions
from infra.i18n import N_, gettext
from infra.mail import Mailer, OutgoingMail
from infra.ratelimit import RateLimiter
from infra.settings import Settings

log = logging.getLogger(__name__)
SESSION_STAFF = "staff_id"
SESSION_TENANT = "tenant_id"
SESSION_METHOD = "signed_in_with"
PASSWORD, PASSWORD_AND_CODE, PROVIDER = "password", "password+code", "provider"
# Sign-ins that satisfy a town's two-step requirement: its own provider's, or a password with a code.
SECOND_STEP_DONE = frozenset({PASSWORD_AND_CODE, PROVIDER})
# Half signed in: the password was right, the code (or the enrolment link) is still to come.
PENDING_STAFF, PENDING_TENANT = "pending_staff_id", "pending_tenant_id"
# Signed in with a one-time password: nothing else until the member has chosen their own.
PENDING_PASSWORD = "password_change_staff_id"
ENROL_TOKEN, ENROL_CONFIRMED = "enrol_token", "enrol_confirmed"
PENDING_SECONDS = 600
ENROL_LINK_SENT = N_("We already sent several links. Please wait a few minutes, then sign in again.")
ENROL_NOT_SENT = N_("We could not send the e-mail just now. Please try again in a minute.")


class LoginRequired(NotAuthorizedException):
    """Turned into a redirect to the sign-in page."""


async def current_staff(
    request: Request, settings: NamedDependency[Settings], tenant_scope: NamedDependency[TenantScope]
) -> StaffMember:
    """A dependency: the signed-in, active staff member of *this* tenant, with their access."""
    session = request.session or {}
    if session.get(SESSION_TENANT) != tenant_of(request).id or not session.get(SESSION_STAFF):
        raise LoginRequired()
    if sessions.expired(request, settings.session_idle_seconds, settings.session_absolute_seconds) or (
        tenant_of(request).require_two_factor and session.get(SESSION_METHOD) not in SECOND_STEP_DONE
    ):
        request.clear_session()
        raise LoginRequired()
    member = await staff_service.get_active(tenant_scope, session[SESSION_STAFF])
    if member is None:
        request.clear_session()
        raise LoginRequired()
    return member


def sign_in(request: Request, member: StaffMember, method: str) -> None:
    sessions.begin(
        request, {SESSION_STAFF: member.id, SESSION_TENANT: tenant_of(request).id, SESSION_METHOD: method}
    )


async def begin_second_step(
    request: Request, member: StaffMember, settings: Settings, mailer: Mailer, limiter: RateLimiter
) -> str | None:
    """Half signs the member in; one who has not enrolled yet is mailed their enrolment link. Returns why
    that could not be done, or None."""
    pending: dict[str, int | str] = {PENDING_STAFF: member.id, PENDING_TENANT: tenant_of(request).id}
    if not member.totp_enabled:
        if not await limiter.allow(ratelimit.LINK_PER_EMAIL, f"{tenant_of(request).id}:enrol:{member.id}"):
            return ENROL_LINK_SENT
        token = pending[ENROL_TOKEN] = secrets.token_urlsafe(32)
        try:
            await mailer.send(_enrolment_mail(request, settings, member, token))
        except (OSError, smtplib.SMTPException) as error:
            log.warning("enrolment link not sent: %s", error)
            return ENROL_NOT_SENT
    sessions.begin(request, pending)
    return None


def begin_enrolment(request: Request, member: StaffMember) -> None:
    """Half signs in a member who has just proved their mailbox another way (the invitation link mailed to
    them): they set up their app at once, with no second link."""
    sessions.begin(
        request, {PENDING_STAFF: member.id, PENDING_TENANT: tenant_of(request).id, ENROL_CONFIRMED: True}
    )


def _enrolment_mail(request: Request, settings: Settings, member: StaffMember, token: str) -> OutgoingMail:
    town = tenant_of(request).name
    link = town_link(request, settings, f"/admin/login/enrol/{token}")
    return OutgoingMail(
        to=member.email,
        subject=gettext("Set up two-step sign-in for %(town)s", town=town),
        text=gettext(
            "Hello %(name)s,\n\n%(town)s asks its staff for a second step when they sign in. To set up your "
            "authenticator app, open this link in the browser where you just entered your password, within "
            "ten minutes:\n%(link)s\n\nIf you did not just sign in, someone else knows your password: tell "
            "your administrator.",
            name=member.name,
            town=town,
            link=link,
        ),
        sender_name=town,
    )


async def pending_member(request: Request, step: str = PENDING_STAFF) -> StaffMember | None:
    """The member half-way through signing in (at `step`), in this browser, for this town, not long ago."""
    session = request.session or {}
    if session.get(PENDING_TENANT) != tenant_of(request).id or not session.get(step):
        return None
    if sessions.expired(request, PENDING_SECONDS, PENDING_SECONDS):
        return None
    return await staff_service.get_active(scope_of(request), session[step])


def confirm_enrolment_link(request: Request, token: str) -> bool:
    """True (and remembered) when `token` is the one mailed for this very half-signed-in session."""
    expected = (request.session or {}).get(ENROL_TOKEN) or ""
    if not expected or not hmac.compare_digest(expected.encode(), token.encode()):
        return False
    request.set_session({**request.session, ENROL_CONFIRMED: True})
    return True


def may_enrol(request: Request) -> bool:
    return bool((request.session or {}).get(ENROL_CONFIRMED))
