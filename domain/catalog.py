"""What a tenant offers: departments, request types and staff, read for forms and pages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from domain.scope import TenantScope
from domain.tables import Department, RequestType


@dataclass(frozen=True)
class RequestTypeOption:
    id: int
    code: str
    category: str
    name: str
    description: str
    needs_location: bool


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
        )
        for row in rows
    ]


async def offered_type(scope: TenantScope, code: str) -> dict[str, Any] | None:
    """The active type a form names, with what intake needs of it (`id`, `needs_location`); None if the
    town offers no such type. One row by its key: a post does not need the whole catalogue."""
    return (
        await scope.select(RequestType, RequestType.id, RequestType.needs_location)
        .where((RequestType.code == code) & RequestType.active.eq(True))
        .first()
    )


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
