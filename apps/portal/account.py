"""Citizens' accounts: sign in with an e-mail link, see "my requests", keep or take away their data."""

from __future__ import annotations

import json
import logging
import smtplib
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotAuthorizedException, NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template

from apps import sign_in_flow
from apps.pages import PathId, QueryId, page, scope_of, tenant_of, town_link
from domain import citizens, sign_in
from domain import requests as request_service
from domain.intake import BAD_EMAIL, PHONE_PATTERN, valid_email
from domain.scope import TenantScope
from infra import oidc, ratelimit, sessions
from infra.i18n import N_, SUPPORTED_LANGUAGES, current_language, gettext
from infra.mail import Mailer, OutgoingMail
from infra.ratelimit import RateLimiter
from infra.settings import Settings

log = logging.getLogger(__name__)
SESSION_CITIZEN = "citizen_id"
SESSION_TENANT = "citizen_tenant_id"
TOO_MANY = N_("We already sent several links. Please wait a few minutes, then ask again.")
NOT_SENT = N_("We could not send the e-mail just now. Please try again in a minute.")
PROVIDER_FAILED = N_("Signing in with that service did not work. Please try again, or use an e-mail link.")
BAD_LINK = N_("This sign-in link has expired or was already used. Ask for a new one below.")


class SignInRequired(NotAuthorizedException):
    """Turned into a redirect to the citizen's sign-in page."""


async def current_citizen(
    request: Request, settings: NamedDependency[Settings], tenant_scope: NamedDependency[TenantScope]
) -> dict:
    session = request.session or {}
    if session.get(SESSION_TENANT) != tenant_of(request).id or not session.get(SESSION_CITIZEN):
        raise SignInRequired()
    if sessions.expired(request, settings.citizen_session_seconds, settings.citizen_session_seconds):
        request.clear_session()
        raise SignInRequired()
    citizen = await citizens.get(tenant_scope, session[SESSION_CITIZEN])
    if citizen is None:
        request.clear_session()
        raise SignInRequired()
    return citizen


async def signed_in_citizen(request: Request) -> dict | None:
    """The citizen if signed in, else None: for pages that anyone may see (the request form)."""
    session = request.session or {}
    if session.get(SESSION_TENANT) != tenant_of(request).id or not session.get(SESSION_CITIZEN):
        return None
    return await citizens.get(scope_of(request), session[SESSION_CITIZEN])


