"""The town's integrations, set up by its administrators: API keys for the programs that call the portal,
and webhook subscriptions that tell its maintenance system what happens to requests, with their deliveries.

A new key or signing secret is shown once, in the page that answers the form that made it: the key is kept
only as a hash, and neither goes into a redirect, the session or the audit log. Plain forms."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template

from apps.admin.settings import TOWN_ADMIN_ONLY, actor_of
from apps.pages import PathId, QueryId, page, row_id, tenant_of
from domain import api_keys, audit, webhooks
from domain.scope import TenantScope
from domain.staff import StaffMember
from domain.webhooks import Subscription
from infra import outbound
from infra.i18n import N_
from infra.settings import Settings
from workflows.client import TemporalGateway

KEYS_PATH = "/admin/settings/api-keys"
WEBHOOKS_PATH = "/admin/settings/webhooks"
KEY_DONE = {"revoked": N_("The key is revoked: the next call made with it is refused.")}
WEBHOOK_DONE = {
    "saved": N_("Your changes are saved."),
    "deleted": N_("The subscription is deleted; its deliveries still waiting will not be sent."),
    "redelivered": N_("The delivery is on its way again, under the same message id."),
    "redelivered_later": N_(
        "The delivery will be sent again, under the same message id. The service that sends deliveries "
        "did not answer just now; it picks this one up by itself as soon as it is back."
    ),
}
DELIVERY_STATES = {
    webhooks.PENDING: N_("Waiting to be sent"),
    webhooks.DELIVERED: N_("Delivered"),
    webhooks.FAILED: N_("Failed"),
}
DELIVERIES_PAGE = 50


def _key_subject(key: api_keys.ApiKeyInfo) -> str:
    """Names may repeat; the first characters tell keys apart in the log."""
    return f"{key.name} ({key.prefix}…)"


def _audited(subscription: Subscription) -> dict[str, Any]:
    return {
        "name": subscription.name,
        "url": subscription.url,
        "events": list(subscription.events),
        "active": subscription.active,
    }


def _ticked_events(form: Any) -> list[str]:
    return [str(value) for value in form.getall("events", [])]


class ApiKeysController(Controller):
    path = KEYS_PATH
    include_in_schema = False
    dependencies = TOWN_ADMIN_ONLY

    async def _page(
        self,
        request: Request,
        admin: StaffMember,
        scope: TenantScope,
        values: dict | None = None,
        errors: dict | None = None,
        status_code: int = 200,
        new_key: api_keys.ApiKeyInfo | None = None,
        raw_key: str = "",
    ) -> Template:
        return page(
            request,
            "pages/api_keys.html",
            status_code=status_code,
            member=admin,
            keys=await api_keys.keys(scope),
            scope_labels=api_keys.SCOPE_LABELS,
            values=values or {"name": "", "scopes": []},
            errors=errors or {},
            new_key=new_key,
            raw_key=raw_key,
            done=KEY_DONE.get(request.query_params.get("done", ""), ""),
        )

    @get("/")
    async def show(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template:
        return await self._page(request, admin, tenant_scope)

    @post("/")
    async def create(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template:
        form = await request.form()
        name = str(form.get("name", ""))
        scopes = [str(value) for value in form.getall("scopes", [])]
        try:
            key, raw_key = await api_keys.create(tenant_scope, name, scopes, admin.name)
        except api_keys.KeyRefused as refused:
            values = {"name": name.strip(), "scopes": scopes}
            return await self._page(request, admin, tenant_scope, values, {refused.field: str(refused)}, 422)
        after = {"name": key.name, "scopes": list(key.scopes)}
        await audit.record(tenant_scope, actor_of(admin), "api_key.created", _key_subject(key), after=after)
        return await self._page(request, admin, tenant_scope, status_code=201, new_key=key, raw_key=raw_key)

    @post("/{key_id:int}/revoke")
    async def revoke(
        self,
        key_id: PathId,
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
    ) -> Redirect:
        key = next((key for key in await api_keys.keys(tenant_scope) if key.id == key_id), None)
        if key is None:
            raise NotFoundException()
        if key.active:  # a second click changes nothing, and logs nothing
            await api_keys.revoke(tenant_scope, key_id)
            await audit.record(
                tenant_scope,
                actor_of(admin),
                "api_key.revoked",
                _key_subject(key),
                before={"active": True},
                after={"active": False},
            )
        return Redirect(f"{KEYS_PATH}?done=revoked", status_code=303)


class WebhooksController(Controller):
    path = WEBHOOKS_PATH
    include_in_schema = False
    dependencies = TOWN_ADMIN_ONLY

    async def _list_page(
        self,
        request: Request,
        admin: StaffMember,
        scope: TenantScope,
        values: dict | None = None,
        errors: dict | None = None,
        status_code: int = 200,
        created: Subscription | None = None,
        secret: str = "",
    ) -> Template:
        return page(
            request,
            "pages/webhooks.html",
            status_code=status_code,
            member=admin,
            subscriptions=await webhooks.subscriptions(scope),
            events=webhooks.EVENTS,
            values=values or {"name": "", "url": "", "events": []},
            errors=errors or {},
            created=created,
            secret=secret,
            done=WEBHOOK_DONE.get(request.query_params.get("done", ""), ""),
        )

    async def _detail_page(
        self,
        request: Request,
        admin: StaffMember,
        scope: TenantScope,
        subscription: Subscription,
        before: int | None = None,
        values: dict | None = None,
        errors: dict | None = None,
        status_code: int = 200,
        secret: str = "",
    ) -> Template:
        shown = await webhooks.deliveries(scope, subscription.id, before, DELIVERIES_PAGE + 1)
        return page(
            request,
            "pages/webhook.html",
            status_code=status_code,
            member=admin,
            subscription=subscription,
            events=webhooks.EVENTS,
            values=values or _audited(subscription),
            errors=errors or {},
            secret=secret,
            deliveries=shown[:DELIVERIES_PAGE],
            before=before,
            older=shown[DELIVERIES_PAGE - 1].id if len(shown) > DELIVERIES_PAGE else None,
            states=DELIVERY_STATES,
            done=WEBHOOK_DONE.get(request.query_params.get("done", ""), ""),
        )

    async def _subscription(self, scope: TenantScope, subscription_id: int) -> Subscription:
        subscription = await webhooks.subscription(scope, subscription_id)
        if subscription is None:
            raise NotFoundException()
        return subscription

    @get("/")
    async def show(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template:
        return await self._list_page(request, admin, tenant_scope)

    @post("/")
    async def create(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
        settings: NamedDependency[Settings],
    ) -> Template:
        form = await request.form()
        name = str(form.get("name", "")).strip()
        url = str(form.get("url", "")).strip()
        events = _ticked_events(form)
        allowed = outbound.networks(settings.outbound_allowed_networks)
        try:
            created, secret = await webhooks.create_subscription(tenant_scope, name, url, events, allowed)
        except webhooks.SubscriptionRefused as refused:
            values = {"name": name, "url": url, "events": events}
            errors = {refused.field: str(refused)}
            return await self._list_page(request, admin, tenant_scope, values, errors, 422)
        await audit.record(
            tenant_scope, actor_of(admin), "webhook.created", created.name, after=_audited(created)
        )
        return await self._list_page(
            request, admin, tenant_scope, status_code=201, created=created, secret=secret
        )

    @get("/{subscription_id:int}")
    async def detail(
        self,
        request: Request,
        subscription_id: PathId,
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
        before: QueryId = None,
    ) -> Template:
        subscription = await self._subscription(tenant_scope, subscription_id)
        return await self._detail_page(request, admin, tenant_scope, subscription, before)

    @post("/{subscription_id:int}")
    async def change(
        self,
        request: Request,
        subscription_id: PathId,
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
        settings: NamedDependency[Settings],
    ) -> Template | Redirect:
        subscription = await self._subscription(tenant_scope, subscription_id)
        form = await request.form()
        url = str(form.get("url", "")).strip()
        events = _ticked_events(form)
        active = form.get("active") == "on"
        allowed = outbound.networks(settings.outbound_allowed_networks)
        try:
            changed = await webhooks.change_subscription(
                tenant_scope, subscription.id, url, events, active, allowed
            )
        except webhooks.SubscriptionRefused as refused:
            values = {"url": url, "events": events, "active": active}
            errors = {refused.field: str(refused)}
            return await self._detail_page(
                request, admin, tenant_scope, subscription, values=values, errors=errors, status_code=422
            )
        if changed is None:
            raise NotFoundException()
        before, after = audit.changed(_audited(subscription), _audited(changed))
        if before or after:
            await audit.record(tenant_scope, actor_of(admin), "webhook.changed", changed.name, before, after)
        return Redirect(f"{WEBHOOKS_PATH}/{subscription.id}?done=saved", status_code=303)

    @post("/{subscription_id:int}/rotate")
    async def rotate(
        self,
        request: Request,
        subscription_id: PathId,
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template:
        subscription = await self._subscription(tenant_scope, subscription_id)
        secret = await webhooks.rotate_secret(tenant_scope, subscription.id)
        if secret is None:
            raise NotFoundException()
        await audit.record(tenant_scope, actor_of(admin), "webhook.secret_rotated", subscription.name)
        return await self._detail_page(request, admin, tenant_scope, subscription, secret=secret)

    @post("/{subscription_id:int}/delete")
    async def delete(
        self,
        subscription_id: PathId,
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
    ) -> Redirect:
        subscription = await self._subscription(tenant_scope, subscription_id)
        if not await webhooks.delete_subscription(tenant_scope, subscription.id):
            raise NotFoundException()
        await audit.record(
            tenant_scope,
            actor_of(admin),
            "webhook.deleted",
            subscription.name,
            before=_audited(subscription),
        )
        return Redirect(f"{WEBHOOKS_PATH}?done=deleted", status_code=303)

    @post("/{subscription_id:int}/deliveries/{delivery_id:int}/redeliver")
    async def redeliver(
        self,
        request: Request,
        subscription_id: PathId,
        delivery_id: PathId,
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
        temporal: NamedDependency[TemporalGateway],
    ) -> Redirect:
        page_before = row_id(str((await request.form()).get("before", "")))
        subscription = await self._subscription(tenant_scope, subscription_id)
        delivery = await webhooks.redeliver(tenant_scope, subscription.id, delivery_id)
        if delivery is None:
            raise NotFoundException()
        after = {"event": delivery.event, "message_id": delivery.message_id}
        await audit.record(
            tenant_scope, actor_of(admin), "webhook.redelivered", subscription.name, after=after
        )
        woken = await temporal.wake_webhooks(tenant_of(request).id)
        query = {"done": "redelivered" if woken else "redelivered_later"}
        if page_before:
            query["before"] = str(page_before)  # back to the page of deliveries it was on
        return Redirect(f"{WEBHOOKS_PATH}/{subscription.id}?{urlencode(query)}", status_code=303)
