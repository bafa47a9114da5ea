"""Who an identity from a town's OpenID Connect provider is in the portal.

Staff: the provider's groups decide the role (the most senior mapped group wins); people of the town's
e-mail domains get the default role; anyone else is refused. A deactivated account stays deactivated.
Citizens: a verified e-mail address is their account, as with an e-mail link.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from domain import staff
from domain.intake import valid_email
from domain.permissions import ROLES
from domain.scope import TenantScope
from domain.staff import StaffMember
from domain.tables import Citizen, SignInProvider, StaffUser
from infra.i18n import N_
from infra.oidc import Identity, ProviderConfig
from infra.security import CONTROL_IN_TEXT
from tenants.tables import Tenant

MAX_NAME = 200  # the name columns' length
NO_EMAIL = N_("Your sign-in service did not confirm an e-mail address, which we need to know who you are.")
NOT_STAFF = N_("Your account at the sign-in service gives no access to this municipality's staff workspace.")
DEACTIVATED = N_("Your staff account here is deactivated. Ask your administrator.")


class SignInRefused(Exception):
    """Its message is a msgid to show on the sign-in page."""


@dataclass(frozen=True)
class ProviderSummary:
    """A provider as the settings page lists it (never its secret)."""

    id: int
    audience: str
    label: str
    issuer: str


async def all_providers(scope: TenantScope) -> list[ProviderSummary]:
    rows = await scope.select(
        SignInProvider,
        SignInProvider.id,
        SignInProvider.audience,
        SignInProvider.label,
        SignInProvider.issuer,
    ).order_by(SignInProvider.label)
    return [ProviderSummary(**row) for row in rows]


async def add_provider(
    scope: TenantScope,
    audience: str,
    label: str,
    issuer: str,
    client_id: str,
    client_secret: str,
    group_roles: dict[str, str],
    email_domains: str,
    default_role: str,
) -> None:
    await scope.new(
        SignInProvider,
        audience=audience,
        label=label,
        issuer=issuer,
        client_id=client_id,
        client_secret=client_secret,
        group_roles=group_roles,
        email_domains=email_domains,
        default_role=default_role,
    ).save()


async def remove_provider(scope: TenantScope, provider_id: int) -> bool:
    """False when the town has no such provider."""
    if not await scope.exists(SignInProvider).where(SignInProvider.id == provider_id):
        return False
    await scope.delete(SignInProvider).where(SignInProvider.id == provider_id)
    return True


async def require_two_factor(scope: TenantScope, required: bool) -> None:
    """Staff with a local password must also give a code from an authenticator app."""
    await Tenant.update({Tenant.require_two_factor: required}).where(Tenant.id == scope.tenant_id)


async def providers(scope: TenantScope, audience: str) -> list[dict]:
    return (
        await scope.select(SignInProvider, SignInProvider.id, SignInProvider.label)
        .where((SignInProvider.audience == audience) & SignInProvider.active.eq(True))
        .order_by(SignInProvider.label)
    )


async def provider(scope: TenantScope, provider_id: int, audience: str) -> dict | None:
    return (
        await scope.select(SignInProvider)
        .where(
            (SignInProvider.id == provider_id)
            & (SignInProvider.audience == audience)
            & SignInProvider.active.eq(True)
        )
        .first()
    )


def config_of(row: dict) -> ProviderConfig:
    return ProviderConfig(
        issuer=row["issuer"],
        client_id=row["client_id"],
        client_secret=row["client_secret"],
        scopes=row["scopes"],
    )


def role_for(row: dict, identity: Identity) -> str | None:
    mapped = {(row["group_roles"] or {}).get(group) for group in identity.groups} & set(ROLES)
    for role in ROLES:  # most senior first
        if role in mapped:
            return role
    email = (identity.email or "").strip().lower()
    domain = email.rsplit("@", 1)[-1] if valid_email(email) else ""
    if domain and row["default_role"] in ROLES and domain in row["email_domains"].lower().split():
        return row["default_role"]
    return None


def _verified_email(identity: Identity) -> str:
    """The provider's address, held to the portal's own rule for addresses: it becomes a staff member's or
    citizen's address and is mailed, so one naming two recipients or carrying markup is refused too."""
    email = (identity.email or "").strip().lower()
    if not identity.email_verified or not valid_email(email):
        raise SignInRefused(NO_EMAIL)
    return email


def _display_name(identity: Identity, fallback: str) -> str:
    """The provider's name for the person, without control characters and within the column's length."""
    name = " ".join(CONTROL_IN_TEXT.sub(" ", identity.name or "").split())[:MAX_NAME]
    return name or fallback


async def staff_member(scope: TenantScope, row: dict, identity: Identity) -> StaffMember:
    email = _verified_email(identity)
    role = role_for(row, identity)
    member = (
        await scope.select(StaffUser, StaffUser.id, StaffUser.active, StaffUser.role)
        .where(StaffUser.email == email)
        .first()
    )
    if member is not None and not member["active"]:
        raise SignInRefused(DEACTIVATED)
    if role is None:
        raise SignInRefused(NOT_STAFF)
    if member is None:
        staff_id = await staff.add_member(scope, email, _display_name(identity, email), role)
    else:
        staff_id = member["id"]
        if member["role"] != role:
            await scope.update(StaffUser, {StaffUser.role: role}).where(StaffUser.id == staff_id)
    signed_in = await staff.get_active(scope, staff_id)
    assert signed_in is not None  # active, checked above
    return signed_in


async def citizen(scope: TenantScope, identity: Identity) -> dict:
    email = _verified_email(identity)
    found = await scope.select(Citizen).where(Citizen.email == email).first()
    if found is None:
        await scope.new(
            Citizen, email=email, name=_display_name(identity, ""), verified_at=datetime.now(UTC)
        ).save()
        found = await scope.select(Citizen).where(Citizen.email == email).first()
    return found
