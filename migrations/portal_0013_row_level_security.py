"""Row-level security on PostgreSQL, the second wall behind the scope's filters (SQLite has none: skipped).

Every tenant-owned table shows and accepts only the rows of the tenant named by the transaction's
`app.tenant_id` setting (set by domain.scope / infra.database), or every row inside the audited
cross-tenant path (`app.cross_tenant`, which names its reason). FORCE applies it to the tables' owner too.
The platform tables follow the same rule: a town may read its own `tenant` row; `platform_admin` is reached
only through the cross-tenant path. A table added later that holds a tenant's rows needs the same policy
in its own migration (tests/integration/test_row_level_security.py checks every table).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-02T05:12:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "row-level security on every tenant table (PostgreSQL)"

TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::integer"
CROSS_TENANT = "COALESCE(current_setting('app.cross_tenant', true), '') <> ''"
POLICIES = {
    **{
        table: f"tenant_id = {TENANT} OR {CROSS_TENANT}"
        for table in (
            "tenant_domain",
            "department",
            "staff_user",
            "staff_department",
            "request_type",
            "routing_rule",
            "service_request",
            "request_follower",
            "request_event",
            "citizen",
            "sign_in_link",
            "sign_in_provider",
            "reference_counter",
            "document",
            "notification",
        )
    },
    "tenant": f"id = {TENANT} OR {CROSS_TENANT}",
    "platform_admin": CROSS_TENANT,
}


class _Raw:
    @staticmethod
    async def run(statements: list[str]) -> None:
        from piccolo.engine.postgres import PostgresEngine
        from piccolo.table import Table

        class RawSQL(Table):
            pass

        if not isinstance(RawSQL._meta.db, PostgresEngine):
            return
        for statement in statements:
            await RawSQL.raw(statement)


def _enable() -> list[str]:
    statements = []
    for table, rule in POLICIES.items():
        statements += [
            f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
            f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
            f"DROP POLICY IF EXISTS tenant_isolation ON {table}",
            f"CREATE POLICY tenant_isolation ON {table} USING ({rule}) WITH CHECK ({rule})",
        ]
    return statements


def _disable() -> list[str]:
    statements = []
    for table in POLICIES:
        statements += [
            f"DROP POLICY IF EXISTS tenant_isolation ON {table}",
            f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY",
            f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
        ]
    return statements


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def enable():
        await _Raw.run(_enable())

    async def disable():
        await _Raw.run(_disable())

    manager.add_raw(enable)
    manager.add_raw_backwards(disable)
    return manager
