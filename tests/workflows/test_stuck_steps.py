"""Data the database refuses (a NUL byte in text on PostgreSQL) fails its step at once instead of retrying
forever behind an Update, and the staff see the stuck step on the request."""

import asyncio
import os

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from domain import timeline as request_timeline
from tests.support.factories import make_town
from tests.support.portal import PortalClient
from tests.support.services import eventually
from tests.workflows.lifecycle_helpers import acknowledged, row_of, submit, wait_status
from workflows.service_request.contract import STEP_FAILED, CitizenCommand, workflow_id
from workflows.service_request.workflow import STEP_NOT_SAVED, ServiceRequestWorkflow

pytestmark = [
    pytest.mark.usefixtures("worker"),
    pytest.mark.skipif(os.environ.get("TEST_DB") != "postgres", reason="PostgreSQL text cannot hold NUL"),
]


async def test_a_nul_byte_in_a_comment_fails_at_once_and_shows_as_a_stuck_step(app, temporal_client):
    town = await make_town()
    async with PortalClient(app, town.host) as citizen, PortalClient(app, town.host) as clerk:
        path = await submit(citizen)
        reference = (await wait_status(town, path, "routed")).reference
        handle = temporal_client.get_workflow_handle(workflow_id(town.slug, reference))
        await eventually(lambda: acknowledged(temporal_client, handle.id))
        # Straight to the workflow, as if the web let it through.
        update = handle.execute_update(
            ServiceRequestWorkflow.citizen_comment, CitizenCommand(body="It is still there\x00")
        )
        with pytest.raises(WorkflowUpdateFailedError) as failed:
            await asyncio.wait_for(update, 60)  # retried, it would hang for good
        assert isinstance(failed.value.cause, ApplicationError)
        assert (failed.value.cause.type, failed.value.cause.message) == (STEP_FAILED, STEP_NOT_SAVED)

        row = await row_of(town, path)
        async with town.scope.transaction():
            events = await request_timeline.timeline(town.scope, row.id, public_only=False)
        stuck = [event for event in events if event.kind == STEP_FAILED]
        assert len(stuck) == 1 and not stuck[0].public
        assert "\x00" not in stuck[0].body and "comment" in stuck[0].body
        await clerk.login(town.roads_email, town.password)
        page = (await clerk.get(f"/admin/requests/{reference}")).text
        assert "Stuck: this step's data could not be saved or sent" in page
        # The request is not wedged: the next action goes through.
        assert (await clerk.act(reference, "assign")).status_code == 303
        assert (await row_of(town, path)).status == "assigned"
