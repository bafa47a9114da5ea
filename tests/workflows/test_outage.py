"""Intake never loses a request: with the Temporal server down the citizen still gets a reference, and once
the server is back the reconciler starts the missing workflow."""

import asyncio
import dataclasses

from apps.web import create_app
from domain import requests as request_service
from infra.settings import get_settings
from infra.temporal_dev import free_port, start_dev_server, stop
from tests.support.factories import make_town, valid_form
from tests.support.portal import PortalClient, status_path
from tests.support.services import connect, eventually
from workflows.client import TemporalGateway
from workflows.reconciler import reconcile_once
from workflows.worker import build_worker


async def test_a_request_made_while_temporal_is_down_is_started_when_it_returns(tmp_path, inbox):
    settings = dataclasses.replace(get_settings(), temporal_address=f"127.0.0.1:{free_port()}")
    town = await make_town()
    email = f"outage+{town.slug}@example.com"
    async with PortalClient(create_app(settings), town.host) as citizen:
        response = await citizen.submit(valid_form(contact_email=email))
        path = status_path(response)
        page = (await citizen.get(path + "?new=1")).text
    assert f'class="reference">{town.prefix}-' in page
    token = path.rsplit("/", 1)[1]
    row = await request_service.get_by_token(town.scope, token)
    assert row.status == "submitted" and not row.workflow_started

    gateway = TemporalGateway(settings)
    assert await reconcile_once(gateway, 0, [town.id]) == 0  # still down: nothing started, nothing lost

    port = int(settings.temporal_address.rsplit(":", 1)[1])
    server = start_dev_server(port, tmp_path / "temporal.db")
    client = await connect(settings.temporal_address)
    worker = build_worker(client, settings)
    running = asyncio.create_task(worker.run())
    try:
        assert await reconcile_once(gateway, 0, [town.id]) == 1

        async def routed():
            current = await request_service.get_by_token(town.scope, token)
            return current.status == "routed" and current.workflow_started

        await eventually(routed)
        await inbox.wait_for(lambda m: m["to"] == email and row.reference in m["subject"])
        assert await reconcile_once(gateway, 0, [town.id]) == 0  # started once, never twice
    finally:
        await worker.shutdown()
        await asyncio.gather(running, return_exceptions=True)
        stop(server)
