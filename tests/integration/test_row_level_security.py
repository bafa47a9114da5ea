"""Row-level security on PostgreSQL: the second wall behind the scope's filters.

The tests' PostgreSQL pass connects as a role that owns nothing (tests/conftest.py), as production does.
SQLite has no row-level security; there the scope's filters are the only wall (docs/tenancy.md).
"""

from __future__ import annotations

import logging

import pytest
from piccolo.table import Table

from domain.tables import Department, ServiceRequest, StaffUser
from infra.database import cross_tenant
from infra.settings import get_settings
from piccolo_app import APP_CONFIG
from tenants.tables import PlatformAdmin, Tenant
from tests.support.factories import make_town, valid_form
from tests.support.portal import PortalClient, status_path

postgres_only = pytest.mark.skipif(
    not get_settings().is_postgres, reason="row-level security is PostgreSQL's; SQLite has the scope alone"
)


class _Raw(Table):
    pass


@postgres_only
async def test_a_query_issued_without_a_scope_sees_no_rows(app):
    town = await make_town()
    async with PortalClient(app, town.host) as citizen:
        status_path(await citizen.submit(valid_form()))
    assert await ServiceRequest.select().where(ServiceRequest.tenant == town.id) == []
    assert await StaffUser.count() == 0
    assert await Tenant.select().where(Tenant.id == town.id) == []
    assert await PlatformAdmin.count() == 0
    async with town.scope.transaction():  # the rows are there, for the town's own scope
        assert len(await ServiceRequest.select().where(ServiceRequest.tenant == town.id)) == 1
        assert [row["id"] for row in await Tenant.select(Tenant.id)] == [town.id]
        assert await PlatformAdmin.count() == 0  # platform tables only through the cross-tenant path


@postgres_only
async def test_writing_another_towns_rows_fails():
    town, other = await make_town(), await make_town("Shelbyville")
    with pytest.raises(Exception, match="row-level security"):
        async with town.scope.transaction():
            await Department(tenant=other.id, slug="planted", name="Planted").save()
    with pytest.raises(Exception, match="row-level security"):
        async with town.scope.transaction():
            await StaffUser.update({StaffUser.tenant: other.id}).where(StaffUser.email == town.roads_email)
    async with town.scope.transaction():  # the other town's rows are not there to change
        await StaffUser.update({StaffUser.name: "Taken over"}).where(StaffUser.tenant == other.id)
        await Tenant.update({Tenant.name: "Taken over"}).where(Tenant.id == other.id)
    async with other.scope.transaction():
        names = {row["name"] for row in await StaffUser.select(StaffUser.name)}
        assert "Taken over" not in names and len(names) == 5
        assert (await Tenant.select(Tenant.name).first())["name"] == other.name
        assert not await Department.exists().where(Department.slug == "planted")


@postgres_only
async def test_every_table_forces_row_level_security_and_the_portal_owns_none_of_them():
    rows = await _Raw.raw(
        "SELECT c.relname AS name, c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced, "
        "pg_get_userbyid(c.relowner) AS owner, "
        "(SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind = 'r'"
    )
    tables = {row["name"]: row for row in rows}
    for table in APP_CONFIG.table_classes:
        row = tables[table._meta.tablename]
        assert row["enabled"] and row["forced"] and row["policies"] >= 1, row
    me = (
        await _Raw.raw("SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
    )[0]
    assert not me["rolsuper"] and not me["rolbypassrls"], me
    assert me["rolname"] not in {row["owner"] for row in rows}


@postgres_only
async def test_a_transaction_serves_one_town():
    town, other = await make_town(), await make_town("Shelbyville")
    with pytest.raises(RuntimeError, match="cannot switch"):
        async with town.scope.transaction(), other.scope.transaction():
            pass


async def test_the_cross_tenant_path_is_named_and_logged(caplog):
    town, other = await make_town(), await make_town("Shelbyville")
    with caplog.at_level(logging.INFO, logger="infra.database"):
        async with cross_tenant("test: staff of two towns"):
            counted = await StaffUser.count().where(StaffUser.tenant.is_in([town.id, other.id]))
    assert counted == 10
    assert "cross-tenant access: test: staff of two towns" in caplog.text
    with pytest.raises(ValueError, match="say why"):
        cross_tenant(" ")


@postgres_only
async def test_every_policy_shows_a_town_its_own_rows_only_and_everything_only_on_the_cross_tenant_path():
    """The policies' conditions themselves: a `USING (true)` would pass every count above on tables
    the other tests leave empty."""
    rows = await _Raw.raw(
        "SELECT c.relname AS name, pg_get_expr(p.polqual, p.polrelid) AS using, "
        "pg_get_expr(p.polwithcheck, p.polrelid) AS check "
        "FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid"
    )
    policies: dict[str, list[dict]] = {}
    for row in rows:
        policies.setdefault(row["name"], []).append(row)
    own_town = "NULLIF(current_setting('app.tenant_id'::text, true), ''::text))::integer"
    cross_tenant = "COALESCE(current_setting('app.cross_tenant'::text, true), ''::text) <> ''::text"
    for table in APP_CONFIG.table_classes:
        name = table._meta.tablename
        assert len(policies.get(name, [])) == 1, (name, policies.get(name))  # policies add up: one alone
        policy = policies[name][0]
        key = {"tenant": "id", "platform_admin": None}.get(name, "tenant_id")
        for condition in (policy["using"], policy["check"]):
            if key is None:
                assert condition == f"({cross_tenant})", (name, condition)
            else:
                assert condition == f"(({key} = ({own_town}) OR ({cross_tenant}))", (name, condition)


@postgres_only
async def test_a_towns_scope_inside_the_cross_tenant_path_sees_that_town_alone():
    town, other = await make_town(), await make_town("Shelbyville")
    async with cross_tenant("test: a town's work inside a cross-town job"):
        async with town.scope.transaction():
            assert await StaffUser.count().where(StaffUser.tenant == other.id) == 0
            assert await StaffUser.count().where(StaffUser.tenant == town.id) == 5
            with pytest.raises(Exception, match="row-level security"):
                async with town.scope.transaction():  # a savepoint, so the job can go on afterwards
                    await Department(tenant=other.id, slug="planted", name="Planted").save()
        # Back on the cross-tenant path: both towns again.
        assert await StaffUser.count().where(StaffUser.tenant.is_in([town.id, other.id])) == 10
