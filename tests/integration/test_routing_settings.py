"""A town administrator writes routing rules (by type, keyword or area, to a department and optionally a
person), refused beside the field when they could not work, and previews where a request would go and
when it would be due; a request then routed goes exactly where the preview said."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from apps.demo import SERVICE_LEVELS
from apps.web import create_app
from domain import routing
from domain.tables import AuditEntry, RequestType, RoutingRule
from tests.integration.test_team_settings import signed_in_admin
from tests.support.factories import department_id, make_town, staff_id, valid_form
from tests.support.portal import PortalClient, status_path
from tests.support.services import offline_settings
from tests.workflows.lifecycle_helpers import row_of

OFFLINE = offline_settings()
PATH = "/admin/settings/routing"


async def type_id(town, code: str) -> int:
    async with town.scope.transaction():
        row = await town.scope.select(RequestType, RequestType.id).where(RequestType.code == code).first()
    return row["id"]


def rule(**values) -> dict:
    form = dict.fromkeys(
        (
            "request_type",
            "keyword",
            "min_latitude",
            "max_latitude",
            "min_longitude",
            "max_longitude",
            "department",
            "assignee",
            "position",
        ),
        "",
    )
    return {**form, **{name: str(value) for name, value in values.items()}}


async def test_a_rule_that_could_not_work_is_refused_beside_its_field_and_keeps_what_was_typed():
    town, other = await make_town(), await make_town("Elsewhere")
    app = create_app(OFFLINE)
    works = await department_id(town, "public-works")
    stranger = await staff_id(other, other.roads_email)
    async with await signed_in_admin(app, town) as admin:
        assert (await admin.get(PATH)).status_code == 200
        empty = await admin.post(PATH, rule())
        assert empty.status_code == 422
        assert "Choose the department" in empty.text and "a rule for everything" in empty.text
        typed = rule(
            keyword="Main St",
            min_latitude="95",
            min_longitude="-73",
            max_longitude="-74",
            department=works,
            assignee=stranger,
            position="first",
        )
        refused = await admin.post(PATH, typed)
        assert refused.status_code == 422
        for message in (
            "between -90 and 90",
            "minimum must be below its maximum",
            "who works in that department",
            "Enter a whole number",
        ):
            assert message in refused.text, message
        assert 'value="Main St"' in refused.text and 'value="95"' in refused.text
    async with town.scope.transaction():
        assert await town.scope.count(RoutingRule) == 0


async def test_the_preview_says_where_a_request_would_go_and_routing_sends_it_there():
    town = await make_town(levels={"pothole": SERVICE_LEVELS["pothole"]})  # records: no service level
    app = create_app(OFFLINE)
    works, lighting = await department_id(town, "public-works"), await department_id(town, "lighting")
    robin = await staff_id(town, town.roads2_email)
    pothole, records = await type_id(town, "pothole"), await type_id(town, "records")
    async with await signed_in_admin(app, town) as admin:
        await admin.get(PATH)
        added = await admin.post(
            PATH,
            rule(request_type=pothole, keyword="main st", department=works, assignee=robin, position="5"),
        )
        assert added.headers["location"] == f"{PATH}?done=added"
        area = await admin.post(PATH, rule(min_latitude="45.0", max_latitude="46", department=lighting))
        assert area.status_code == 303
        listed = (await admin.get(PATH)).text
        assert "main st" in listed and "Robin Roads" in listed and "latitude 45.0 to 46.0" in listed

        on_main = (await admin.get(f"{PATH}?type={pothole}&text=Deep+hole+on+Main+St")).text
        assert re.search(r"would go to Public Works \(rule 2\),\s*to Robin Roads,\s*and be due ", on_main)
        elsewhere = (await admin.get(f"{PATH}?type={pothole}&text=Elm+Street")).text
        assert re.search(
            r"would go to Public Works \(the type's own department\),\s*into the department", elsewhere
        )
        in_area = (await admin.get(f"{PATH}?type={records}&text=x&latitude=45.5&longitude=-73.5")).text
        assert re.search(r"would go to Street Lighting \(rule 1\)", in_area)
        assert "with no due date" in in_area
        unknown = await admin.get(f"{PATH}?type=999999&text=x")
        assert "Choose the request type to preview" in unknown.text

    async with PortalClient(app, town.host) as citizen:
        path = status_path(await citizen.submit(valid_form(description="Deep hole on Main St")))
    request = await row_of(town, path)
    before = datetime.now(UTC)
    async with town.scope.transaction():
        routed = await routing.route(town.scope, request.id, "test-route")
    assert (routed.department_id, routed.assignee_id) == (works, robin)
    row = await row_of(town, path)
    assert timedelta(hours=15) < row.due_at - before < timedelta(hours=16, minutes=5)  # 2 business days

    async with await signed_in_admin(app, town) as admin:
        await admin.get(PATH)
        first = re.search(
            r'action="/admin/settings/routing/(\d+)/remove"', (await admin.get(PATH)).text
        ).group(1)
        assert (await admin.post(f"{PATH}/{first}/remove")).status_code == 303
        assert (await admin.post(f"{PATH}/{first}/remove")).status_code == 404
    async with town.scope.transaction():
        actions = [row["action"] for row in await town.scope.select(AuditEntry, AuditEntry.action)]
    assert actions.count("routing.added") == 2 and actions.count("routing.removed") == 1
