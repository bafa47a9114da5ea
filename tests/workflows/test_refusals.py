"""A refused Update is refused by its validator: the caller gets the typed error and the workflow's
history does not change (no Update accepted, no activity scheduled), so a refusal costs nothing."""

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from domain.tables import StaffUser
from tests.support.factories import make_town
from tests.support.portal import PortalClient
from tests.support.services import eventually
from tests.workflows.lifecycle_helpers import about, activity_completions, submit, wait_status
from workflows.service_request import contract
from workflows.service_request.contract import workflow_id
from workflows.service_request.workflow import ServiceRequestWorkflow


async def history(handle) -> list:
    return [event async for event in handle.fetch_history_events()]


async def test_refused_updates_raise_the_typed_error_and_leave_no_trace_in_history(
    app, worker, temporal_client, inbox
):
    town = await make_town()
    email = f"refusals@{town.slug}.example"
    async with PortalClient(app, town.host) as citizen, PortalClient(app, town.host) as clerk:
        path = await submit(citizen, contact_email=email)
        reference = (await wait_status(town, path, "routed")).reference
        await clerk.login(town.roads_email, town.password)
        assert (await clerk.act(reference, "assign")).status_code == 303
        assert (await clerk.act(reference, "close", reason="fixed")).status_code == 303
    handle = temporal_client.get_workflow_handle(workflow_id(town.slug, reference))
    await inbox.wait_for(about(email, "is closed"))
    await eventually(lambda: _mailed_twice(temporal_client, handle.id))

    async def settled():
        # The closure is sent; the workflow now sleeps on the reopen window's timer.
        events = await history(handle)
        return events if events[-1].event_type == EventType.EVENT_TYPE_TIMER_STARTED else None

    before = await settled() or await eventually(settled)
    async with town.scope.transaction():
        clerk_row = await StaffUser.select(StaffUser.id).where(StaffUser.email == town.roads_email).first()
    me = {"actor_id": clerk_row["id"], "actor_role": "tenant_admin", "actor_departments": []}
    refused = [
        (ServiceRequestWorkflow.close, contract.CloseCommand(reason="fixed", **me)),
        (ServiceRequestWorkflow.assign, contract.AssignCommand(assignee_id=me["actor_id"], **me)),
        (ServiceRequestWorkflow.start_work, contract.StartCommand(**me)),
        (ServiceRequestWorkflow.hold, contract.NoteCommand(body="Later", **me)),
        (ServiceRequestWorkflow.resolve, contract.NoteCommand(body="Done", **me)),
        (ServiceRequestWorkflow.comment, contract.CommentCommand(body="Hello", **me)),
        (ServiceRequestWorkflow.cancel, contract.CitizenCommand(body="Never mind")),
        (ServiceRequestWorkflow.reply, contract.CitizenCommand(body="Here it is")),
    ]
    for update, command in refused:
        try:
            await handle.execute_update(update, command)
        except WorkflowUpdateFailedError as failure:
            assert isinstance(failure.cause, ApplicationError), update.__name__
            assert failure.cause.type == "TransitionRefused", update.__name__
        else:
            raise AssertionError(f"{update.__name__} was accepted on a closed request")
    after = await history(handle)
    kinds = {event.event_type for event in after[len(before) :]}
    assert not kinds, [EventType.Name(kind) for kind in kinds]
    assert len(after) == len(before)
    assert (await handle.query(ServiceRequestWorkflow.current_state)).status == "closed"


async def _mailed_twice(client, workflow: str) -> bool:
    return await activity_completions(client, workflow, "notify_citizen") >= 2
