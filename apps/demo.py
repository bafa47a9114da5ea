"""Two demo municipalities, Springfield and Shelbyville, with departments, request types and staff.

Seeding is idempotent: a tenant that exists is left as it is, so a second run keeps everyone's data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain import catalog, places, platform, question_settings, staff, starters
from domain.audit import Actor
from domain.scope import TenantScope
from infra.database import cross_tenant
from infra.settings import PROJECT_ROOT
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
    ("gas-smell", "Safety", "Gas smell", "public-works", False, "Sécurité", "Odeur de gaz"),
]
# What the form says of a type before a request is sent, per language (domain/catalog.py NOTICES): an
# emergency takes no request online and shows its message and number instead.
EMERGENCIES = {"gas-smell": "911"}
NOTICES: dict[str, dict[str, dict[str, str]]] = {
    "gas-smell": {
        "emergency_message": {
            "en": "Leave the building now and call 911 from outside.",
            "fr": "Quittez le bâtiment maintenant et appelez le 911 de l'extérieur.",
        }
    },
    "missed-pickup": {
        "after_hours_notice": {
            "en": "Our collection team reads requests on business days: a pickup missed now is looked at on "
            "the next business day.",
            "fr": "Notre équipe de collecte lit les demandes les jours ouvrables : une collecte manquée "
            "maintenant sera examinée le jour ouvrable suivant.",
        }
    },
}


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
# Each demo town's made-up streets (GeoJSON lines), address points (OpenAddresses CSV) and boundary.
DEMO_PLACES = PROJECT_ROOT / "tenants" / "demo"


async def seed_places(scope: TenantScope, slug: str) -> None:
    """The town's demo gazetteer and boundary, as its administrator would import them, unless it has a
    gazetteer already (a second run keeps what an administrator imported since)."""
    folder, actor = DEMO_PLACES / slug, Actor(None, "Demo")
    async with scope.transaction():
        if await places.has_gazetteer(scope):
            return
        names = ("streets.geojson", "addresses.csv")
        files = [((folder / name).read_bytes(), name) for name in names]
        _, problems = await places.import_files(scope, actor, files)
        boundary = folder / "boundary.geojson"
        problems += await places.import_boundary(scope, actor, boundary.read_bytes(), boundary.name)
        if problems:
            raise ValueError(f"the demo files of {slug} do not read: {problems}")


async def seed_demo() -> list[str]:
    """Returns the slugs it created (empty when everything was there already)."""
    created = []
    async with cross_tenant("demo: the platform administrator"):
        await platform.add_administrator(PLATFORM_ADMIN, "Platform", DEMO_PASSWORD)
    for town in TOWNS:
        if existing := await tenant_id_by_slug(town.slug):
            await seed_places(TenantScope(existing), town.slug)  # a demo made before towns had maps
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
        await add_pothole_questions(TenantScope(tenant_id))
        await seed_places(TenantScope(tenant_id), town.slug)
        created.append(town.slug)
    return created


async def add_pothole_questions(scope: TenantScope, languages: tuple[str, ...] = ("en", "fr")) -> None:
    """The city starter's questions for potholes (how big, where, how deep), on the town's pothole type.
    Not part of `seed_catalog`: the towns tests make ask no questions unless a test adds them."""
    pothole = next(entry for entry in starters.starters()["city"].types if entry["code"] == "pothole")
    async with scope.transaction():
        await question_settings.add_from_data(scope, "pothole", pothole["questions"], languages)


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
        # The first language's notices first: the form falls back on the first one stored.
        translations: dict[str, dict[str, str]] = {"en": {}, "fr": {"category": category_fr, "name": name_fr}}
        for notice, texts in NOTICES.get(code, {}).items():
            for language, text in texts.items():
                translations[language][notice] = text
        await catalog.add_request_type(
            scope,
            code,
            department_ids[department],
            category=category,
            name=name,
            needs_location=location,
            sort_order=order,
            translations={language: texts for language, texts in translations.items() if texts},
            emergency=code in EMERGENCIES,
            emergency_phone=EMERGENCIES.get(code, ""),
            **(SERVICE_LEVELS if levels is None else levels).get(code, {}),
        )
    password_hash = staff.hash_password(DEMO_PASSWORD)
    for email, name, role, departments in members:
        slugs = (departments,) if isinstance(departments, str) else departments or ()
        ids = tuple(department_ids[slug] for slug in slugs)
        await staff.add_member(scope, email, name, role, password_hash, ids)
    return department_ids
