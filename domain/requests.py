"""The service-request rules that touch storage: intake, the queue, the timeline and each persisted move.

Every function takes a TenantScope first; none can read or write another tenant's rows.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from domain import lifecycle
from domain.intake import Submission
from domain.scope import TenantScope
from domain.tables import (
    Document,
    ReferenceCounter,
    RequestEvent,
    RequestFollower,
    RequestType,
    ServiceRequest,
)
from infra import database, images
from infra.i18n import N_

QUEUE_PAGE_SIZE = 50


@dataclass(frozen=True)
class SubmitResult:
    request_id: int
    reference: str
    public_token: str
    created: bool


def _now() -> datetime:
    return datetime.now(UTC)


def _write_transaction():
    """SQLite takes the write lock up front (IMMEDIATE), so two writers queue instead of deadlocking;
    PostgreSQL writes in a savepoint of the scope's transaction, so a lost race leaves it usable."""
    engine = ServiceRequest._meta.db
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return database.savepoint()


async def _next_reference(scope: TenantScope, prefix: str, year: int) -> str:
    await ReferenceCounter.raw(
        "INSERT INTO reference_counter (tenant_id, year, last_value) VALUES ({}, {}, 0) "
        "ON CONFLICT (tenant_id, year) DO NOTHING",
        scope.tenant_id,
        year,
    )
    rows = await ReferenceCounter.raw(
        "UPDATE reference_counter SET last_value = last_value + 1 WHERE tenant_id = {} AND year = {} "
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


async def submit(scope: TenantScope, prefix: str, submission: Submission, language: str) -> SubmitResult:
    """Commits the request and its first timeline line. The same idempotency key returns the same request."""
    if found := await _existing(scope, submission.idempotency_key):
        return found
    request_type = (
        await scope.select(RequestType, RequestType.id)
        .where(RequestType.code == submission.request_type_code)
        .first()
    )
    if request_type is None:
        raise ValueError("unknown request type")
    try:
        async with _write_transaction():
            now = _now()
            reference = await _next_reference(scope, prefix, now.year)
            row = scope.new(
                ServiceRequest,
                reference=reference,
                request_type=request_type["id"],
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
        # A concurrent post with the same key won the race: answer with its request.
        if found := await _existing(scope, submission.idempotency_key):
            return found
        raise
    return SubmitResult(row.id, reference, row.public_token, created=True)


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
    type_name: str
    type_translations: dict[str, dict[str, str]]
    type_category: str
    department_name: str | None
    department_translations: dict[str, str] | None
    assignee_name: str | None
    # In the reader's language, set by `localise`.
    type_label: str = ""
    category_label: str = ""
    department_label: str = ""


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
    ServiceRequest.request_type.name.as_alias("type_name"),
    ServiceRequest.request_type.translations.as_alias("type_translations"),
    ServiceRequest.request_type.category.as_alias("type_category"),
    ServiceRequest.department.name.as_alias("department_name"),
    ServiceRequest.department.translations.as_alias("department_translations"),
    ServiceRequest.assignee.name.as_alias("assignee_name"),
)


def select_requests(scope: TenantScope) -> Any:
    """A query of this tenant's requests, for `records`; add where, order and limit."""
    return scope.select(ServiceRequest, *REQUEST_COLUMNS)


def records(rows: list[dict[str, Any]]) -> list[RequestRecord]:
    return [RequestRecord(**row) for row in rows]


def localise(record: RequestRecord, language: str) -> RequestRecord:
    """The type's and department's names in the reader's language."""
    type_tr = (record.type_translations or {}).get(language, {})
    return dataclasses.replace(
        record,
        type_label=type_tr.get("name") or record.type_name,
        category_label=type_tr.get("category") or record.type_category,
        department_label=(record.department_translations or {}).get(language) or record.department_name or "",
    )


async def _one(query: Any) -> RequestRecord | None:
    row = await query.first()
    return RequestRecord(**row) if row else None


async def get_by_reference(scope: TenantScope, reference: str) -> RequestRecord | None:
    return await _one(select_requests(scope).where(ServiceRequest.reference == reference.strip().upper()))


async def get_by_token(scope: TenantScope, token: str) -> RequestRecord | None:
    return await _one(select_requests(scope).where(ServiceRequest.public_token == token))


async def get_by_id(scope: TenantScope, request_id: int) -> RequestRecord | None:
    return await _one(select_requests(scope).where(ServiceRequest.id == request_id))


@dataclass(frozen=True)
class QueueFilter:
    status: str = ""
    department_id: int | None = None
    # Keyset cursor: the (created_at, id) of the last row already shown.
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
    if wanted.before_id:
        anchor = (
            await scope.select(ServiceRequest, ServiceRequest.created_at)
            .where(ServiceRequest.id == wanted.before_id)
            .first()
        )
        if anchor:
            query = query.where(
                (ServiceRequest.created_at < anchor["created_at"])
                | (
                    (ServiceRequest.created_at == anchor["created_at"])
                    & (ServiceRequest.id < wanted.before_id)
                )
            )
    return records(
        await query.order_by(ServiceRequest.created_at, ascending=False)
        .order_by(ServiceRequest.id, ascending=False)
        .limit(limit)
    )


@dataclass(frozen=True)
class TimelineEvent:
    """One line of a request's timeline."""

    id: int
    kind: str
    from_status: str
    to_status: str
    # citizen | staff | system
    actor_kind: str
    actor_name: str | None
    body: str
    public: bool
    created_at: datetime


async def timeline(scope: TenantScope, request_id: int, public_only: bool) -> list[TimelineEvent]:
    query = scope.select(
        RequestEvent,
        RequestEvent.id,
        RequestEvent.kind,
        RequestEvent.from_status,
        RequestEvent.to_status,
        RequestEvent.actor_kind,
        RequestEvent.actor.name.as_alias("actor_name"),
        RequestEvent.body,
        RequestEvent.public,
        RequestEvent.created_at,
    ).where(RequestEvent.request == request_id)
    if public_only:
        query = query.where(RequestEvent.public.eq(True))
    rows = await query.order_by(RequestEvent.created_at).order_by(RequestEvent.id)
    return [TimelineEvent(**row) for row in rows]


@dataclass(frozen=True)
class Move:
    """One persisted change, as the workflow asks for it. `action_key` makes a retried write land once."""

    request_id: int
    action: str
    action_key: str
    actor_id: int | None = None
    body: str = ""
    public: bool = True
    assignee_id: int | None = None
    close_reason: str = ""
    duplicate_of: str = ""
    department_id: int | None = None
    # citizen | staff | system; empty means staff when there is an actor, else system.
    actor_kind: str = ""
    due_at: datetime | None = None
    reopen_until: datetime | None = None


async def apply_move(scope: TenantScope, move: Move) -> str:
    """Persists the move and its timeline line in one transaction; returns the new status."""
    async with _write_transaction():
        action_key = short_key(move.action_key)
        if await scope.exists(RequestEvent).where(RequestEvent.action_key == action_key):
            row = (
                await scope.select(ServiceRequest, ServiceRequest.status)
                .where(ServiceRequest.id == move.request_id)
                .first()
            )
            return row["status"]
        row = (
            await scope.select(ServiceRequest, ServiceRequest.status)
            .where(ServiceRequest.id == move.request_id)
            .first()
        )
        if row is None:
            raise LookupError(f"request {move.request_id} is not in this tenant")
        status = lifecycle.next_status(row["status"], move.action)
        now = _now()
        values = _changes(move, status, now)
        if move.action == lifecycle.CLOSE and move.close_reason == "duplicate":
            await _follow_original(scope, move.request_id, move.duplicate_of)
        await scope.update(ServiceRequest, values).where(ServiceRequest.id == move.request_id)
        await scope.new(
            RequestEvent,
            request=move.request_id,
            kind=move.action,
            from_status=row["status"],
            to_status=status,
            actor_kind=move.actor_kind or ("staff" if move.actor_id else "system"),
            actor=move.actor_id,
            body=move.body,
            public=move.public,
            action_key=action_key,
            created_at=now,
        ).save()
        return status


def short_key(key: str, limit: int = 80) -> str:
    """Keys are made of workflow ids and e-mail addresses; long ones are hashed to fit their column."""
    return key if len(key) <= limit else hashlib.sha256(key.encode()).hexdigest()[:limit]


async def note(scope: TenantScope, request_id: int, kind: str, key: str, body: str) -> None:
    """An internal timeline line that changes nothing (a reminder was sent); written once per key."""
    action_key = short_key(key)
    if await scope.exists(RequestEvent).where(RequestEvent.action_key == action_key):
        return
    await scope.new(
        RequestEvent,
        request=request_id,
        kind=kind,
        actor_kind="system",
        body=body,
        public=False,
        action_key=action_key,
        created_at=_now(),
    ).save()


async def reference_exists(scope: TenantScope, reference: str) -> bool:
    return await scope.exists(ServiceRequest).where(ServiceRequest.reference == reference.strip().upper())


def _changes(move: Move, status: str, now: datetime) -> dict:
    values: dict = {ServiceRequest.status: status, ServiceRequest.updated_at: now}
    if move.due_at is not None:
        values[ServiceRequest.due_at] = move.due_at
    if move.action in (lifecycle.ROUTE, lifecycle.TRANSFER):
        values[ServiceRequest.department] = move.department_id
    if move.action == lifecycle.TRANSFER:
        values[ServiceRequest.assignee] = None
    if move.action == lifecycle.ASSIGN:
        values[ServiceRequest.assignee] = move.assignee_id
    if move.action == lifecycle.CLOSE:
        values |= {
            ServiceRequest.close_reason: move.close_reason,
            ServiceRequest.duplicate_of: move.duplicate_of.strip().upper(),
            ServiceRequest.closed_at: now,
            ServiceRequest.reopen_until: move.reopen_until,
        }
    if move.action == lifecycle.REOPEN:
        values |= {
            ServiceRequest.close_reason: "",
            ServiceRequest.duplicate_of: "",
            ServiceRequest.reopen_until: None,
            ServiceRequest.closed_at: None,
        }
    return values


async def _follow_original(scope: TenantScope, duplicate_id: int, original_reference: str) -> None:
    """The duplicate's author is told of the original's progress from now on."""
    duplicate = (
        await scope.select(ServiceRequest, ServiceRequest.contact_email, ServiceRequest.language)
        .where(ServiceRequest.id == duplicate_id)
        .first()
    )
    original = (
        await scope.select(ServiceRequest, ServiceRequest.id, ServiceRequest.contact_email)
        .where(ServiceRequest.reference == original_reference.strip().upper())
        .first()
    )
    if original is None or original["contact_email"] == duplicate["contact_email"]:
        return
    already = await scope.exists(RequestFollower).where(
        (RequestFollower.request == original["id"]) & (RequestFollower.email == duplicate["contact_email"])
    )
    if not already:
        await scope.new(
            RequestFollower,
            request=original["id"],
            email=duplicate["contact_email"],
            language=duplicate["language"],
        ).save()


async def follow(scope: TenantScope, request_id: int, email: str, language: str) -> None:
    if not await is_following(scope, request_id, email):
        await scope.new(RequestFollower, request=request_id, email=email, language=language).save()


async def unfollow(scope: TenantScope, request_id: int, email: str) -> None:
    await scope.delete(RequestFollower).where(
        (RequestFollower.request == request_id) & (RequestFollower.email == email)
    )


async def is_following(scope: TenantScope, request_id: int, email: str) -> bool:
    return await scope.exists(RequestFollower).where(
        (RequestFollower.request == request_id) & (RequestFollower.email == email)
    )


PHOTO_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
PHOTO_MAX_BYTES = 5 * 1024 * 1024
BAD_PHOTO = N_("Choose a photo in JPEG, PNG or WebP format, up to 5 MB.")
PHOTOS_FULL = N_("This request has as many photos as it can take.")
PHOTOS_CLOSED = N_("Photos cannot be added to a closed or cancelled request.")


class PhotoRefused(ValueError):
    """Why a photo was not kept; its message is a msgid the citizen reads."""


async def add_photo(scope: TenantScope, request_id: int, content: bytes, most: int) -> int:
    """Keeps a citizen's photo, re-encoded without its metadata (a phone's GPS position), and notes it on
    the public timeline; a request takes at most `most` photos, and none once it is closed or cancelled."""
    if len(content) > PHOTO_MAX_BYTES:
        raise PhotoRefused(BAD_PHOTO)
    try:
        content, content_type = await asyncio.to_thread(images.clean_photo, content)
    except images.BadImage:
        raise PhotoRefused(BAD_PHOTO) from None
    async with _write_transaction():
        row = (
            await scope.select(ServiceRequest, ServiceRequest.status)
            .where(ServiceRequest.id == request_id)
            .first()
        )
        if row is None or row["status"] in lifecycle.TERMINAL:
            raise PhotoRefused(PHOTOS_CLOSED)
        taken = await scope.count(Document).where(
            (Document.request == request_id) & (Document.kind == "photo")
        )
        if taken >= most:
            raise PhotoRefused(PHOTOS_FULL)
        document = scope.new(
            Document,
            request=request_id,
            kind="photo",
            content_type=content_type,
            content=content,
            filename=f"photo-{secrets.token_hex(4)}.{PHOTO_TYPES[content_type]}",
        )
        await document.save()
        await scope.new(
            RequestEvent,
            request=request_id,
            kind="photo",
            actor_kind="citizen",
            public=True,
            body="",
            created_at=_now(),
        ).save()
    return document.id


async def photos(scope: TenantScope, request_id: int) -> list[dict]:
    return (
        await scope.select(Document, Document.id, Document.filename, Document.created_at)
        .where((Document.request == request_id) & (Document.kind == "photo"))
        .order_by(Document.id)
    )


async def photo(scope: TenantScope, request_id: int, photo_id: int) -> dict | None:
    return (
        await scope.select(Document, Document.content, Document.content_type, Document.filename)
        .where((Document.request == request_id) & (Document.kind == "photo") & (Document.id == photo_id))
        .first()
    )


async def followers(scope: TenantScope, request_id: int) -> list[dict]:
    return await scope.select(RequestFollower, RequestFollower.email, RequestFollower.language).where(
        RequestFollower.request == request_id
    )


async def mark_workflow_started(scope: TenantScope, request_id: int) -> None:
    await scope.update(ServiceRequest, {ServiceRequest.workflow_started: True}).where(
        ServiceRequest.id == request_id
    )


async def awaiting_workflow(scope: TenantScope, created_before: datetime, limit: int = 500) -> list[dict]:
    return (
        await scope.select(ServiceRequest, ServiceRequest.id, ServiceRequest.reference)
        .where(ServiceRequest.workflow_started.eq(False) & (ServiceRequest.created_at < created_before))
        .order_by(ServiceRequest.id)
        .limit(limit)
    )


async def store_document(
    scope: TenantScope, request_id: int, kind: str, filename: str, content: bytes
) -> int:
    """Replaces any earlier document of the same kind: a retried render leaves one receipt."""
    async with _write_transaction():
        await scope.delete(Document).where((Document.request == request_id) & (Document.kind == kind))
        document = scope.new(Document, request=request_id, kind=kind, filename=filename, content=content)
        await document.save()
    return document.id


async def get_document(scope: TenantScope, request_id: int, kind: str) -> dict | None:
    return (
        await scope.select(Document, Document.id, Document.filename, Document.content_type, Document.content)
        .where((Document.request == request_id) & (Document.kind == kind))
        .first()
    )


async def has_document(scope: TenantScope, request_id: int, kind: str) -> bool:
    return await scope.exists(Document).where((Document.request == request_id) & (Document.kind == kind))
