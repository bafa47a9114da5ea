"""Moves each member of staff's single department into staff_department, then drops the old column.

(Piccolo runs a migration's raw SQL before its column changes, which is the order wanted here.)
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-29T08:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "staff departments from the old single department"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def copy_departments():
        from piccolo.table import Table

        class RawSQL(Table):
            pass

        await RawSQL.raw(
            "INSERT INTO staff_department (tenant_id, staff, department) "
            "SELECT tenant_id, id, department FROM staff_user WHERE department IS NOT NULL"
        )
        await RawSQL.raw(
            "CREATE UNIQUE INDEX IF NOT EXISTS staff_department_member ON staff_department (staff, department)"
        )

    manager.add_raw(copy_departments)
    manager.drop_column(
        table_class_name="StaffUser",
        tablename="staff_user",
        column_name="department",
        db_column_name="department",
        schema=None,
    )
    return manager
