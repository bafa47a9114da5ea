"""What every write to a request's rows shares: the clock, the transaction, keys that fit their column."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from domain.tables import ServiceRequest
from infra import database


def utc_now() -> datetime:
    return datetime.now(UTC)


def on_sqlite() -> bool:
    return isinstance(ServiceRequest._meta.db, SQLiteEngine)


def write_transaction():
    """SQLite takes the write lock up front (IMMEDIATE), so two writers queue instead of deadlocking;
    PostgreSQL writes in a savepoint of the scope's transaction, so a lost race leaves it usable."""
    engine = ServiceRequest._meta.db
    if on_sqlite():
        return engine.transaction(transaction_type=TransactionType.immediate)
    return database.savepoint()


def short_key(key: str, limit: int = 80) -> str:
    """Keys are made of workflow ids and e-mail addresses; long ones are hashed to fit their column."""
    return key if len(key) <= limit else hashlib.sha256(key.encode()).hexdigest()[:limit]
