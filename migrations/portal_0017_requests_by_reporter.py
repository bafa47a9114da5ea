"""A reporter's requests in the queue's keyset order, so each page of "My requests" is one index range.

Replaces (tenant_id, contact_email): the new index answers everything it did. The SQL is the same on SQLite
and PostgreSQL.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-06T19:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "a reporter's requests, newest first, by index"

FORWARDS = [
    "CREATE INDEX IF NOT EXISTS service_request_tenant_email_created "
    "ON service_request (tenant_id, contact_email, created_at DESC, id DESC)",
    "DROP INDEX IF EXISTS service_request_tenant_email",
]
BACKWARDS = [
    "CREATE INDEX IF NOT EXISTS service_request_tenant_email ON service_request (tenant_id, contact_email)",
    "DROP INDEX IF EXISTS service_request_tenant_email_created",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    def run(statements: list[str]):
        async def raw():
            from piccolo.table import Table

            class RawSQL(Table):
                pass

            for statement in statements:
                await RawSQL.raw(statement)

        return raw

    manager.add_raw(run(FORWARDS))
    manager.add_raw_backwards(run(BACKWARDS))
    return manager
