"""A town's own host names (e.g. 311.springfield.gov). Added by its administrator, a name answers nothing
until the town proves it holds it: its web server publishes the name's token at VERIFICATION_PATH, which
this server fetches. Only then does the portal answer there, and do the town's links point there.

The file is fetched before the name points at this installation (our own server never answers that path),
so a town cannot claim a name that points here for another town. Names the operator adds as data (no
token) are trusted as they are."""

from __future__ import annotations

import re
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

from asyncpg.exceptions import UniqueViolationError

from domain import audit, writes
from domain.audit import Actor
from domain.scope import TenantScope
from infra import outbound
from infra.i18n import N_
from infra.settings import Settings
from tenants.tables import TenantDomain

VERIFICATION_PATH = "/.well-known/citizen-portal-verification.txt"
HOST_NAME = re.compile(r"^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
MAX_DOMAINS = 5

BAD_HOST = N_("Enter a host name such as 311.town.example: letters, digits, hyphens and dots, no https://.")
OURS = N_("This name belongs to the installation itself; the portal already answers at your own address.")
TAKEN = N_("This name is already in use.")
TOO_MANY = N_("A municipality has at most five host names.")
NOT_REACHED = N_(
    "The file could not be read at http://%(host)s%(path)s (no answer, or not 200). Publish it on your "
    "web server and try again."
)
PRIVATE = N_("This name points at a private or local network address, which the portal does not call.")
NOT_FOUND = N_("This name cannot be found in DNS yet.")
WRONG_TOKEN = N_("The file at http://%(host)s%(path)s does not hold this name's code. Copy the code exactly.")


@dataclass(frozen=True)
class Domain:
    id: int
    host: str
    token: str
    verified: bool


def _domain(row: dict) -> Domain:
    verified = not row["verification_token"] or row["verified_at"] is not None
    return Domain(row["id"], row["host"], row["verification_token"], verified)


async def listed(scope: TenantScope) -> list[Domain]:
    rows = await scope.select(TenantDomain).order_by(TenantDomain.id)
    return [_domain(row) for row in rows]


async def one(scope: TenantScope, domain_id: int) -> Domain | None:
    row = await scope.select(TenantDomain).where(TenantDomain.id == domain_id).first()
    return _domain(row) if row else None


async def problem(scope: TenantScope, host: str, settings: Settings) -> str | None:
    """Why the name cannot be added (a name another town has is found only when adding it)."""
    if not HOST_NAME.match(host):
        return BAD_HOST
    base = settings.base_domain.lower()
    if host == base or host.endswith(f".{base}"):
        return OURS
    if await scope.count(TenantDomain) >= MAX_DOMAINS:
        return TOO_MANY
    return None


async def add(scope: TenantScope, actor: Actor, host: str) -> Domain | None:
    """None when the name is taken, by this town or another (which this town cannot see)."""
    row = scope.new(TenantDomain, host=host, verification_token=secrets.token_hex(16))
    try:
        async with writes.write_transaction():
            await row.save()
    except (sqlite3.IntegrityError, UniqueViolationError):
        return None
    await audit.record(scope, actor, "domain.added", host, after={"host": host})
    return Domain(row.id, host, row.verification_token, False)


async def remove(scope: TenantScope, actor: Actor, domain: Domain) -> None:
    await scope.delete(TenantDomain).where(TenantDomain.id == domain.id)
    await audit.record(scope, actor, "domain.removed", domain.host, before={"host": domain.host})


async def check(domain: Domain, settings: Settings) -> tuple[str, dict[str, str]] | None:
    """Fetches the file; None when it holds the token, else the message and its values."""
    values = {"host": domain.host, "path": VERIFICATION_PATH}
    allowed = outbound.networks(settings.outbound_allowed_networks)
    address = settings.domain_check_address
    try:
        if address:
            reached_host, _, port = address.rpartition(":")
            await outbound.ensure_public(reached_host, int(port or 80), allowed)
            text = await outbound.fetch_text(f"http://{address}{VERIFICATION_PATH}", host=domain.host)
        else:
            await outbound.ensure_public(domain.host, 80, allowed)
            text = await outbound.fetch_text(f"http://{domain.host}{VERIFICATION_PATH}")
    except outbound.Unreachable as error:
        message = {"private": PRIVATE, "not_found": NOT_FOUND}.get(error.reason, NOT_REACHED)
        return message, values
    return None if text.strip() == domain.token else (WRONG_TOKEN, values)


async def mark_verified(scope: TenantScope, actor: Actor, domain: Domain) -> None:
    await scope.update(TenantDomain, {TenantDomain.verified_at: datetime.now(UTC)}).where(
        TenantDomain.id == domain.id
    )
    await audit.record(scope, actor, "domain.verified", domain.host, after={"host": domain.host})
