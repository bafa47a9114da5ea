"""The integration API: the town's maintenance system answers its requests, and reads its webhooks.

Every call takes a key with the work-order scope (`Authorization: Bearer cpk_...` or `X-Api-Key`). Each
action is the same Temporal Update a clerk's is, with the same validators; the workflow refuses what the
request's state does not allow, and the refusal comes back as JSON with status 409.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.openapi.spec import SecurityRequirement
from litestar.params import FromPath, JSONBody
from msgspec import Meta

from apps.pages import PathId, QueryId, scope_of, tenant_of
from domain import api_keys, lifecycle, open311, permissions, webhooks
from domain import requests as request_service
from domain.api_keys import ApiKeyInfo
from domain.scope import TenantScope
from infra import ratelimit
from infra.i18n import N_, gettext
from infra.ratelimit import RateLimiter
from workflows.client import ActionPending, TemporalGateway, TemporalUnavailable
from workflows.service_request import contract

SECURITY: list[SecurityRequirement] = [{"apiKey": []}]
NO_KEY = N_("Send the town's API key: Authorization: Bearer <key>, or an X-Api-Key header.")
NOT_THIS_KEY = N_("This key may not do this; the town's administrator can make one with the right scope.")
NO_SUCH_REQUEST = N_("This town has no request with that reference.")
TOO_MANY = N_("Too many calls with this key; wait a minute, then try again.")
UNAVAILABLE = N_("The request's workflow did not answer in time and nothing was changed; try again shortly.")
# Statuses the maintenance system may set, and the clerk's action each is.
STATUS_UPDATES = {
    lifecycle.IN_PROGRESS: contract.START_WORK,
    lifecycle.ON_HOLD: contract.HOLD,
    lifecycle.RESOLVED: contract.RESOLVE,
}

# Who acts: the town's maintenance system, which may work any of the town's requests (domain.permissions).
AS_INTEGRATION: dict[str, Any] = {
    "actor_id": contract.INTEGRATION_ACTOR,
    "actor_role": permissions.INTEGRATION,
}
Note = Annotated[str, Meta(max_length=5000)]


class WorkOrderBody(msgspec.Struct):
    number: Annotated[str, Meta(min_length=1, max_length=64, description="The work order's number")]
    note: Note = ""


class UpdateBody(msgspec.Struct):
    """A status (optional), a note, or both. A note is internal unless `public` is true."""

    status: Annotated[str, Meta(description="in_progress, on_hold or resolved")] | None = None
    note: Note = ""
    public: bool = False


class CloseBody(msgspec.Struct):
    reason: Annotated[
        str, Meta(description="fixed, no_action_needed, duplicate, not_our_responsibility or referred")
    ]
    note: Note = ""
    duplicate_of: Annotated[str, Meta(max_length=32)] = ""


class Outcome(msgspec.Struct):
    service_request_id: str
    detailed_status: str
    status: str


async def integration_key(
    request: Request, tenant_scope: NamedDependency[TenantScope], limiter: NamedDependency[RateLimiter]
) -> ApiKeyInfo:
    """The `key` dependency: this town's active key with the work-order scope, within its rate limit."""
    header = request.headers.get("authorization", "")
    raw = header[7:].strip() if header.lower().startswith("bearer ") else request.headers.get("x-api-key", "")
    key = await api_keys.authenticate(tenant_scope, raw.strip()) if raw else None
    if key is None:
        raise NotAuthorizedException(gettext(NO_KEY), headers={"WWW-Authenticate": "Bearer"})
    if not key.allows(api_keys.WORK_ORDERS):
        raise PermissionDeniedException(gettext(NOT_THIS_KEY))
    if not await limiter.allow(ratelimit.API_PER_KEY, f"{tenant_of(request).id}:key:{key.id}"):
        raise _Refusal(429, TOO_MANY)
    return key


class _Refusal(Exception):
    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code


def _refusal(_: Request, refusal: _Refusal) -> Response:
    body = {"status_code": refusal.status_code, "detail": gettext(str(refusal))}
    return Response(body, status_code=refusal.status_code)


