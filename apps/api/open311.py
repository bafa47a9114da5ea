"""Open311 GeoReport v2 for each town, at /open311/v2/ on the town's own host, in XML and JSON (by the
`.xml`/`.json` suffix or the `format` parameter), with FixMyStreet's `servicerequestupdates`.

What it reads is open data: the published types' requests and their public lines, never contact details.
A key is needed to post only; a valid key on a read gives that key's rate limit instead of the address's.
Every refusal is the specification's error list, in the format asked for: 400 for a missing or invalid
field, 403 for the key, 404 for what does not exist (a `jurisdiction_id` that is not this town included),
429 over a limit. A town that is not open yet answers 404 everywhere, as an unknown town would.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers import BaseRouteHandler
from litestar.params import FromPath, HeaderParameter, PathParameter, QueryParameter

from apps.api import formats
from apps.api.formats import Problem, Refused, language_of
from apps.pages import tenant_of, town_link, workflow_start
from domain import api_keys, catalog, intake, open311, questions, submissions
from domain.api_keys import ApiKeyInfo
from domain.scope import TenantScope
from infra import ratelimit
from infra.i18n import N_, gettext, use_language
from infra.ratelimit import Limit, RateLimiter
from infra.settings import Settings
from workflows.client import TemporalGateway

TAGS = ["Open311"]
UNKNOWN_JURISDICTION = N_("This server does not serve this jurisdiction.")
UNKNOWN_SERVICE = N_("This town offers no service with this code.")
UNKNOWN_REQUEST = N_("No published request has this id.")
UNKNOWN_TOKEN = N_("No published request was made with this token.")
MISSING_KEY = N_("Give an API key to submit a request.")
BAD_KEY = N_("This API key is unknown here, has been revoked, or may not do this.")
TOO_MANY = N_("Too many calls in a short time. Wait a minute, then try again.")
MISSING_SERVICE = N_("Give the code of the service this request is for.")
BAD_DATE = N_("Give a date and time with its offset, like 2010-01-01T00:00:00Z.")
BAD_SPAN = N_("Give dates in order and at most 90 days apart.")
BAD_STATUS = N_("Ask for open, closed, or both.")
BAD_PAGE_SIZE = N_("Give a whole number from 1 to 1000.")
BAD_CURSOR = N_("This is not a page of these results; start again from the first page.")
TOO_MANY_IDS = N_("Ask for at most 1000 requests at once.")
ADDRESS_FIELDS = ("api_key", "jurisdiction_id")
CODE_LENGTH = 63  # RequestType.code

StartDate = Annotated[str | None, QueryParameter(description="From this moment (W3C, with its offset).")]
EndDate = Annotated[
    str | None, QueryParameter(description="Up to this moment; at most 90 days after start_date.")
]
PageSize = Annotated[str | None, QueryParameter(description="How many per page, 1 to 1000 (1000).")]
After = Annotated[
    str | None, QueryParameter(description="Where the page starts: from the `Link: rel=next` header.")
]


def _town_is_open(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """A town that is not open yet publishes nothing."""
    if not connection.state.tenant.live:
        raise Refused(404, ("", formats.NOT_FOUND))


async def _admit(
    request: Request,
    scope: TenantScope,
    limiter: RateLimiter,
    settings: Settings,
    given: Mapping[str, str],
    needs: str | None = None,
) -> ApiKeyInfo | None:
    """Checks the jurisdiction and the key (`api_key`, or the X-Api-Key header) and counts the call: per
    key with one, per client address without. Returns the caller's key, if any."""
    formats.output_format(request)  # a format nobody can read is refused before the call is counted
    tenant = tenant_of(request)
    jurisdiction = (given.get("jurisdiction_id") or "").strip().lower()
    if jurisdiction and jurisdiction not in {
        tenant.slug,
        *tenant.domains,
        f"{tenant.slug}.{settings.base_domain}",
    }:
        raise Refused(404, ("jurisdiction_id", UNKNOWN_JURISDICTION))
    raw_key = (given.get("api_key") or request.headers.get("x-api-key") or "").strip()
    caller = await api_keys.authenticate(scope, raw_key) if raw_key else None
    if needs and not raw_key:
        raise Refused(403, ("api_key", MISSING_KEY))
    if (raw_key and caller is None) or (needs and caller and not caller.allows(needs)):
        raise Refused(403, ("api_key", BAD_KEY))
    if caller:
        await _count(limiter, ratelimit.API_PER_KEY, f"{tenant.id}:key:{caller.id}")
    elif needs is None:
        await _count(limiter, ratelimit.OPEN311_READ_PER_ADDRESS, f"{tenant.id}:{_address(request)}")
    return caller


