"""The open requests near a citizen's place, and their "me too". The list sits inside the request form (the
form page includes partials/nearby.html, and its script fetches the same partial here as the place or the
type changes), so a "Me too" button posts that whole form: the e-mail address already typed in it, and
everything else, which an error page carries back to the form untouched."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from apps.pages import page, tenant_of
from apps.portal.account import signed_in_citizen
from domain import attachments, catalog, nearby
from domain import requests as request_service
from domain.intake import BAD_EMAIL, valid_email
from domain.scope import TenantScope
from infra import ratelimit
from infra.i18n import N_, current_language
from infra.ratelimit import RateLimiter
from infra.settings import Settings
from infra.storage import Storage

NEEDS_EMAIL = N_("Enter your email address: we tell you there at each public step of this request.")
TOO_MANY = N_("Many requests came from you in a short time. Please wait a few minutes and try again.")
# The request form's fields are carried back as they were posted; more than this is not a person's form.
MOST_CARRIED = 500
NOT_CARRIED = frozenset({"_csrf_token", "refresh"})


class NearbyController(Controller):
    include_in_schema = False

    @get("/requests/nearby")
    async def nearby(
        self,
        request: Request,
        tenant_scope: NamedDependency[TenantScope],
        latitude: Annotated[float, QueryParameter(ge=-90, le=90)],
        longitude: Annotated[float, QueryParameter(ge=-180, le=180)],
        chosen_type: Annotated[str, QueryParameter(name="type", max_length=63)] = "",
    ) -> Template:
        """The list for the form's script: empty when nothing open of the type is near, and for a type that
        shows no nearby requests (private, an emergency, or a distance of 0)."""
        offered = await catalog.offered_type(tenant_scope, chosen_type) if chosen_type else None
        found = (
            await nearby.for_form(tenant_scope, offered, latitude, longitude, current_language.get())
            if offered
            else []
        )
        return page(request, "partials/nearby.html", nearby=found)

    @post("/requests/nearby/{reference:str}/support", request_max_body_size=attachments.FORM_MAX_BYTES)
    async def support(
        self,
        request: Request,
        reference: FromPath[str],
        tenant_scope: NamedDependency[TenantScope],
        limiter: NamedDependency[RateLimiter],
        settings: NamedDependency[Settings],
        storage: NamedDependency[Storage],
    ) -> Template:
        """Says "me too" with the form's e-mail address (or a signed-in citizen's own), and adds the form's
        photos to the request supported: the thank-you page, or why it did not work, with what was posted
        kept for the way back to the form."""
        tenant = tenant_of(request)
        reference = reference.strip().upper()[:32]
        form = await request.form()
        email = str(form.get("contact_email", "")).strip().lower()
        if not email and (citizen := await signed_in_citizen(request)):
            email = citizen["email"]
        client = request.client.host if request.client else ""
        refusal: tuple[str, str, int] | None = None  # (field, msgid, status)
        if not await limiter.allow(ratelimit.SUPPORT_PER_ADDRESS, f"{tenant.id}:{client}"):
            refusal = ("form", TOO_MANY, 429)
        elif not email:
            refusal = ("contact_email", NEEDS_EMAIL, 422)
        elif not valid_email(email):
            refusal = ("contact_email", BAD_EMAIL, 422)
        elif not await limiter.allow(ratelimit.SUPPORT_PER_EMAIL, f"{tenant.id}:{email}"):
            refusal = ("form", TOO_MANY, 429)
        if refusal is None:
            try:
                result = await nearby.support(tenant_scope, reference, email, current_language.get())
            except nearby.SupportRefused as refused:
                refusal = ("form", str(refused), 409 if refused.closed else 404)
            else:
                # The photos the citizen chose for their own report now show the one they support.
                held, _ = await attachments.hold_form_photos(
                    storage, tenant.id, form, settings.photos_per_request
                )
                if held and (supported := await request_service.get_by_reference(tenant_scope, reference)):
                    await attachments.attach_held(
                        tenant_scope, storage, supported.id, held, settings.photos_per_request
                    )
                return page(request, "supported.html", reference=reference, result=result, email=email)
        field, message, status_code = refusal
        retry = field == "contact_email"  # only a mistyped address can be put right here
        return page(
            request,
            "supported.html",
            status_code=status_code,
            reference=reference,
            result=None,
            errors={field: message},
            values={"contact_email": str(form.get("contact_email", "")).strip()[:254]},
            retry=retry,
            carried=_carried(form, also_skip={"contact_email"} if retry else set()),
        )


def _carried(form: Any, also_skip: set[str]) -> list[tuple[str, str]]:
    """The request form's fields as posted (text only: a file chosen but not yet held cannot be), so
    "Back to my request" gives the form back as the citizen left it."""
    skip = NOT_CARRIED | also_skip
    fields = [
        (name, value) for name, value in form.multi_items() if isinstance(value, str) and name not in skip
    ]
    return fields[:MOST_CARRIED]
