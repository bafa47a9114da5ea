"""The hand-off to a maintenance system on the real parts: the worker delivers signed webhooks to a receiver
process on loopback, which fails and recovers; the maintenance system answers through the integration API
with the same Temporal Updates a clerk sends, and the citizen hears of it and gets the receipt."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from domain import api_keys, webhooks
from domain import requests as request_service
from domain.tables import RequestType, WebhookDelivery
from infra import outbound
from infra.settings import PROJECT_ROOT, get_settings
from tests.support.factories import make_town
from tests.support.portal import PortalClient
from tests.support.services import eventually
from tests.workflows.lifecycle_helpers import about, commit_request, submit, text_of, wait_status
from workflows.reconciler import wake_dispatchers

pytestmark = pytest.mark.usefixtures("worker")


class Receiver:
    """The receiver process and what it accepted."""

    def __init__(self, secret: str, log: Path) -> None:
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.webhook_receiver", secret, str(log)],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.url = f"http://127.0.0.1:{int(self.process.stdout.readline())}"

    def accepted(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    async def wait_for(self, event_type: str, reference: str, count: int = 1) -> list[dict]:
        def found():
            lines = self.accepted()
            matching = [
                line
                for line in lines
                if line["type"] == event_type and line["data"]["service_request_id"] == reference
            ]
            return lines if len(matching) >= count else None

        async def check():
            return found()

        return await eventually(check)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def api(app, town) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 50000)), base_url=f"http://{town.host}"
    )


async def _connect(town, tmp_path: Path) -> tuple[int, Receiver, str]:
    """The town sends its potholes to a maintenance system: a subscription to every event, a receiver
    that holds the subscription's secret, and a key with the work-order scope."""
    allowed = outbound.networks(get_settings().outbound_allowed_networks)
    async with town.scope.transaction():
        await town.scope.update(RequestType, {RequestType.send_to_maintenance: True}).where(
            RequestType.code == "pothole"
        )
        subscription, secret = await webhooks.create_subscription(
            town.scope, "Works", "http://127.0.0.1:9/hooks", list(webhooks.EVENTS), allowed
        )
        _, key = await api_keys.create(town.scope, "Works", [api_keys.WORK_ORDERS], "test")
    receiver = Receiver(secret, tmp_path / "accepted.jsonl")
    async with town.scope.transaction():
        await webhooks.change_subscription(
            town.scope, subscription.id, f"{receiver.url}/hooks", list(webhooks.EVENTS), True, allowed
        )
    return subscription.id, receiver, key


async def _deliveries(town, subscription_id: int) -> list[webhooks.Delivery]:
    async with town.scope.transaction():
        return await webhooks.deliveries(town.scope, subscription_id)


