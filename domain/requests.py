"""A request as everyone reads it: one typed record, found by reference, status-page key or id.

Every function takes a TenantScope first; none can read another tenant's rows.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from piccolo.columns.combination import WhereRaw

from domain import lifecycle
from domain.scope import CompiledQuery, TenantScope
from domain.tables import ServiceRequest


@dataclass(frozen=True)
class RequestRecord:
    """A request as pages, mail and receipts read it, with its type's, department's and assignee's names."""

    id: int
    reference: str
    status: str
    description: str
    address: str
    latitude: float | None
    longitude: float | None
    contact_name: str
    contact_email: str
    contact_phone: str
    language: str
    close_reason: str
    duplicate_of: str
    public_token: str
    workflow_started: bool
    department: int | None
    assignee: int | None
    request_type: int
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    due_at: datetime | None
    reopen_until: datetime | None
    upcoming: dict[str, str]
    # The maintenance system's work-order number, once it has sent one.
    work_order: str
    # The type's questions as asked and answered, in the request's language (domain/questions.py).
    answers: list[dict[str, Any]]
    type_name: str
    type_translations: dict[str, dict[str, str]]
    type_category: str
    department_name: str | None
    department_translations: dict[str, str] | None
    assignee_name: str | None
    type_code: str
    # Citizens who said "me too" instead of sending it again (domain/nearby.py).
    supporters: int
    # In the reader's language, set by `localise`.
    type_label: str = ""
    category_label: str = ""
    department_label: str = ""


# The names a request is shown with, joined from its type, department and assignee (see `labels`).
NAME_COLUMNS = (
    ServiceRequest.request_type.name.as_alias("type_name"),
    ServiceRequest.request_type.translations.as_alias("type_translations"),
    ServiceRequest.request_type.category.as_alias("type_category"),
    ServiceRequest.department.name.as_alias("department_name"),
    ServiceRequest.department.translations.as_alias("department_translations"),
    ServiceRequest.assignee.name.as_alias("assignee_name"),
)

REQUEST_COLUMNS = (
    ServiceRequest.id,
    ServiceRequest.reference,
    ServiceRequest.status,
    ServiceRequest.description,
    ServiceRequest.address,
    ServiceRequest.latitude,
    ServiceRequest.longitude,
    ServiceRequest.contact_name,
    ServiceRequest.contact_email,
    ServiceRequest.contact_phone,
    ServiceRequest.language,
    ServiceRequest.close_reason,
    ServiceRequest.duplicate_of,
    ServiceRequest.public_token,
    ServiceRequest.workflow_started,
    ServiceRequest.department,
    ServiceRequest.assignee,
    ServiceRequest.request_type,
    ServiceRequest.created_at,
    ServiceRequest.updated_at,
    ServiceRequest.closed_at,
    ServiceRequest.due_at,
    ServiceRequest.reopen_until,
    ServiceRequest.upcoming,
    ServiceRequest.work_order,
    ServiceRequest.answers,
    *NAME_COLUMNS,
    ServiceRequest.request_type.code.as_alias("type_code"),
    ServiceRequest.supporters,
)


def select_requests(scope: TenantScope) -> Any:
    """A query of this tenant's requests, for `records`; add where, order and limit."""
    return scope.select(ServiceRequest, *REQUEST_COLUMNS)


def records(rows: list[dict[str, Any]]) -> list[RequestRecord]:
    return [RequestRecord(**row) for row in rows]


async def newest_first(
    scope: TenantScope, query: Any, before_id: int | None, limit: int | None
) -> list[RequestRecord]:
    """One page of requests, newest first, as records (see `newest_first_rows`)."""
    return records(await newest_first_rows(scope, query, before_id, limit))


async def newest_first_rows(
    scope: TenantScope, query: Any, before_id: int | None, limit: int | None
) -> list[dict[str, Any]]:
    """One page of what `query` selects, newest first, after the request `before_id` (the last one shown)."""
    after = None
    if before_id:
        anchor = (
            await scope.select(ServiceRequest, ServiceRequest.created_at)
            .where(ServiceRequest.id == before_id)
            .first()
        )
        after = (anchor["created_at"], before_id) if anchor else None
    query = newest_first_after(query, after)
    return await (query if limit is None else query.limit(limit))


def newest_first_after(query: Any, after: tuple[datetime, int] | None) -> Any:
    """The requests `query` selects, newest first, older than the row value `after` (created_at, id) of
    the last one shown. PostgreSQL and SQLite compare the row value as one range of an index ending in
    (created_at DESC, id DESC): the scan starts at the cursor, so page 2,000 costs what page 2 does (an
    OR of the two columns makes the database walk every newer row first)."""
    if after is not None:
        query = query.where(WhereRaw("(service_request.created_at, service_request.id) < ({}, {})", *after))
    return query.order_by(ServiceRequest.created_at, ascending=False).order_by(
        ServiceRequest.id, ascending=False
    )


def labels(
    language: str,
    type_name: str,
    type_translations: dict[str, dict[str, str]] | None,
    type_category: str,
    department_name: str | None,
    department_translations: dict[str, str] | None,
) -> tuple[str, str, str]:
    """The type's, its category's and the department's names in the reader's language."""
    type_tr = (type_translations or {}).get(language, {})
    return (
        type_tr.get("name") or type_name,
        type_tr.get("category") or type_category,
        (department_translations or {}).get(language) or department_name or "",
    )


def localise(record: RequestRecord, language: str) -> RequestRecord:
    """The type's and department's names in the reader's language."""
    type_label, category_label, department_label = labels(
        language,
        record.type_name,
        record.type_translations,
        record.type_category,
        record.department_name,
        record.department_translations,
    )
    return dataclasses.replace(
        record, type_label=type_label, category_label=category_label, department_label=department_label
    )


def next_deadlines(record: RequestRecord, now: datetime) -> list[tuple[str, datetime]]:
    """What fires next, soonest first: the deadlines stored at the request's last move that are still ahead
    (one that fired since has passed, so it drops out by itself)."""
    if record.status in lifecycle.TERMINAL:
        return []
    found = [(key, datetime.fromisoformat(when)) for key, when in (record.upcoming or {}).items()]
    return sorted(((key, when) for key, when in found if when > now), key=lambda item: item[1])


def _by(column: Any) -> CompiledQuery:
    """The whole record of the request whose `column` equals the one value given."""
    return CompiledQuery(ServiceRequest, lambda scope, value: select_requests(scope).where(column == value))


_BY_REFERENCE, _BY_TOKEN, _BY_ID = (
    _by(ServiceRequest.reference),
    _by(ServiceRequest.public_token),
    _by(ServiceRequest.id),
)


async def _record(query: CompiledQuery, scope: TenantScope, value: Any) -> RequestRecord | None:
    row = await query.first(scope, value)
    return RequestRecord(**row) if row else None


async def get_by_reference(scope: TenantScope, reference: str) -> RequestRecord | None:
    return await _record(_BY_REFERENCE, scope, reference.strip().upper())


async def get_by_token(scope: TenantScope, token: str) -> RequestRecord | None:
    return await _record(_BY_TOKEN, scope, token)


async def get_by_id(scope: TenantScope, request_id: int) -> RequestRecord | None:
    return await _record(_BY_ID, scope, request_id)


async def reference_exists(scope: TenantScope, reference: str) -> bool:
    return await scope.exists(ServiceRequest).where(ServiceRequest.reference == reference.strip().upper())
