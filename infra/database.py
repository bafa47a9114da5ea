"""The Piccolo engine, chosen by DATABASE_URL, and the transactions that carry a tenant to PostgreSQL.

On PostgreSQL every tenant-owned table has row-level security: a row is visible only inside a transaction
whose `app.tenant_id` setting names its tenant, set with `set_config(..., true)` (SET LOCAL semantics, so it
ends with the transaction and never leaks to the next user of a pooled connection). `tenant_transaction`
opens such a transaction; `cross_tenant(reason)` is the one named, logged way to reach every town's rows
and the platform tables. Outside both, queries see no tenant rows at all.

SQLite has no row-level security: there these contexts do nothing, and the scope's filters are the only
wall. A request-wide SQLite transaction would also hurt: a deferred one that reads and then writes fails
with "database is locked" when another writer committed in between, and an immediate one would serialise
every page. So on SQLite each multi-statement write keeps its own IMMEDIATE transaction (domain.requests).
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any
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

log = logging.getLogger(__name__)
TENANT_SETTING = "app.tenant_id"
CROSS_TENANT_SETTING = "app.cross_tenant"
# Per process; each web request holds at most one connection, released while it waits on Temporal.
POOL_MIN_SIZE, POOL_MAX_SIZE = 2, 20
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
        await engine.start_connection_pool(
            min_size=POOL_MIN_SIZE, max_size=POOL_MAX_SIZE, reset=_keep_session
        )


async def _keep_session(connection: Any) -> None:
    """Given back to the pool, a connection keeps its session as it is: asyncpg's default reset (unlock
    advisory locks, close cursors, unlisten, RESET ALL) is four statements on every release, and there is
    nothing to undo. Settings are only ever set for a transaction, which asyncpg has ended by now; cursors
    live inside transactions; nothing listens; the one advisory lock is on a connection outside the pool."""


async def close_pool(engine: Engine) -> None:
    if isinstance(engine, PostgresEngine):
        await engine.close_connection_pool()


def engine_for_settings() -> Engine:
    return create_engine(get_settings().resolved_database_url)


def _engine() -> Engine:
    from piccolo_conf import DB

    return DB


class Transaction:
    """One PostgreSQL transaction with its settings, placed where Piccolo looks for the current transaction.

    Piccolo runs a query on `current_transaction.connection` whenever the context variable holds something
    truthy, and treats `engine.transaction()` inside it as part of it. This object is truthy only while
    open, so an empty one can be put in place first (see `request_slot`) and opened later from another task
    that shares the same context, e.g. a Litestar dependency resolved next to others in a task group.
    """

    def __init__(self, engine: PostgresEngine) -> None:
        self.engine = engine
        self.connection: Any = None
        self.settings: dict[str, str] = {}
        self._transaction: Any = None

    def __bool__(self) -> bool:
        return self.connection is not None

    async def begin(self, settings: dict[str, str]) -> None:
        pool = self.engine.pool
        connection = await (pool.acquire() if pool else self.engine.get_new_connection())
        try:
            transaction = connection.transaction()
            await transaction.start()
            await _apply_settings(connection, settings)
        except BaseException:
            await self._give_back(connection)
            raise
        self.connection, self._transaction, self.settings = connection, transaction, settings

    async def end(self, commit: bool) -> None:
        connection, transaction, self.connection = self.connection, self._transaction, None
        try:
            await (transaction.commit() if commit else transaction.rollback())
        finally:
            await self._give_back(connection)

    async def _give_back(self, connection) -> None:
        if self.engine.pool:
            await self.engine.pool.release(connection)
        else:
            await connection.close()


async def _apply_settings(connection: Any, settings: dict[str, str]) -> None:
    """Sets them for the rest of the transaction (`SET LOCAL`), as row-level security's policies read them."""
    for name, value in settings.items():
        await connection.execute("SELECT set_config($1, $2, true)", name, value)


@contextmanager
def request_slot() -> Iterator[None]:
    """Puts an empty Transaction in place for one web request, so the scope dependency can open it where
    the handler's queries will find it (Litestar may resolve that dependency in a task of its own)."""
    engine = _engine()
    if not isinstance(engine, PostgresEngine):
        yield
        return
    token = engine.current_transaction.set(Transaction(engine))  # type: ignore[arg-type]  # stands in for one
    try:
        yield
    finally:
        engine.current_transaction.reset(token)


