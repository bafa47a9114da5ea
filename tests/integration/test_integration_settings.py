"""A town administrator sets up the town's integrations: API keys, shown once and kept as a hash, revoked at
once; webhook subscriptions to addresses that may receive events, their signing secret shown once, their
deliveries listed and sent again; and, per request type, whether its requests are open data and whether
they go to the maintenance system. Only the town's administrators reach these pages, another town's rows
are not found, and every change is audited."""

from __future__ import annotations

import hashlib
import re
import uuid

from apps.web import create_app
from domain import api_keys, webhooks
from domain.tables import ApiKey, AuditEntry, ServiceRequest, WebhookDelivery, WebhookSubscription
from tests.integration.test_request_type_settings import stored_type, type_form
from tests.integration.test_team_settings import signed_in_admin
from tests.support.factories import department_id, make_town, many_requests
from tests.support.portal import PortalClient
from tests.support.services import offline_settings

OFFLINE = offline_settings()
KEYS = "/admin/settings/api-keys"
HOOKS = "/admin/settings/webhooks"
SHOWN_SECRET = re.compile(r'<code class="secret">([^<]+)</code>')
# On loopback, which the tests' operator allows (OUTBOUND_ALLOWED_NETWORKS); nothing needs to listen there.
RECEIVER = "http://127.0.0.1:9/hooks/311"


def subscription_form(**overrides) -> dict:
    form = {"name": "Work orders", "url": RECEIVER, "events": ["request.created", "request.closed"]}
    return form | overrides


async def audit_rows(town) -> list[dict]:
    async with town.scope.transaction():
        return await town.scope.select(AuditEntry).order_by(AuditEntry.id)


async def add_subscription(admin: PortalClient) -> tuple[int, str, str]:
    """Through the page, as an administrator does: the new subscription's id, its secret and the page."""
    await admin.get(HOOKS)
    added = await admin.post(HOOKS, subscription_form())
    assert added.status_code == 201, added.text[:500]
    subscription_id = int(re.search(r'href="/admin/settings/webhooks/(\d+)"', added.text).group(1))
    return subscription_id, SHOWN_SECRET.search(added.text).group(1), added.text


async def add_delivery(town, subscription_id: int, reference: str | None = None, **columns) -> int:
    async with town.scope.transaction():
        request_id = None
        if reference:
            row = await town.scope.select(ServiceRequest, ServiceRequest.id).where(
                ServiceRequest.reference == reference
            )
            request_id = row[0]["id"]
        delivery = town.scope.new(
            WebhookDelivery,
            subscription=subscription_id,
            request=request_id,
            event=columns.pop("event", webhooks.CLOSED),
            message_id=f"msg_{uuid.uuid4().hex}",
            payload="{}",
            **columns,
        )
        await delivery.save()
    return delivery.id


async def delivery_row(town, delivery_id: int) -> dict:
    async with town.scope.transaction():
        return await town.scope.select(WebhookDelivery).where(WebhookDelivery.id == delivery_id).first()


async def test_a_key_is_shown_once_kept_only_as_a_hash_and_refused_once_revoked():
    town = await make_town()
    app = create_app(OFFLINE)
    async with await signed_in_admin(app, town) as admin:
        assert f'href="{KEYS}"' in (await admin.get("/admin/requests")).text
        assert (await admin.get(KEYS)).status_code == 200
        unnamed = await admin.post(KEYS, {"name": " ", "scopes": ["read"]})
        assert unnamed.status_code == 422 and "Name the key after what will use it" in unnamed.text
        assert 'href="#name"' in unnamed.text  # the summary links to the field
        unscoped = await admin.post(KEYS, {"name": "Work-order system"})
        assert unscoped.status_code == 422 and "Choose at least one thing this key may do" in unscoped.text
        assert 'value="Work-order system"' in unscoped.text and 'href="#scopes"' in unscoped.text

        made = await admin.post(KEYS, {"name": "Work-order system", "scopes": ["read", "work_orders"]})
        assert made.status_code == 201 and "it will not be shown again" in made.text
        raw_key = SHOWN_SECRET.search(made.text).group(1)
        assert raw_key.startswith(api_keys.PREFIX)
        assert made.headers.get("location") is None and raw_key not in str(made.headers)
        listed = await admin.get(KEYS)
        assert raw_key not in listed.text and f"<code>{raw_key[:12]}…</code>" in listed.text
        assert "Maintenance system: work orders" in listed.text and "Active" in listed.text
        key_id = re.search(r'action="/admin/settings/api-keys/(\d+)/revoke"', listed.text).group(1)

        async with town.scope.transaction():
            row = await town.scope.select(ApiKey).first()
            assert (await api_keys.authenticate(town.scope, raw_key)).scopes == ("read", "work_orders")
        assert row["key_hash"] == hashlib.sha256(raw_key.encode()).hexdigest()
        assert all(raw_key not in str(value) for value in row.values())

        revoked = await admin.post(f"{KEYS}/{key_id}/revoke")
        assert revoked.headers["location"] == f"{KEYS}?done=revoked"
        assert (await admin.post(f"{KEYS}/{key_id}/revoke")).status_code == 303  # a second click: no harm
        page = (await admin.get(revoked.headers["location"])).text
        assert "The key is revoked" in page and "Revoked on" in page
        assert f"{KEYS}/{key_id}/revoke" not in page
        log = (await admin.get("/admin/settings/audit")).text
        assert "API key created" in log and "API key revoked" in log
    async with town.scope.transaction():
        assert await api_keys.authenticate(town.scope, raw_key) is None
    entries = await audit_rows(town)
    assert [entry["action"] for entry in entries] == ["api_key.created", "api_key.revoked"]
    assert entries[0]["after"] == {"name": "Work-order system", "scopes": ["read", "work_orders"]}
    assert entries[1]["before"] == {"active": True} and entries[1]["after"] == {"active": False}
    assert all(raw_key not in str(entry) for entry in entries)


