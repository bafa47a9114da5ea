"""A town administrator adds, changes and retires request types: names in each language, department,
location, service level, assignment. Invalid settings are refused beside their field with what was typed
kept; a retired type leaves the form and stays on the requests made with it; every change is audited."""

from __future__ import annotations

from apps.web import create_app
from domain.tables import AuditEntry, RequestType
from tests.integration.test_team_settings import signed_in_admin
from tests.support.factories import department_id, make_town, staff_id, valid_form
from tests.support.portal import PortalClient, status_path
from tests.support.services import offline_settings

OFFLINE = offline_settings()


def type_form(department: int | str, **overrides: str) -> dict[str, str]:
    form = {
        "category_en": "Parks",
        "name_en": "Fallen tree",
        "description_en": "A tree or a large branch down.",
        "category_fr": "Parcs",
        "name_fr": "Arbre tombé",
        "description_fr": "",
        "department": str(department),
        "needs_location": "on",
        "active": "on",
        "sort_order": "5",
        "target_seconds": "16",
        "target_business": "on",
        "assign_within_seconds": "2,5",
        "escalate_after_seconds": "",
        "remind_before_seconds": "",
        "overdue_escalate_seconds": "",
        "assignment_mode": "manual",
        "default_assignee": "",
    }
    form.update(overrides)
    return {name: value for name, value in form.items() if value is not None}


async def stored_type(town, code: str) -> dict:
    async with town.scope.transaction():
        return await town.scope.select(RequestType).where(RequestType.code == code).first()


async def test_a_new_type_is_offered_on_the_form_in_both_languages_with_its_service_level():
    town = await make_town()
    works = await department_id(town, "public-works")
    app = create_app(OFFLINE)
    async with await signed_in_admin(app, town) as admin:
        assert (await admin.get("/admin/settings/types")).status_code == 200
        assert (await admin.get("/admin/settings/types/new")).status_code == 200
        added = await admin.post("/admin/settings/types/new", type_form(works))
        assert added.headers["location"] == "/admin/settings/types?done=added"
        listed = await admin.get("/admin/settings/types")
        assert "Fallen tree" in listed.text and "16 h" in listed.text
    row = await stored_type(town, "fallen-tree")
    assert row["department"] == works and row["needs_location"] and row["active"]
    assert row["target_seconds"] == 16 * 3600 and row["assign_within_seconds"] == 9000
    assert row["escalate_after_seconds"] is None and row["sort_order"] == 5
    assert row["translations"] == {"fr": {"category": "Parcs", "name": "Arbre tombé"}}
    async with PortalClient(app, town.host) as citizen:
        form = await citizen.get("/")
        assert 'value="fallen-tree"' in form.text and "Fallen tree" in form.text
        french = await citizen.get("/", headers={"accept-language": "fr"})
        assert "Arbre tombé" in french.text
        sent = await citizen.submit(valid_form(request_type="fallen-tree"))
        assert status_path(sent).startswith("/status/")
    async with town.scope.transaction():
        entry = await town.scope.select(AuditEntry).first()
    assert entry["action"] == "type.added" and entry["after"]["department"] == "Public Works"
    assert entry["after"]["target_seconds"] == 16.0


async def test_invalid_settings_are_refused_beside_their_field_keeping_what_was_typed():
    town = await make_town()
    other = await make_town("Othertown")
    works = await department_id(town, "public-works")
    clerk_department = await department_id(town, "clerk")  # nobody works it in the test town
    app = create_app(OFFLINE)
    cases = [
        (type_form(""), "Choose the department that works these requests."),
        (type_form(await department_id(other, "public-works")), "Choose the department that works"),
        (type_form(works, name_en="", category_en=""), "Enter the name citizens will pick."),
        (type_form(works, target_seconds="soon"), "Enter a number of hours between 0.25 and 8784"),
        (type_form(works, assign_within_seconds="-3"), "Enter a number of hours between 0.25 and 8784"),
        (type_form(works, sort_order="first"), "Enter a whole number"),
        (type_form(works, assignment_mode="lottery"), "Choose how requests are assigned."),
        (type_form(works, assignment_mode="default"), "Choose who receives every request of this type."),
        (type_form(clerk_department, assignment_mode="round_robin"), "Nobody works the chosen department"),
        (type_form(works, category_en="Roads", name_en="Pothole"), "already has this name"),
    ]
    async with await signed_in_admin(app, town) as admin:
        for form, message in cases:
            refused = await admin.post("/admin/settings/types/new", form)
            assert refused.status_code == 422, message
            assert message in refused.text, message
            assert 'value="A tree or a large branch down."' not in refused.text  # a textarea keeps it:
            assert "A tree or a large branch down.</textarea>" in refused.text
        roads = await staff_id(town, town.roads_email)
        elsewhere = await admin.post(
            "/admin/settings/types/new",
            type_form(clerk_department, assignment_mode="default", default_assignee=str(roads)),
        )
        assert elsewhere.status_code == 422 and "does not work for the chosen department" in elsewhere.text
    async with town.scope.transaction():
        assert not await town.scope.exists(RequestType).where(RequestType.name == "Fallen tree")
        assert not await town.scope.exists(AuditEntry)


