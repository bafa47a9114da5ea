"""Durable and evolvable: a killed worker loses nothing and sends nothing twice; long histories continue
as new; the live schedule can be read."""

import asyncio
import dataclasses
import signal
import uuid
from datetime import UTC, datetime

from temporalio.client import Client

from apps.web import create_app
from infra.settings import get_settings
from tests.support.factories import make_town
from tests.support.portal import PortalClient
from tests.support.services import eventually
from tests.workflows.lifecycle_helpers import (
    about,
    acknowledged,
    commit_request,
    kill_worker,
    level,
    row_of,
    start_worker_process,
    submit,
    text_of,
    wait_status,
)
from workflows.service_request.contract import RequestParams, workflow_id
from workflows.service_request.workflow import ServiceRequestWorkflow


async def test_killing_the_worker_mid_lifecycle_loses_nothing_and_sends_nothing_twice(
    temporal_server, temporal_client, inbox
):
    queue = f"durability-{uuid.uuid4().hex[:8]}"
    app = create_app(dataclasses.replace(get_settings(), task_queue=queue))
    town = await make_town(levels={"pothole": level(assign_within_seconds=8, escalate_after_seconds=2)})
    email = f"durable@{town.slug}.example"
    worker = start_worker_process(queue)
    try:
        async with PortalClient(app, town.host) as citizen, PortalClient(app, town.host) as clerk:
            path = await submit(citizen, contact_email=email)
            reference = (await wait_status(town, path, "routed")).reference
            await inbox.wait_for(about(email, "We received"))
            # Between two steps: the acknowledgement is recorded as done, the timers are pending.
            await eventually(lambda: acknowledged(temporal_client, workflow_id(town.slug, reference)))
            routed_at = (await row_of(town, path)).updated_at
            kill_worker(worker)  # no goodbye: as if the machine died
            # The reminder (8 s after routing) and the escalation (10 s) come due with no worker.
            await asyncio.sleep(max(0.0, 11 - (datetime.now(UTC) - routed_at).total_seconds()))
            assert not inbox.matching(about(town.roads_email, reference))
            worker = start_worker_process(queue)
            # A fresh worker imports everything and starts a PDF process first: only events are awaited.
            await inbox.wait_for(about(town.roads_email, "waiting to be assigned"))
            await inbox.wait_for(about(town.lead_email, "still not assigned"))
            await clerk.login(town.roads_email, town.password)
            assert (await clerk.act(reference, "assign")).status_code == 303
            assert (await clerk.act(reference, "close", reason="fixed")).status_code == 303
            closing = await inbox.wait_for(about(email, "is closed"))
            assert [part.get_filename() for part in closing.iter_attachments()] == [f"{reference}.pdf"]
            await asyncio.sleep(1)
    finally:
        kill_worker(worker, signal.SIGTERM)
    for address, words in (
        (email, "We received"),
        (email, "is closed"),
        (town.roads_email, "waiting to be assigned"),
        (town.roads2_email, "waiting to be assigned"),
        (town.lead_email, "still not assigned"),
    ):
        assert len(inbox.matching(about(address, words))) == 1, (address, words)


async def test_a_long_history_continues_as_new_and_keeps_its_state(
    app, worker, temporal_client: Client, inbox
):
    town = await make_town()
    email = f"chatty@{town.slug}.example"
    submitted = await commit_request(town, email, "A hole that needs many updates")
    handle = await temporal_client.start_workflow(
        ServiceRequestWorkflow.run,
        RequestParams(town.id, submitted.request_id, submitted.reference, history_limit=40),
        id=workflow_id(town.slug, submitted.reference),
        task_queue=get_settings().task_queue,
    )
    first_run = handle.first_execution_run_id
    async with PortalClient(app, town.host) as clerk:
        # The history is measured between actions, after the acknowledgement: updates sent while it is
        # still being mailed would all land before the first check.
        await eventually(lambda: acknowledged(temporal_client, handle.id))
        await clerk.login(town.roads_email, town.password)
        assert (await clerk.act(submitted.reference, "assign")).status_code == 303
        for number in range(6):
            response = await clerk.act(submitted.reference, "comment", body=f"Update {number}", public="on")
            assert response.status_code == 303

        async def continued() -> bool:
            description = await temporal_client.get_workflow_handle(handle.id).describe()
            return description.run_id != first_run

        await eventually(continued)  # the history grew past 40 events: a fresh run took over
        state = await temporal_client.get_workflow_handle(handle.id).query(
            ServiceRequestWorkflow.current_state
        )
        assert state.status == "assigned" and state.assignee_id is not None
        assert (await clerk.act(submitted.reference, "close", reason="fixed")).status_code == 303
    closing = await inbox.wait_for(about(email, "is closed"))
    assert "Update 5" not in text_of(closing)  # the mail is the closure's, and it arrived after continuing
    assert len(inbox.matching(about(email, "News about"))) == 6
    assert len(inbox.matching(about(email, "We received"))) == 1


