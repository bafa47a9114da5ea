"""The API's own documentation: the OpenAPI document the app builds from its handlers, with the security
scheme of the town's keys and the webhooks it sends, and a page that shows it with Swagger UI from npm."""

from __future__ import annotations

from litestar import Controller, Request, get
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import (
    Components,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    Operation,
    PathItem,
    RequestBody,
    Schema,
    SecurityScheme,
)
from litestar.openapi.spec.enums import OpenAPIType
from litestar.response import Template

from apps.pages import tenant_of
from domain import webhooks

SCHEMA_PATH = "/api/schema"
DESCRIPTION = """Each town's portal answers on its own host name: Open311 GeoReport v2 at `/open311/v2/`
(JSON and XML), and the integration API at `/api/v1/` for the town's maintenance system.

Keys are made by the town's administrators (Settings, API keys), each with scopes: `read` (public data,
with a higher rate limit), `submit` (new requests through Open311) and `work_orders` (the integration API).
Open311 takes the key as its `api_key` parameter; the integration API as `Authorization: Bearer <key>`.

Webhooks follow the Standard Webhooks specification: each POST carries `webhook-id` (the same for every
attempt and redelivery of one event: drop the ones you have seen), `webhook-timestamp` and
`webhook-signature` (`v1,` and the base64 HMAC-SHA256 of `id.timestamp.body` under the secret shown when
the subscription was made). Events of one request arrive in the order they happened; a receiver that does
not answer 2xx gets the event again with exponential backoff, for about a day."""

_STRING = Schema(type=OpenAPIType.STRING)
_EVENT = Schema(
    type=OpenAPIType.OBJECT,
    required=["type", "timestamp", "data"],
    properties={
        "type": Schema(type=OpenAPIType.STRING, enum=list(webhooks.EVENTS)),
        "timestamp": Schema(type=OpenAPIType.STRING, format="date-time"),  # type: ignore[arg-type]
        "data": Schema(
            type=OpenAPIType.OBJECT,
            description="The request as Open311 names its fields, with `detailed_status`, "
            "`previous_status` and `work_order`. No contact details, no internal notes.",
        ),
    },
)


def _webhook(event: str) -> PathItem:
    headers = {name: OpenAPIHeader(schema=_STRING, required=True) for name in webhooks.SIGNATURE_HEADERS}
    return PathItem(
        post=Operation(
            summary=str(webhooks.EVENTS[event]),
            tags=["Webhooks"],
            request_body=RequestBody(
                content={"application/json": OpenAPIMediaType(schema=_EVENT)}, required=True
            ),
            responses={"2XX": OpenAPIResponse(description="Received; any other answer is retried")},
            parameters=None,
            description=f"Headers: {', '.join(headers)}.",
        )
    )


def openapi_config(version: str) -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Citizen Portal API",
        version=version,
        description=DESCRIPTION,
        path=SCHEMA_PATH,
        render_plugins=[JsonRenderPlugin()],
        components=Components(
            security_schemes={
                "apiKey": SecurityScheme(
                    type="http", scheme="bearer", description="A town's API key, e.g. `cpk_…`"
                )
            }
        ),
        webhooks={event: _webhook(event) for event in webhooks.EVENTS},
        use_handler_docstrings=True,
    )


class ApiDocsController(Controller):
    include_in_schema = False

    @get("/api/docs")
    async def docs(self, request: Request) -> Template:
        return Template(
            template_name="api_docs.html",
            context={"tenant": tenant_of(request), "schema_url": f"{SCHEMA_PATH}/openapi.json"},
        )
