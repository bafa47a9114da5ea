"""Onboarding a municipality is data: a tenant row and, optionally, its custom domains."""

from __future__ import annotations

from html import escape

from infra.database import cross_tenant
from tenants.tables import Tenant, TenantDomain

# A new town looks like no other town until it sets its own colours and logo.
NEUTRAL_COLOR, NEUTRAL_TEXT_COLOR = "#3b4350", "#ffffff"


def monogram_logo(name: str, fill: str) -> str:
    """A plain logo made of the town's initial, for a town that has not given its own."""
    initial = escape(name.strip()[:1].upper() or "?")
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" role="img" aria-hidden="true">'
        '<circle cx="32" cy="32" r="30" fill="#ffffff"/>'
        f'<circle cx="32" cy="32" r="26" fill="{escape(fill)}"/>'
        f'<text x="32" y="43" font-family="DejaVu Sans, sans-serif" font-size="30" font-weight="700" '
        f'text-anchor="middle" fill="#ffffff">{initial}</text></svg>'
    )


async def create_tenant(
    slug: str,
    name: str,
    reference_prefix: str,
    brand_color: str = NEUTRAL_COLOR,
    brand_text_color: str = NEUTRAL_TEXT_COLOR,
    logo_svg: str | None = None,
    timezone: str = "UTC",
    languages: str = "en,fr",
    contact_email: str = "",
    domains: tuple[str, ...] = (),
    business_calendar: dict | None = None,
    reopen_window_seconds: int = 14 * 24 * 3600,
    live: bool = True,
) -> int:
    tenant = Tenant(
        slug=slug.lower(),
        name=name,
        reference_prefix=reference_prefix.upper(),
        brand_color=brand_color,
        brand_text_color=brand_text_color,
        logo_svg=monogram_logo(name, brand_color) if logo_svg is None else logo_svg,
        timezone=timezone,
        languages=languages,
        contact_email=contact_email,
        business_calendar=business_calendar or {},
        reopen_window_seconds=reopen_window_seconds,
        live=live,
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