async def test_only_the_towns_administrators_reach_its_integrations():
    town = await make_town()
    app = create_app(OFFLINE)
    async with PortalClient(app, town.host) as agent:
        await agent.login(town.roads_email, town.password)
        assert f'href="{KEYS}"' not in (await agent.get("/admin/requests")).text
        for path in (KEYS, HOOKS):
            assert (await agent.get(path)).status_code == 403
        assert (await agent.post(KEYS, {"name": "Mine", "scopes": ["read"]})).status_code == 403
        assert (await agent.post(HOOKS, subscription_form())).status_code == 403
    async with town.scope.transaction():
        assert not await town.scope.exists(ApiKey)
        assert not await town.scope.exists(WebhookSubscription)


async def test_another_towns_keys_subscriptions_and_deliveries_are_not_found():
    town, other = await make_town(), await make_town("Othertown")
    app = create_app(OFFLINE)
    async with town.scope.transaction():
        key, raw_key = await api_keys.create(town.scope, "Kiosk", ["submit"], "Ada Admin")
    async with await signed_in_admin(app, town) as admin:
        subscription_id, _, _ = await add_subscription(admin)
    delivery_id = await add_delivery(town, subscription_id, state=webhooks.FAILED)
    theirs = f"{HOOKS}/{subscription_id}"
    async with await signed_in_admin(app, other) as neighbour:
        await neighbour.get(KEYS)
        assert (await neighbour.post(f"{KEYS}/{key.id}/revoke")).status_code == 404
        assert (await neighbour.get(theirs)).status_code == 404
        assert (
            await neighbour.post(theirs, {"url": RECEIVER, "events": ["request.closed"]})
        ).status_code == 404
        assert (await neighbour.post(f"{theirs}/rotate")).status_code == 404
        assert (await neighbour.post(f"{theirs}/deliveries/{delivery_id}/redeliver")).status_code == 404
        assert (await neighbour.post(f"{theirs}/delete")).status_code == 404
    async with town.scope.transaction():
        assert await api_keys.authenticate(town.scope, raw_key) is not None
        assert await webhooks.subscription(town.scope, subscription_id) is not None
    assert (await delivery_row(town, delivery_id))["state"] == webhooks.FAILED
    assert not [entry for entry in await audit_rows(other) if entry["action"].startswith(("api_", "webhook"))]


async def test_addresses_that_may_not_receive_events_are_refused_beside_the_field_keeping_the_form():
    town = await make_town()
    app = create_app(OFFLINE)
    cases = [
        (subscription_form(url="http://10.1.2.3/hooks"), "url", "never to a private network"),
        (subscription_form(url="https://nowhere.invalid/hooks"), "url", "host name does not resolve"),
        (subscription_form(url="ftp://127.0.0.1/hooks"), "url", "starting https://"),
        (subscription_form(url="http://user:pw@127.0.0.1/hooks"), "url", "starting https://"),
        (subscription_form(events=[]), "events", "Choose at least one event to send."),
        (subscription_form(name=""), "name", "Name the system that receives the events"),
    ]
    async with await signed_in_admin(app, town) as admin:
        await admin.get(HOOKS)
        for form, field, message in cases:
            refused = await admin.post(HOOKS, form)
            assert refused.status_code == 422 and message in refused.text, form
            assert f'href="#{field}"' in refused.text, form  # the summary links to the field
            assert f'value="{form["url"]}"' in refused.text, form
            for event in form["events"]:
                assert f'value="{event}" checked' in refused.text, form
            assert "whsec_" not in refused.text
        subscription_id, _, _ = await add_subscription(admin)
        path = f"{HOOKS}/{subscription_id}"
        private = await admin.post(path, {"url": "http://10.1.2.3/hooks", "events": ["request.routed"]})
        assert private.status_code == 422 and "never to a private network" in private.text
        assert 'value="http://10.1.2.3/hooks"' in private.text
        assert 'value="request.routed" checked' in private.text
    async with town.scope.transaction():
        stored = await webhooks.subscriptions(town.scope)
    assert [(item.url, item.events) for item in stored] == [(RECEIVER, ("request.created", "request.closed"))]
    assert [entry["action"] for entry in await audit_rows(town)] == ["webhook.created"]