class AccountController(Controller):
    path = "/account"
    include_in_schema = False
    dependencies = {"citizen": Provide(current_citizen)}

    @get("/sign-in")
    async def sign_in_form(self, request: Request, tenant_scope: NamedDependency[TenantScope]) -> Template:
        return await self._sign_in_page(request)

    async def _sign_in_page(
        self, request: Request, values: dict | None = None, errors: dict | None = None, status_code: int = 200
    ) -> Template:
        return page(
            request,
            "account/sign_in.html",
            status_code=status_code,
            values=values or {"email": ""},
            errors=errors or {},
            providers=await sign_in.providers(scope_of(request), "citizen"),
        )

    @get("/oidc/{provider_id:int}")
    async def oidc_start(
        self,
        request: Request,
        provider_id: PathId,
        settings: NamedDependency[Settings],
        tenant_scope: NamedDependency[TenantScope],
    ) -> Redirect:
        row = await sign_in.provider(tenant_scope, provider_id, "citizen")
        if row is None:
            raise NotFoundException()
        return await sign_in_flow.start(request, settings, row, "/account/oidc/callback")

    @get("/oidc/callback")
    async def oidc_callback(
        self, request: Request, tenant_scope: NamedDependency[TenantScope]
    ) -> Template | Redirect:
        try:
            _, identity = await sign_in_flow.finish(request, "citizen")
            citizen = await sign_in.citizen(tenant_scope, identity)
        except (oidc.OidcError, sign_in.SignInRefused) as error:
            log.info("citizen sign-in refused: %s", error)
            message = str(error) if isinstance(error, sign_in.SignInRefused) else PROVIDER_FAILED
            return await self._sign_in_page(request, errors={"email": message}, status_code=400)
        sessions.begin(request, {SESSION_CITIZEN: citizen["id"], SESSION_TENANT: tenant_of(request).id})
        return Redirect("/account/requests", status_code=303)

    @post("/sign-in")
    async def send_link(
        self,
        request: Request,
        limiter: NamedDependency[RateLimiter],
        mailer: NamedDependency[Mailer],
        settings: NamedDependency[Settings],
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template:
        tenant = tenant_of(request)
        email = str((await request.form()).get("email", "")).strip().lower()
        values = {"email": email}
        if not valid_email(email):
            errors = {"email": BAD_EMAIL}
            return await self._sign_in_page(request, values, errors, status_code=422)
        address = request.client.host if request.client else ""
        if not await limiter.allow(ratelimit.LINK_PER_ADDRESS, f"{tenant.id}:{address}") or not (
            await limiter.allow(ratelimit.LINK_PER_EMAIL, f"{tenant.id}:{email}")
        ):
            return page(
                request, "account/sign_in.html", status_code=429, values=values, errors={"email": TOO_MANY}
            )
        token = await citizens.new_sign_in_link(tenant_scope, email)
        link = town_link(request, settings, f"/account/link/{token}")
        mail = OutgoingMail(
            to=email,
            subject=gettext("Your sign-in link for %(town)s", town=tenant.name),
            text=gettext(
                "Hello,\n\nTo sign in to %(town)s's service requests, open this link within 15 minutes:\n"
                "%(link)s\n\nIf you did not ask for it, ignore this message: "
                "nothing happens without the link.",
                town=tenant.name,
                link=link,
            ),
            sender_name=tenant.name,
        )
        try:
            await mailer.send(mail)
        except (OSError, smtplib.SMTPException) as error:
            log.warning("sign-in link not sent: %s", error)
            return page(
                request, "account/sign_in.html", status_code=503, values=values, errors={"email": NOT_SENT}
            )
        # The same answer whether or not the address is known: the page tells nobody who has an account.
        return page(request, "account/check_email.html", email=email)

    @get("/link/{token:str}")
    async def confirm_link(
        self, request: Request, token: FromPath[str], tenant_scope: NamedDependency[TenantScope]
    ) -> Template:
        """A page with a button: mail scanners that fetch links must not use up the single-use link."""
        if not await citizens.link_is_usable(tenant_scope, token):
            return await self._sign_in_page(request, errors={"email": BAD_LINK}, status_code=410)
        return page(request, "account/confirm.html", token=token)

    @post("/link/{token:str}")
    async def use_link(
        self, request: Request, token: FromPath[str], tenant_scope: NamedDependency[TenantScope]
    ) -> Template | Redirect:
        citizen = await citizens.redeem(tenant_scope, token)
        if citizen is None:
            return await self._sign_in_page(request, errors={"email": BAD_LINK}, status_code=410)
        sessions.begin(request, {SESSION_CITIZEN: citizen["id"], SESSION_TENANT: tenant_of(request).id})
        return Redirect("/account/requests", status_code=303)

    @post("/sign-out")
    async def sign_out(self, request: Request) -> Redirect:
        request.clear_session()
        return Redirect("/", status_code=303)

    @get("/requests")
    async def my_requests(
        self,
        request: Request,
        citizen: NamedDependency[dict],
        tenant_scope: NamedDependency[TenantScope],
        before: QueryId = None,
    ) -> Template:
        language = current_language.get()
        size = citizens.MY_REQUESTS_PAGE_SIZE
        rows = await citizens.their_requests(tenant_scope, citizen["email"], before, limit=size + 1)
        return page(
            request,
            "account/requests.html",
            citizen=citizen,
            rows=[request_service.localise(row, language) for row in rows[:size]],
            next_before=rows[size - 1].id if len(rows) > size else None,
            first_page=before is None,
        )

    @get("/")
    async def account(self, request: Request, citizen: NamedDependency[dict]) -> Template:
        return page(
            request,
            "account/account.html",
            citizen=citizen,
            values=citizen,
            done=request.query_params.get("done"),
        )

    @post("/")
    async def save_account(
        self, request: Request, citizen: NamedDependency[dict], tenant_scope: NamedDependency[TenantScope]
    ) -> Template | Redirect:
        form = await request.form()
        values: dict[str, Any] = {
            "name": str(form.get("name", "")).strip()[:200],
            "phone": str(form.get("phone", "")).strip(),
            "language": str(form.get("language", "")),
            "notify_each_step": form.get("notify") != "closure",
        }
        errors = {}
        if values["phone"] and not PHONE_PATTERN.match(values["phone"]):
            errors["phone"] = N_("Enter a phone number using digits, spaces, + or -.")
        if values["language"] not in SUPPORTED_LANGUAGES:
            errors["language"] = N_("Choose a language.")
        if errors:
            return page(
                request,
                "account/account.html",
                status_code=422,
                citizen=citizen,
                values={**citizen, **values},
                errors=errors,
            )
        await citizens.update_profile(tenant_scope, citizen["id"], **values)
        return Redirect("/account?done=saved", status_code=303)

    @get("/data.json")
    async def download(
        self, request: Request, citizen: NamedDependency[dict], tenant_scope: NamedDependency[TenantScope]
    ) -> Response:
        data = await citizens.export(tenant_scope, citizen)
        return Response(
            json.dumps(data, ensure_ascii=False, indent=2),
            media_type="application/json",
            headers={"Content-Disposition": 'attachment; filename="my-data.json"'},
        )

    @post("/delete")
    async def delete(
        self, request: Request, citizen: NamedDependency[dict], tenant_scope: NamedDependency[TenantScope]
    ) -> Template | Redirect:
        if (await request.form()).get("confirm") != "yes":
            errors = {"confirm": N_("Tick the box to confirm that you want to delete your account.")}
            return page(
                request,
                "account/account.html",
                status_code=422,
                citizen=citizen,
                values=citizen,
                errors=errors,
            )
        await citizens.delete_account(tenant_scope, citizen)
        request.clear_session()
        return page(request, "account/deleted.html")
