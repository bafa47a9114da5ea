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


async def _indexes(database) -> list[tuple[str, str, tuple[str, ...], bool]]:
    """(table, index, its columns in order, whether it is unique) of every index that is not partial."""
    from piccolo.engine.postgres import PostgresEngine

    if isinstance(database, PostgresEngine):
        rows = await _Raw.raw(
            "SELECT t.relname AS tbl, i.relname AS name, x.indisunique AS is_unique, "
            "array_agg(a.attname ORDER BY k.position) AS columns "
            "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
            "JOIN pg_namespace n ON n.oid = t.relnamespace "
            "CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, position) "
            "JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum "
            "WHERE n.nspname = 'public' AND x.indpred IS NULL GROUP BY t.relname, i.relname, x.indisunique"
        )
        return [(row["tbl"], row["name"], tuple(row["columns"]), row["is_unique"]) for row in rows]
    found = []
    for table in await _Raw.raw("SELECT name FROM sqlite_master WHERE type = 'table'"):
        for index in await _Raw.raw(f"PRAGMA index_list('{table['name']}')"):
            if not index["partial"]:
                columns = await _Raw.raw(f"PRAGMA index_info('{index['name']}')")
                names = tuple(column["name"] for column in sorted(columns, key=lambda c: c["seqno"]))
                found.append((table["name"], index["name"], names, bool(index["unique"])))
    return found


async def test_no_index_is_the_leading_part_of_another(database):
    """Such an index serves no query the wider one cannot, and costs a write on every insert."""
    indexes = await _indexes(database)
    covered = [
        (name, wider_name)
        for table, name, columns, unique in indexes
        if not unique
        for wider_table, wider_name, wider, _ in indexes
        if wider_table == table and len(wider) > len(columns) and wider[: len(columns)] == columns
    ]
    assert covered == []


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
