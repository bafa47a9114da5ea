"""The citizen's pages: the request form, the confirmation and status page, the receipt, the language."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Response, Template

from apps import files
from apps.pages import PathId, page, row_id, scope_of, tenant_of, workflow_start
from apps.portal.account import signed_in_citizen
from domain import attachments, catalog, followers, intake, lifecycle, nearby, places, questions, submissions
from domain import requests as request_service
from domain import timeline as request_timeline
from domain.scope import TenantScope
from infra import ratelimit
from infra.i18n import N_, current_language, gettext
from infra.ratelimit import RateLimiter
from infra.settings import Settings
from infra.storage import Storage, StorageUnavailable
from tenants.middleware import LANGUAGE_COOKIE
from workflows.client import ActionPending, TemporalGateway, TemporalUnavailable
from workflows.service_request import contract

FORM_ORDER = ["form", *intake.FIELDS, "photo"]  # "form": problems with the whole submission
# What the form's script says, in the page's language (apps/portal/static/request-form.js).
FORM_TEXTS = {
    "found": N_("%(count)s addresses found. Use the up and down arrows to choose one."),
    "none": N_("No address found. Keep typing, or describe the place in your own words."),
    "chosen": N_("Chosen: %(place)s."),
    "pinned": N_("Pin placed at %(place)s."),
    "pinnedNowhere": N_("Pin placed. No known address is near it: describe the place in the address field."),
    "outside": N_("This place is outside the town. Move the pin inside the town's boundary."),
    "pin": N_("The place of your request: drag to move"),
    "mapLabel": N_("Map of the town. Click to place a pin; you can type the address instead."),
    "locating": N_("Finding your location…"),
    "noLocation": N_("Your location is not available. Type the address or place a pin on the map."),
    "nearby": N_("Requests already reported nearby are listed below the map."),
    "photoTooBig": N_(
        "This photo is larger than 5 MB. Choose a smaller one, or a copy your phone made smaller."
    ),
}
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
PHOTOS_UNAVAILABLE = N_(
    "Photos cannot be kept just now. Send your request without them, or try again in a minute."
)
BAD_POSITION = N_("We could not read the place on the map. Place the pin again, or type the address.")
UNAVAILABLE = N_("We could not record this just now and nothing was changed. Please try again in a minute.")


@dataclass
class Draft:
    """A form on its way to being filed: what was typed, the photos held for it, the answers given."""

    values: dict[str, str]
    most_photos: int
    held: list[attachments.HeldPhoto] = field(default_factory=list)
    answers: dict = field(default_factory=dict)


class PortalController(Controller):
    include_in_schema = False

    @get("/")
    async def form(
        self,
        request: Request,
        tenant_scope: NamedDependency[TenantScope],
        settings: NamedDependency[Settings],
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
        return await self._form_page(request, Draft(values, settings.photos_per_request), {})

    @post("/requests", request_max_body_size=attachments.FORM_MAX_BYTES)
    async def submit(
        self,
        request: Request,
        temporal: NamedDependency[TemporalGateway],
        limiter: NamedDependency[RateLimiter],
        tenant_scope: NamedDependency[TenantScope],
        settings: NamedDependency[Settings],
        storage: NamedDependency[Storage],
    ) -> Template | Redirect:
        """Every step before a request is filed happens on this one post, so the form works without
        JavaScript: the type's questions (`refresh`), "did you mean" for a typed address, the open requests
        nearby. Each re-render carries everything given so far, the photos held by token."""
        tenant = tenant_of(request)
        form = await request.form()
        values = intake.clean_form(form)
        language = current_language.get()
        offered = await catalog.offered_type(tenant_scope, values["request_type"])
        asked = await questions.for_type(tenant_scope, offered["id"], language) if offered else []
        answers, errors, answer_values = questions.read_answers(asked, form)
        address = request.client.host if request.client else ""
        if not await limiter.allow(ratelimit.SUBMIT_PER_ADDRESS, f"{tenant.id}:{address}"):
            draft = Draft(values, settings.photos_per_request, [], answer_values)
            return await self._form_page(request, draft, {"form": TOO_MANY}, status_code=429)
        try:
            held, photo_errors = await attachments.hold_form_photos(
                storage, tenant.id, form, settings.photos_per_request
            )
        except StorageUnavailable:  # the rest of the form is kept; the photos can be chosen again
            held, photo_errors = [], {"photo": PHOTOS_UNAVAILABLE}
        draft = Draft(values, settings.photos_per_request, held, answer_values)
        if form.get("refresh"):
            return await self._form_page(request, draft, photo_errors)
        if offered and (refusal := catalog.emergency_refusal(offered)):
            return await self._form_page(request, draft, {"request_type": refusal}, status_code=422)
        place_choices = await self._locate(tenant_scope, values, str(form.get("place_choice", "")), errors)
        submission, field_errors = intake.validate_submission(
            values, {values["request_type"]: offered["needs_location"]} if offered else {}, tuple(answers)
        )
        errors = field_errors | errors | photo_errors
        if {"latitude", "longitude"} & errors.keys():  # hidden fields, set by the map: said by the address
            errors = {key: text for key, text in errors.items() if key not in ("latitude", "longitude")}
            errors.setdefault("address", BAD_POSITION)
        if submission and not await limiter.allow(
            ratelimit.SUBMIT_PER_EMAIL, f"{tenant.id}:{submission.contact_email}"
        ):
            return await self._form_page(request, draft, {"form": TOO_MANY}, status_code=429)
        if errors or submission is None or offered is None:
            return await self._form_page(request, draft, errors, status_code=422)
        if place_choices:
            return await self._form_page(request, draft, {}, place_choices=place_choices)
        latitude, longitude = submission.latitude, submission.longitude
        if values["nearby_seen"] != "1" and latitude is not None and longitude is not None:
            found = await nearby.for_form(tenant_scope, offered, latitude, longitude, language)
            if found:
                values["nearby_seen"] = "1"
                return await self._form_page(request, draft, {}, nearby_requests=found)
        result = await submissions.submit(
            tenant_scope, tenant.reference_prefix, submission, language, request_type_id=offered["id"]
        )
        await attachments.attach_held(
            tenant_scope, storage, result.request_id, held, settings.photos_per_request
        )
        background = workflow_start(temporal, tenant, result)
        return Redirect(f"/status/{result.public_token}?new=1", status_code=303, background=background)

    async def _locate(
        self, scope: TenantScope, values: dict[str, str], choice: str, errors: dict[str, str]
    ) -> list[places.PlaceMatch]:
        """Where the request is, from what the form carries: a place chosen from "did you mean" or the
        combobox, a pin, or a typed address matched against the town's gazetteer. Fills the coordinates into
        `values` and returns the choices to offer when the typed address is not one known place."""
        if choice == "typed":
            values["place_id"] = "typed"  # kept as typed: not asked again
        elif choice:
            values["place_id"] = choice
        place = None
        if (place_id := row_id(values["place_id"])) is not None:
            place = await places.get(scope, place_id)
        elif values["address"] and not values["latitude"] and values["place_id"] != "typed":
            found = await places.resolve_typed(scope, values["address"])
            if isinstance(found, list):
                return found
            place = found
        has_position = place is not None and place.latitude is not None and place.longitude is not None
        if place and has_position and (choice or not values["latitude"]):
            values["address"] = place.label
            values["latitude"], values["longitude"] = f"{place.latitude:.6f}", f"{place.longitude:.6f}"
        position = intake.coordinates(values)
        if position and await places.outside_town(scope, *position):
            errors["address"] = places.OUTSIDE_TOWN
        return []

    async def _form_page(
        self,
        request: Request,
        draft: Draft,
        errors: dict,
        status_code: int = 200,
        place_choices: list | None = None,
        nearby_requests: list | None = None,
    ) -> Template:
        scope = scope_of(request)
        language = current_language.get()
        options = await catalog.request_types(scope, language)
        details = await self._type_details(scope, options, draft.values["request_type"], language)
        return page(
            request,
            "submit.html",
            status_code=status_code,
            values=draft.values,
            errors=errors,
            field_order=[*FORM_ORDER, *(questions.field_name(asked.code) for asked in details["questions"])],
            type_groups=catalog.grouped_by_category(options),
            location_type_names=[option.name for option in options if option.needs_location],
            held_photos=draft.held,
            answers=draft.answers,
            place_choices=place_choices or [],
            nearby=nearby_requests or [],
            form_texts={key: gettext(text) for key, text in FORM_TEXTS.items()}
            | {"photoBytes": attachments.PHOTO_MAX_BYTES},
            most_photos=draft.most_photos,
            **details,
        )

    async def _type_details(
        self, scope: TenantScope, options: list[catalog.RequestTypeOption], code: str, language: str
    ) -> dict:
        chosen = next((option for option in options if option.code == code), None)
        if chosen is None:
            return {"chosen": None, "questions": [], "notice": ""}
        return {
            "chosen": chosen,
            "questions": await questions.for_type(scope, chosen.id, language),
            "notice": await catalog.notice_now(scope, chosen),
        }

    @get("/form/type-details")
    async def type_details(
        self,
        request: Request,
        tenant_scope: NamedDependency[TenantScope],
        chosen_type: Annotated[str, QueryParameter(name="type")] = "",
    ) -> Template:
        """The chosen type's notice and questions, swapped into the form when the type changes."""
        language = current_language.get()
        options = await catalog.request_types(tenant_scope, language)
        details = await self._type_details(tenant_scope, options, chosen_type[:63], language)
        return page(request, "partials/type_details.html", answers={}, errors={}, **details)

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
        storage: NamedDependency[Storage],
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
                alt_text = str(form.get("alt_text", "")).strip()
                try:
                    await attachments.add_photo(
                        tenant_scope, item.id, content, settings.photos_per_request, alt_text, storage
                    )
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
        storage: NamedDependency[Storage],
    ) -> Response:
        item = await self._request(tenant_scope, token)
        return files.inline(await attachments.photo(tenant_scope, storage, item.id, photo_id))

    @get("/status/{token:str}/photos/{photo_id:int}/thumbnail")
    async def photo_thumbnail(
        self,
        request: Request,
        token: FromPath[str],
        photo_id: PathId,
        tenant_scope: NamedDependency[TenantScope],
        storage: NamedDependency[Storage],
    ) -> Response:
        item = await self._request(tenant_scope, token)
        return files.inline(await attachments.photo_thumbnail(tenant_scope, storage, item.id, photo_id))

    @get("/status/{token:str}/receipt.pdf")
    async def receipt(
        self,
        request: Request,
        token: FromPath[str],
        tenant_scope: NamedDependency[TenantScope],
        storage: NamedDependency[Storage],
    ) -> Response:
        item = await self._request(tenant_scope, token)
        return files.inline(await attachments.get_document(tenant_scope, storage, item.id, "receipt"))

    @staticmethod
    async def _request(scope: TenantScope, token: str) -> request_service.RequestRecord:
        item = await request_service.get_by_token(scope, token)
        if item is None:
            raise NotFoundException()
        return item

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
