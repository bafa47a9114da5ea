"""One account per e-mail address in each town (the same address at two towns is two accounts)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-29T08:55:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "citizen account per town and e-mail"

INDEXES = [
    "CREATE UNIQUE INDEX IF NOT EXISTS citizen_tenant_email ON citizen (tenant_id, email)",
    "CREATE INDEX IF NOT EXISTS service_request_tenant_email ON service_request (tenant_id, contact_email)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def create_indexes():
        from piccolo.table import Table

        class RawSQL(Table):
            pass

        for statement in INDEXES:
            await RawSQL.raw(statement)

    manager.add_raw(create_indexes)
    return manager