@asynccontextmanager
async def _transaction(settings: dict[str, str]) -> AsyncIterator[None]:
    engine = _engine()
    if not isinstance(engine, PostgresEngine):
        yield
        return
    current = engine.current_transaction.get()
    if current:
        if not isinstance(current, Transaction):
            raise RuntimeError("a transaction without a tenant is open: open the scope's transaction first")
        if current.settings != settings and CROSS_TENANT_SETTING not in current.settings:
            raise RuntimeError(f"a transaction with {current.settings} is open; cannot switch to {settings}")
        # A town's scope inside the cross-tenant path joins it as a savepoint that sees that town alone:
        # row-level security narrows the nested work as it would on its own, and widens again after.
        names = set(current.settings) | set(settings)
        inner = {name: settings.get(name, "") for name in names}
        outer = {name: current.settings.get(name, "") for name in names}
        async with current.connection.transaction():
            if inner != outer:
                await _apply_settings(current.connection, inner)
            yield
            if inner != outer:  # on an error the savepoint's rollback restores them by itself
                await _apply_settings(current.connection, outer)
        return
    holder = current if isinstance(current, Transaction) else Transaction(engine)
    token = None if holder is current else engine.current_transaction.set(holder)  # type: ignore[arg-type]
    try:
        await holder.begin(settings)
        try:
            yield
        except BaseException:
            await holder.end(commit=False)
            raise
        await holder.end(commit=True)
    finally:
        if token is not None:
            engine.current_transaction.reset(token)


def tenant_transaction(tenant_id: int):
    """A transaction in which PostgreSQL shows and accepts this tenant's rows only (joins an open one)."""
    return _transaction({TENANT_SETTING: str(tenant_id)})


def cross_tenant(reason: str):
    """The audited way past row-level security: platform tables and jobs that span towns. Logged."""
    if not reason.strip():
        raise ValueError("say why this code reaches across tenants")
    log.info("cross-tenant access: %s", reason)
    return _transaction({CROSS_TENANT_SETTING: reason})


@asynccontextmanager
async def released() -> AsyncIterator[None]:
    """Commits the open transaction and gives its connection back while the block waits on something slow
    (a Temporal Update whose activity writes the same rows), then opens a fresh one with the same settings.

    So a web request never holds row locks, or a pooled connection, while a worker needs them."""
    engine = _engine()
    current = engine.current_transaction.get() if isinstance(engine, PostgresEngine) else None
    if not isinstance(current, Transaction) or not current:
        yield
        return
    settings = current.settings
    await current.end(commit=True)
    try:
        yield
    finally:
        await current.begin(settings)


@asynccontextmanager
async def savepoint() -> AsyncIterator[None]:
    """A write of several statements inside the open transaction: if it fails (a lost race on a unique key),
    only it is rolled back and the caller may go on reading."""
    engine = _engine()
    current = engine.current_transaction.get() if isinstance(engine, PostgresEngine) else None
    if isinstance(current, Transaction) and current:
        async with current.connection.transaction():
            yield
    else:
        async with engine.transaction():
            yield


class Leadership:
    """Whether this process holds a role that one process of the installation plays at a time (the
    reconciler), and so keeps: on PostgreSQL a session advisory lock on a connection of its own, outside
    the pool, which the server releases when the process or its connection dies, so another process takes
    the role over at its next try. On SQLite there is one worker, and it always leads."""

    def __init__(self, role: str) -> None:
        self.key = int.from_bytes(hashlib.sha256(role.encode()).digest()[:8], "big", signed=True)
        self._connection: Any = None

    async def held(self) -> bool:
        """Tries for the role if this process does not hold it yet; True while it does."""
        engine = _engine()
        if not isinstance(engine, PostgresEngine):
            return True
        if self._connection is not None:
            try:
                await self._connection.fetchval("SELECT 1")  # the session, and so its lock, still lives
                return True
            except Exception:  # the server restarted or the connection broke: the lock went with it
                connection, self._connection = self._connection, None
                connection.terminate()
        connection = await engine.get_new_connection()
        try:
            if await connection.fetchval("SELECT pg_try_advisory_lock($1)", self.key):
                self._connection = connection
                return True
        except BaseException:
            await connection.close()
            raise
        await connection.close()
        return False

    async def release(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            await connection.close()  # and with it the lock
