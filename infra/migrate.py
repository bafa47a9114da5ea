"""Applies Piccolo migrations (migrations/) to the configured database; safe to run on every start.

On PostgreSQL with DATABASE_OWNER_URL set, migrations run as that owner, and the application's role (the
user of DATABASE_URL) is created when missing and granted DML on the tables: it owns nothing, so
row-level security applies to it, and it may not bypass it.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

from infra.settings import PROJECT_ROOT, get_settings

# Roles are cluster-wide; two databases (or two test runs) may create the same one at once.
DUPLICATE_ROLE = ("42710", "23505")


def run_migrations(env: dict[str, str] | None = None) -> None:
    settings = get_settings()
    owner_url = settings.database_owner_url if settings.is_postgres else ""
    piccolo = Path(sys.executable).parent / "piccolo"
    environment = {**os.environ, **(env or {}), "PICCOLO_CONF": "piccolo_conf"}
    if owner_url:
        environment["DATABASE_URL"] = owner_url
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(PROJECT_ROOT), environment.get("PYTHONPATH")])
    )
    result = subprocess.run(
        [str(piccolo), "migrations", "forwards", "portal"],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or "Error" in result.stdout:
        raise RuntimeError(f"migrations failed:\n{result.stdout}\n{result.stderr}")
    if owner_url:
        asyncio.run(prepare_app_role(owner_url, settings.resolved_database_url))


async def prepare_app_role(owner_url: str, app_url: str) -> None:
    import asyncpg

    app = urlsplit(app_url)
    role, password = unquote(app.username or ""), unquote(app.password or "")
    connection = await asyncpg.connect(owner_url)
    try:
        if not role or role == await connection.fetchval("SELECT current_user"):
            return
        await create_app_role(connection, role, password)
        found = await connection.fetchrow(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1", role
        )
        if found["rolsuper"] or found["rolbypassrls"]:
            raise RuntimeError(f"the role {role!r} bypasses row-level security; give the portal another")
        quoted = await connection.fetchval("SELECT quote_ident($1)", role)
        await connection.execute(
            f"GRANT USAGE ON SCHEMA public TO {quoted};"
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted};"
            f"REVOKE INSERT, UPDATE, DELETE ON migration FROM {quoted};"
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted};"
        )
    finally:
        await connection.close()


async def create_app_role(connection, role: str, password: str = "") -> None:
    """A login role that owns nothing and cannot bypass row-level security; does nothing if it exists."""
    import asyncpg

    if await connection.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
        return
    statement = await connection.fetchval(
        "SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS', $1::text)"
        " || CASE WHEN $2::text = '' THEN '' ELSE format(' PASSWORD %L', $2::text) END",
        role,
        password,
    )
    try:
        await connection.execute(statement)
    except asyncpg.PostgresError as error:
        if error.sqlstate not in DUPLICATE_ROLE:
            raise
