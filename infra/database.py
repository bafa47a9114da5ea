"""The Piccolo engine, chosen by DATABASE_URL: SQLite for the embedded default, PostgreSQL in production."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import urlparse

from asyncpg.exceptions import (
    InsufficientResourcesError,
    OperatorInterventionError,
    PostgresConnectionError,
)
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

from infra.settings import get_settings

# The database cannot answer right now (down, restarting, out of connections), as opposed to a query that
# is wrong: the web says "try again" (503) for these. OSError covers a refused or reset connection.
UNAVAILABLE = (OSError, PostgresConnectionError, OperatorInterventionError, InsufficientResourcesError)


def sqlite_path(url: str) -> Path:
    """sqlite:///var/portal.db is relative to the working directory; sqlite:////abs/path is absolute."""
    return Path(url.removeprefix("sqlite:///"))


def create_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        path = sqlite_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        _enable_wal(path)
        # Web and worker write the same file: wait for the lock rather than fail.
        return SQLiteEngine(path=str(path), timeout=30)
    if urlparse(url).scheme in ("postgres", "postgresql"):
        return PostgresEngine(config={"dsn": url})
    raise ValueError(f"DATABASE_URL must start with sqlite:/// or postgresql://, not {url!r}")


def _enable_wal(path: Path) -> None:
    """WAL lets readers go on while one process writes; the setting is stored in the file itself."""
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA journal_mode=WAL")


async def start_pool(engine: Engine) -> None:
    if isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(min_size=2, max_size=20)


async def close_pool(engine: Engine) -> None:
    if isinstance(engine, PostgresEngine):
        await engine.close_connection_pool()


def engine_for_settings() -> Engine:
    return create_engine(get_settings().resolved_database_url)
