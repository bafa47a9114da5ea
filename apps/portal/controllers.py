"""The citizen's pages: the request form, the confirmation and status page, the receipt, the language."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Response, Template

from apps.pages import PathId, page, scope_of, tenant_of, workflow_start
from apps.portal.account import signed_in_citizen
from domain import attachments, catalog, followers, intake, lifecycle, submissions
from domain import requests as request_service
from domain import timeline as request_timeline
from domain.scope import TenantScope
from infra import ratelimit
from infra.i18n import N_, current_language
from infra.ratelimit import RateLimiter
from infra.settings import Settings
from tenants.middleware import LANGUAGE_COOKIE
from workflows.client import ActionPending, TemporalGateway, TemporalUnavailable
from workflows.service_request import contract

FORM_ORDER = ["form", *intake.FIELDS]  # "form": problems with the whole submission
CITIZEN_UPDATES = {
    "cancel": contract.CANCEL,
    "reply": contract.REPLY,
    "reopen": contract.REOPEN,
    "comment": contract.CITIZEN_COMMENT,
}
# Adding to a request takes its author, signed in; following takes any signed-in citizen.
AUTHOR_ONLY = frozenset({"comment", "photo"})
SIGNED_IN_ONLY = AUTHOR_ONLY | {"follow", "unfollow"}
NOT_AUTHOR = N_(
    "Only the person who made this request can add to it. Sign in with the address it was made with."
)
# Each addition a citizen makes to their own request counts against its own limit.
ADDITION_LIMITS = {"comment": ratelimit.COMMENTS_PER_AUTHOR, "photo": ratelimit.PHOTOS_PER_AUTHOR}
CITIZEN_DONE = {
    "comment": N_("Your comment was added and the team was told."),
    "photo": N_("Your photo was added."),
    "follow": N_("You will receive an e-mail at each public step of this request."),
    "unfollow": N_("You will no longer receive e-mails about this request."),
    "cancel": N_("Your request is cancelled. We sent you a confirmation."),
    "reply": N_("Thank you, your answer was sent to the team handling your request."),
    "reopen": N_("Your request is open again; the team that handled it has been told."),
}
TOO_MANY = N_("We received many requests from you in a short time. Please wait a few minutes and send again.")
TOO_MANY_LOOKUPS = N_("Too many attempts to look up a request. Wait fifteen minutes, then try again.")
UNAVAILABLE = N_("We could not record this just now and nothing was changed. Please try again in a minute.")


class PortalController(Controller):
    include_in_schema = False

    @get("/")
    async def form(
        self,
        request: Request,
        tenant_scope: NamedDependency[TenantScope],
        chosen_type: Annotated[str, QueryParameter(name="type")] = "",
    ) -> Template:
        """`?type=pothole` opens the form with that type chosen: a link from the town's "Roads" page."""
        values = intake.clean_form({})
        values["idempotency_key"] = intake.new_idempotency_key()
        if chosen_type and await catalog.offered_type(tenant_scope, chosen_type[:63]):
            values["request_type"] = chosen_type[:63]
        if citizen := await signed_in_citizen(request):
            values |= {
                "contact_name": citizen["name"],
                "contact_email": citizen["email"],
                "contact_phone": citizen["phone"],
            }
        return await self._form_page(request, values, {})

    @post("/requests")
    async def submit(
        self,
        request: Request,
        temporal: NamedDependency[TemporalGateway],
        limiter: NamedDependency[RateLimiter],
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template | Redirect:
        tenant = tenant_of(request)
        values = intake.clean_form(await request.form())
        offered = await catalog.offered_type(tenant_scope, values["request_type"])
        submission, errors = intake.validate_submission(
            values, {values["request_type"]: offered["needs_location"]} if offered else {}
        )
        address = request.client.host if request.client else ""
        allowed = await limiter.allow(ratelimit.SUBMIT_PER_ADDRESS, f"{tenant.id}:{address}")
        if allowed and submission:
            allowed = await limiter.allow(
                ratelimit.SUBMIT_PER_EMAIL, f"{tenant.id}:{submission.contact_email}"
            )
        if not allowed:
            return await self._form_page(request, values, {"form": TOO_MANY}, status_code=429)
        if submission is None:
            return await self._form_page(request, values, errors, status_code=422)
        result = await submissions.submit(
            tenant_scope,
            tenant.reference_prefix,
            submission,
            current_language.get(),
            request_type_id=offered["id"] if offered else None,
        )
        background = workflow_start(temporal, tenant, result)
        return Redirect(f"/status/{result.public_token}?new=1", status_code=303, background=background)

    async def _form_page(
        self, request: Request, values: dict, errors: dict, status_code: int = 200
    ) -> Template:
        options = await catalog.request_types(scope_of(request), current_language.get())
        return page(
            request,
            "submit.html",
            status_code=status_code,
            values=values,
            errors=errors,
            field_order=FORM_ORDER,
            type_groups=catalog.grouped_by_category(options),
            location_type_names=[option.name for option in options if option.needs_location],
        )

    @get("/status/{token:str}")
    async def status(
        self,
        request: Request,
        token: FromPath[str],
        tenant_scope: NamedDependency[TenantScope],
        new: FromQuery[int] = 0,
    ) -> Template:
        return await self._status_page(request, token, just_submitted=bool(new))

    @post("/status/{token:str}/{action:str}")
    async def citizen_action(
        self,
        request: Request,
        token: FromPath[str],
        action: FromPath[str],
        temporal: NamedDependency[TemporalGateway],
        tenant_scope: NamedDependency[TenantScope],
        limiter: NamedDependency[RateLimiter],
        settings: NamedDependency[Settings],
    ) -> Template | Redirect:
        """The citizen's actions on a request. Cancel, reply and reopen need the status page's key (its
        address); comment and photo need its author signed in; follow needs any signed-in citizen."""
        item = await request_service.get_by_token(tenant_scope, token)
        if item is None or action not in CITIZEN_UPDATES.keys() | SIGNED_IN_ONLY:
            raise NotFoundException()
        form = await request.form()
        body = str(form.get("body", "")).strip()[:5000]
        if action in SIGNED_IN_ONLY:
            citizen = await signed_in_citizen(request)
            if citizen is None:
                return Redirect("/account/sign-in", status_code=303)
            if action in AUTHOR_ONLY and citizen["email"] != item.contact_email:
                return await self._status_page(request, token, error=(action, NOT_AUTHOR), body=body)
            author = f"{tenant_of(request).id}:{item.id}:{citizen['email']}"
            if action in AUTHOR_ONLY and not await limiter.allow(ADDITION_LIMITS[action], author):
                return await self._status_page(
                    request, token, error=(action, TOO_MANY), body=body, status_code=429
                )
            if action == "follow":
                await followers.follow(tenant_scope, item.id, citizen["email"], citizen["language"])
            elif action == "unfollow":
                await followers.unfollow(tenant_scope, item.id, citizen["email"])
            elif action == "photo":
                upload = form.get("photo")
                content = await upload.read() if isinstance(upload, UploadFile) else b""
                try:
                    await attachments.add_photo(tenant_scope, item.id, content, settings.photos_per_request)
                except attachments.PhotoRefused as refused:
                    return await self._status_page(request, token, error=(action, str(refused)))
            if action != "comment":
                return Redirect(f"/status/{token}?done={action}", status_code=303)
        try:
            await temporal.act(
                tenant_of(request).slug,
                item.reference,
                CITIZEN_UPDATES[action],
                contract.CitizenCommand(body=body),
            )
        except (lifecycle.TransitionRefused, ActionPending) as refused:
            return await self._status_page(request, token, error=(action, str(refused)), body=body)
        except TemporalUnavailable:
            return await self._status_page(request, token, error=(action, UNAVAILABLE), body=body)
        return Redirect(f"/status/{token}?done={action}", status_code=303)

    async def _status_page(
        self,
        request: Request,
        token: str,
        just_submitted: bool = False,
        error: tuple | None = None,
        body: str = "",
        status_code: int = 409,
    ) -> Template:
        scope = scope_of(request)
        item = await request_service.get_by_token(scope, token)
        if item is None:
            raise NotFoundException()
        now = datetime.now(UTC)
        done = request.query_params.get("done", "")
        citizen = await signed_in_citizen(request)
        return page(
            request,
            "status.html",
            status_code=status_code if error else 200,
            item=request_service.localise(item, current_language.get()),
            just_submitted=just_submitted,
            timeline=await request_timeline.timeline(scope, item.id, public_only=True),
            has_receipt=await attachments.has_document(scope, item.id, "receipt"),
            can_cancel=lifecycle.CANCEL in lifecycle.allowed_actions(item.status),
            can_reply=lifecycle.REPLY in lifecycle.allowed_actions(item.status),
            can_reopen=item.status == lifecycle.CLOSED and item.reopen_until and item.reopen_until > now,
            error=error,
            body=body,
            flash=CITIZEN_DONE.get(done, ""),
            citizen=citizen,
            own=citizen is not None and citizen["email"] == item.contact_email,
            following=citizen is not None and await followers.is_following(scope, item.id, citizen["email"]),
            photos=await attachments.photos(scope, item.id),
        )

    @get("/status/{token:str}/photos/{photo_id:int}")
    async def photo(
        self,
        request: Request,
        token: FromPath[str],
        photo_id: PathId,
        tenant_scope: NamedDependency[TenantScope],
    ) -> Response:
        item = await request_service.get_by_token(tenant_scope, token)
        found = item and await attachments.photo(tenant_scope, item.id, photo_id)
        if not found:
            raise NotFoundException()
        # Shown in the page, never run (and nosniff on every answer); a name made here, not the upload's.
        filename = f"photo-{photo_id}.{attachments.PHOTO_TYPES.get(found['content_type'], 'bin')}"
        return Response(
            bytes(found["content"]),
            media_type=found["content_type"],
            headers={"Content-Disposition": f'inline; filename="{filename}"'},
        )

    @get("/status/{token:str}/receipt.pdf")
    async def receipt(
        self, request: Request, token: FromPath[str], tenant_scope: NamedDependency[TenantScope]
    ) -> Response:
        item = await request_service.get_by_token(tenant_scope, token)
        document = item and await attachments.get_document(tenant_scope, item.id, "receipt")
        if not document:
            raise NotFoundException()
        return Response(
            bytes(document["content"]),
            media_type=document["content_type"],
            headers={"Content-Disposition": f'inline; filename="{document["filename"]}"'},
        )

    @get("/status")
    async def lookup_form(self, request: Request) -> Template:
        return page(request, "lookup.html", values={"reference": "", "email": ""})

    @post("/status")
    async def lookup(
        self,
        request: Request,
        tenant_scope: NamedDependency[TenantScope],
        limiter: NamedDependency[RateLimiter],
    ) -> Template | Redirect:
        """Whether the reference is unknown or made with another address, the answer is the same; and the
        attempts are counted, so nobody can try addresses until they learn who made a request."""
        form = await request.form()
        values = {name: str(form.get(name, "")).strip() for name in ("reference", "email")}
        errors = {}
        if not values["reference"]:
            errors["reference"] = N_("Enter the reference number.")
        if not values["email"]:
            errors["email"] = N_("Enter the email address you used.")
        if errors:
            return page(request, "lookup.html", status_code=422, values=values, errors=errors)
        tenant_id = tenant_of(request).id
        address = request.client.host if request.client else ""
        reference = values["reference"].upper()
        if not await limiter.allow(ratelimit.LOOKUP_PER_ADDRESS, f"{tenant_id}:{address}") or not (
            await limiter.allow(ratelimit.LOOKUP_PER_REFERENCE, f"{tenant_id}:{reference}")
        ):
            errors = {"reference": TOO_MANY_LOOKUPS}
            return page(request, "lookup.html", status_code=429, values=values, errors=errors)
        item = await request_service.get_by_reference(tenant_scope, reference)
        if item and item.contact_email == values["email"].lower():
            return Redirect(f"/status/{item.public_token}", status_code=303)
        errors = {"reference": N_("No request matches this reference and email address.")}
        return page(request, "lookup.html", status_code=422, values=values, errors=errors)

    @get("/lang/{code:str}")
    async def language(
        self,
        request: Request,
        code: FromPath[str],
        settings: NamedDependency[Settings],
        next: FromQuery[str] = "/",
    ) -> Redirect:
        response = Redirect(same_site_path(next), status_code=303)
        if code in tenant_of(request).languages:
            response.set_cookie(
                LANGUAGE_COOKIE,
                code,
                max_age=365 * 24 * 3600,
                samesite="lax",
                httponly=True,
                secure=not settings.development,
            )
        return response


def same_site_path(target: str) -> str:
    """A path on this site, or the home page: browsers read `//host` and `/\\host` as another site."""
    return target if target.startswith("/") and not target.startswith(("//", "/\\")) else "/"
