"""Rows for tests: each test makes its own municipality, so tests never see each other's data."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from apps.demo import DEMO_PASSWORD, seed_catalog
from domain.scope import TenantScope
from domain.tables import Department, StaffUser
from tenants.onboarding import create_tenant


@dataclass(frozen=True)
class TestTown:
    id: int
    slug: str
    name: str
    prefix: str
    host: str
    admin_email: str
    roads_email: str
    viewer_email: str
    lead_email: str
    roads2_email: str
    password: str = DEMO_PASSWORD

    @property
    def scope(self) -> TenantScope:
        return TenantScope(self.id)


# Open around the clock, so business time is plain elapsed time and timers can be seconds.
ALWAYS_OPEN = {"hours": {day: ["00:00-24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}


async def make_town(
    name: str = "Testville",
    color: str = "#1d4f91",
    languages: str = "en,fr",
    levels: dict[str, dict] | None = None,
    business_calendar: dict | None = None,
    reopen_window_seconds: int = 14 * 24 * 3600,
) -> TestTown:
    """`levels` replaces the demo service levels (per request-type code), e.g. with durations in seconds."""
    slug = f"{name.lower()}-{uuid.uuid4().hex[:8]}"
    prefix = name[:3].upper()
    tenant_id = await create_tenant(
        slug,
        name,
        prefix,
        brand_color=color,
        logo_svg=f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10" data-logo="{slug}"></svg>',
        timezone="America/Toronto",
        languages=languages,
        business_calendar=business_calendar if business_calendar is not None else ALWAYS_OPEN,
        reopen_window_seconds=reopen_window_seconds,
    )
    staff = (
        (f"admin@{slug}.test", "Ada Admin", "tenant_admin", None),
        (f"roads@{slug}.test", "Rory Roads", "agent", "public-works"),
        (f"viewer@{slug}.test", "Vic Viewer", "viewer", None),
        (f"lead@{slug}.test", "Lee Lead", "supervisor", "public-works"),
        (f"roads2@{slug}.test", "Robin Roads", "agent", "public-works"),
    )
    await seed_catalog(TenantScope(tenant_id), staff, levels=levels)
    return TestTown(
        id=tenant_id,
        slug=slug,
        name=name,
        prefix=prefix,
        host=f"{slug}.localhost",
        admin_email=staff[0][0],
        roads_email=staff[1][0],
        viewer_email=staff[2][0],
        lead_email=staff[3][0],
        roads2_email=staff[4][0],
    )


async def department_id(town: TestTown, slug: str) -> int:
    async with town.scope.transaction():
        row = await town.scope.select(Department, Department.id).where(Department.slug == slug).first()
    return row["id"]


async def staff_id(town: TestTown, email: str) -> int:
    async with town.scope.transaction():
        row = await town.scope.select(StaffUser, StaffUser.id).where(StaffUser.email == email).first()
    return row["id"]


def valid_form(**overrides: str) -> dict[str, str]:
    form = {
        "request_type": "pothole",
        "description": "A deep pothole in the right lane.",
        "address": "12 Main Street",
        "contact_name": "Ned Flanders",
        "contact_email": "ned@example.com",
        "contact_phone": "",
        "idempotency_key": uuid.uuid4().hex,
    }
    form.update(overrides)
    return form


async def many_requests(town, count: int, contact_email: str = "ned@example.com") -> list[str]:
    """`count` requests whose submission times tie in threes, newest first as the queue orders them: a
    cursor on the time alone would skip or repeat the ones that share it."""
    from datetime import UTC, datetime, timedelta

    from domain import submissions
    from domain.intake import Submission
    from domain.tables import ServiceRequest

    async with town.scope.transaction():
        for n in range(count):
            await submissions.submit(
                town.scope,
                town.prefix,
                Submission(
                    "pothole", f"Pothole {n}", "Ned", contact_email, uuid.uuid4().hex, address="1 Main"
                ),
                "en",
            )
        rows = await town.scope.select(ServiceRequest, ServiceRequest.id).order_by(ServiceRequest.id)
        start = datetime(2026, 3, 1, tzinfo=UTC)
        for n, row in enumerate(rows):
            await town.scope.update(
                ServiceRequest, {ServiceRequest.created_at: start + timedelta(hours=n // 3)}
            ).where(ServiceRequest.id == row["id"])
        ordered = (
            await town.scope.select(ServiceRequest, ServiceRequest.reference)
            .order_by(ServiceRequest.created_at, ascending=False)
            .order_by(ServiceRequest.id, ascending=False)
        )
    return [row["reference"] for row in ordered]
