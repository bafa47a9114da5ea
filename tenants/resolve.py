"""Host name -> tenant. Fails closed: an unknown or inactive host has no tenant, never a default one."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from infra.database import cross_tenant, tenant_transaction
from tenants.tables import Tenant, TenantDomain

if TYPE_CHECKING:
    from infra.settings import Settings

CACHE_SECONDS = 30.0


@dataclass(frozen=True)
class TenantInfo:
    id: int
    slug: str
    name: str
    reference_prefix: str
    brand_color: str
    brand_text_color: str
    logo_svg: str
    timezone: str
    languages: tuple[str, ...]
    contact_email: str
    business_calendar: dict
    reopen_window_seconds: int
    embed_origins: str = ""
    require_two_factor: bool = False
    show_staff_names: bool = False
    contact_phone: str = ""
    footer_links: tuple[tuple[str, str], ...] = ()  # (label, address)
    live: bool = True
    mail_texts: dict = field(default_factory=dict)  # domain/mail_texts.py
    # The town's own host names (TenantDomain), oldest first; the first is where its links point.
    domains: tuple[str, ...] = ()

    @classmethod
    def from_row(cls, row: dict, domains: tuple[str, ...] = ()) -> TenantInfo:
        languages = tuple(code.strip() for code in row["languages"].split(",") if code.strip()) or ("en",)
        return cls(
            id=row["id"],
            slug=row["slug"],
            name=row["name"],
            reference_prefix=row["reference_prefix"],
            brand_color=row["brand_color"],
            brand_text_color=row["brand_text_color"],
            logo_svg=row["logo_svg"],
            timezone=row["timezone"],
            languages=languages,
            contact_email=row["contact_email"],
            business_calendar=row["business_calendar"] or {},
            reopen_window_seconds=row["reopen_window_seconds"],
            embed_origins=row["embed_origins"],
            require_two_factor=row["require_two_factor"],
            show_staff_names=row["show_staff_names"],
            contact_phone=row["contact_phone"],
            footer_links=tuple((link["label"], link["url"]) for link in row["footer_links"] or ()),
            live=row["live"],
            mail_texts=row["mail_texts"] or {},
            domains=domains,
        )


def slug_from_host(host: str, base_domain: str) -> str | None:
    """springfield.localhost:8000 -> springfield, for base domain localhost; None when not a subdomain."""
    name = host.split(":", 1)[0].strip().lower().rstrip(".")
    suffix = "." + base_domain.lower()
    if not name.endswith(suffix):
        return None
    slug = name.removesuffix(suffix)
    return slug if slug and "." not in slug else None


class TenantResolver:
    """Looks tenants up by host, remembering answers briefly; onboarding shows up within CACHE_SECONDS."""

    def __init__(self, base_domain: str) -> None:
        self.base_domain = base_domain
        self._cache: dict[str, tuple[float, TenantInfo | None]] = {}

    async def resolve(self, host: str) -> TenantInfo | None:
        key = host.split(":", 1)[0].strip().lower()
        cached = self._cache.get(key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        tenant = await self._lookup(key)
        self._cache[key] = (time.monotonic() + CACHE_SECONDS, tenant)
        return tenant

    def forget(self) -> None:
        """After a town's settings change: this process reads them afresh, by host and by id."""
        self._cache.clear()
        _by_id.clear()

    async def _lookup(self, host: str) -> TenantInfo | None:
        async with cross_tenant(f"which town answers at {host!r}"):
            return await self._find(host)

    async def _find(self, host: str) -> TenantInfo | None:
        slug = slug_from_host(host, self.base_domain)
        query = Tenant.select().where(Tenant.active.eq(True)).output(load_json=True)
        if slug:
            row = await query.where(Tenant.slug == slug).first()
        else:
            domain = (
                await TenantDomain.select(TenantDomain.tenant.as_alias("tenant_id"))
                .where((TenantDomain.host == host) & verified_domain())
                .first()
            )
            row = await query.where(Tenant.id == domain["tenant_id"]).first() if domain else None
        return await _with_domains(row) if row else None


def verified_domain():
    """A name the operator added (no token) or one the town proved it holds."""
    return (TenantDomain.verification_token == "") | TenantDomain.verified_at.is_not_null()


async def _with_domains(row: dict) -> TenantInfo:
    hosts = (
        await TenantDomain.select(TenantDomain.host)
        .where((TenantDomain.tenant == row["id"]) & verified_domain())
        .order_by(TenantDomain.id)
    )
    return TenantInfo.from_row(row, tuple(host["host"] for host in hosts))


_by_id: dict[int, tuple[float, TenantInfo]] = {}


async def tenant_by_id(tenant_id: int) -> TenantInfo | None:
    """For the worker's activities, which name the tenant by id; remembered briefly like host look-ups."""
    cached = _by_id.get(tenant_id)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    async with tenant_transaction(tenant_id):  # a town may read its own row
        row = await Tenant.select().where(Tenant.id == tenant_id).output(load_json=True).first()
    if row is None:
        return None
    tenant = await _with_domains(row)
    _by_id[tenant_id] = (time.monotonic() + CACHE_SECONDS, tenant)
    return tenant


def town_url(tenant: TenantInfo, settings: Settings, path: str = "/", via: str | None = None) -> str:
    """The absolute address of one of the town's pages, for mail, PDFs, QR codes and sign-in redirects.

    Built from the town's configured host names, never from a request's Host header, which the client
    writes: `via` (the host a request came in on) is used only when it is one of the town's own, so a person
    who came through the town's custom domain comes back to it (their session cookie lives there).
    """
    own = (*tenant.domains, f"{tenant.slug}.{settings.base_domain}".lower())
    wanted = (via or "").lower()
    return settings.public_url(wanted if wanted in own else own[0], path)