async def test_a_subscription_shows_its_secret_once_lists_its_deliveries_and_sends_one_again():
    town = await make_town()
    app = create_app(OFFLINE)
    (reference,) = await many_requests(town, 1)
    async with await signed_in_admin(app, town) as admin:
        assert f'href="{HOOKS}"' in (await admin.get(KEYS)).text
        subscription_id, secret, added = await add_subscription(admin)
        assert secret.startswith("whsec_") and "it will not be shown again" in added
        for header in ("webhook-id", "webhook-timestamp", "webhook-signature"):
            assert f"<code>{header}</code>" in added
        path = f"{HOOKS}/{subscription_id}"
        listed = await admin.get(HOOKS)
        assert secret not in listed.text and f"<code>{RECEIVER}</code>" in listed.text
        assert "A request was made" in listed.text and "A request was closed" in listed.text

        delivery_id = await add_delivery(
            town,
            subscription_id,
            reference,
            state=webhooks.FAILED,
            attempts=3,
            response_status=500,
            response_excerpt="Internal trouble",
            error="the receiver answered 500",
        )
        message_id = (await delivery_row(town, delivery_id))["message_id"]
        shown = await admin.get(path)
        assert shown.status_code == 200 and secret not in shown.text
        for text in (
            f'href="/admin/requests/{reference}"',
            f"<code>{message_id}</code>",
            "A request was closed",
            "Failed",
            "HTTP status 500",
            "Internal trouble",
            "the receiver answered 500",
        ):
            assert text in shown.text, text
        other_subscription, _, _ = await add_subscription(admin)
        elsewhere = f"{HOOKS}/{other_subscription}/deliveries/{delivery_id}/redeliver"
        assert (await admin.post(elsewhere)).status_code == 404  # not one of that subscription's

        again = await admin.post(f"{path}/deliveries/{delivery_id}/redeliver")
        # Temporal is not running here: the reconciler wakes the dispatcher, and the page says so gently.
        assert again.headers["location"] == f"{path}?done=redelivered_later"
        after = await admin.get(again.headers["location"])
        assert "will be sent again" in after.text and "Waiting to be sent" in after.text
        assert f"{path}/deliveries/{delivery_id}/redeliver" not in after.text  # on its way already
    row = await delivery_row(town, delivery_id)
    assert row["state"] == webhooks.PENDING and row["error"] == "" and row["message_id"] == message_id
    redelivered = [entry for entry in await audit_rows(town) if entry["action"] == "webhook.redelivered"]
    assert [entry["after"] for entry in redelivered] == [{"event": webhooks.CLOSED, "message_id": message_id}]


async def test_a_subscription_is_changed_paused_given_a_new_secret_and_deleted():
    town = await make_town()
    app = create_app(OFFLINE)
    async with await signed_in_admin(app, town) as admin:
        subscription_id, first_secret, _ = await add_subscription(admin)
        path = f"{HOOKS}/{subscription_id}"
        await admin.get(path)
        changed = await admin.post(path, {"url": RECEIVER + "/v2", "events": ["request.assigned"]})
        assert changed.headers["location"] == f"{path}?done=saved"
        page = (await admin.get(changed.headers["location"])).text
        assert "Your changes are saved." in page and "Paused" in page
        assert 'value="request.assigned" checked' in page and 'value="request.closed" checked' not in page

        rotated = await admin.post(f"{path}/rotate")
        assert rotated.status_code == 200 and "it will not be shown again" in rotated.text
        new_secret = SHOWN_SECRET.search(rotated.text).group(1)
        assert new_secret.startswith("whsec_") and new_secret != first_secret
        async with town.scope.transaction():
            row = await town.scope.select(WebhookSubscription).where(
                WebhookSubscription.id == subscription_id
            )
        assert row[0]["secret"] == new_secret
        assert new_secret not in (await admin.get(path)).text

        deleted = await admin.post(f"{path}/delete")
        assert deleted.headers["location"] == f"{HOOKS}?done=deleted"
        assert "The subscription is deleted" in (await admin.get(deleted.headers["location"])).text
        assert (await admin.get(path)).status_code == 404
        log = (await admin.get("/admin/settings/audit")).text
        for label in ("Webhook subscription changed", "Webhook signing secret replaced"):
            assert label in log
    entries = await audit_rows(town)
    assert [entry["action"] for entry in entries] == [
        "webhook.created",
        "webhook.changed",
        "webhook.secret_rotated",
        "webhook.deleted",
    ]
    assert entries[1]["before"] == {
        "url": RECEIVER,
        "events": ["request.created", "request.closed"],
        "active": True,
    }
    assert entries[1]["after"] == {"url": RECEIVER + "/v2", "events": ["request.assigned"], "active": False}
    assert entries[3]["before"]["name"] == "Work orders"
    assert all(first_secret not in str(entry) and new_secret not in str(entry) for entry in entries)


