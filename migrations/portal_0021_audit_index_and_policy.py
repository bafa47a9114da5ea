"""The audit log's index (a town's entries, newest first) and its row-level security (PostgreSQL), after
the table exists: Piccolo runs a migration's raw steps before its new tables."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-07T17:01:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "the audit log's index and row-level security"

TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::integer"
CROSS_TENANT = "COALESCE(current_setting('app.cross_tenant', true), '') <> ''"
RULE = f"tenant_id = {TENANT} OR {CROSS_TENANT}"
INDEX = "CREATE INDEX IF NOT EXISTS audit_entry_tenant_id_id ON audit_entry (tenant_id, id)"
POSTGRES_ONLY = [
    "ALTER TABLE audit_entry ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE audit_entry FORCE ROW LEVEL SECURITY",
    "DROP POLICY IF EXISTS tenant_isolation ON audit_entry",
    f"CREATE POLICY tenant_isolation ON audit_entry USING ({RULE}) WITH CHECK ({RULE})",
]


class _Raw:
    @staticmethod
    async def run(statements: list[str], postgres_only: list[str]) -> None:
        from piccolo.engine.postgres import PostgresEngine
        from piccolo.table import Table

        class RawSQL(Table):
            pass

        if isinstance(RawSQL._meta.db, PostgresEngine):
            statements = statements + postgres_only
        for statement in statements:
            await RawSQL.raw(statement)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def index_and_policy():
        await _Raw.run([INDEX], POSTGRES_ONLY)

    async def drop_index():
        await _Raw.run(["DROP INDEX IF EXISTS audit_entry_tenant_id_id"], [])

    manager.add_raw(index_and_policy)
    manager.add_raw_backwards(drop_index)
    return manager
