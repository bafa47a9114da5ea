"""The lifecycle engine on the real dev server, with service levels of a few seconds."""

import asyncio
from collections import Counter
from datetime import timedelta

import pytest

from domain import lifecycle
from domain import timeline as request_timeline
from domain.sla import ServiceLevel
from domain.tables import RequestType
from tests.integration.test_request_type_settings import type_form
from tests.support.factories import make_town
from tests.support.portal import PortalClient
from tests.workflows.lifecycle_helpers import about, level, row_of, submit, text_of, wait_status
from workflows.service_request import contract

pytestmark = pytest.mark.usefixtures("worker")


async def test_an_unassigned_request_reminds_the_department_then_escalates_to_its_supervisor(app, inbox):
    town = await make_town(levels={"pothole": level(assign_within_seconds=1, escalate_after_seconds=1)})
    async with PortalClient(app, town.host) as citizen, PortalClient(app, town.host) as clerk:
        path = await submit(citizen)
        reference = (await wait_status(town, path, "routed")).reference
        reminder = await inbox.wait_for(about(town.roads_email, "waiting to be assigned"))
        assert reference in reminder["subject"] and f"/admin/requests/{reference}" in text_of(reminder)
        await inbox.wait_for(about(town.roads2_email, "waiting to be assigned"))
        escalation = await inbox.wait_for(about(town.lead_email, "still not assigned"))
        assert reference in escalation["subject"]
        await asyncio.sleep(1.5)
        assert len(inbox.matching(about(town.roads_email, "waiting to be assigned"))) == 1
        assert len(inbox.matching(about(town.lead_email, "still not assigned"))) == 1
        await clerk.login(town.roads_email, town.password)
        detail = (await clerk.get(f"/admin/requests/{reference}")).text
        assert "Reminder to assign" in detail and "Escalation: not assigned" in detail
    request_id = (await row_of(town, path)).id
    async with town.scope.transaction():
        timeline = await request_timeline.timeline(town.scope, request_id, public_only=True)
    assert not any(event.kind in ("assign_reminder", "assign_escalation") for event in timeline)


async def test_the_sla_clock_pauses_on_hold_and_drives_reminder_overdue_and_escalation(app, inbox):
    town = await make_town(
        levels={"pothole": level(target_seconds=5, remind_before_seconds=2, overdue_escalate_seconds=1)}
    )
    async with PortalClient(app, town.host) as citizen, PortalClient(app, town.host) as clerk:
        path = await submit(citizen)
        routed = await wait_status(town, path, "routed")
        reference, first_due = routed.reference, routed.due_at
        assert first_due is not None
        assert timedelta(seconds=4) < first_due - routed.updated_at < timedelta(seconds=7)  # from routing
        await clerk.login(town.roads_email, town.password)
        assert (await clerk.act(reference, "assign")).status_code == 303
        assert (await clerk.act(reference, "hold", body="Waiting for asphalt")).status_code == 303
        await asyncio.sleep(2)
        assert (await clerk.act(reference, "start")).status_code == 303
        resumed = await row_of(town, path)
        assert resumed.due_at - first_due >= timedelta(seconds=1.8)  # the clock stood still on hold

        due_soon = await inbox.wait_for(about(town.roads_email, "due soon"))
        overdue = await inbox.wait_for(about(town.roads_email, "is overdue"))
        assert inbox.messages.index(due_soon) < inbox.messages.index(overdue)
        await inbox.wait_for(about(town.lead_email, "Escalation: request"))
        citizen_page = (await citizen.get(path)).text
        assert "Expected completion" in citizen_page
    assert not inbox.matching(about("ned@example.com", "overdue"))


