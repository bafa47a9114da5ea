"""A tenant's rows may only point at rows of the same tenant, enforced by the database itself.

PostgreSQL: composite foreign keys `(tenant_id, column) -> target (tenant_id, id)` beside the existing
ones, with the same delete rule. SQLite cannot add constraints to existing tables, so triggers refuse an
insert or update whose reference names another tenant's row. Either way a write that crosses towns fails,
whatever code issued it.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-02T05:13:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "references between tenant rows stay within the tenant"

TARGETS = ("department", "staff_user", "request_type", "service_request")
# (table, column, referenced table, what deleting the referenced row does)
REFERENCES = (
    ("staff_department", "staff", "staff_user", "CASCADE"),
    ("staff_department", "department", "department", "CASCADE"),
    ("request_type", "department", "department", "SET NULL"),
    ("request_type", "default_assignee", "staff_user", "SET NULL"),
    ("routing_rule", "request_type", "request_type", "CASCADE"),
    ("routing_rule", "department", "department", "CASCADE"),
    ("routing_rule", "assignee", "staff_user", "SET NULL"),
    ("service_request", "request_type", "request_type", "NO ACTION"),
    ("service_request", "department", "department", "SET NULL"),
    ("service_request", "assignee", "staff_user", "SET NULL"),
    ("request_follower", "request", "service_request", "CASCADE"),
    ("request_event", "request", "service_request", "CASCADE"),
    ("request_event", "actor", "staff_user", "SET NULL"),
    ("document", "request", "service_request", "CASCADE"),
)


def _name(table: str, column: str) -> str:
    return f"{table}_{column}_same_tenant"


def _postgres_forwards() -> list[str]:
    statements = [
        f"ALTER TABLE {target} ADD CONSTRAINT {target}_tenant_id_id UNIQUE (tenant_id, id)" for target in TARGETS
    ]
    for table, column, target, on_delete in REFERENCES:
        action = f"SET NULL ({column})" if on_delete == "SET NULL" else on_delete
        statements.append(
            f"ALTER TABLE {table} ADD CONSTRAINT {_name(table, column)} FOREIGN KEY (tenant_id, {column}) "
            f"REFERENCES {target} (tenant_id, id) ON DELETE {action}"
        )
    return statements


def _postgres_backwards() -> list[str]:
    statements = [
        f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {_name(table, column)}"
        for table, column, _, _ in REFERENCES
    ]
    return statements + [
        f"ALTER TABLE {target} DROP CONSTRAINT IF EXISTS {target}_tenant_id_id" for target in TARGETS
    ]


def _sqlite_forwards() -> list[str]:
    statements = []
    for table, column, target, _ in REFERENCES:
        check = (
            f"WHEN NEW.{column} IS NOT NULL AND NOT EXISTS "
            f"(SELECT 1 FROM {target} WHERE id = NEW.{column} AND tenant_id = NEW.tenant_id) "
            f"BEGIN SELECT RAISE(ABORT, '{_name(table, column)}: the row belongs to another tenant'); END"
        )
        statements += [
            f"CREATE TRIGGER IF NOT EXISTS {_name(table, column)}_insert BEFORE INSERT ON {table} {check}",
            f"CREATE TRIGGER IF NOT EXISTS {_name(table, column)}_update "
            f"BEFORE UPDATE OF {column}, tenant_id ON {table} {check}",
        ]
    return statements


def _sqlite_backwards() -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {_name(table, column)}_{when}"
        for table, column, _, _ in REFERENCES
        for when in ("insert", "update")
    ]


async def _run(postgres: list[str], sqlite: list[str]) -> None:
    from piccolo.engine.postgres import PostgresEngine
    from piccolo.table import Table

    class RawSQL(Table):
        pass

    for statement in postgres if isinstance(RawSQL._meta.db, PostgresEngine) else sqlite:
        await RawSQL.raw(statement)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def add():
        await _run(_postgres_forwards(), _sqlite_forwards())

    async def remove():
        await _run(_postgres_backwards(), _sqlite_backwards())

    manager.add_raw(add)
    manager.add_raw_backwards(remove)
    return manager