async def test_deliveries_come_newest_first_fifty_a_page():
    town = await make_town()
    app = create_app(OFFLINE)
    async with await signed_in_admin(app, town) as admin:
        subscription_id, _, _ = await add_subscription(admin)
        ids = [await add_delivery(town, subscription_id, state=webhooks.DELIVERED) for _ in range(51)]
        path = f"{HOOKS}/{subscription_id}"
        first = (await admin.get(path)).text
        shown = [int(n) for n in re.findall(rf"{path}/deliveries/(\d+)/redeliver", first)]
        assert shown == ids[:0:-1]  # the newest fifty
        older = re.search(rf'href="{path}\?before=(\d+)"', first).group(1)
        assert int(older) == ids[1]
        second = (await admin.get(f"{path}?before={older}")).text
        assert re.findall(rf"{path}/deliveries/(\d+)/redeliver", second) == [str(ids[0])]
        assert f'name="before" value="{older}"' in second
        assert "Newest deliveries" in second and "Older deliveries" not in second
        again = await admin.post(f"{path}/deliveries/{ids[0]}/redeliver", {"before": older})
        assert again.headers["location"] == f"{path}?done=redelivered_later&before={older}"


async def test_a_types_open_data_and_maintenance_switches_save_and_show_again():
    town = await make_town()
    works = await department_id(town, "public-works")
    app = create_app(OFFLINE)
    async with await signed_in_admin(app, town) as admin:
        new = (await admin.get("/admin/settings/types/new")).text
        assert 'name="published" aria-describedby="published-hint">' in new  # off until chosen
        switched = type_form(works, published="on", send_to_maintenance="on")
        assert (await admin.post("/admin/settings/types/new", switched)).status_code == 303
        row = await stored_type(town, "fallen-tree")
        assert row["published"] and row["send_to_maintenance"]
        path = f"/admin/settings/types/{row['id']}"
        page = (await admin.get(path)).text
        assert 'name="published" aria-describedby="published-hint" checked' in page
        assert 'name="send_to_maintenance" aria-describedby="send_to_maintenance-hint" checked' in page
        assert (await admin.post(path, type_form(works))).status_code == 303
        page = (await admin.get(path)).text
        assert 'name="published" aria-describedby="published-hint" checked' not in page
        assert 'name="send_to_maintenance" aria-describedby="send_to_maintenance-hint" checked' not in page
        log = (await admin.get("/admin/settings/audit")).text
        assert "Open data" in log and "Sent to the maintenance system" in log
    row = await stored_type(town, "fallen-tree")
    assert not row["published"] and not row["send_to_maintenance"]
    entries = await audit_rows(town)
    assert entries[0]["after"]["published"] is True and entries[0]["after"]["send_to_maintenance"] is True
    assert entries[1]["before"] == {"published": True, "send_to_maintenance": True}
    assert entries[1]["after"] == {"published": False, "send_to_maintenance": False}


async def test_the_work_order_number_shows_on_the_request():
    town = await make_town()
    app = create_app(OFFLINE)
    (reference,) = await many_requests(town, 1)
    async with await signed_in_admin(app, town) as admin:
        assert "Work order" not in (await admin.get(f"/admin/requests/{reference}")).text
        async with town.scope.transaction():
            await town.scope.update(ServiceRequest, {ServiceRequest.work_order: "WO-2026-0042"}).where(
                ServiceRequest.reference == reference
            )
        page = (await admin.get(f"/admin/requests/{reference}")).text
        assert "<dt>Work order</dt><dd>WO-2026-0042</dd>" in page