async def test_waiting_on_the_citizen_reminds_them_then_closes_the_request(app, inbox):
    town = await make_town(levels={"tax-question": level(citizen_remind_seconds=1, citizen_close_seconds=3)})
    email = f"taxpayer@{town.slug}.example"
    async with PortalClient(app, town.host) as citizen, PortalClient(app, town.host) as clerk:
        path = await submit(citizen, request_type="tax-question", address="", contact_email=email)
        reference = (await wait_status(town, path, "routed")).reference
        await clerk.login(town.admin_email, town.password)
        await clerk.act(reference, "assign")
        asked = await clerk.act(reference, "wait", body="Which roll number is your property?")
        assert asked.status_code == 303
        question = await inbox.wait_for(about(email, "We need information"))
        assert "Which roll number is your property?" in text_of(question)
        await inbox.wait_for(about(email, "Reminder: we are waiting"))
        closed = await wait_status(town, path, "closed")
        assert closed.close_reason == "no_action_needed"
        closing = await inbox.wait_for(about(email, "is closed"))
        assert [part.get_filename() for part in closing.iter_attachments()] == [f"{reference}.pdf"]
        assert "Closed automatically" in (await citizen.get(path)).text


async def test_a_reply_from_the_citizen_resumes_the_work_and_tells_the_assignee(app, inbox):
    town = await make_town(levels={"tax-question": level(citizen_close_seconds=4)})
    async with PortalClient(app, town.host) as citizen, PortalClient(app, town.host) as clerk:
        path = await submit(citizen, request_type="tax-question", address="")
        reference = (await wait_status(town, path, "routed")).reference
        await clerk.login(town.admin_email, town.password)
        await clerk.act(reference, "assign")
        await clerk.act(reference, "wait", body="Please send the roll number.")
        page = (await citizen.get(path)).text
        assert "We are waiting for your answer" in page
        empty = await citizen.post(path + "/reply", {"body": "  "})
        assert empty.status_code == 409 and "Write the update" in empty.text
        answered = await citizen.post(path + "/reply", {"body": "It is 0123-456."})
        assert answered.status_code == 303
        await wait_status(town, path, "in_progress")
        told = await inbox.wait_for(about(town.admin_email, "citizen replied"))
        assert "It is 0123-456." in text_of(told)
        await asyncio.sleep(4.5)
        assert (await row_of(town, path)).status == "in_progress"  # no automatic closure any more


async def test_a_citizen_reopens_within_the_window_and_the_workflow_ends_when_it_passes(
    app, inbox, temporal_client
):
    town = await make_town(reopen_window_seconds=3)
    email = f"reopen@{town.slug}.example"
    async with PortalClient(app, town.host) as citizen, PortalClient(app, town.host) as clerk:
        path = await submit(citizen, contact_email=email)
        reference = (await wait_status(town, path, "routed")).reference
        await clerk.login(town.roads_email, town.password)
        await clerk.act(reference, "assign")
        await clerk.act(reference, "close", reason="fixed")
        await wait_status(town, path, "closed")
        assert "Not fixed?" in (await citizen.get(path)).text
        reopened = await citizen.post(path + "/reopen", {"body": "The hole is back."})
        assert reopened.status_code == 303
        row = await wait_status(town, path, "reopened")
        assert row.close_reason == "" and row.department is not None
        told = await inbox.wait_for(about(town.roads_email, "was reopened"))
        assert "The hole is back." in text_of(told)

        await clerk.act(reference, "start")
        await clerk.act(reference, "close", reason="fixed", body="Patched again.")
        await wait_status(town, path, "closed")
        handle = temporal_client.get_workflow_handle(f"{town.slug}-{reference}")
        assert await asyncio.wait_for(handle.result(), 15) == "closed"
        late = await citizen.post(path + "/reopen", {"body": "Still broken"})
        assert late.status_code == 409
    closures = inbox.matching(about(email, "is closed"))
    assert len(closures) == 2, [str(m["subject"]) for m in inbox.matching(lambda m: m["to"] == email)]
    assert "Patched again." in text_of(closures[1])