async def _count(limiter: RateLimiter, limit: Limit, who: str) -> None:
    if not await limiter.allow(limit, who):
        raise Refused(429, ("", TOO_MANY), headers={"Retry-After": str(limit.window_seconds)})


def _address(request: Request) -> str:
    return request.client.host if request.client else ""


def _comma_list(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _window(
    start_date: str | None, end_date: str | None, problems: list[Problem]
) -> tuple[datetime, datetime]:
    moments: list[datetime | None] = []
    for field, text in (("start_date", start_date), ("end_date", end_date)):
        try:
            moments.append(open311.w3_datetime(text) if text else None)
        except ValueError:
            problems.append((field, BAD_DATE))
            moments.append(None)
    now = datetime.now(UTC)
    try:
        return open311.window(moments[0], moments[1], now)
    except ValueError:
        problems.append(("end_date", BAD_SPAN))
        return now, now


def _cursor(after: str | None, problems: list[Problem]) -> open311.Cursor | None:
    try:
        return open311.Cursor.parse(after) if after else None
    except ValueError:
        problems.append(("after", BAD_CURSOR))
        return None


def _page_size(text: str | None, problems: list[Problem]) -> int:
    if not text:
        return open311.MAX_PAGE
    size = int(text) if text.isascii() and text.isdigit() and len(text) <= 4 else 0
    if not 1 <= size <= open311.MAX_PAGE:
        problems.append(("page_size", BAD_PAGE_SIZE))
    return size


def _next_link(request: Request, settings: Settings, cursor: open311.Cursor | None) -> dict[str, str] | None:
    """The next page's address in a `Link` header (RFC 8288): the same query, starting after this page."""
    if cursor is None:
        return None
    query = [(key, value) for key, value in request.query_params.multi_items() if key != "after"]
    url = town_link(request, settings, f"{request.url.path}?{urlencode([*query, ('after', cursor.token())])}")
    return {"Link": f'<{url}>; rel="next"'}


class Open311Controller(Controller):
    path = "/open311/v2"
    guards = [_town_is_open]
    exception_handlers = formats.EXCEPTION_HANDLERS
    # What every call takes (documented once for all); handlers read them from the query.
    parameters = {
        "jurisdiction_id": QueryParameter(
            annotation=str,
            required=False,
            description="The town's slug or one of its host names; any other is a 404.",
        ),
        "api_key": QueryParameter(
            annotation=str,
            required=False,
            description="A key of this town (a form field in a POST); needed to post.",
        ),
        "x_api_key": HeaderParameter(
            annotation=str, name="X-Api-Key", required=False, description="The key, as a header."
        ),
        "format": QueryParameter(
            annotation=str, required=False, description="json or xml, for an address without suffix."
        ),
        "locale": QueryParameter(
            annotation=str,
            required=False,
            description="One of the town's languages; its first language otherwise.",
        ),
    }

    @get(["/discovery", "/discovery.json", "/discovery.xml"], tags=TAGS, summary="Service discovery")
    async def discovery(
        self,
        request: Request,
        tenant_scope: NamedDependency[TenantScope],
        limiter: NamedDependency[RateLimiter],
        settings: NamedDependency[Settings],
    ) -> Response:
        """Where this town's endpoint is, what it speaks, and whom to ask for a key."""
        await _admit(request, tenant_scope, limiter, settings, request.query_params)
        tenant = tenant_of(request)
        with use_language(language_of(request)):
            key_service = gettext(
                "The administrators of %(town)s make API keys in the portal's settings: ask them for one.",
                town=tenant.name,
            )
        document = open311.discovery(
            town_link(request, settings, self.path),
            " ".join(part for part in (tenant.name, tenant.contact_email, tenant.contact_phone) if part),
            key_service,
            await open311.changeset(tenant_scope),
        )
        return formats.render("discovery", document, formats.output_format(request))

    @get(["/services", "/services.json", "/services.xml"], tags=TAGS, summary="GET Service List")
    async def services(
        self,
        request: Request,
        tenant_scope: NamedDependency[TenantScope],
        limiter: NamedDependency[RateLimiter],
        settings: NamedDependency[Settings],
    ) -> Response:
        """The types of request the town offers, named in its first language or the `locale` asked for."""
        await _admit(request, tenant_scope, limiter, settings, request.query_params)
        languages = tenant_of(request).languages
        document = await open311.services(tenant_scope, language_of(request), languages)
        return formats.render("services", document, formats.output_format(request))

    @get("/services/{name:str}", tags=TAGS, summary="GET Service Definition")
    async def service_definition(
        self,
        request: Request,
        name: Annotated[str, PathParameter(description="The service_code, then .json or .xml")],
        tenant_scope: NamedDependency[TenantScope],
        limiter: NamedDependency[RateLimiter],
        settings: NamedDependency[Settings],
    ) -> Response:
        """The questions a type asks, as attributes, in the town's first language or the `locale` asked
        for; a service whose `metadata` is false has none."""
        code = formats.stem(name)
        await _admit(request, tenant_scope, limiter, settings, request.query_params)
        document = await open311.service_definition(tenant_scope, code, language_of(request))
        if document is None:
            raise Refused(404, ("service_code", UNKNOWN_SERVICE))
        return formats.render("service_definition", document, formats.output_format(request))

    @post(
        ["/requests", "/requests.json", "/requests.xml"],
        tags=TAGS,
        summary="POST Service Request",
        status_code=200,
    )
    async def submit(
        self,
        request: Request,
        tenant_scope: NamedDependency[TenantScope],
        limiter: NamedDependency[RateLimiter],
        settings: NamedDependency[Settings],
        temporal: NamedDependency[TemporalGateway],
        idempotency_key: Annotated[
            str | None,
            HeaderParameter(
                name="Idempotency-Key", description="The same key again makes no second request."
            ),
        ] = None,
    ) -> Response:
        """A request, checked as the citizen form checks it (name and email required), committed before the
        answer; its workflow starts after it, so a request is never lost when the workflow service is down.
        The type's questions are answered as `attribute[code]` (`attribute[code][]` for several choices).
        `service_request_id` is the reference; `token` finds it again (GET tokens)."""
        form = await request.form()
        fields = {key: value for key, value in form.items() if isinstance(value, str)}
        # The key and the jurisdiction may also come in the address; contact details never do (logs).
        given = {name: request.query_params[name] for name in ADDRESS_FIELDS if name in request.query_params}
        caller = await _admit(request, tenant_scope, limiter, settings, given | fields, needs=api_keys.SUBMIT)
        assert caller is not None  # _admit refuses a post without a key that may submit
        tenant = tenant_of(request)
        code = (fields.get("service_code") or "").strip()
        if not code:
            raise Refused(400, ("service_code", MISSING_SERVICE))
        offered = await catalog.offered_type(tenant_scope, code) if len(code) <= CODE_LENGTH else None
        if offered is None:
            raise Refused(404, ("service_code", UNKNOWN_SERVICE))
        if refusal := catalog.emergency_refusal(offered):
            raise Refused(400, ("service_code", refusal))
        values = open311.intake_values(fields, open311.idempotency_key(caller.id, idempotency_key or ""))
        asked = await questions.for_type(tenant_scope, offered["id"], language_of(request))
        given = open311.attribute_values(form.multi_items())
        answers, wrong, _ = questions.read_answers(asked, given, field=open311.attribute_field)
        submission, errors = intake.validate_submission(
            values, {code: offered["needs_location"]}, tuple(answers)
        )
        if submission is None or wrong:
            named = ((open311.FIELD_NAMES.get(field, field), message) for field, message in errors.items())
            raise Refused(400, *named, *wrong.items())
        await _count(limiter, ratelimit.SUBMIT_PER_EMAIL, f"{tenant.id}:{submission.contact_email}")
        result = await submissions.submit(
            tenant_scope,
            tenant.reference_prefix,
            submission,
            language_of(request),
            request_type_id=offered["id"],
        )
        background = workflow_start(temporal, tenant, result)
        answer = {
            "service_request_id": result.reference,
            "token": submission.idempotency_key,
            "service_notice": "",
            "account_id": "",
        }
        return formats.render(
            "service_requests", [answer], formats.output_format(request), background=background
        )

    @get(["/requests", "/requests.json", "/requests.xml"], tags=TAGS, summary="GET Service Requests")
    async def requests(
        self,
        request: Request,
        tenant_scope: NamedDependency[TenantScope],
        limiter: NamedDependency[RateLimiter],
        settings: NamedDependency[Settings],
        service_request_id: Annotated[
            str | None,
            QueryParameter(description="Comma-separated ids; when given, every other filter is ignored."),
        ] = None,
        service_code: Annotated[
            str | None, QueryParameter(description="Comma-separated service codes; all when not given.")
        ] = None,
        start_date: StartDate = None,
        end_date: EndDate = None,
        status: Annotated[str | None, QueryParameter(description="open, closed, or open,closed.")] = None,
        page_size: PageSize = None,
        after: After = None,
    ) -> Response:
        """Published requests, newest first, of the last 90 days unless dates are given, 1000 at most per
        page; the next page's address is in the `Link` header."""
        await _admit(request, tenant_scope, limiter, settings, request.query_params)
        language = language_of(request)
        if references := _comma_list(service_request_id):
            if len(references) > open311.MAX_PAGE:
                raise Refused(400, ("service_request_id", TOO_MANY_IDS))
            found = await open311.requests_by_reference(tenant_scope, references, language)
            return formats.render("service_requests", found, formats.output_format(request))
        problems: list[Problem] = []
        start, end = _window(start_date, end_date, problems)
        statuses = frozenset(_comma_list(status))
        if statuses - {"open", "closed"}:
            problems.append(("status", BAD_STATUS))
        query = open311.RequestQuery(
            start=start,
            end=end,
            service_codes=tuple(_comma_list(service_code)),
            statuses=statuses,
            after=_cursor(after, problems),
            page_size=_page_size(page_size, problems),
        )
        if problems:
            raise Refused(400, *problems)
        page = await open311.requests_page(tenant_scope, query, language)
        return formats.render(
            "service_requests",
            page.items,
            formats.output_format(request),
            headers=_next_link(request, settings, page.next),
        )

    @get("/requests/{name:str}", tags=TAGS, summary="GET Service Request")
    async def request_by_id(
        self,
        request: Request,
        name: Annotated[str, PathParameter(description="The service_request_id, then .json or .xml")],
        tenant_scope: NamedDependency[TenantScope],
        limiter: NamedDependency[RateLimiter],
        settings: NamedDependency[Settings],
    ) -> Response:
        """One published request, as a list of one, as the specification has it."""
        reference = formats.stem(name)
        await _admit(request, tenant_scope, limiter, settings, request.query_params)
        found = await open311.requests_by_reference(tenant_scope, [reference], language_of(request))
        if not found:
            raise Refused(404, ("service_request_id", UNKNOWN_REQUEST))
        return formats.render("service_requests", found, formats.output_format(request))

    @get("/tokens/{name:str}", tags=TAGS, summary="GET service_request_id from a token")
    async def token(
        self,
        request: Request,
        name: Annotated[str, PathParameter(description="The token a POST answered with, then .json or .xml")],
        tenant_scope: NamedDependency[TenantScope],
        limiter: NamedDependency[RateLimiter],
        settings: NamedDependency[Settings],
    ) -> Response:
        """The id of the request a POST made: every request here has its id at once, so this only finds
        one again from its token."""
        token = formats.stem(name)
        await _admit(request, tenant_scope, limiter, settings, request.query_params)
        reference = await open311.reference_of_token(tenant_scope, token) if len(token) == 32 else None
        if reference is None:
            raise Refused(404, ("token", UNKNOWN_TOKEN))
        return formats.render(
            "service_requests",
            [{"service_request_id": reference, "token": token}],
            formats.output_format(request),
        )

    @get(
        ["/servicerequestupdates", "/servicerequestupdates.json", "/servicerequestupdates.xml"],
        tags=TAGS,
        summary="GET Service Request Updates (FixMyStreet extension)",
    )
    async def updates(
        self,
        request: Request,
        tenant_scope: NamedDependency[TenantScope],
        limiter: NamedDependency[RateLimiter],
        settings: NamedDependency[Settings],
        start_date: StartDate = None,
        end_date: EndDate = None,
        page_size: PageSize = None,
        after: After = None,
    ) -> Response:
        """The public lines of published requests' timelines, oldest first, of the last 90 days unless dates
        are given; the next page's address is in the `Link` header."""
        await _admit(request, tenant_scope, limiter, settings, request.query_params)
        problems: list[Problem] = []
        start, end = _window(start_date, end_date, problems)
        cursor, size = _cursor(after, problems), _page_size(page_size, problems)
        if problems:
            raise Refused(400, *problems)
        page = await open311.updates_page(tenant_scope, start, end, cursor, size)
        return formats.render(
            "service_request_updates",
            page.items,
            formats.output_format(request),
            headers=_next_link(request, settings, page.next),
        )

    @get("/{rest:path}", include_in_schema=False)
    async def unknown(self, rest: FromPath[str]) -> None:
        """Any other address, a resource with a suffix that names no format included: the specification's
        404 rather than the portal's page."""
        raise Refused(404, ("", formats.NOT_FOUND))
