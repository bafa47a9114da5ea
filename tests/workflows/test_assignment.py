"""A request is given only to someone who can open and work it: the list offers them alone, the route
refuses anyone else, and so does the workflow itself."""

import re

import pytest
from temporalio.client import WorkflowUpdateFailedError

from apps.demo import DEMO_PASSWORD
from domain import requests as request_service
from domain.scope import TenantScope
from domain.staff import hash_password
from domain.tables import RequestType, StaffDepartment, StaffUser
from tests.support.factories import department_id, make_town, staff_id
from tests.support.portal import PortalClient
from tests.workflows.lifecycle_helpers import about, row_of, submit, wait_status
from workflows.service_request.contract import AssignCommand, workflow_id
from workflows.service_request.workflow import ServiceRequestWorkflow

pytestmark = pytest.mark.usefixtures("worker")
NOT_ASSIGNABLE = "This person does not work for this request"


@pytest.fixture(scope="module")
async def setting(app):
    town = await make_town()
    clerk = TenantScope(town.id).new(
        StaffUser,
        email=f"clerk@{town.slug}.test",
        name="Cleo Clerk",
        role="agent",
        password_hash=hash_password(DEMO_PASSWORD),
    )
    clerk_department = await department_id(town, "clerk")
    async with town.scope.transaction():
        await clerk.save()
        await TenantScope(town.id).new(StaffDepartment, staff=clerk.id, department=clerk_department).save()
    async with PortalClient(app, town.host) as citizen:
        path = await submit(citizen)
    reference = (await wait_status(town, path, "routed")).reference
    return town, clerk.id, reference


async def test_the_assign_list_offers_only_staff_who_may_work_the_department(app, setting):
    town, clerk_id, reference = setting
    async with PortalClient(app, town.host) as admin:
        await admin.login(town.admin_email, DEMO_PASSWORD)
        page = (await admin.get(f"/admin/requests/{reference}")).text
    offered = re.search(r'<select id="assignee_id".*?</select>', page, re.S).group(0)
    for email in (town.admin_email, town.roads_email, town.lead_email, town.roads2_email):
        assert f'value="{await staff_id(town, email)}"' in offered, email
    assert f'value="{clerk_id}"' not in offered
    assert f'value="{await staff_id(town, town.viewer_email)}"' not in offered


async def test_assigning_someone_who_cannot_open_the_request_is_refused_and_mails_nobody(app, setting, inbox):
    town, clerk_id, reference = setting
    viewer_id = await staff_id(town, town.viewer_email)
    async with PortalClient(app, town.host) as admin:
        await admin.login(town.admin_email, DEMO_PASSWORD)
        for someone in (clerk_id, viewer_id):
            refused = await admin.act(reference, "assign", assignee_id=str(someone))
            assert refused.status_code == 409
            assert NOT_ASSIGNABLE in refused.text
        async with town.scope.transaction():
            row = await request_service.get_by_reference(town.scope, reference)
        assert row.assignee is None and row.status == "routed"
        roads2 = await staff_id(town, town.roads2_email)
        assert (await admin.act(reference, "assign", assignee_id=str(roads2))).status_code == 303
    async with town.scope.transaction():
        assert (await request_service.get_by_reference(town.scope, reference)).assignee == roads2
    assert not inbox.matching(lambda message: message["to"] == f"clerk@{town.slug}.test")


async def test_the_workflow_refuses_an_assignee_from_another_department(setting, temporal_client):
    town, clerk_id, reference = setting
    works, clerk = await department_id(town, "public-works"), await department_id(town, "clerk")
    handle = temporal_client.get_workflow_handle(workflow_id(town.slug, reference))
    before = await handle.query(ServiceRequestWorkflow.current_state)
    admin = {"actor_id": await staff_id(town, town.admin_email), "actor_role": "tenant_admin"}
    for role, departments in (("agent", [clerk]), ("viewer", []), ("", [works])):
        command = AssignCommand(
            assignee_id=clerk_id, assignee_role=role, assignee_departments=departments, **admin
        )
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(ServiceRequestWorkflow.assign, command)
        assert "does not work for this request's department" in str(refused.value.cause)
    after = await handle.query(ServiceRequestWorkflow.current_state)
    assert after.assignee_id == before.assignee_id


async def test_routing_leaves_a_request_in_the_queue_rather_than_give_it_to_someone_who_cannot_open_it(
    app, setting, inbox
):
    town, clerk_id, _ = setting
    async with town.scope.transaction():
        await RequestType.update(
            {RequestType.assignment_mode: "default", RequestType.default_assignee: clerk_id}
        ).where((RequestType.tenant == town.id) & (RequestType.code == "pothole"))
    email = f"routing@{town.slug}.example"
    async with PortalClient(app, town.host) as citizen:
        path = await submit(citizen, description="Another hole", contact_email=email)
    await inbox.wait_for(about(email, "We received"))  # mailed once routing is over
    row = await row_of(town, path)
    assert row.status == "routed" and row.assignee is None
    assert not inbox.matching(lambda message: message["to"] == f"clerk@{town.slug}.test")
