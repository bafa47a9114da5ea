"""Drops the indexes that another one covers, or that nothing reads: each was one more write on every insert.

A single-column index on tenant_id (or request, or staff) is the leading column of a composite index on the
same table (department_tenant_slug, service_request_tenant_created, request_follower_request_email, ...), so
every query it served uses that one instead. request_event is read by request (request_event_request_created)
and by action key, never by town alone; deleting a whole town scans it once. The names are Piccolo's, the
same on SQLite and PostgreSQL.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-07T12:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "drop indexes that others cover"

DROPPED = {
    "citizen_tenant_id": "citizen (tenant_id)",
    "department_tenant_id": "department (tenant_id)",
    "reference_counter_tenant_id": "reference_counter (tenant_id)",
    "request_event_request": "request_event (request)",
    "request_event_tenant_id": "request_event (tenant_id)",
    "request_follower_request": "request_follower (request)",
    "request_type_tenant_id": "request_type (tenant_id)",
    "routing_rule_tenant_id": "routing_rule (tenant_id)",
    "service_request_tenant_id": "service_request (tenant_id)",
    "staff_department_staff": "staff_department (staff)",
    "staff_user_tenant_id": "staff_user (tenant_id)",
}


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

    manager.add_raw(run([f"DROP INDEX IF EXISTS {name}" for name in DROPPED]))
    manager.add_raw_backwards(
        run([f"CREATE INDEX IF NOT EXISTS {name} ON {target}" for name, target in DROPPED.items()])
    )
    return manager
