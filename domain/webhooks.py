"""The hand-off to the town's maintenance system: webhook subscriptions, and one delivery per event.

A move writes its deliveries in its own transaction (the outbox), so an event is never lost and never told
of a move that did not happen. A dispatcher workflow per town then delivers them (workflows/webhooks):
in order per request and subscription, at least once, always under the same message id, signed as the
Standard Webhooks specification says. Only the types a town switched on (`send_to_maintenance`) flow out.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from domain import lifecycle, open311
from domain import requests as request_service
from domain.scope import TenantScope
from domain.tables import WebhookDelivery, WebhookSubscription
from domain.writes import utc_now
from infra import outbound
from infra.database import cross_tenant
from infra.i18n import N_

CREATED, ROUTED, ASSIGNED = "request.created", "request.routed", "request.assigned"
STATUS_CHANGED, PUBLIC_UPDATE = "request.status_changed", "request.public_update"
CLOSED, REOPENED = "request.closed", "request.reopened"
EVENTS = {
    CREATED: N_("A request was made"),
    ROUTED: N_("A request reached its department"),
    ASSIGNED: N_("A request was assigned to someone"),
    STATUS_CHANGED: N_("A request's status changed"),
    PUBLIC_UPDATE: N_("A public update was posted"),
    CLOSED: N_("A request was closed"),
    REOPENED: N_("A request was reopened"),
}
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
# Standard Webhooks: the message id (the same at every attempt), the attempt's time, and its signature.
SIGNATURE_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
MAX_SUBSCRIPTIONS = 10
# Set when a move wrote deliveries, so the step that made it wakes the town's dispatcher after its commit.
_recorded: ContextVar[bool] = ContextVar("webhook_deliveries_recorded", default=False)


class SubscriptionRefused(ValueError):
    """`field` is the form field the message belongs to; the message is a msgid."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Subscription:
    id: int
    name: str
    url: str
    events: tuple[str, ...]
    active: bool
    created_at: datetime


@dataclass(frozen=True)
class Delivery:
    id: int
    subscription_id: int
    request_reference: str | None
    event: str
    message_id: str
    state: str
    attempts: int
    response_status: int | None
    response_excerpt: str
    error: str
    created_at: datetime
    last_attempt_at: datetime | None
    delivered_at: datetime | None


@dataclass(frozen=True)
class Outgoing:
    """What one attempt sends: where, signed with what, and the body as it was at the event."""

    id: int
    url: str
    secret: str
    message_id: str
    payload: str
    state: str
    active: bool


# Subscriptions -----------------------------------------------------------------------------------------


def _subscription(row: dict) -> Subscription:
    return Subscription(
        id=row["id"],
        name=row["name"],
        url=row["url"],
        events=tuple(name for name in row["events"].split(",") if name in EVENTS),
        active=row["active"],
        created_at=row["created_at"],
    )


_SUBSCRIPTION_COLUMNS = (
    WebhookSubscription.id,
    WebhookSubscription.name,
    WebhookSubscription.url,
    WebhookSubscription.events,
    WebhookSubscription.active,
    WebhookSubscription.created_at,
)


async def subscriptions(scope: TenantScope) -> list[Subscription]:
    rows = await scope.select(WebhookSubscription, *_SUBSCRIPTION_COLUMNS).order_by(WebhookSubscription.id)
    return [_subscription(row) for row in rows]


async def subscription(scope: TenantScope, subscription_id: int) -> Subscription | None:
    row = (
        await scope.select(WebhookSubscription, *_SUBSCRIPTION_COLUMNS)
        .where(WebhookSubscription.id == subscription_id)
        .first()
    )
    return _subscription(row) if row else None


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


async def check_url(url: str, allowed: tuple[outbound.Network, ...]) -> None:
    """Raises SubscriptionRefused unless deliveries may go there: `https` to a public address, or a network
    the operator allowed (OUTBOUND_ALLOWED_NETWORKS), where plain `http` is accepted too."""
    parts = urlsplit(url)
    if len(url) > 500 or parts.scheme not in ("https", "http") or not parts.hostname or parts.username:
        raise SubscriptionRefused("url", N_("Enter the address that receives the events, starting https://."))
    port = parts.port if parts.port is not None else (443 if parts.scheme == "https" else 80)
    try:
        await outbound.ensure_public(parts.hostname, port)
        public = True
    except outbound.Unreachable as unreachable:
        if unreachable.reason == "not_found":
            raise SubscriptionRefused("url", N_("This address's host name does not resolve.")) from None
        try:
            await outbound.ensure_public(parts.hostname, port, allowed)
        except outbound.Unreachable:
            raise SubscriptionRefused(
                "url", N_("Events are only sent to public addresses, never to a private network.")
            ) from None
        public = False
    if public and parts.scheme != "https":
        raise SubscriptionRefused("url", N_("Events are only sent over https, so that nobody can read them."))


