"""The migrations in migrations/ build the schema from empty on the database under test."""

from piccolo.table import Table

from piccolo_app import APP_CONFIG

EXPECTED_INDEXES = {
    "service_request_tenant_reference",
    "service_request_tenant_created",
    "reference_counter_tenant_year",
    "staff_user_tenant_email",
    "request_follower_request_email",
    "routing_rule_tenant_position",
    "service_request_tenant_idempotency",
}


# The installation's own tables; every other one belongs to a town.
PLATFORM_TABLES = {"tenant", "platform_admin"}


class _Raw(Table):
    pass


async def _index_names(database) -> set[str]:
    from piccolo.engine.postgres import PostgresEngine

    if isinstance(database, PostgresEngine):
        rows = await _Raw.raw("SELECT indexname AS name FROM pg_indexes WHERE schemaname = 'public'")
    else:
        rows = await _Raw.raw("SELECT name FROM sqlite_master WHERE type = 'index'")
    return {row["name"] for row in rows}


async def test_every_table_exists_with_its_tenant_column(database):
    for table in APP_CONFIG.table_classes:
        assert await table.table_exists(), table._meta.tablename
        if table._meta.tablename not in PLATFORM_TABLES:
            column_names = {column._meta.db_column_name for column in table._meta.columns}
            assert "tenant_id" in column_names, table._meta.tablename


async def test_the_composite_indexes_are_in_place(database):
    assert await _index_names(database) >= EXPECTED_INDEXES


async def test_every_migration_has_run():
    from piccolo.apps.migrations.tables import Migration

    ran = {
        row["name"] for row in await Migration.select(Migration.name).where(Migration.app_name == "portal")
    }
    expected = {
        "2026-11-29T07:28:01:385006",
        "2026-11-29T07:40:00:000000",
        "2026-11-29T07:50:14:771892",
        "2026-11-29T07:55:00:000000",
    }
    assert expected <= ran