class IntegrationController(Controller):
    path = "/api/v1"
    tags = ["Integration"]
    security = SECURITY
    dependencies = {"key": Provide(integration_key)}
    exception_handlers = {_Refusal: _refusal}

    @get("/key", summary="The key in use: its name and scopes")
    async def key_in_use(self, key: NamedDependency[ApiKeyInfo]) -> dict[str, Any]:
        return {"name": key.name, "prefix": key.prefix, "scopes": list(key.scopes)}

    @get("/requests/{reference:str}", summary="A request as Open311 shows it, with its work order")
    async def request_detail(
        self,
        reference: FromPath[str],
        tenant_scope: NamedDependency[TenantScope],
        key: NamedDependency[ApiKeyInfo],
    ) -> dict[str, Any]:
        record = await request_service.get_by_reference(tenant_scope, reference[:32])
        if record is None:
            raise NotFoundException(gettext(NO_SUCH_REQUEST))
        return open311.service_request(record) | {
            "detailed_status": record.status,
            "work_order": record.work_order,
        }

    @post("/requests/{reference:str}/work-order", summary="Attach the maintenance system's work order")
    async def link_work_order(
        self,
        request: Request,
        reference: FromPath[str],
        data: JSONBody[WorkOrderBody],
        temporal: NamedDependency[TemporalGateway],
        key: NamedDependency[ApiKeyInfo],
    ) -> Outcome:
        body = data.note.strip() or f"Work order {data.number.strip()}"
        command = contract.WorkOrderCommand(**AS_INTEGRATION, number=data.number, body=body)
        return await _act(request, reference, contract.LINK_WORK_ORDER, command, temporal)

    @post("/requests/{reference:str}/updates", summary="Post a status, a note, or both")
    async def post_update(
        self,
        request: Request,
        reference: FromPath[str],
        data: JSONBody[UpdateBody],
        temporal: NamedDependency[TemporalGateway],
        key: NamedDependency[ApiKeyInfo],
    ) -> Outcome:
        note = data.note.strip()
        if data.status is None and not note:
            raise _Refusal(400, N_("Send a status, a note, or both."))
        if data.status is not None and data.status not in STATUS_UPDATES:
            raise _Refusal(400, N_("The status is one of in_progress, on_hold or resolved."))
        outcome = None
        if data.status == lifecycle.IN_PROGRESS:
            command: contract.Command = contract.StartCommand(**AS_INTEGRATION)
            outcome = await _act(request, reference, contract.START_WORK, command, temporal)
        elif data.status is not None:  # the note goes with the move: the hold's reason, the resolution
            command = contract.NoteCommand(**AS_INTEGRATION, body=note)
            return await _act(request, reference, STATUS_UPDATES[data.status], command, temporal)
        if note:
            command = contract.CommentCommand(**AS_INTEGRATION, body=note, public=data.public)
            outcome = await _act(request, reference, contract.COMMENT, command, temporal)
        assert outcome is not None  # a status or a note, checked above
        return outcome

    @post("/requests/{reference:str}/close", summary="Close the request with a reason")
    async def close(
        self,
        request: Request,
        reference: FromPath[str],
        data: JSONBody[CloseBody],
        temporal: NamedDependency[TemporalGateway],
        key: NamedDependency[ApiKeyInfo],
    ) -> Outcome:
        command = contract.CloseCommand(
            **AS_INTEGRATION,
            reason=data.reason,
            body=data.note.strip(),
            duplicate_of=data.duplicate_of,
        )
        return await _act(request, reference, contract.CLOSE, command, temporal)

    @get("/webhooks", summary="The town's webhook subscriptions")
    async def subscriptions(
        self, tenant_scope: NamedDependency[TenantScope], key: NamedDependency[ApiKeyInfo]
    ) -> list[dict[str, Any]]:
        return [
            {
                "id": item.id,
                "name": item.name,
                "url": item.url,
                "events": list(item.events),
                "active": item.active,
            }
            for item in await webhooks.subscriptions(tenant_scope)
        ]

    @get("/webhooks/{subscription_id:int}/deliveries", summary="A subscription's deliveries, newest first")
    async def deliveries(
        self,
        subscription_id: PathId,
        tenant_scope: NamedDependency[TenantScope],
        key: NamedDependency[ApiKeyInfo],
        before: QueryId = None,
    ) -> list[dict[str, Any]]:
        if await webhooks.subscription(tenant_scope, subscription_id) is None:
            raise NotFoundException()
        found = await webhooks.deliveries(tenant_scope, subscription_id, before_id=before)
        return [
            {
                "id": item.id,
                "event": item.event,
                "message_id": item.message_id,
                "service_request_id": item.request_reference,
                "state": item.state,
                "attempts": item.attempts,
                "response_status": item.response_status,
                "response_excerpt": item.response_excerpt,
                "error": item.error,
                "created_at": open311.timestamp(item.created_at),
                "last_attempt_at": open311.timestamp(item.last_attempt_at),
                "delivered_at": open311.timestamp(item.delivered_at),
            }
            for item in found
        ]

    @post(
        "/webhooks/{subscription_id:int}/deliveries/{delivery_id:int}/redeliver",
        summary="Send a delivery again, with the same id and body",
        status_code=202,
    )
    async def redeliver(
        self,
        request: Request,
        subscription_id: PathId,
        delivery_id: PathId,
        tenant_scope: NamedDependency[TenantScope],
        temporal: NamedDependency[TemporalGateway],
        key: NamedDependency[ApiKeyInfo],
    ) -> dict[str, str]:
        if await webhooks.redeliver(tenant_scope, subscription_id, delivery_id) is None:
            raise NotFoundException()
        await temporal.wake_webhooks(tenant_of(request).id)  # not woken now, the reconciler wakes it
        return {"state": webhooks.PENDING}


async def _act(
    request: Request, reference: str, update: str, command: Any, temporal: TemporalGateway
) -> Outcome:
    """Sends the Update as the integration (acting for the whole town) and answers with the new status."""
    record = await request_service.get_by_reference(scope_of(request), reference[:32])
    if record is None:
        raise NotFoundException(gettext(NO_SUCH_REQUEST))
    try:
        status = await temporal.act(tenant_of(request).slug, record.reference, update, command)
    except lifecycle.TransitionRefused as refused:
        raise _Refusal(409, str(refused)) from None
    except ActionPending as pending:
        raise _Refusal(202, str(pending)) from None
    except TemporalUnavailable:
        raise _Refusal(503, UNAVAILABLE) from None
    return Outcome(record.reference, status, open311.open311_status(status))
