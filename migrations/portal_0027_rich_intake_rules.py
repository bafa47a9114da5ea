"""What rich intake's tables need once they exist (Piccolo runs a migration's raw steps before its new
tables): row-level security, questions that stay within their type's town, one map per town, and the
indexes that keep address search, the nearest address and the nearby open requests fast at a city's size.

Address search is each database's own: a trigram index (pg_trgm) on PostgreSQL, an FTS5 table with the
trigram tokenizer on SQLite, kept in step with `place` by triggers."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-08T00:11:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "rich intake: row-level security, same-town references, search and nearby indexes"

TABLES = ("request_question", "place", "town_map")
TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::integer"
CROSS_TENANT = "COALESCE(current_setting('app.cross_tenant', true), '') <> ''"
RULE = f"tenant_id = {TENANT} OR {CROSS_TENANT}"
REFERENCES = (("request_question", "request_type", "request_type", "CASCADE"),)
INDEXES = [
    "CREATE INDEX IF NOT EXISTS request_question_type ON request_question (tenant_id, request_type, position)",
    "CREATE UNIQUE INDEX IF NOT EXISTS town_map_tenant ON town_map (tenant_id)",
    "CREATE INDEX IF NOT EXISTS place_tenant_kind ON place (tenant_id, kind, id)",
    # The nearest address to a pin: a small box around it, then the closest in it.
    "CREATE INDEX IF NOT EXISTS place_tenant_position ON place (tenant_id, latitude, longitude)",
    # Open requests of a type near a place: a box on latitude, longitude checked in the index.
    "CREATE INDEX IF NOT EXISTS service_request_open_place "
    "ON service_request (tenant_id, request_type, latitude, longitude) "
    "WHERE status NOT IN ('closed', 'cancelled') AND latitude IS NOT NULL",
]
POSTGRES_SEARCH = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS place_search ON place USING gin (search_text gin_trgm_ops)",
]
SQLITE_SEARCH = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS place_search "
    "USING fts5(search_text, content='place', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER IF NOT EXISTS place_search_insert AFTER INSERT ON place BEGIN "
    "INSERT INTO place_search (rowid, search_text) VALUES (NEW.id, NEW.search_text); END",
    "CREATE TRIGGER IF NOT EXISTS place_search_delete AFTER DELETE ON place BEGIN "
    "INSERT INTO place_search (place_search, rowid, search_text) VALUES ('delete', OLD.id, OLD.search_text); "
    "END",
    "CREATE TRIGGER IF NOT EXISTS place_search_update AFTER UPDATE OF search_text ON place BEGIN "
    "INSERT INTO place_search (place_search, rowid, search_text) VALUES ('delete', OLD.id, OLD.search_text); "
    "INSERT INTO place_search (rowid, search_text) VALUES (NEW.id, NEW.search_text); END",
]


def _name(table: str, column: str) -> str:
    return f"{table}_{column}_same_tenant"


def _postgres() -> list[str]:
    statements = list(POSTGRES_SEARCH)
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
    statements = list(SQLITE_SEARCH)
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


def _raw_table():
    from piccolo.table import Table

    class RawSQL(Table):
        pass

    return RawSQL


async def _run() -> None:
    from piccolo.engine.postgres import PostgresEngine

    raw = _raw_table()
    on_postgres = isinstance(raw._meta.db, PostgresEngine)
    for statement in INDEXES + (_postgres() if on_postgres else _sqlite()):
        await raw.raw(statement)


async def _undo() -> None:
    raw = _raw_table()
    for name in (
        "request_question_type",
        "town_map_tenant",
        "place_tenant_kind",
        "place_tenant_position",
        "service_request_open_place",
        "place_search",
    ):
        await raw.raw(f"DROP INDEX IF EXISTS {name}")


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)
    manager.add_raw(_run)
    manager.add_raw_backwards(_undo)
    return manager
