"""Intake: a citizen's request committed with its first timeline line, then its workflow started."""

from __future__ import annotations

import json
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from asyncpg.exceptions import UniqueViolationError

from domain import catalog, lifecycle, writes
from domain.intake import Submission
from domain.scope import TenantScope
from domain.tables import ReferenceCounter, RequestEvent, ServiceRequest
from domain.writes import utc_now
from infra.database import cross_tenant


@dataclass(frozen=True)
class SubmitResult:
    request_id: int
    reference: str
    public_token: str
    created: bool


async def _next_reference(scope: TenantScope, prefix: str, year: int) -> str:
    rows = await ReferenceCounter.raw(
        "INSERT INTO reference_counter (tenant_id, year, last_value) VALUES ({}, {}, 1) "
        "ON CONFLICT (tenant_id, year) DO UPDATE SET last_value = reference_counter.last_value + 1 "
        "RETURNING last_value",
        scope.tenant_id,
        year,
    )
    return f"{prefix}-{year}-{rows[0]['last_value']:06d}"


async def _existing(scope: TenantScope, idempotency_key: str) -> SubmitResult | None:
    row = (
        await scope.select(
            ServiceRequest, ServiceRequest.id, ServiceRequest.reference, ServiceRequest.public_token
        )
        .where(ServiceRequest.idempotency_key == idempotency_key)
        .first()
    )
    if row is None:
        return None
    return SubmitResult(row["id"], row["reference"], row["public_token"], created=False)


async def submit(
    scope: TenantScope,
    prefix: str,
    submission: Submission,
    language: str,
    request_type_id: int | None = None,
) -> SubmitResult:
    """Commits the request and its first timeline line. The same idempotency key returns the same request,
    and takes no number from the town's counter. `request_type_id`, when the caller has just read the type,
    spares reading it again."""
    if request_type_id is None:
        offered = await catalog.offered_type(scope, submission.request_type_code)
        if offered is None:
            raise ValueError("unknown request type")
        request_type_id = offered["id"]
    insert = _insert_sqlite if writes.on_sqlite() else _insert_postgres
    try:
        async with writes.write_transaction():
            return await insert(scope, prefix, submission, language, request_type_id)
    except (sqlite3.IntegrityError, UniqueViolationError):
        # The same form was posted before (a double click, a retried post) or a concurrent post with the
        # same key won the race: its write is rolled back, counter and all, and the first request answers.
        if found := await _existing(scope, submission.idempotency_key):
            return found
        raise


# PostgreSQL takes the counter, the request and its first line in one statement: there, a post's cost is
# mostly per statement and per write on the server (docs/performance.md).
POSTGRES_SUBMIT = """
WITH counter AS (
    INSERT INTO reference_counter (tenant_id, year, last_value) VALUES ({}::int, {}::int, 1)
    ON CONFLICT (tenant_id, year) DO UPDATE SET last_value = reference_counter.last_value + 1
    RETURNING last_value
), request AS (
    INSERT INTO service_request (
        tenant_id, reference, request_type, status, description, address, latitude, longitude, contact_name,
        contact_email, contact_phone, language, public_token, idempotency_key, answers, created_at, updated_at
    )
    SELECT {}::int, {}::text || lpad(last_value::text, greatest(6, length(last_value::text)), '0'), {}::int,
        {}::text, {}::text, {}::text, {}::real, {}::real, {}::text, {}::text, {}::text, {}::text, {}::text,
        {}::text, {}::json, {}::timestamptz, {}::timestamptz
    FROM counter
    RETURNING id, reference, public_token, tenant_id, status, created_at
), first_line AS (
    INSERT INTO request_event (tenant_id, request, kind, to_status, actor_kind, created_at)
    SELECT tenant_id, id, 'submitted', status, 'citizen', created_at FROM request
)
SELECT id, reference, public_token FROM request
"""


def postgres_submit_values(
    tenant_id: int, prefix: str, submission: Submission, language: str, request_type_id: int
) -> list:
    """The values of POSTGRES_SUBMIT's placeholders, in their order."""
    now = utc_now()
    return [
        tenant_id,  # the counter's
        now.year,
        tenant_id,  # the request's
        f"{prefix}-{now.year}-",
        request_type_id,
        lifecycle.SUBMITTED,
        submission.description,
        submission.address,
        submission.latitude,
        submission.longitude,
        submission.contact_name,
        submission.contact_email,
        submission.contact_phone,
        language,
        secrets.token_urlsafe(24),
        submission.idempotency_key,
        json.dumps(list(submission.answers)),
        now,
        now,
    ]


async def _insert_postgres(
    scope: TenantScope, prefix: str, submission: Submission, language: str, request_type_id: int
) -> SubmitResult:
    values = postgres_submit_values(scope.tenant_id, prefix, submission, language, request_type_id)
    row = (await ServiceRequest.raw(POSTGRES_SUBMIT, *values))[0]
    return SubmitResult(row["id"], row["reference"], row["public_token"], created=True)


async def _insert_sqlite(
    scope: TenantScope, prefix: str, submission: Submission, language: str, request_type_id: int
) -> SubmitResult:
    """The same writes one by one (SQLite's CTEs cannot insert)."""
    now = utc_now()
    reference = await _next_reference(scope, prefix, now.year)
    row = scope.new(
        ServiceRequest,
        reference=reference,
        request_type=request_type_id,
        status=lifecycle.SUBMITTED,
        description=submission.description,
        address=submission.address,
        latitude=submission.latitude,
        longitude=submission.longitude,
        contact_name=submission.contact_name,
        contact_email=submission.contact_email,
        contact_phone=submission.contact_phone,
        language=language,
        public_token=secrets.token_urlsafe(24),
        idempotency_key=submission.idempotency_key,
        answers=list(submission.answers),
        created_at=now,
        updated_at=now,
    )
    await row.save()
    await scope.new(
        RequestEvent,
        request=row.id,
        kind="submitted",
        to_status=lifecycle.SUBMITTED,
        actor_kind="citizen",
        created_at=now,
    ).save()
    return SubmitResult(row.id, reference, row.public_token, created=True)


async def mark_workflow_started(scope: TenantScope, request_id: int) -> None:
    await scope.update(ServiceRequest, {ServiceRequest.workflow_started: True}).where(
        ServiceRequest.id == request_id
    )


async def awaiting_workflow(
    created_before: datetime, only_tenants: list[int] | None = None, limit: int = 500
) -> list[dict]:
    """The requests of every active town whose workflow was never started (Temporal was down, or the web
    process died between commit and start), oldest first: the reconciler's one query across towns, an
    index range of the few unstarted rows (service_request_unstarted) however many requests there are."""
    query = ServiceRequest.select(
        ServiceRequest.id,
        ServiceRequest.reference,
        ServiceRequest.tenant.as_alias("tenant_id"),
        ServiceRequest.tenant.slug.as_alias("tenant_slug"),
    ).where(
        ServiceRequest.workflow_started.eq(False)
        & (ServiceRequest.created_at < created_before)
        & (ServiceRequest.tenant.active == True)  # noqa: E712 - a Piccolo condition, not a comparison
    )
    if only_tenants is not None:
        query = query.where(ServiceRequest.tenant.is_in(only_tenants or [0]))
    async with cross_tenant("reconciler: requests whose workflow was never started"):
        return await query.order_by(ServiceRequest.id).limit(limit)
