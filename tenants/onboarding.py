"""Onboarding a municipality is data: a tenant row and, optionally, its custom domains."""

from __future__ import annotations

from infra.database import cross_tenant
from tenants.tables import Tenant, TenantDomain


async def create_tenant(
    slug: str,
    name: str,
    reference_prefix: str,
    brand_color: str = "#1d4f91",
    brand_text_color: str = "#ffffff",
    logo_svg: str = "",
    timezone: str = "UTC",
    languages: str = "en,fr",
    contact_email: str = "",
    domains: tuple[str, ...] = (),
    business_calendar: dict | None = None,
    reopen_window_seconds: int = 14 * 24 * 3600,
) -> int:
    tenant = Tenant(
        slug=slug.lower(),
        name=name,
        reference_prefix=reference_prefix.upper(),
        brand_color=brand_color,
        brand_text_color=brand_text_color,
        logo_svg=logo_svg,
        timezone=timezone,
        languages=languages,
        contact_email=contact_email,
        business_calendar=business_calendar or {},
        reopen_window_seconds=reopen_window_seconds,
    )
    async with cross_tenant(f"onboard the town {slug!r}"):
        await tenant.save()
        for host in domains:
            await TenantDomain(tenant=tenant.id, host=host.lower()).save()
    return tenant.id


async def tenant_id_by_slug(slug: str) -> int | None:
    async with cross_tenant(f"find the town {slug!r}"):
        row = await Tenant.select(Tenant.id).where(Tenant.slug == slug).first()
    return row["id"] if row else None
