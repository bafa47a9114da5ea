"""What the integration tables need once they exist (Piccolo runs a migration's raw steps before its new
tables): row-level security, references that stay within the town, the indexes their reads use, and the
open-data switch on for the types that already take a place (potholes yes, tax questions no)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-07T23:31:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "integration tables: row-level security, same-town references, indexes"

TABLES = ("api_key", "webhook_subscription", "webhook_delivery")
TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::integer"
CROSS_TENANT = "COALESCE(current_setting('app.cross_tenant', true), '') <> ''"
RULE = f"tenant_id = {TENANT} OR {CROSS_TENANT}"
# (table, column, referenced table, what deleting the referenced row does), as in portal_0014.
REFERENCES = (
    ("webhook_delivery", "subscription", "webhook_subscription", "CASCADE"),
    ("webhook_delivery", "request", "service_request", "CASCADE"),
)
INDEXES = [
    "CREATE INDEX IF NOT EXISTS api_key_tenant ON api_key (tenant_id, id)",
    "CREATE INDEX IF NOT EXISTS webhook_subscription_tenant ON webhook_subscription (tenant_id, id)",
    # The dispatcher's read: a town's deliveries still to make, oldest first; a few rows at any time.
    "CREATE INDEX IF NOT EXISTS webhook_delivery_pending ON webhook_delivery (tenant_id, id) "
    "WHERE state = 'pending'",
    "CREATE INDEX IF NOT EXISTS webhook_delivery_subscription "
    "ON webhook_delivery (tenant_id, subscription, id)",
    # Open311's servicerequestupdates: a town's public lines since a date.
    "CREATE INDEX IF NOT EXISTS request_event_tenant_created ON request_event (tenant_id, created_at, id)",
    "UPDATE request_type SET published = needs_location",
]


def _name(table: str, column: str) -> str:
    return f"{table}_{column}_same_tenant"


def _postgres() -> list[str]:
    statements = [
        "ALTER TABLE webhook_subscription ADD CONSTRAINT webhook_subscription_tenant_id_id "
        "UNIQUE (tenant_id, id)"
    ]
    for table, column, target, on_delete in REFERENCES:
        statements.append(
            f"ALTER TABLE {table} ADD CONSTRAINT {_name(table, column)} FOREIGN KEY (tenant_id, {column}) "
            f"REFERENCES {target} (tenant_id, id) ON DELETE {on_delete}"
        )
    for table in TABLES:
        statements += [
            f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
            f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
            f"DROP POLICY IF EXISTS tenant_isolation ON {table}",
            f"CREATE POLICY tenant_isolation ON {table} USING ({RULE}) WITH CHECK ({RULE})",
        ]
    return statements


def _sqlite() -> list[str]:
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


async def _run(statements: list[str]) -> None:
    from piccolo.engine.postgres import PostgresEngine
    from piccolo.table import Table

    class RawSQL(Table):
        pass

    on_postgres = isinstance(RawSQL._meta.db, PostgresEngine)
    for statement in statements + (_postgres() if on_postgres else _sqlite()):
        await RawSQL.raw(statement)


async def _undo() -> None:
    from piccolo.table import Table

    class RawSQL(Table):
        pass

    for name in (
        "api_key_tenant",
        "webhook_subscription_tenant",
        "webhook_delivery_pending",
        "webhook_delivery_subscription",
        "request_event_tenant_created",
    ):
        await RawSQL.raw(f"DROP INDEX IF EXISTS {name}")


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def add():
        await _run(INDEXES)

    manager.add_raw(add)
    manager.add_raw_backwards(_undo)
    return manager