async def test_events_reach_the_maintenance_system_in_order_through_an_outage_and_its_answers_close_it(
    app, inbox, tmp_path
):
    town = await make_town("Wharton")
    subscription_id, receiver, key = await _connect(town, tmp_path)
    try:
        async with httpx.AsyncClient() as control:
            # Down for the first attempt: the next event of the request must wait for the first one.
            await control.post(f"{receiver.url}/fail?times=1")

        email = f"ned+{town.slug}@example.com"
        async with PortalClient(app, town.host) as citizen:
            path = await submit(citizen, contact_email=email)
        routed = await wait_status(town, path, "routed")
        reference = routed.reference

        lines = await receiver.wait_for(webhooks.ROUTED, reference)
        ours = [line for line in lines if line["data"]["service_request_id"] == reference]
        assert [line["type"] for line in ours] == [webhooks.CREATED, webhooks.ROUTED]  # in order
        assert "contact_email" not in json.dumps(ours) and email not in json.dumps(ours)
        created = next(
            item for item in await _deliveries(town, subscription_id) if item.event == webhooks.CREATED
        )
        assert created.state == webhooks.DELIVERED and created.attempts == 2  # refused, then accepted
        assert [line["id"] for line in ours].count(created.message_id) == 1  # accepted once

        async with api(app, town) as maintenance:
            headers = {"authorization": f"Bearer {key}"}
            linked = await maintenance.post(
                f"/api/v1/requests/{reference}/work-order", json={"number": "WO-7781"}, headers=headers
            )
            assert linked.status_code == 201, linked.text
            async with town.scope.transaction():
                assert (await request_service.get_by_reference(town.scope, reference)).work_order == "WO-7781"

            noted = await maintenance.post(
                f"/api/v1/requests/{reference}/updates",
                json={"note": "Crew scheduled for Tuesday.", "public": True},
                headers=headers,
            )
            assert noted.status_code == 201, noted.text
            update = await inbox.wait_for(about(email, "News about your request"))
            assert "Crew scheduled for Tuesday." in text_of(update)

            closed = await maintenance.post(
                f"/api/v1/requests/{reference}/close",
                json={"reason": "fixed", "note": "Patched with hot asphalt."},
                headers=headers,
            )
            assert closed.status_code == 201 and closed.json()["status"] == "closed", closed.text
            await wait_status(town, path, "closed")
            receipt = await inbox.wait_for(about(email, "is closed"))
            assert [part.get_filename() for part in receipt.iter_attachments()] == [f"{reference}.pdf"]

            again = await maintenance.post(
                f"/api/v1/requests/{reference}/close", json={"reason": "fixed"}, headers=headers
            )
            assert again.status_code == 409 and again.json()["detail"], again.text  # the validator's refusal

            final = await receiver.wait_for(webhooks.CLOSED, reference)
            closing = [line for line in final if line["type"] == webhooks.CLOSED][0]
            assert closing["data"]["work_order"] == "WO-7781" and closing["data"]["status"] == "closed"
            kinds = [line["type"] for line in final if line["data"]["service_request_id"] == reference]
            assert kinds.index(webhooks.PUBLIC_UPDATE) < kinds.index(webhooks.CLOSED)

            # Redelivery sends the same message again, under the same id, for the receiver to drop.
            listed = await maintenance.get(f"/api/v1/webhooks/{subscription_id}/deliveries", headers=headers)
            first = next(item for item in listed.json() if item["event"] == webhooks.CREATED)
            again_sent = await maintenance.post(
                f"/api/v1/webhooks/{subscription_id}/deliveries/{first['id']}/redeliver", headers=headers
            )
            assert again_sent.status_code == 202, again_sent.text
            twice = await receiver.wait_for(webhooks.CREATED, reference, count=2)
            assert [line["id"] for line in twice].count(first["message_id"]) == 2
    finally:
        receiver.stop()


async def test_only_the_types_sent_to_maintenance_flow_out_and_another_towns_key_opens_nothing(app, tmp_path):
    town, other = await make_town("Ogdenville"), await make_town("North Haverbrook")
    subscription_id, receiver, _ = await _connect(town, tmp_path)
    try:
        async with other.scope.transaction():
            _, foreign_key = await api_keys.create(other.scope, "Theirs", [api_keys.WORK_ORDERS], "test")
        async with PortalClient(app, town.host) as citizen:
            path = await submit(citizen, request_type="streetlight", description="The lamp is out tonight.")
        reference = (await wait_status(town, path, "routed")).reference
        async with town.scope.transaction():
            written = await town.scope.count(WebhookDelivery)
        assert written == 0 and await _deliveries(town, subscription_id) == []  # streetlights stay in

        async with api(app, town) as caller:
            refused = await caller.post(
                f"/api/v1/requests/{reference}/close",
                json={"reason": "fixed"},
                headers={"authorization": f"Bearer {foreign_key}"},
            )
            assert refused.status_code == 401 and refused.json()["status_code"] == 401
            nobody = await caller.get("/api/v1/key")
            assert nobody.status_code == 401
    finally:
        receiver.stop()


async def test_deliveries_whose_wake_was_lost_go_out_on_the_reconcilers_next_pass(app, tmp_path):
    town = await make_town("Shelbyville")
    subscription_id, receiver, _ = await _connect(town, tmp_path)
    try:
        made = await commit_request(town)
        async with town.scope.transaction():  # written as a move writes them, but nobody woke the dispatcher
            assert await webhooks.record(town.scope, made.request_id, [webhooks.STATUS_CHANGED], "routed", "")
        gateway = app.dependencies["temporal"].dependency()
        assert await wake_dispatchers(gateway, [town.id]) == 1
        await receiver.wait_for(webhooks.STATUS_CHANGED, made.reference)
        assert [item.state for item in await _deliveries(town, subscription_id)] == [webhooks.DELIVERED]
        assert await wake_dispatchers(gateway, [town.id]) == 0  # nothing waits any more
    finally:
        receiver.stop()