async def test_the_admin_shows_the_due_time_and_what_fires_next(app, worker, temporal_client):
    town = await make_town(levels={"pothole": level(target_seconds=3600, assign_within_seconds=600)})
    async with PortalClient(app, town.host) as citizen, PortalClient(app, town.host) as clerk:
        path = await submit(citizen)
        reference = (await wait_status(town, path, "routed")).reference
        handle = temporal_client.get_workflow_handle(workflow_id(town.slug, reference))

        async def scheduled():
            # The row says "routed" as the activity commits; the workflow reads the result a moment later.
            schedule = await handle.query(ServiceRequestWorkflow.schedule)
            return schedule if schedule.upcoming else None

        schedule = await eventually(scheduled)
        assert [key for key, _ in schedule.upcoming] == ["assign_reminder", "overdue"]
        assert schedule.due_at is not None and not schedule.paused
        await clerk.login(town.roads_email, town.password)
        page = (await clerk.get(f"/admin/requests/{reference}")).text
        # The page reads the row (what routing stored), in the order the workflow sleeps on them.
        assert ">Due<" in page and page.index("Reminder to assign") < page.index("Overdue notice")
        citizen_page = (await citizen.get(path)).text
        assert "Expected completion" in citizen_page
        assert (await clerk.act(reference, "assign")).status_code == 303
        schedule = await handle.query(ServiceRequestWorkflow.schedule)
        assert [key for key, _ in schedule.upcoming] == ["overdue"]
        page = (await clerk.get(f"/admin/requests/{reference}")).text
        assert "Reminder to assign" not in page and "Overdue notice" in page  # the move stored its schedule


async def test_a_temporal_outage_delays_a_timer_but_never_drops_it(tmp_path, inbox):
    from infra.temporal_dev import free_port, start_dev_server, stop
    from tests.support.services import connect
    from workflows.worker import build_worker

    settings = dataclasses.replace(get_settings(), temporal_address=f"127.0.0.1:{free_port()}")
    port = int(settings.temporal_address.rsplit(":", 1)[1])
    history_file = tmp_path / "temporal.db"  # the server keeps its timers here across the restart
    app = create_app(settings)
    town = await make_town(levels={"pothole": level(assign_within_seconds=4)})

    async def run_worker():
        client = await connect(settings.temporal_address)
        worker = build_worker(client, settings)
        return worker, asyncio.create_task(worker.run())

    server = start_dev_server(port, history_file)
    worker, running = await run_worker()
    try:
        async with PortalClient(app, town.host) as citizen:
            path = await submit(citizen)
            reference = (await wait_status(town, path, "routed")).reference
        await worker.shutdown()
        await asyncio.gather(running, return_exceptions=True)
        stop(server)  # the whole Temporal server goes away with the timer pending
        await asyncio.sleep(5)  # the reminder comes due during the outage
        assert not inbox.matching(about(town.roads_email, reference))
        server = start_dev_server(port, history_file)
        worker, running = await run_worker()
        reminder = await inbox.wait_for(about(town.roads_email, "waiting to be assigned"), within=60)
        assert reference in reminder["subject"]
    finally:
        await worker.shutdown()
        await asyncio.gather(running, return_exceptions=True)
        stop(server)
