"""Indexes for the tables of 0003 (Piccolo runs raw SQL before it creates tables, so they come separately)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-29T07:55:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "indexes for followers and routing rules"

INDEXES = [
    "CREATE UNIQUE INDEX IF NOT EXISTS request_follower_request_email ON request_follower (request, email)",
    "CREATE INDEX IF NOT EXISTS routing_rule_tenant_position ON routing_rule (tenant_id, position)",
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
