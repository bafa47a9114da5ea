"""The installation's administrators and the list of towns: platform rows, which belong to no town."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.staff import hash_password, password_matches
from tenants.tables import PlatformAdmin, Tenant


@dataclass(frozen=True)
class PlatformAdministrator:
    id: int
    email: str
    name: str


@dataclass(frozen=True)
class Town:
    name: str
    slug: str
    created_at: datetime


def _administrator(row: dict) -> PlatformAdministrator:
    return PlatformAdministrator(id=row["id"], email=row["email"], name=row["name"])


async def active_administrator(admin_id: int) -> PlatformAdministrator | None:
    row = (
        await PlatformAdmin.select(PlatformAdmin.id, PlatformAdmin.email, PlatformAdmin.name)
        .where((PlatformAdmin.id == admin_id) & PlatformAdmin.active.eq(True))
        .first()
    )
    return _administrator(row) if row else None


async def authenticate(email: str, password: str) -> PlatformAdministrator | None:
    """As slow for an unknown address as for a wrong password (see `password_matches`)."""
    row = (
        await PlatformAdmin.select()
        .where((PlatformAdmin.email == email.strip().lower()) & PlatformAdmin.active.eq(True))
        .first()
    )
    if not password_matches(row["password_hash"] if row else None, password) or row is None:
        return None
    return _administrator(row)


async def add_administrator(email: str, name: str, password: str) -> None:
    """Once per address: running it again changes nothing."""
    if not await PlatformAdmin.exists().where(PlatformAdmin.email == email):
        await PlatformAdmin(email=email, name=name, password_hash=hash_password(password)).save()


async def towns() -> list[Town]:
    rows = await Tenant.select(Tenant.name, Tenant.slug, Tenant.created_at).order_by(Tenant.name)
    return [Town(name=row["name"], slug=row["slug"], created_at=row["created_at"]) for row in rows]
