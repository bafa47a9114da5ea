"""Two demo municipalities, Springfield and Shelbyville, with departments, request types and staff.

Seeding is idempotent: a tenant that exists is left as it is, so a second run keeps everyone's data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain import catalog, platform, staff
from domain.scope import TenantScope
from infra.database import cross_tenant
from tenants.onboarding import create_tenant, tenant_id_by_slug

DEMO_PASSWORD = "demo-password-2026"


DEPARTMENTS = [
    ("public-works", "Public Works", "Travaux publics"),
    ("lighting", "Street Lighting", "Éclairage public"),
    ("sanitation", "Sanitation", "Collecte des déchets"),
    ("finance", "Finance and Taxes", "Finances et taxes"),
    ("clerk", "City Clerk", "Greffe"),
]
# code, category, name, department, needs location, French category, French name
REQUEST_TYPES = [
    ("pothole", "Roads", "Pothole", "public-works", True, "Voirie", "Nid-de-poule"),
    ("sidewalk", "Roads", "Damaged sidewalk", "public-works", True, "Voirie", "Trottoir endommagé"),
    ("streetlight", "Lighting", "Streetlight out", "lighting", True, "Éclairage", "Lampadaire éteint"),
    ("missed-pickup", "Waste", "Missed garbage pickup", "sanitation", True, "Déchets", "Collecte manquée"),
    ("tax-pap", "Taxes", "Pre-authorized payment", "finance", False, "Taxes", "Prélèvement automatique"),
    (
        "tax-question",
        "Taxes",
        "Property tax question",
        "finance",
        False,
        "Taxes",
        "Question sur l'impôt foncier",
    ),
    ("records", "Clerk", "Copy of public records", "clerk", False, "Greffe", "Copie de documents publics"),
]


BUSINESS_DAY = 8 * 3600  # Monday to Friday, 08:30 to 16:30
DAY = 24 * 3600
# What a municipality typically promises; every duration is data the town can change.
SERVICE_LEVELS: dict[str, dict[str, Any]] = {
    "pothole": {
        "target_seconds": 2 * BUSINESS_DAY,
        "assign_within_seconds": 4 * 3600,
        "escalate_after_seconds": 4 * 3600,
        "remind_before_seconds": 4 * 3600,
        "overdue_escalate_seconds": BUSINESS_DAY,
    },
    "sidewalk": {"target_seconds": 10 * BUSINESS_DAY, "assign_within_seconds": BUSINESS_DAY},
    "streetlight": {
        "target_seconds": 5 * BUSINESS_DAY,
        "assign_within_seconds": BUSINESS_DAY,
        "assignment_mode": "round_robin",
    },
    "missed-pickup": {
        "target_seconds": BUSINESS_DAY,
        "assignment_mode": "round_robin",
        "remind_before_seconds": 2 * 3600,
    },
    "tax-pap": {
        "target_seconds": 5 * BUSINESS_DAY,
        "citizen_remind_seconds": 7 * DAY,
        "citizen_close_seconds": 14 * DAY,
    },
    "tax-question": {
        "target_seconds": 3 * BUSINESS_DAY,
        "citizen_remind_seconds": 7 * DAY,
        "citizen_close_seconds": 14 * DAY,
    },
    "records": {
        "target_seconds": 30 * DAY,
        "target_business": False,
        "citizen_remind_seconds": 10 * DAY,
        "citizen_close_seconds": 30 * DAY,
    },
}


@dataclass(frozen=True)
class DemoTown:
    slug: str
    name: str
    prefix: str
    color: str
    timezone: str
    # email, name, role, and the slug of the department they work (or several, or none)
    staff: tuple[tuple[str, str, str, str | tuple[str, ...] | None], ...]


TOWNS = [
    DemoTown(
        "springfield",
        "Springfield",
        "SPR",
        "#1d4f91",
        "America/Toronto",
        (
            ("admin@springfield.test", "Marge Simpson", "tenant_admin", None),
            ("roads@springfield.test", "Homer Simpson", "agent", "public-works"),
            ("works-lead@springfield.test", "Waylon Smithers", "supervisor", "public-works"),
            ("clerk@springfield.test", "Patty Bouvier", "agent", "clerk"),
            ("lights@springfield.test", "Lenny Leonard", "agent", "lighting"),
            ("waste@springfield.test", "Carl Carlson", "agent", "sanitation"),
            ("taxes@springfield.test", "Selma Bouvier", "agent", "finance"),
        ),
    ),
    DemoTown(
        "shelbyville",
        "Shelbyville",
        "SHB",
        "#7a1f3d",
        "America/Montreal",
        (
            ("admin@shelbyville.test", "Lisa Shelby", "tenant_admin", None),
            ("roads@shelbyville.test", "Joe Shelby", "agent", "public-works"),
            # A small town: one clerk works every other department.
            ("clerk@shelbyville.test", "Ann Shelby", "agent", ("lighting", "sanitation", "finance", "clerk")),
        ),
    ),
]


PLATFORM_ADMIN = "platform@citizen-portal.test"


async def seed_demo() -> list[str]:
    """Returns the slugs it created (empty when everything was there already)."""
    created = []
    async with cross_tenant("demo: the platform administrator"):
        await platform.add_administrator(PLATFORM_ADMIN, "Platform", DEMO_PASSWORD)
    for town in TOWNS:
        if await tenant_id_by_slug(town.slug):
            continue
        tenant_id = await create_tenant(
            town.slug,
            town.name,
            town.prefix,
            brand_color=town.color,
            timezone=town.timezone,
            contact_email=f"311@{town.slug}.test",
        )
        await seed_catalog(TenantScope(tenant_id), town.staff)
        created.append(town.slug)
    return created


async def seed_catalog(
    scope: TenantScope, members: tuple = (), levels: dict[str, dict] | None = None
) -> dict[str, int]:
    """Departments, request types and staff for one tenant; returns department ids by slug."""
    async with scope.transaction():
        return await _seed(scope, members, levels)


async def _seed(scope: TenantScope, members: tuple, levels: dict[str, dict] | None) -> dict[str, int]:
    department_ids = {}
    for slug, name, name_fr in DEPARTMENTS:
        department_ids[slug] = await catalog.add_department(
            scope, slug, name, f"{slug}@example.test", {"fr": name_fr}
        )
    for order, (code, category, name, department, location, category_fr, name_fr) in enumerate(REQUEST_TYPES):
        await catalog.add_request_type(
            scope,
            code,
            department_ids[department],
            category=category,
            name=name,
            needs_location=location,
            sort_order=order,
            translations={"fr": {"category": category_fr, "name": name_fr}},
            **(SERVICE_LEVELS if levels is None else levels).get(code, {}),
        )
    password_hash = staff.hash_password(DEMO_PASSWORD)
    for email, name, role, departments in members:
        slugs = (departments,) if isinstance(departments, str) else departments or ()
        ids = tuple(department_ids[slug] for slug in slugs)
        await staff.add_member(scope, email, name, role, password_hash, ids)
    return department_ids
