"""What staff see when the workflow cannot take their action: a worker that is down answers within seconds
and the action never applies later; a workflow not started yet is not "already closed"."""

import asyncio
import dataclasses
import time
import uuid

from apps.web import create_app
from domain import lifecycle, submissions
from domain import timeline as request_timeline
from infra.settings import get_settings
from tests.support.factories import make_town, valid_form
from tests.support.portal import PortalClient
from tests.workflows.lifecycle_helpers import submit, wait_status
from workflows import client as gateway_module
from workflows.worker import build_worker


async def _run_worker(temporal_client, settings):
    worker = build_worker(temporal_client, settings)
    return worker, asyncio.create_task(worker.run())


async def _stop(worker, running) -> None:
    await worker.shutdown()
    await asyncio.gather(running, return_exceptions=True)


async def test_with_the_worker_down_a_staff_action_fails_fast_and_never_applies_later(temporal_client, inbox):
    # A queue of its own, so no other worker of the test run takes this workflow's tasks.
    settings = dataclasses.replace(get_settings(), task_queue=f"stalled-{uuid.uuid4().hex[:8]}")
    town = await make_town("Stalled")
    app = create_app(settings)
    worker, running = await _run_worker(temporal_client, settings)
    try:
        async with PortalClient(app, town.host) as citizen:
            path = await submit(citizen, contact_email=f"stalled+{town.slug}@example.com")
        reference = (await wait_status(town, path, lifecycle.ROUTED)).reference
    finally:
        await _stop(worker, running)

    async with PortalClient(app, town.host) as clerk:
        assert (await clerk.login(town.roads_email, town.password)).status_code == 303
        began = time.monotonic()
        refused = await clerk.act(reference, "assign")
        waited = time.monotonic() - began
        assert refused.status_code == 409
        assert "nothing was changed" in refused.text
        limit = gateway_module.ACCEPT_WITHIN + gateway_module.ACCEPT_GRACE
        assert limit - 5 < waited < limit + 15, f"answered after {waited:.1f}s"

        worker, running = await _run_worker(temporal_client, settings)
        try:
            # The refused assignment reached the workflow first; the comment after it is applied.
            posted = await clerk.act(reference, "comment", body="Crew booked.", public="on")
            assert posted.status_code == 303, posted.text[:300]
        finally:
            await _stop(worker, running)
    row = await wait_status(town, path, lifecycle.ROUTED)
    assert row.assignee is None
    async with town.scope.transaction():
        kinds = [event.kind for event in await request_timeline.timeline(town.scope, row.id, False)]
    assert kinds == ["submitted", "route", "comment"]


async def test_an_action_on_a_request_whose_workflow_has_not_started_says_so(app, temporal_client):
    town = await make_town("Pending")
    # Committed by intake, workflow not started (the start after the response has not run yet).
    async with town.scope.transaction():
        submitted = await submissions.submit(town.scope, town.prefix, _submission(), "en")
    async with PortalClient(app, town.host) as clerk:
        assert (await clerk.login(town.admin_email, town.password)).status_code == 303
        response = await clerk.act(submitted.reference, "start")
    assert response.status_code == 409
    assert "still being registered" in response.text
    assert "already closed" not in response.text


def _submission():
    from domain.intake import clean_form, validate_submission

    submission, errors = validate_submission(clean_form(valid_form()), {"pothole": False})
    assert submission is not None, errors
    return submission