async def test_a_citizen_cancels_an_open_request_once(app, inbox, temporal_client):
    town = await make_town()
    email = f"cancel@{town.slug}.example"
    async with PortalClient(app, town.host) as citizen:
        path = await submit(citizen, contact_email=email)
        reference = (await wait_status(town, path, "routed")).reference
        assert "Cancel my request" in (await citizen.get(path)).text
        response = await citizen.post(path + "/cancel", {"body": "Fixed by a neighbour"})
        assert response.status_code == 303
        await wait_status(town, path, "cancelled")
        await inbox.wait_for(about(email, "is cancelled"))
        handle = temporal_client.get_workflow_handle(f"{town.slug}-{reference}")
        assert await asyncio.wait_for(handle.result(), 15) == "cancelled"
        again = await citizen.post(path + "/cancel", {})
        assert again.status_code == 409
        page = (await citizen.get(path)).text
        assert "Cancel my request" not in page and "Cancelled" in page
    assert not inbox.matching(lambda m: m["to"] == email and "is closed" in str(m["subject"]))


async def test_the_author_of_a_duplicate_follows_the_original(app, inbox):
    town = await make_town()
    first, second = f"first@{town.slug}.example", f"second@{town.slug}.example"
    async with PortalClient(app, town.host) as citizen, PortalClient(app, town.host) as clerk:
        original_path = await submit(citizen, contact_email=first)
        duplicate_path = await submit(citizen, contact_email=second)
        original = (await wait_status(town, original_path, "routed")).reference
        duplicate = (await wait_status(town, duplicate_path, "routed")).reference
        await clerk.login(town.roads_email, town.password)
        await clerk.act(duplicate, "close", reason="duplicate", duplicate_of=original)
        told = await inbox.wait_for(about(second, "is closed"))
        assert duplicate in told["subject"] and original in text_of(told)
        await clerk.act(original, "comment", body="Crew on site tomorrow.", public="on")
        news = await inbox.wait_for(about(second, original))
        assert "Crew on site tomorrow." in text_of(news) and "duplicate" in text_of(news)
        await inbox.wait_for(about(first, original))


async def test_assignment_by_rotation_default_assignee_and_routing_rules(app):
    from domain.tables import Department, RoutingRule, StaffUser

    town = await make_town(levels={"pothole": level(assignment_mode="round_robin")})
    async with town.scope.transaction():
        clerk_department = (
            await Department.select(Department.id)
            .where((Department.tenant == town.id) & (Department.slug == "clerk"))
            .first()
        )
        await town.scope.new(RoutingRule, keyword="bridge", department=clerk_department["id"]).save()
        await town.scope.new(
            RoutingRule,
            position=1,
            min_latitude=45.0,
            max_latitude=46.0,
            min_longitude=-74.0,
            max_longitude=-73.0,
            department=clerk_department["id"],
        ).save()
    async with PortalClient(app, town.host) as citizen:
        paths = [await submit(citizen) for _ in range(3)]
        by_rule = await submit(citizen, description="Crack on the Bridge deck")
        by_area = await submit(citizen, latitude="45.5", longitude="-73.6")
        outside = await submit(citizen, latitude="44.0", longitude="-73.6")
    # Four requests rotate over the department's three people, routed in whatever order their workflows
    # run: the first three claims go to three different people, the fourth to one of them again.
    rotating = [await wait_status(town, path, "assigned") for path in (*paths, outside)]
    async with town.scope.transaction():
        staff = await StaffUser.select(StaffUser.email, StaffUser.id).where(StaffUser.tenant == town.id)
    agents = {row["email"]: row["id"] for row in staff}
    public_works = {agents[town.roads_email], agents[town.roads2_email], agents[town.lead_email]}
    turns = Counter(row.assignee for row in rotating)
    assert set(turns) == public_works and sorted(turns.values()) == [1, 1, 2], turns
    for path in (by_rule, by_area):
        row = await wait_status(town, path, "routed")
        assert row.department == clerk_department["id"] and row.assignee is None
    assert rotating[-1].department != clerk_department["id"]  # outside the rule's area


