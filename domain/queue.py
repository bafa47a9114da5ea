"""The staff queue: requests filtered by status and department, newest first, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain import lifecycle
from domain.requests import NAME_COLUMNS, labels, newest_first_rows
from domain.scope import TenantScope
from domain.tables import ServiceRequest

QUEUE_PAGE_SIZE = 50


@dataclass(frozen=True)
class QueueFilter:
    status: str = ""
    department_id: int | None = None
    # Keyset cursor: the id of the last row already shown (its (created_at, id) is where the page starts).
    before_id: int | None = None
    # For staff who see only their departments' requests; None means every department.
    only_departments: tuple[int, ...] | None = None


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One line of the queue in the reader's language: only what the table shows. A page has fifty, so
    reading the whole record (thirty columns, a second copy to localise it) was a third of its render."""

    id: int
    reference: str
    status: str
    created_at: datetime
    assignee_name: str | None
    type_label: str
    category_label: str
    department_label: str
    # Citizens who said "me too" (domain/nearby.py): how many more people it affects.
    supporters: int


QUEUE_COLUMNS = (
    ServiceRequest.id,
    ServiceRequest.reference,
    ServiceRequest.status,
    ServiceRequest.created_at,
    ServiceRequest.supporters,
    *NAME_COLUMNS,
)


def queue_row(row: dict[str, Any], language: str) -> QueueRow:
    type_label, category_label, department_label = labels(
        language,
        row["type_name"],
        row["type_translations"],
        row["type_category"],
        row["department_name"],
        row["department_translations"],
    )
    return QueueRow(
        id=row["id"],
        reference=row["reference"],
        status=row["status"],
        created_at=row["created_at"],
        assignee_name=row["assignee_name"],
        type_label=type_label,
        category_label=category_label,
        department_label=department_label,
        supporters=row["supporters"],
    )


async def queue(
    scope: TenantScope, wanted: QueueFilter, language: str = "en", limit: int = QUEUE_PAGE_SIZE
) -> list[QueueRow]:
    query = scope.select(ServiceRequest, *QUEUE_COLUMNS)
    if wanted.status == "open":
        query = query.where(ServiceRequest.status.is_in(list(lifecycle.OPEN_STATUSES)))
    elif wanted.status in lifecycle.STATUS_LABELS:
        query = query.where(ServiceRequest.status == wanted.status)
    if wanted.department_id:
        query = query.where(ServiceRequest.department == wanted.department_id)
    if wanted.only_departments is not None:
        query = query.where(ServiceRequest.department.is_in(list(wanted.only_departments) or [0]))
    rows = await newest_first_rows(scope, query, wanted.before_id, limit)
    return [queue_row(row, language) for row in rows]
