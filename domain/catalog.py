"""What a tenant offers: departments, request types and staff, read for forms and pages."""

from __future__ import annotations

from dataclasses import dataclass

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
