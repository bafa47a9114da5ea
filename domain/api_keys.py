"""A town's API keys: made and revoked by its administrators, shown once, kept as a hash, each with scopes.

A key is looked up within the town whose host it arrives on, so another town's key is simply unknown.
The key is 256 random bits, so a plain SHA-256 is the right hash: there is nothing to guess slowly.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.scope import TenantScope
from domain.tables import ApiKey
from domain.writes import utc_now
from infra.i18n import N_

READ, SUBMIT, WORK_ORDERS = "read", "submit", "work_orders"
SCOPES = (READ, SUBMIT, WORK_ORDERS)
SCOPE_LABELS = {
    READ: N_("Read public data (higher rate limit than without a key)"),
    SUBMIT: N_("Submit requests (an app, a kiosk, another 311 system)"),
    WORK_ORDERS: N_("Maintenance system: work orders, statuses, notes, closures and webhooks"),
}
PREFIX = "cpk_"
# How stale "last used" may be: a busy integration does not write its key's row on every call.
LAST_USED_EVERY = timedelta(minutes=1)
MAX_KEYS = 50


class KeyRefused(ValueError):
    """`field` is the form field the message belongs to; the message is a msgid."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ApiKeyInfo:
    id: int
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def allows(self, scope_name: str) -> bool:
        return self.active and scope_name in self.scopes


def digest(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def _info(row: dict) -> ApiKeyInfo:
    return ApiKeyInfo(
        id=row["id"],
        name=row["name"],
        prefix=row["prefix"],
        scopes=tuple(name for name in row["scopes"].split(",") if name in SCOPES),
        created_by=row["created_by"],
        created_at=row["created_at"],
        last_used_at=row["last_used_at"],
        revoked_at=row["revoked_at"],
    )


_COLUMNS = (
    ApiKey.id,
    ApiKey.name,
    ApiKey.prefix,
    ApiKey.scopes,
    ApiKey.created_by,
    ApiKey.created_at,
    ApiKey.last_used_at,
    ApiKey.revoked_at,
)


async def keys(scope: TenantScope) -> list[ApiKeyInfo]:
    """The town's keys, active first, newest first."""
    rows = await scope.select(ApiKey, *_COLUMNS).order_by(ApiKey.id, ascending=False)
    return sorted((_info(row) for row in rows), key=lambda key: not key.active)


async def create(scope: TenantScope, name: str, scopes: list[str], created_by: str) -> tuple[ApiKeyInfo, str]:
    """The new key and its secret text, which is never shown again."""
    name = name.strip()
    if not name:
        raise KeyRefused("name", N_("Name the key after what will use it, e.g. its product."))
    if len(name) > 100:
        raise KeyRefused("name", N_("This is too long; shorten it, please."))
    chosen = [scope_name for scope_name in SCOPES if scope_name in scopes]
    if not chosen or len(chosen) != len(set(scopes)):
        raise KeyRefused("scopes", N_("Choose at least one thing this key may do."))
    if await scope.count(ApiKey).where(ApiKey.revoked_at.is_null()) >= MAX_KEYS:
        raise KeyRefused("name", N_("This town has many keys already; revoke those no longer used first."))
    raw_key = PREFIX + secrets.token_urlsafe(32)
    row = scope.new(
        ApiKey,
        name=name,
        prefix=raw_key[:12],
        key_hash=digest(raw_key),
        scopes=",".join(chosen),
        created_by=created_by[:200],
        created_at=utc_now(),
    )
    await row.save()
    return _info(row.to_dict()), raw_key


async def revoke(scope: TenantScope, key_id: int) -> ApiKeyInfo | None:
    """Revokes the key at once (the next call with it is refused); None when the town has no such key."""
    await scope.update(ApiKey, {ApiKey.revoked_at: utc_now()}).where(
        (ApiKey.id == key_id) & ApiKey.revoked_at.is_null()
    )
    row = await scope.select(ApiKey, *_COLUMNS).where(ApiKey.id == key_id).first()
    return _info(row) if row else None


async def authenticate(scope: TenantScope, raw_key: str) -> ApiKeyInfo | None:
    """The town's active key with this text, or None (unknown here, another town's, or revoked)."""
    if not raw_key.startswith(PREFIX) or len(raw_key) > 100:
        return None
    row = await scope.select(ApiKey, *_COLUMNS).where(ApiKey.key_hash == digest(raw_key)).first()
    if row is None or row["revoked_at"] is not None:
        return None
    now = utc_now()
    if row["last_used_at"] is None or now - row["last_used_at"] > LAST_USED_EVERY:
        await scope.update(ApiKey, {ApiKey.last_used_at: now}).where(ApiKey.id == row["id"])
        row["last_used_at"] = now
    return _info(row)
