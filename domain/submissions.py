"""Intake: a citizen's request committed with its first timeline line, then its workflow started."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from domain import catalog, lifecycle
from domain.intake import Submission
from domain.scope import TenantScope
from domain.tables import ReferenceCounter, RequestEvent, ServiceRequest
from domain.writes import utc_now, write_transaction
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
    """Commits the request and its first timeline line. The same idempotency key returns the same request:
    a second post of a form fails the key's unique index and is answered with the first (rare enough that
    the common path makes no lookup first). `request_type_id`, when the caller has just read the type,
    spares reading it again."""
    if request_type_id is None:
        offered = await catalog.offered_type(scope, submission.request_type_code)
        if offered is None:
            raise ValueError("unknown request type")
        request_type_id = offered["id"]
    try:
        async with write_transaction():
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
    except Exception:
        # The same form was posted before (a double click, a retried post) or a concurrent post with the
        # same key won the race: answer with its request.
        if found := await _existing(scope, submission.idempotency_key):
            return found
        raise
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
