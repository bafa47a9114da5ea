"""The permission matrix: every admin route and every workflow Update, for every role, from the right and
the wrong town. Guessed or tampered references never reveal anything."""

import pytest
from temporalio.client import WorkflowUpdateFailedError

from apps.demo import DEMO_PASSWORD
from domain.scope import TenantScope
from domain.staff import hash_password
from domain.tables import Department, StaffDepartment, StaffUser
from tests.support.factories import make_town
from tests.support.portal import PortalClient
from tests.workflows.lifecycle_helpers import submit, wait_status
from workflows.service_request import contract
from workflows.service_request.contract import workflow_id
from workflows.service_request.workflow import ServiceRequestWorkflow

pytestmark = pytest.mark.usefixtures("worker")
ANONYMOUS, OUTSIDER = "anonymous", "outsider"
# Who sees (GET) and who may act (POST) on a request of Public Works and one of the City Clerk.
PEOPLE = {
    "admin": {"see": {"works", "clerk"}, "act": {"works", "clerk"}},
    "viewer": {"see": {"works", "clerk"}, "act": set()},
    "roads": {"see": {"works"}, "act": {"works"}},
    "lead": {"see": {"works"}, "act": {"works"}},
    "clerk": {"see": {"clerk"}, "act": {"clerk"}},
}


@pytest.fixture(scope="module")
async def setting(app):
    town = await make_town()
    other_town = await make_town("Shelbyville")
    async with town.scope.transaction():
        clerk_department = (
            await Department.select(Department.id)
            .where((Department.tenant == town.id) & (Department.slug == "clerk"))
            .first()
        )
        clerk = TenantScope(town.id).new(
            StaffUser,
            email=f"clerk@{town.slug}.test",
            name="Cleo Clerk",
            role="agent",
            password_hash=hash_password(DEMO_PASSWORD),
        )
        await clerk.save()
        await (
            TenantScope(town.id)
            .new(StaffDepartment, staff=clerk.id, department=clerk_department["id"])
            .save()
        )
    async with PortalClient(app, town.host) as citizen:
        works_path = await submit(citizen)
        clerk_path = await submit(citizen, request_type="records", address="")
    references = {
        "works": (await wait_status(town, works_path, "routed")).reference,
        "clerk": (await wait_status(town, clerk_path, "routed")).reference,
    }
    emails = {
        "admin": town.admin_email,
        "viewer": town.viewer_email,
        "roads": town.roads_email,
        "lead": town.lead_email,
        "clerk": clerk.email,
    }
    return town, other_town, references, emails


async def _client(app, setting, who: str) -> PortalClient:
    town, other_town, _, emails = setting
    client = PortalClient(app, town.host)
    if who in emails:
        assert (await client.login(emails[who], DEMO_PASSWORD)).status_code == 303
    elif who == OUTSIDER:
        # Signed in at the other town, then carrying that session cookie here.
        other = PortalClient(app, other_town.host)
        await other.login(other_town.admin_email, DEMO_PASSWORD)
        client.http.cookies.set("portal_session", other.http.cookies.get("portal_session"), domain=town.host)
        await other.__aexit__()
    return client


@pytest.mark.parametrize("who", [*PEOPLE, ANONYMOUS, OUTSIDER])
async def test_every_admin_route_answers_each_role_as_it_should(app, setting, who):
    _, _, references, _ = setting
    rights = PEOPLE.get(who, {"see": set(), "act": set()})
    signed_in = who in PEOPLE
    async with await _client(app, setting, who) as client:
        queue = await client.get("/admin/requests?status=all")
        assert queue.status_code == (200 if signed_in else 303)
        for department, reference in references.items():
            shown = (await client.get(f"/admin/requests/{reference}")).status_code
            acted = (await client.act(reference, "comment", body="Checked on site.")).status_code
            if not signed_in:
                assert (shown, acted) == (303, 303)
                continue
            assert (reference in queue.text) == (department in rights["see"])
            assert shown == (200 if department in rights["see"] else 404)
            expected = 303 if department in rights["act"] else 403 if department in rights["see"] else 404
            assert acted == expected, (who, department)
        tampered = await client.get("/admin/requests/SPR-2026-999999")
        assert tampered.status_code == (404 if signed_in else 303)


STAFF_UPDATES = [
    (ServiceRequestWorkflow.assign, lambda me: contract.AssignCommand(assignee_id=me["actor_id"], **me)),
    (ServiceRequestWorkflow.start_work, lambda me: contract.StartCommand(**me)),
    (ServiceRequestWorkflow.hold, lambda me: contract.NoteCommand(body="x", **me)),
    (ServiceRequestWorkflow.wait_on_citizen, lambda me: contract.NoteCommand(body="x", **me)),
    (ServiceRequestWorkflow.resolve, lambda me: contract.NoteCommand(body="x", **me)),
    (ServiceRequestWorkflow.transfer, lambda me: contract.TransferCommand(department_id=1, **me)),
    (ServiceRequestWorkflow.comment, lambda me: contract.CommentCommand(body="x", **me)),
    (ServiceRequestWorkflow.close, lambda me: contract.CloseCommand(reason="fixed", **me)),
]


@pytest.mark.parametrize(("update", "command"), STAFF_UPDATES, ids=[u.__name__ for u, _ in STAFF_UPDATES])
@pytest.mark.parametrize(
    ("role", "departments"), [("viewer", []), ("agent", "other"), ("supervisor", "other"), ("", [])]
)
async def test_the_workflow_refuses_every_update_from_someone_without_the_right(
    setting, temporal_client, update, command, role, departments
):
    town, _, references, _ = setting
    async with town.scope.transaction():
        works = (
            await Department.select(Department.id)
            .where((Department.tenant == town.id) & (Department.slug == "public-works"))
            .first()
        )
    others = [works["id"] + 1000] if departments == "other" else departments
    me = {"actor_id": 1, "actor_role": role, "actor_departments": others}
    handle = temporal_client.get_workflow_handle(workflow_id(town.slug, references["works"]))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(update, command(me))
    assert "department you do not work for" in str(refused.value.cause) or "read requests" in str(
        refused.value.cause
    )
    assert (await handle.query(ServiceRequestWorkflow.current_state)).status == "routed"