async def test_transferring_to_another_department_reroutes_the_request(app, inbox):
    from domain.tables import Department

    town = await make_town(levels={"pothole": level(assign_within_seconds=2)})
    async with PortalClient(app, town.host) as citizen, PortalClient(app, town.host) as clerk:
        path = await submit(citizen)
        reference = (await wait_status(town, path, "routed")).reference
        await clerk.login(town.roads_email, town.password)
        await clerk.act(reference, "assign")
        async with town.scope.transaction():
            lighting = (
                await Department.select(Department.id)
                .where((Department.tenant == town.id) & (Department.slug == "lighting"))
                .first()
            )
        same = await clerk.act(
            reference, "transfer", department_id=str((await row_of(town, path)).department)
        )
        assert same.status_code == 409 and "another department" in same.text
        moved = await clerk.act(
            reference, "transfer", department_id=str(lighting["id"]), body="Streetlight, not road"
        )
        assert moved.status_code == 303
        row = await wait_status(town, path, "routed")
        assert row.department == lighting["id"] and row.assignee is None
        # The roads agent no longer sees it; the town's administrator finds it in the lighting queue.
        assert (await clerk.get(f"/admin/requests/{reference}")).status_code == 404
    async with PortalClient(app, town.host) as admin:
        await admin.login(town.admin_email, town.password)
        queue = (await admin.get(f"/admin/requests?department={lighting['id']}")).text
        assert reference in queue


async def test_a_routed_request_keeps_its_service_level_when_the_administrator_changes_the_type(app):
    town = await make_town(levels={"pothole": level(target_seconds=3600, target_business=False)})
    async with PortalClient(app, town.host) as citizen, PortalClient(app, town.host) as admin:
        first = await submit(citizen)
        routed = await wait_status(town, first, "routed")
        kept_due = routed.due_at
        assert timedelta(minutes=59) < kept_due - routed.updated_at < timedelta(minutes=61)

        await admin.login(town.admin_email, town.password)
        async with town.scope.transaction():
            pothole = await town.scope.select(RequestType).where(RequestType.code == "pothole").first()
        form = type_form(
            pothole["department"],
            category_en="Roads",
            name_en="Pothole",
            target_seconds="48",
            target_business="",
        )
        changed = await admin.post(f"/admin/settings/types/{pothole['id']}", form)
        assert changed.headers["location"] == "/admin/settings/types?done=saved"

        # Each move recomputes the due date from the level the workflow holds: still the hour it had.
        assert (await admin.act(routed.reference, "assign")).status_code == 303
        assert (await admin.act(routed.reference, "start")).status_code == 303
        assert (await row_of(town, first)).due_at == kept_due

        second = await submit(citizen)
        new = await wait_status(town, second, "routed")
        assert timedelta(hours=47, minutes=59) < new.due_at - new.updated_at < timedelta(hours=48, minutes=1)

        # Nobody but an administrator can change it, even by sending the Update straight to the workflow.
        gateway = app.dependencies["temporal"].dependency()
        supervisor = contract.LevelCommand(actor_id=1, level=ServiceLevel(), body="", actor_role="supervisor")
        with pytest.raises(lifecycle.TransitionRefused, match="Only the municipality's administrators"):
            await gateway.act(town.slug, routed.reference, contract.APPLY_SERVICE_LEVEL, supervisor)
        assert (await row_of(town, first)).due_at == kept_due

        # Only when the administrator says so does the open request take the new level, from its routing.
        page = await admin.get(f"/admin/settings/types/{pothole['id']}")
        assert "2 open requests of this type keep the service level" in page.text
        applied = await admin.post(f"/admin/settings/types/{pothole['id']}/apply")
        assert applied.headers["location"] == f"/admin/settings/types/{pothole['id']}?applied=2-0-0"
        assert "now applies to 2 open requests" in (await admin.get(applied.headers["location"])).text
        relevelled = await row_of(town, first)
        assert (
            timedelta(hours=47, minutes=58)
            < relevelled.due_at - routed.updated_at
            < timedelta(hours=48, minutes=2)
        )
        assert (await row_of(town, second)).due_at == new.due_at  # already under that level
        detail = (await admin.get(f"/admin/requests/{routed.reference}")).text
        assert "current one by Ada Admin: resolve within 48 hours." in detail  # the internal note
        async with town.scope.transaction():
            notes = await request_timeline.timeline(town.scope, relevelled.id, public_only=True)
        assert not any("Service level changed" in (event.body or "") for event in notes)  # staff only
