"""The installation's own pages, on the base host only: platform admins sign in and onboard towns.

They belong to no town and reach no town's requests: these routes only create towns and their first admin.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template

from apps import sign_in_flow
from apps.admin.team import invitation_mail, invitation_path, send_invitation
from domain import audit, business_hours, platform, starters, team
from domain.audit import Actor
from domain.intake import BAD_EMAIL, valid_email
from domain.scope import TenantScope
from infra import sessions
from infra.database import cross_tenant
from infra.i18n import N_, current_language
from infra.mail import Mailer
from infra.ratelimit import TOO_MANY_SIGN_INS, RateLimiter
from infra.settings import Settings
from tenants.onboarding import create_tenant, tenant_id_by_slug

SESSION_PLATFORM = "platform_admin_id"
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
PREFIX = re.compile(r"^[A-Z]{2,8}$")
FIELDS = ("name", "slug", "prefix", "starter", "timezone", "contact_email", "admin_name", "admin_email")
NO_STARTER = N_("Choose the kind of municipality: its starter catalogue of departments and request types.")


def _on_base_host(request: Request, settings: Settings) -> None:
    if (request.url.hostname or "").lower() != settings.base_domain.lower():
        raise NotFoundException()


async def _platform_admin(request: Request, settings: Settings) -> platform.PlatformAdministrator | None:
    """The signed-in platform administrator; their session ends on the same timeouts as staff sessions."""
    admin_id = (request.session or {}).get(SESSION_PLATFORM)
    if not admin_id:
        return None
    if sessions.expired(request, settings.session_idle_seconds, settings.session_absolute_seconds):
        request.clear_session()
        return None
    async with cross_tenant("platform pages: who is signed in"):
        return await platform.active_administrator(admin_id)


def _page(template: str, status_code: int = 200, **context) -> Template:
    context.setdefault("errors", {})
    context.setdefault("starters", starters.starters())
    context.setdefault("language", current_language.get())
    return Template(template_name=f"platform/{template}", status_code=status_code, context=context)


class PlatformController(Controller):
    path = "/platform"
    include_in_schema = False

    @get("/login")
    async def login_form(self, request: Request, settings: NamedDependency[Settings]) -> Template:
        _on_base_host(request, settings)
        return _page("login.html", values={"email": ""})

    @post("/login")
    async def login(
        self, request: Request, settings: NamedDependency[Settings], limiter: NamedDependency[RateLimiter]
    ) -> Template | Redirect:
        _on_base_host(request, settings)
        form = await request.form()
        email, password = str(form.get("email", "")).strip().lower(), str(form.get("password", ""))
        if not await sign_in_flow.may_try_password(limiter, request, "platform", email):
            errors = {"email": TOO_MANY_SIGN_INS}
            return _page("login.html", status_code=429, values={"email": email}, errors=errors)
        async with cross_tenant("platform pages: sign in"):
            admin = await platform.authenticate(email, password)
        if admin is None:
            errors = {"email": N_("This email and password do not match a platform administrator.")}
            return _page("login.html", status_code=422, values={"email": email}, errors=errors)
        await sign_in_flow.password_was_right(limiter, request, "platform", email)
        sessions.begin(request, {SESSION_PLATFORM: admin.id})
        return Redirect("/platform/", status_code=303)

    @post("/logout")
    async def logout(self, request: Request) -> Redirect:
        request.clear_session()
        return Redirect("/platform/login", status_code=303)

    @get("/")
    async def home(self, request: Request, settings: NamedDependency[Settings]) -> Template | Redirect:
        _on_base_host(request, settings)
        if await _platform_admin(request, settings) is None:
            return Redirect("/platform/login", status_code=303)
        async with cross_tenant("platform pages: list the towns"):
            towns = await platform.towns()
        return _page("home.html", towns=towns, base_domain=settings.base_domain)

    @get("/towns/new")
    async def new_town(self, request: Request, settings: NamedDependency[Settings]) -> Template | Redirect:
        _on_base_host(request, settings)
        if await _platform_admin(request, settings) is None:
            return Redirect("/platform/login", status_code=303)
        values = {**dict.fromkeys(FIELDS, ""), "timezone": "America/Toronto", "starter": "small-town"}
        return _page("new_town.html", values=values)

    @post("/towns/new")
    async def create_town(
        self, request: Request, settings: NamedDependency[Settings], mailer: NamedDependency[Mailer]
    ) -> Template | Redirect:
        _on_base_host(request, settings)
        if (operator := await _platform_admin(request, settings)) is None:
            return Redirect("/platform/login", status_code=303)
        form = await request.form()
        values = {name: str(form.get(name, "")).strip() for name in FIELDS}
        values["slug"], values["prefix"] = values["slug"].lower(), values["prefix"].upper()
        values["admin_email"], values["contact_email"] = (
            values["admin_email"].lower(),
            values["contact_email"].lower(),
        )
        errors = await _problems(values)
        if errors:
            return _page("new_town.html", status_code=422, values=values, errors=errors)
        actor = Actor(None, f"{operator.name or operator.email} (platform)")
        # One transaction: the town (not live yet), its starter catalogue, and its first administrator's
        # invitation. The administrator gets it ready and switches it live.
        async with cross_tenant(f"platform pages: onboard the town {values['slug']!r}"):
            tenant_id = await create_tenant(
                values["slug"],
                values["name"],
                values["prefix"],
                timezone=values["timezone"],
                contact_email=values["contact_email"],
                live=False,
            )
            scope = TenantScope(tenant_id)
            await starters.seed(scope, values["starter"], ("en", "fr"))
            await audit.record(
                scope, actor, "town.created", values["name"], after={"starter": values["starter"]}
            )
            token = await team.invite(
                scope, actor, values["admin_email"], values["admin_name"], "tenant_admin", []
            )
        host = f"{values['slug']}.{settings.base_domain}"
        link = settings.public_url(host, invitation_path(token))
        sent = await send_invitation(
            mailer, invitation_mail(values["name"], values["admin_name"], values["admin_email"], link)
        )
        return _page(
            "created.html",
            values=values,
            sent=sent,
            invitation_url="" if sent else link,
            portal_url=settings.public_url(host, "/"),
            admin_url=settings.public_url(host, "/admin"),
        )


async def _problems(values: dict) -> dict:
    errors = {}
    if not values["name"]:
        errors["name"] = N_("Enter the municipality's name.")
    if not SLUG.match(values["slug"]):
        errors["slug"] = N_("Use 2 to 63 lower-case letters, digits or hyphens.")
    elif await tenant_id_by_slug(values["slug"]):
        errors["slug"] = N_("Another municipality already has this address.")
    if values["starter"] not in starters.starters():
        errors["starter"] = NO_STARTER
    if not PREFIX.match(values["prefix"]):
        errors["prefix"] = N_("Use 2 to 8 capital letters, e.g. SPR.")
    try:
        ZoneInfo(values["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        errors["timezone"] = business_hours.BAD_ZONE
    if values["contact_email"] and not valid_email(values["contact_email"]):
        errors["contact_email"] = BAD_EMAIL
    if not values["admin_name"]:
        errors["admin_name"] = N_("Enter the name of the town's first administrator.")
    if not valid_email(values["admin_email"]):
        errors["admin_email"] = BAD_EMAIL
    return errors
