"""Intake never loses a request: with the Temporal server down the citizen (or the program posting through
Open311) still gets a reference, and once the server is back the reconciler starts the missing workflow."""

import asyncio
import dataclasses
import signal
import time
import uuid
from datetime import UTC, datetime

import httpx

from apps.web import create_app
from domain import api_keys, submissions
from domain import requests as request_service
from infra.settings import get_settings
from infra.temporal_dev import free_port, start_dev_server, stop
from tests.support.factories import make_town, valid_form
from tests.support.portal import PortalClient, status_path
from tests.support.services import connect, eventually, offline_settings
from tests.workflows.lifecycle_helpers import commit_request, kill_worker, start_worker_process, wait_status
from workflows.client import TemporalGateway
from workflows.reconciler import reconcile_once
from workflows.worker import build_worker

# Requests held back by a Temporal outage, and how soon after its return all their workflows are started.
# Measured on SQLite at load 12: 20 s in batches (44 s under coverage), 68 s one at a time.
BACKLOG = 150
BACKLOG_DRAINED_WITHIN = 60


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
    async with town.scope.transaction():
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
            async with town.scope.transaction():
                current = await request_service.get_by_token(town.scope, token)
            return current.status == "routed" and current.workflow_started

        await eventually(routed)
        await inbox.wait_for(lambda m: m["to"] == email and row.reference in m["subject"])
        assert await reconcile_once(gateway, 0, [town.id]) == 0  # started once, never twice
    finally:
        await worker.shutdown()
        await asyncio.gather(running, return_exceptions=True)
        stop(server)


async def submit_without_workflow(town) -> str:
    """A request committed by a web process that could not start its workflow (or died first)."""
    return f"/status/{(await commit_request(town)).public_token}"


async def test_the_worker_runs_the_reconciler_and_drains_an_outage_backlog_soon_after_temporal_returns(
    tmp_path, inbox
):
    port = free_port()
    history = tmp_path / "temporal.db"
    town = await make_town()
    server = start_dev_server(port, history)
    worker = start_worker_process(
        f"reconcile-{uuid.uuid4().hex[:8]}",
        TEMPORAL_ADDRESS=f"127.0.0.1:{port}",
        RECONCILE_INTERVAL="2",
        RECONCILE_GRACE="0",
    )
    try:
        # Nothing but the reconciler loop inside the worker process can start this one.
        await wait_status(town, await submit_without_workflow(town), "routed")
        stop(server)
        backlog = [await submit_without_workflow(town) for _ in range(BACKLOG)]
        server = start_dev_server(port, history)
        returned = time.monotonic()

        async def all_started() -> bool:
            return not await submissions.awaiting_workflow(datetime.now(UTC), [town.id])

        await eventually(all_started, within=BACKLOG_DRAINED_WITHIN)
        assert time.monotonic() - returned < BACKLOG_DRAINED_WITHIN
        await wait_status(town, backlog[-1], "routed")
    finally:
        kill_worker(worker, signal.SIGTERM)
        stop(server)


async def test_the_reconcilers_one_query_finds_every_active_towns_unstarted_requests_and_no_others():
    from domain.tables import ServiceRequest
    from infra.database import cross_tenant
    from tenants.tables import Tenant

    springfield, shelbyville, closed_down = (
        await make_town("Springfield"),
        await make_town("Shelbyville"),
        await make_town("Ogdenville"),
    )
    waiting = {town.slug: (await commit_request(town)).reference for town in (springfield, shelbyville)}
    await commit_request(closed_down)
    started = await commit_request(springfield)
    async with springfield.scope.transaction():
        await submissions.mark_workflow_started(springfield.scope, started.request_id)
    async with cross_tenant("test: a town that left the platform"):
        await Tenant.update({Tenant.active: False}).where(Tenant.id == closed_down.id)
    ours = [springfield.id, shelbyville.id, closed_down.id]
    rows = await submissions.awaiting_workflow(datetime.now(UTC), ours)
    assert {row["tenant_slug"]: row["reference"] for row in rows} == waiting
    assert {row["tenant_id"] for row in rows} == {springfield.id, shelbyville.id}
    async with cross_tenant("test: the rows behind the answer"):
        for row in rows:  # each row's town is its own, as the start and its mark need
            owner = await ServiceRequest.select(ServiceRequest.tenant).where(ServiceRequest.id == row["id"])
            assert list(owner[0].values()) == [row["tenant_id"]]


async def test_one_process_at_a_time_holds_the_reconciler_and_another_takes_over_when_it_lets_go():
    from piccolo.engine.postgres import PostgresEngine

    from infra.database import Leadership
    from piccolo_conf import DB
    from workflows.reconciler import ROLE

    first, second = Leadership(ROLE), Leadership(ROLE)
    try:
        assert await first.held()
        if not isinstance(DB, PostgresEngine):
            assert await second.held()  # SQLite: the one worker of the embedded setup always leads
            return
        assert not await second.held() and await first.held()  # kept by the first, refused to the second
        await first.release()  # as when the first worker's process dies and its connection closes
        assert await second.held() and not await first.held()
    finally:
        await first.release()
        await second.release()


async def test_a_request_posted_through_open311_while_temporal_is_down_is_started_when_it_returns(
    worker, app, inbox
):
    town = await make_town()
    email = f"open311+{town.slug}@example.com"
    async with town.scope.transaction():
        _, key = await api_keys.create(town.scope, "Kiosk", [api_keys.SUBMIT], "test")
    down = httpx.ASGITransport(app=create_app(offline_settings()), client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=down, base_url=f"http://{town.host}") as kiosk:
        answer = await kiosk.post(
            "/open311/v2/requests.json",
            data={
                "api_key": key,
                "service_code": "pothole",
                "description": "Posted by the kiosk in the library",
                "address_string": "1 Library Lane",
                "first_name": "Ned",
                "email": email,
            },
        )
    assert answer.status_code == 200, answer.text
    reference = answer.json()[0]["service_request_id"]
    async with town.scope.transaction():
        row = await request_service.get_by_reference(town.scope, reference)
    assert row.status == "submitted" and not row.workflow_started

    # Temporal answers again (the session's server and worker): the reconciler starts what was missed.
    assert await reconcile_once(app.dependencies["temporal"].dependency(), 0, [town.id]) == 1
    await inbox.wait_for(lambda m: m["to"] == email and reference in str(m["subject"]))
    async with town.scope.transaction():
        assert (await request_service.get_by_reference(town.scope, reference)).workflow_started