def _events(chosen: list[str]) -> str:
    events = [name for name in EVENTS if name in chosen]
    if not events:
        raise SubscriptionRefused("events", N_("Choose at least one event to send."))
    return ",".join(events)


async def create_subscription(
    scope: TenantScope, name: str, url: str, events: list[str], allowed: tuple[outbound.Network, ...]
) -> tuple[Subscription, str]:
    """The new subscription and its signing secret."""
    name, url = name.strip(), url.strip()
    if not name or len(name) > 100:
        raise SubscriptionRefused("name", N_("Name the system that receives the events, e.g. its product."))
    chosen = _events(events)
    await check_url(url, allowed)
    if await scope.count(WebhookSubscription) >= MAX_SUBSCRIPTIONS:
        raise SubscriptionRefused("name", N_("This town has many subscriptions already; delete one first."))
    secret = new_secret()
    row = scope.new(
        WebhookSubscription, name=name, url=url, events=chosen, secret=secret, created_at=utc_now()
    )
    await row.save()
    return _subscription(row.to_dict()), secret


async def change_subscription(
    scope: TenantScope,
    subscription_id: int,
    url: str,
    events: list[str],
    active: bool,
    allowed: tuple[outbound.Network, ...],
) -> Subscription | None:
    url = url.strip()
    chosen = _events(events)
    await check_url(url, allowed)
    await scope.update(
        WebhookSubscription,
        {
            WebhookSubscription.url: url,
            WebhookSubscription.events: chosen,
            WebhookSubscription.active: active,
        },
    ).where(WebhookSubscription.id == subscription_id)
    return await subscription(scope, subscription_id)


async def rotate_secret(scope: TenantScope, subscription_id: int) -> str | None:
    """A new signing secret, effective for the next attempt; None when the town has no such subscription."""
    if await subscription(scope, subscription_id) is None:
        return None
    secret = new_secret()
    await scope.update(WebhookSubscription, {WebhookSubscription.secret: secret}).where(
        WebhookSubscription.id == subscription_id
    )
    return secret


async def delete_subscription(scope: TenantScope, subscription_id: int) -> bool:
    """Deletes it with its deliveries (those still pending are not sent)."""
    found = await subscription(scope, subscription_id)
    await scope.delete(WebhookSubscription).where(WebhookSubscription.id == subscription_id)
    return found is not None


# Recording events (inside a move's transaction) -------------------------------------------------------


def events_of(action: str, from_status: str, to_status: str, public_note: bool) -> list[str]:
    """The events a move is, most specific first: routing is also the request's creation."""
    if action == lifecycle.ROUTE:
        return [CREATED, ROUTED]
    named = {lifecycle.ASSIGN: ASSIGNED, lifecycle.CLOSE: CLOSED, lifecycle.REOPEN: REOPENED}
    if action in named:
        return [named[action]]
    if to_status != from_status:
        return [STATUS_CHANGED]
    return [PUBLIC_UPDATE] if public_note else []


async def record(scope: TenantScope, request_id: int, events: list[str], from_status: str, note: str) -> int:
    """Writes a delivery per event and subscription that wants it; how many. Call inside the move's
    transaction, after its writes, so the body tells of the request as the move left it."""
    if not events:
        return 0
    wanted = [item for item in await subscriptions(scope) if item.active and set(item.events) & set(events)]
    if not wanted:
        return 0
    record_ = await request_service.get_by_id(scope, request_id)
    if record_ is None:
        return 0
    now = utc_now()
    data = open311.service_request(record_, status_notes=note) | {
        "detailed_status": record_.status,
        "previous_status": from_status,
        "work_order": record_.work_order,
    }
    written = 0
    for event in events:
        body = json.dumps({"type": event, "timestamp": open311.timestamp(now), "data": data})
        for item in wanted:
            if event in item.events:
                await scope.new(
                    WebhookDelivery,
                    subscription=item.id,
                    request=request_id,
                    event=event,
                    message_id=f"msg_{uuid.uuid4().hex}",
                    payload=body,
                    created_at=now,
                ).save()
                written += 1
    if written:
        _recorded.set(True)
    return written


def start_recording() -> None:
    """Call at the start of a step (each runs in its own task, so this is the step's own flag)."""
    _recorded.set(False)


def were_recorded() -> bool:
    """Whether the step's moves wrote deliveries since `start_recording`."""
    return _recorded.get()


# Delivering ---------------------------------------------------------------------------------------------


def lane(subscription_id: int, request_id: int | None) -> str:
    """Deliveries of one lane go out one at a time, oldest first."""
    return f"{subscription_id}:{request_id or 0}"