async def test_a_change_and_a_retirement_are_audited_and_a_retired_type_leaves_the_form_only():
    town = await make_town()
    works = await department_id(town, "public-works")
    roads = await staff_id(town, town.roads_email)
    app = create_app(OFFLINE)
    async with PortalClient(app, town.host) as citizen:
        made = await citizen.submit(valid_form(request_type="sidewalk"))
        status = status_path(made)
    sidewalk = await stored_type(town, "sidewalk")
    path = f"/admin/settings/types/{sidewalk['id']}"
    async with await signed_in_admin(app, town) as admin:
        page = await admin.get(path)
        assert page.status_code == 200 and 'value="Damaged sidewalk"' in page.text
        assert 'value="80"' in page.text  # ten business days of eight hours (the demo's level)
        form = type_form(
            works,
            category_en="Roads",
            name_en="Broken sidewalk",
            name_fr="Trottoir brisé",
            category_fr="Voirie",
            assignment_mode="default",
            default_assignee=str(roads),
            target_seconds="240",
            assign_within_seconds="8",
        )
        assert (await admin.post(path, form)).headers["location"] == "/admin/settings/types?done=saved"
        retired = {name: value for name, value in form.items() if name != "active"}
        assert (await admin.post(path, retired)).status_code == 303
        assert "Retired" in (await admin.get("/admin/settings/types")).text
    row = await stored_type(town, "sidewalk")  # the code stays, so links and references do
    assert row["name"] == "Broken sidewalk" and not row["active"] and row["default_assignee"] == roads
    async with PortalClient(app, town.host) as citizen:
        assert 'value="sidewalk"' not in (await citizen.get("/")).text
        refused = await citizen.submit(valid_form(request_type="sidewalk"))
        assert refused.status_code == 422
        assert (await citizen.get(status)).status_code == 200  # the request made with it is still shown
    async with town.scope.transaction():
        entries = await town.scope.select(AuditEntry).order_by(AuditEntry.id)
    assert [entry["action"] for entry in entries] == ["type.changed", "type.retired"]
    assert entries[0]["before"]["name"] == "Damaged sidewalk"
    assert entries[0]["after"]["name"] == "Broken sidewalk"
    assert entries[0]["after"]["assignment_mode"] == "default"
    assert entries[1]["before"] == {"active": True} and entries[1]["after"] == {"active": False}


async def test_another_towns_types_are_not_found_and_only_administrators_reach_these_pages():
    town, other = await make_town(), await make_town("Othertown")
    theirs = await stored_type(other, "pothole")
    works = await department_id(town, "public-works")
    app = create_app(OFFLINE)
    async with await signed_in_admin(app, town) as admin:
        assert (await admin.get(f"/admin/settings/types/{theirs['id']}")).status_code == 404
        taken = await admin.post(f"/admin/settings/types/{theirs['id']}", type_form(works))
        assert taken.status_code == 404
    async with PortalClient(app, town.host) as agent:
        await agent.login(town.roads_email, town.password)
        assert (await agent.get("/admin/settings/types")).status_code == 403
        assert (await agent.post("/admin/settings/types/new", type_form(works))).status_code == 403
    assert (await stored_type(other, "pothole"))["name"] == "Pothole"
