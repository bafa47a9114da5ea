"""What a tenant offers: departments, request types and staff, read for forms and pages."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from domain.calendar import BusinessCalendar, is_open
from domain.scope import TenantScope
from domain.tables import Department, RequestType
from infra.i18n import N_
from tenants.resolve import tenant_by_id

# Texts a type keeps in `translations` alone, in every language the town writes them in (the first one
# included: they have no column of their own).
NOTICES = ("emergency_message", "after_hours_notice")
EMERGENCY_REFUSAL = N_(
    "This form cannot take this type of request: it is an emergency. Call the number shown above now."
)


@dataclass(frozen=True)
class RequestTypeOption:
    id: int
    code: str
    category: str
    name: str
    description: str
    needs_location: bool
    # An emergency takes no request online: the form shows its message and number instead (type_notice).
    emergency: bool
    emergency_phone: str
    emergency_message: str
    # Shown outside the town's business hours (`notice_now`); "" when the type has none.
    after_hours_notice: str
    # Open requests of the type this close to a new one's place are shown first (domain.nearby); 0: none.
    nearby_metres: int
    # Its requests are open data: shown to others nearby, and in Open311.
    published: bool


async def add_department(scope: TenantScope, slug: str, name: str, email: str, translations: dict) -> int:
    department = scope.new(Department, slug=slug, name=name, email=email, translations=translations)
    await department.save()
    return department.id


async def add_request_type(scope: TenantScope, code: str, department_id: int, **details: Any) -> None:
    """`details`: the RequestType columns (names, translations, service level...). A type that takes a
    place is open data unless it says otherwise (a pothole is public; a tax question is not)."""
    details.setdefault("published", details.get("needs_location", False))
    await scope.new(RequestType, code=code, department=department_id, **details).save()


def unique_slug(name: str, taken: set[str], fallback: str) -> str:
    """The address-safe key a new department or type gets from its first name (`Parks and Rec` ->
    `parks-and-rec`, then `parks-and-rec-2`...); it never changes after, so links to it hold."""
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:50] or fallback
    number = 1
    while (candidate := base if number == 1 else f"{base}-{number}") in taken:
        number += 1
    return candidate


def _localised(row: dict, field: str, language: str) -> str:
    return (row.get("translations") or {}).get(language, {}).get(field) or row[field]


def _notice(row: dict, field: str, language: str) -> str:
    """A notice in the reader's language, else as the town first wrote it (stored first, see
    domain.request_types): an emergency's instructions are shown in some language rather than none."""
    translations = row.get("translations") or {}
    own = translations.get(language, {}).get(field)
    return own or next((texts[field] for texts in translations.values() if texts.get(field)), "")


async def request_types(scope: TenantScope, language: str) -> list[RequestTypeOption]:
    rows = (
        await scope.select(RequestType)
        .where(RequestType.active.eq(True))
        .order_by(RequestType.sort_order)
        .order_by(RequestType.id)
    )
    return [
        RequestTypeOption(
            id=row["id"],
            code=row["code"],
            category=_localised(row, "category", language),
            name=_localised(row, "name", language),
            description=_localised(row, "description", language),
            needs_location=row["needs_location"],
            emergency=row["emergency"],
            emergency_phone=row["emergency_phone"],
            emergency_message=_notice(row, "emergency_message", language),
            after_hours_notice=_notice(row, "after_hours_notice", language),
            nearby_metres=row["nearby_metres"],
            published=row["published"],
        )
        for row in rows
    ]


async def offered_type(scope: TenantScope, code: str) -> dict[str, Any] | None:
    """The active type a form names, with what intake needs of it (`id`, `needs_location`, `emergency`,
    `published`, `nearby_metres`); None if the town offers no such type. One row by its key: a post does
    not need the whole catalogue."""
    return (
        await scope.select(
            RequestType,
            RequestType.id,
            RequestType.needs_location,
            RequestType.emergency,
            RequestType.published,
            RequestType.nearby_metres,
        )
        .where((RequestType.code == code) & RequestType.active.eq(True))
        .first()
    )


def emergency_refusal(option: RequestTypeOption | Mapping[str, Any] | None) -> str | None:
    """Why a post of this type is refused (a msgid), or None: an emergency takes no request online, even
    from a form that hides its send button, so the server says no too. Takes `offered_type`'s row or an
    option of `request_types`."""
    if option is None:
        return None
    emergency = option.emergency if isinstance(option, RequestTypeOption) else option.get("emergency")
    return EMERGENCY_REFUSAL if emergency else None


async def notice_now(scope: TenantScope, option: RequestTypeOption, now: datetime | None = None) -> str:
    """The type's out-of-hours notice when the town is closed at `now` (its business hours in its time
    zone, holidays included), else "". Read from the town's calendar as its administrators set it."""
    if not option.after_hours_notice:
        return ""
    tenant = await tenant_by_id(scope.tenant_id)
    if tenant is None:
        raise LookupError(f"tenant {scope.tenant_id} no longer exists")
    stored = tenant.business_calendar
    calendar = BusinessCalendar.from_settings(
        tenant.timezone, stored.get("hours"), stored.get("holidays", [])
    )
    return "" if is_open(now or datetime.now(UTC), calendar) else option.after_hours_notice


def grouped_by_category(options: list[RequestTypeOption]) -> list[tuple[str, list[RequestTypeOption]]]:
    groups: dict[str, list[RequestTypeOption]] = {}
    for option in options:
        groups.setdefault(option.category, []).append(option)
    return list(groups.items())


async def departments(scope: TenantScope, language: str) -> list[dict]:
    rows = await scope.select(Department, Department.id, Department.name, Department.translations).order_by(
        Department.name
    )
    return [
        {"id": row["id"], "name": (row["translations"] or {}).get(language) or row["name"]} for row in rows
    ]


async def department_name(scope: TenantScope, department_id: int | None, language: str) -> str:
    if department_id is None:
        return ""
    for department in await departments(scope, language):
        if department["id"] == department_id:
            return department["name"]
    return ""
