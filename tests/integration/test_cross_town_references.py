"""A town's rows only ever point at the same town's rows. Staff actions that name another town's person,
department or request are refused with a message, and the database refuses such a write whoever makes it
(composite foreign keys on PostgreSQL, triggers on SQLite: migrations/portal_0014)."""

from __future__ import annotations

import pytest
from piccolo.table import Table

from apps.web import create_app
from domain import attachments, followers
from domain.tables import (
    Department,
    RequestEvent,
    RequestQuestion,
    RequestType,
    RoutingRule,
    ServiceRequest,
    StaffDepartment,
    StaffUser,
    WebhookDelivery,
    WebhookSubscription,
)
from infra.settings import get_settings
from infra.storage import configured_storage
from piccolo_app import APP_CONFIG
from tests.support.factories import make_town, valid_form
from tests.support.portal import PortalClient, status_path
from tests.support.services import offline_settings

OFFLINE = offline_settings()
# Every reference from one of a town's rows to another row, as (table, column, referenced table): the
# tenant column itself aside, each must stay within the town.
REFERENCES = sorted(
    (
        table._meta.tablename,
        column._meta.db_column_name,
        column._foreign_key_meta.resolved_references._meta.tablename,
    )
    for table in APP_CONFIG.table_classes
    for column in table._meta.foreign_key_columns
    if column._meta.db_column_name != "tenant_id"
)
TARGETS = {
    "staff_user": "staff",
    "department": "department",
    "request_type": "type",
    "service_request": "request",
    "webhook_subscription": "subscription",
}


class _Raw(Table):
    pass


async def _request_of(town) -> dict:
    async with town.scope.transaction():
        return await town.scope.select(ServiceRequest).first()


async def _foreign(town) -> dict[str, int | str]:
    """Ids of another town's rows, as someone probing with them would send."""
    async with town.scope.transaction():
        staff = (
            await town.scope.select(StaffUser, StaffUser.id)
            .where(StaffUser.email == town.roads_email)
            .first()
        )
        department = (
            await town.scope.select(Department, Department.id).where(Department.slug == "lighting").first()
        )
        kind = (
            await town.scope.select(RequestType, RequestType.id).where(RequestType.code == "pothole").first()
        )
        request = await town.scope.select(ServiceRequest, ServiceRequest.id, ServiceRequest.reference).first()
        subscription = await town.scope.select(WebhookSubscription, WebhookSubscription.id).first()
    return {
        "subscription": subscription["id"] if subscription else 0,
        "staff": staff["id"],
        "department": department["id"],
        "type": kind["id"],
        "request": request["id"],
        "reference": request["reference"],
    }


@pytest.fixture(scope="module")
async def towns():
    """Two towns with a row in every table that references another: a request, its event, a follower, a
    document, a routing rule, a webhook delivery, a type's question, besides the catalogue and staff every
    town has."""
    app = create_app(OFFLINE)
    town, other = await make_town(), await make_town("Shelbyville")
    for place in (town, other):
        async with PortalClient(app, place.host) as citizen:
            status_path(await citizen.submit(valid_form()))
        ids = await _foreign(place)
        async with place.scope.transaction():
            await followers.follow(place.scope, int(ids["request"]), f"neighbour@{place.slug}.example", "en")
            await attachments.store_document(
                place.scope, configured_storage(), int(ids["request"]), "receipt", "r.pdf", b"%PDF"
            )
            await place.scope.new(RoutingRule, keyword="flood", department=ids["department"]).save()
            await place.scope.new(RequestQuestion, request_type=ids["type"], code="size").save()
            hook = place.scope.new(WebhookSubscription, name="Works", url="https://works.example/", secret="")
            await hook.save()
            await place.scope.new(
                WebhookDelivery,
                subscription=hook.id,
                request=ids["request"],
                event="request.created",
                message_id=f"msg_{place.slug}",
                payload="{}",
            ).save()
    return app, town, other


