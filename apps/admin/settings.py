"""The town administrator's sign-in settings: OpenID Connect providers for staff and citizens, and
whether staff with a local password must also give a code from an authenticator app."""

from __future__ import annotations

from urllib.parse import urlparse

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.response import Redirect, Template

from apps.admin.auth import current_staff
from apps.pages import PathId, page, scope_of, tenant_of
from domain import audit, sign_in
from domain.audit import Actor
from domain.permissions import ROLES, TENANT_ADMIN
from domain.scope import TenantScope
from domain.staff import StaffMember
from infra import oidc
from infra.i18n import N_
from infra.settings import Settings

FIELDS = (
    "audience",
    "label",
    "issuer",
    "client_id",
    "client_secret",
    "group_roles",
    "email_domains",
    "default_role",
)
GROUP_FORMAT = N_(
    "Write one group per line as group = role; roles are tenant_admin, supervisor, agent, viewer."
)
# Said on every settings page, not only the sign-in settings'.
ONLY_ADMINS = N_("Only the municipality's administrators can change its settings.")


async def town_admin(request: Request, member: NamedDependency[StaffMember]) -> StaffMember:
    if member.role != TENANT_ADMIN:
        raise PermissionDeniedException(ONLY_ADMINS)
    return member


# The dependencies of every page of a town's configuration: its administrators only.
TOWN_ADMIN_ONLY = {"member": Provide(current_staff), "admin": Provide(town_admin)}


def actor_of(member: StaffMember) -> Actor:
    return Actor(member.id, member.name)


def parse_group_roles(text: str) -> tuple[dict[str, str], str | None]:
    """Lines like `311-admins = tenant_admin`, one group per line."""
    mapping = {}
    for line in filter(None, (line.strip() for line in text.splitlines())):
        group, _, role = (part.strip() for part in line.partition("="))
        if not group or role not in ROLES:
            return {}, GROUP_FORMAT
        mapping[group] = role
    return mapping, None


class SignInSettingsController(Controller):
    path = "/admin/settings/sign-in"
    include_in_schema = False
    dependencies = TOWN_ADMIN_ONLY

    @get("/")
    async def show(self, request: Request, admin: NamedDependency[StaffMember]) -> Template:
        return await self._page(request, admin)

    async def _page(
        self,
        request: Request,
        admin: StaffMember,
        values: dict | None = None,
        errors: dict | None = None,
        status_code: int = 200,
        done: str = "",
    ) -> Template:
        providers = await sign_in.all_providers(scope_of(request))
        return page(
            request,
            "pages/sign_in_settings.html",
            status_code=status_code,
            member=admin,
            providers=providers,
            values=values or {"audience": "staff", "default_role": ""},
            errors=errors or {},
            roles=ROLES,
            done=done or request.query_params.get("done", ""),
        )

    @post("/two-factor")
    async def two_factor(self, request: Request, admin: NamedDependency[StaffMember]) -> Redirect:
        required = (await request.form()).get("required") == "on"
        scope = scope_of(request)
        if required != tenant_of(request).require_two_factor:
            before, after = {"required": not required}, {"required": required}
            await audit.record(
                scope, actor_of(admin), "sign_in.two_factor", tenant_of(request).name, before, after
            )
        await sign_in.require_two_factor(scope, required)
        request.app.state.tenant_resolver.forget()
        return Redirect("/admin/settings/sign-in?done=saved", status_code=303)

    @post("/providers")
    async def add_provider(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        settings: NamedDependency[Settings],
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template | Redirect:
        form = await request.form()
        values = {name: str(form.get(name, "")).strip() for name in FIELDS}
        errors = {}
        if values["audience"] not in ("staff", "citizen"):
            errors["audience"] = N_("Choose who signs in with this provider.")
        if not values["label"]:
            errors["label"] = N_("Give the button a name people recognise, e.g. the provider's name.")
        issuer = urlparse(values["issuer"])
        if issuer.scheme not in ("https", "http") or not issuer.netloc:
            errors["issuer"] = N_("Enter the provider's issuer address, e.g. https://login.example.org.")
        else:
            try:
                await oidc.check_reach(values["issuer"], oidc.Reach.from_settings(settings))
            except oidc.OidcError:
                errors["issuer"] = N_(
                    "The portal only calls providers at an https address on the internet; this address "
                    "is not one, or cannot be found."
                )
        if not values["client_id"] or not values["client_secret"]:
            errors["client_id"] = N_("Enter the client id and secret the provider gave the portal.")
        group_roles, problem = parse_group_roles(values["group_roles"])
        if problem:
            errors["group_roles"] = problem
        if values["default_role"] and values["default_role"] not in ROLES:
            errors["default_role"] = N_("Choose a role, or none.")
        if errors:
            return await self._page(request, admin, values=values, errors=errors, status_code=422)
        await sign_in.add_provider(
            tenant_scope,
            audience=values["audience"],
            label=values["label"],
            issuer=values["issuer"].rstrip("/"),
            client_id=values["client_id"],
            client_secret=values["client_secret"],
            group_roles=group_roles,
            email_domains=values["email_domains"].lower(),
            default_role=values["default_role"],
        )
        shown = {
            name: values[name] for name in ("audience", "label", "issuer", "email_domains", "default_role")
        }
        after = shown | {"group_roles": group_roles}
        await audit.record(
            tenant_scope, actor_of(admin), "sign_in.provider_added", values["label"], after=after
        )
        return Redirect("/admin/settings/sign-in?done=added", status_code=303)

    @post("/providers/{provider_id:int}/remove")
    async def remove_provider(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        provider_id: PathId,
        tenant_scope: NamedDependency[TenantScope],
    ) -> Redirect:
        provider = next((p for p in await sign_in.all_providers(tenant_scope) if p.id == provider_id), None)
        if provider is None or not await sign_in.remove_provider(tenant_scope, provider_id):
            raise NotFoundException()
        before = {"audience": provider.audience, "label": provider.label, "issuer": provider.issuer}
        await audit.record(tenant_scope, actor_of(admin), "sign_in.provider_removed", provider.label, before)
        return Redirect("/admin/settings/sign-in?done=removed", status_code=303)
