"""The typed house number finds its addresses by index. Under row-level security PostgreSQL cannot use the
trigram index for `LIKE` (the operator is not leakproof), so a search such as "12 map" read every address of
the town; equality on the number is leakproof, so the town's addresses at that number (and its streets,
by place_tenant_kind) are now the only rows the substring is tried on."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-08T03:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "place: index on the house number within a town"


def _raw_table():
    from piccolo.table import Table

    class RawSQL(Table):
        pass

    return RawSQL


async def _run() -> None:
    await _raw_table().raw("CREATE INDEX IF NOT EXISTS place_tenant_number ON place (tenant_id, number)")


async def _undo() -> None:
    await _raw_table().raw("DROP INDEX IF EXISTS place_tenant_number")


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)
    manager.add_raw(_run)
    manager.add_raw_backwards(_undo)
    return manager
