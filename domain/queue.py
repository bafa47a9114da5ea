"""The staff queue: requests filtered by status and department, newest first, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass

from domain import lifecycle
from domain.requests import RequestRecord, newest_first, select_requests
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


async def queue(scope: TenantScope, wanted: QueueFilter, limit: int = QUEUE_PAGE_SIZE) -> list[RequestRecord]:
    query = select_requests(scope)
    if wanted.status == "open":
        query = query.where(ServiceRequest.status.is_in(list(lifecycle.OPEN_STATUSES)))
    elif wanted.status in lifecycle.STATUS_LABELS:
        query = query.where(ServiceRequest.status == wanted.status)
    if wanted.department_id:
        query = query.where(ServiceRequest.department == wanted.department_id)
    if wanted.only_departments is not None:
        query = query.where(ServiceRequest.department.is_in(list(wanted.only_departments) or [0]))
    return await newest_first(scope, query, wanted.before_id, limit)