async def next_in_lanes(scope: TenantScope, busy: set[str], limit: int) -> list[tuple[int, str]]:
    """(delivery id, lane) of the oldest pending delivery of each lane not busy, at most `limit`."""
    rows = (
        await scope.select(
            WebhookDelivery, WebhookDelivery.id, WebhookDelivery.subscription, WebhookDelivery.request
        )
        .where(WebhookDelivery.state == PENDING)
        .order_by(WebhookDelivery.id)
        .limit(max(limit * 10, 500))
    )
    chosen: list[tuple[int, str]] = []
    seen = set(busy)
    for row in rows:
        name = lane(row["subscription"], row["request"])
        if name not in seen:
            seen.add(name)
            chosen.append((row["id"], name))
            if len(chosen) >= limit:
                break
    return chosen


async def outgoing(scope: TenantScope, delivery_id: int) -> Outgoing | None:
    row = (
        await scope.select(
            WebhookDelivery,
            WebhookDelivery.id,
            WebhookDelivery.subscription.url.as_alias("url"),
            WebhookDelivery.subscription.secret.as_alias("secret"),
            WebhookDelivery.message_id,
            WebhookDelivery.payload,
            WebhookDelivery.state,
            WebhookDelivery.subscription.active.as_alias("active"),
        )
        .where(WebhookDelivery.id == delivery_id)
        .first()
    )
    return Outgoing(**row) if row else None


async def record_attempt(
    scope: TenantScope,
    delivery_id: int,
    state: str,
    response_status: int | None = None,
    response_excerpt: str = "",
    error: str = "",
) -> None:
    now = utc_now()
    values: dict[Any, Any] = {
        WebhookDelivery.state: state,
        WebhookDelivery.attempts: WebhookDelivery.attempts + 1,
        WebhookDelivery.response_status: response_status,
        WebhookDelivery.response_excerpt: response_excerpt[:500],
        WebhookDelivery.error: error[:300],
        WebhookDelivery.last_attempt_at: now,
    }
    if state == DELIVERED:
        values[WebhookDelivery.delivered_at] = now
    await scope.update(WebhookDelivery, values).where(WebhookDelivery.id == delivery_id)


# Reading and redelivering (the workspace and the integration API) ------------------------------------


def _deliveries(scope: TenantScope, subscription_id: int) -> Any:
    return scope.select(
        WebhookDelivery,
        WebhookDelivery.id,
        WebhookDelivery.subscription.as_alias("subscription_id"),
        WebhookDelivery.request.reference.as_alias("request_reference"),
        WebhookDelivery.event,
        WebhookDelivery.message_id,
        WebhookDelivery.state,
        WebhookDelivery.attempts,
        WebhookDelivery.response_status,
        WebhookDelivery.response_excerpt,
        WebhookDelivery.error,
        WebhookDelivery.created_at,
        WebhookDelivery.last_attempt_at,
        WebhookDelivery.delivered_at,
    ).where(WebhookDelivery.subscription == subscription_id)


async def deliveries(
    scope: TenantScope, subscription_id: int, before_id: int | None = None, limit: int = 50
) -> list[Delivery]:
    """A subscription's deliveries, newest first, a page at a time (`before_id`: the last one shown)."""
    query = _deliveries(scope, subscription_id)
    if before_id:
        query = query.where(WebhookDelivery.id < before_id)
    rows = await query.order_by(WebhookDelivery.id, ascending=False).limit(limit)
    return [Delivery(**row) for row in rows]


async def delivery(scope: TenantScope, subscription_id: int, delivery_id: int) -> Delivery | None:
    """One of the subscription's deliveries; None when it has no such one."""
    row = await _deliveries(scope, subscription_id).where(WebhookDelivery.id == delivery_id).first()
    return Delivery(**row) if row else None


async def redeliver(scope: TenantScope, subscription_id: int, delivery_id: int) -> Delivery | None:
    """Sends the delivery again, same id and body: its lane's next turn takes it. None: no such delivery."""
    found = await delivery(scope, subscription_id, delivery_id)
    if found:
        again = {WebhookDelivery.state: PENDING, WebhookDelivery.error: ""}
        await scope.update(WebhookDelivery, again).where(WebhookDelivery.id == delivery_id)
    return found


async def towns_with_pending(only_tenants: list[int] | None = None, limit: int = 500) -> list[int]:
    """The towns that have deliveries waiting, for the reconciler to wake their dispatchers: one range of
    the partial index of pending deliveries, across towns. `only_tenants` narrows it (the tests' own)."""
    query = (
        WebhookDelivery.select(WebhookDelivery.tenant.as_alias("tenant_id"))
        .where(WebhookDelivery.state == PENDING)
        .distinct()
        .limit(limit)
    )
    if only_tenants is not None:
        query = query.where(WebhookDelivery.tenant.is_in(only_tenants or [0]))
    async with cross_tenant("webhooks: towns with deliveries waiting"):
        return [row["tenant_id"] for row in await query]
