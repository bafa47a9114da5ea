"""An idempotency key is unique within its town, not across the installation: the same key sent to two
towns makes two requests instead of an error.

PostgreSQL drops the column's constraint. SQLite cannot drop a column's UNIQUE, so the table is rebuilt
without it (the documented twelve-step way), on one connection with foreign keys off so that dropping the
old table cascades nowhere.
"""

import sqlite3

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.engine.sqlite import SQLiteEngine

ID = "2026-12-02T05:11:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "idempotency key unique per town"

PER_TOWN = (
    "CREATE UNIQUE INDEX IF NOT EXISTS service_request_tenant_idempotency "
    "ON service_request (tenant_id, idempotency_key)"
)
GLOBAL_UNIQUE = '"idempotency_key" VARCHAR(64) UNIQUE NOT NULL'


def _rebuild_sqlite(path: str) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA foreign_keys = OFF")
        connection.execute("BEGIN IMMEDIATE")
        table_sql, *index_sqls = [
            row[0]
            for row in connection.execute(
                "SELECT sql FROM sqlite_master WHERE tbl_name = 'service_request' AND sql IS NOT NULL "
                "AND type IN ('table', 'index') "
                "ORDER BY type = 'index'"
            )
        ]
        if GLOBAL_UNIQUE in table_sql:
            new_sql = table_sql.replace(GLOBAL_UNIQUE, GLOBAL_UNIQUE.replace(" UNIQUE", ""), 1)
            connection.execute(new_sql.replace('"service_request"', '"service_request_new"', 1))
            connection.execute("INSERT INTO service_request_new SELECT * FROM service_request")
            connection.execute("DROP TABLE service_request")
            connection.execute("ALTER TABLE service_request_new RENAME TO service_request")
            for index_sql in index_sqls:
                connection.execute(index_sql)
        connection.execute(PER_TOWN)
        if connection.execute("PRAGMA foreign_key_check").fetchall():
            raise RuntimeError("the rebuilt service_request table breaks a foreign key")
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    finally:
        connection.close()


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="portal", description=DESCRIPTION, wrap_in_transaction=False
    )

    async def per_town():
        from piccolo.table import Table

        class RawSQL(Table):
            pass

        engine = engine_finder()
        if isinstance(engine, SQLiteEngine):
            _rebuild_sqlite(engine.connection_kwargs["database"])
            return
        async with engine.transaction():
            await RawSQL.raw(PER_TOWN)
            rows = await RawSQL.raw(
                "SELECT c.conname AS name FROM pg_constraint c "
                "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) "
                "WHERE c.conrelid = 'service_request'::regclass AND c.contype = 'u' "
                "AND a.attname = 'idempotency_key' AND array_length(c.conkey, 1) = 1"
            )
            for row in rows:
                await RawSQL.raw(f'ALTER TABLE service_request DROP CONSTRAINT "{row["name"]}"')

    manager.add_raw(per_town)
    return manager