@pytest.mark.parametrize(
    ("action", "form", "message"),
    [
        (
            "assign",
            lambda ids: {"assignee_id": ids["staff"]},
            "This person does not work for this request",
        ),
        ("transfer", lambda ids: {"department_id": ids["department"]}, "Choose another department of this"),
        (
            "close",
            lambda ids: {"reason": "duplicate", "duplicate_of": ids["reference"]},
            "There is no other request with that reference.",
        ),
    ],
)
async def test_a_staff_action_naming_another_towns_row_is_refused_with_a_message(
    towns, action, form, message
):
    app, town, other = towns
    before = await _request_of(town)
    async with PortalClient(app, town.host) as admin:
        await admin.login(town.admin_email, town.password)
        refused = await admin.act(
            before["reference"], action, **{k: str(v) for k, v in form(await _foreign(other)).items()}
        )
    assert refused.status_code == 409 and message in refused.text, refused.text[:300]
    assert await _request_of(town) == before


@pytest.mark.parametrize(
    ("table", "column", "target"),
    [
        (ServiceRequest, "assignee", "staff"),
        (ServiceRequest, "department", "department"),
        (ServiceRequest, "request_type", "type"),
    ],
)
async def test_the_database_refuses_a_request_pointing_into_another_town(towns, table, column, target):
    _, town, other = towns
    foreign = await _foreign(other)
    with pytest.raises(Exception, match="same_tenant"):
        async with town.scope.transaction():
            await town.scope.update(table, {getattr(table, column): foreign[target]})
    assert (await _request_of(town))[column] != foreign[target]


async def test_the_database_refuses_new_rows_pointing_into_another_town(towns):
    _, town, other = towns
    foreign, own = await _foreign(other), await _foreign(town)
    with pytest.raises(Exception, match="request_event_request_same_tenant"):
        async with town.scope.transaction():
            await town.scope.new(RequestEvent, request=foreign["request"], kind="comment").save()
    with pytest.raises(Exception, match="staff_department_department_same_tenant"):
        async with town.scope.transaction():
            await town.scope.new(StaffDepartment, staff=own["staff"], department=foreign["department"]).save()
    async with town.scope.transaction():  # the same rows within the town are fine
        await town.scope.new(StaffDepartment, staff=own["staff"], department=own["department"]).save()


def test_the_references_are_read_from_the_tables_themselves():
    """A reference added later joins the checks below by itself, once its target has probe ids here."""
    assert len(REFERENCES) >= 16
    assert {target for _, _, target in REFERENCES} <= set(TARGETS), REFERENCES


@pytest.mark.parametrize(("table", "column", "target"), REFERENCES)
async def test_the_database_has_a_same_tenant_rule_for_every_reference(table, column, target):
    name = f"{table}_{column}_same_tenant"
    if get_settings().is_postgres:
        rows = await _Raw.raw(
            "SELECT pg_get_constraintdef(oid) AS definition FROM pg_constraint WHERE conname = {}", name
        )
        assert rows, f"no constraint {name}: a migration must add it (see portal_0014)"
        assert rows[0]["definition"].startswith(
            f"FOREIGN KEY (tenant_id, {column}) REFERENCES {target}(tenant_id, id)"
        ), rows[0]
    else:
        rows = await _Raw.raw(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE {}", f"{name}%"
        )
        assert {row["name"] for row in rows} == {f"{name}_insert", f"{name}_update"}, rows


@pytest.mark.parametrize(("table", "column", "target"), REFERENCES)
async def test_no_row_can_be_pointed_at_another_towns_row(towns, table, column, target):
    _, town, other = towns
    foreign = (await _foreign(other))[TARGETS[target]]
    async with town.scope.transaction():
        rows = await _Raw.raw(f"SELECT id FROM {table} WHERE tenant_id = {{}} LIMIT 1", town.id)
    assert rows, f"the fixture left {table} empty for the town"
    with pytest.raises(Exception, match=f"{table}_{column}_same_tenant"):
        async with town.scope.transaction():
            await _Raw.raw(f"UPDATE {table} SET {column} = {{}} WHERE id = {{}}", foreign, rows[0]["id"])
