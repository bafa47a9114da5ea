"""Real services for the tests: a fresh database (SQLite, or PostgreSQL when TEST_DB=postgres), a Temporal
dev server, an SMTP server and a worker. Ports and paths are fixed here, before the app reads its settings."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from infra.temporal_dev import free_port

RUN_DIR = Path(tempfile.mkdtemp(prefix="portal-tests-"))
POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
POSTGRES_DB = f"portal_test_{os.getpid()}"
# The portal connects as this role, which owns nothing, so row-level security holds in the tests as in
# production; the migrations (run as the admin URL's owner) create it when missing. Roles are shared by
# the whole cluster and by test runs in parallel: it is created idempotently and never dropped.
POSTGRES_APP_ROLE = "portal_app"


def pytest_configure(config: pytest.Config) -> None:
    os.environ["VAR_DIR"] = str(RUN_DIR)
    if os.environ.get("TEST_DB", "sqlite") == "postgres":
        base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
        os.environ["DATABASE_OWNER_URL"] = f"{base}/{POSTGRES_DB}"
        app = urlsplit(base)
        os.environ["DATABASE_URL"] = (
            f"{app.scheme}://{POSTGRES_APP_ROLE}@{app.hostname}:{app.port}/{POSTGRES_DB}"
        )
        asyncio.run(_postgres_admin(f'CREATE DATABASE "{POSTGRES_DB}"'))
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{RUN_DIR / 'portal.db'}"
        os.environ.pop("DATABASE_OWNER_URL", None)
    os.environ["TEMPORAL_ADDRESS"] = f"127.0.0.1:{free_port()}"
    os.environ["TEMPORAL_TASK_QUEUE"] = "service-requests-test"
    os.environ["SMTP_PORT"] = str(free_port())
    os.environ["PUBLIC_PORT"] = "8000"
    os.environ["DEVELOPMENT"] = "true"
    os.environ["OIDC_ALLOWED_NETWORKS"] = "127.0.0.0/8"  # the tests' OpenID provider runs on loopback
    os.environ["OUTBOUND_ALLOWED_NETWORKS"] = "127.0.0.0/8"  # and the towns' websites they verify
    os.environ.pop("SESSION_STORE_URL", None)
    os.environ.pop("DEV_INBOX_DIR", None)
    from infra.migrate import run_migrations

    run_migrations()


def pytest_unconfigure(config: pytest.Config) -> None:
    if os.environ.get("TEST_DB") == "postgres":
        asyncio.run(_postgres_admin(f'DROP DATABASE IF EXISTS "{POSTGRES_DB}" WITH (FORCE)'))
    shutil.rmtree(RUN_DIR, ignore_errors=True)


async def _postgres_admin(statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


pytest_plugins = ["tests.support.services"]
