"""What fires next for each request (reminders, escalations, the auto-close), as its workflow worked it out at
its last move, so the staff page reads it from the row instead of asking the workflow on every view.

A JSON object of deadline name to ISO time; '{}' until the request's next move. The SQL is the same on SQLite
and PostgreSQL.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-07T02:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "what fires next for each request"

FORWARDS = [
    "ALTER TABLE service_request ADD COLUMN upcoming JSON NOT NULL DEFAULT '{{}}'"
]  # Piccolo's raw SQL reads {} as a placeholder
BACKWARDS = ["ALTER TABLE service_request DROP COLUMN upcoming"]


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
