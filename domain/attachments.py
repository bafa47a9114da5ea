"""Files kept with a request: citizens' photos and the generated receipts."""

from __future__ import annotations

import asyncio
import secrets

from domain import lifecycle
from domain.scope import CompiledQuery, TenantScope
from domain.tables import Document, RequestEvent, ServiceRequest
from domain.writes import utc_now, write_transaction
from infra import images
from infra.i18n import N_

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
    async with write_transaction():
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
            created_at=utc_now(),
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


async def store_document(
    scope: TenantScope, request_id: int, kind: str, filename: str, content: bytes
) -> int:
    """Replaces any earlier document of the same kind: a retried render leaves one receipt."""
    async with write_transaction():
        await scope.delete(Document).where((Document.request == request_id) & (Document.kind == kind))
        document = scope.new(Document, request=request_id, kind=kind, filename=filename, content=content)
        await document.save()
    return document.id


_DOCUMENT = CompiledQuery(
    Document,
    lambda scope, request_id, kind: scope.select(
        Document, Document.id, Document.filename, Document.content_type, Document.content
    ).where((Document.request == request_id) & (Document.kind == kind)),
)


async def get_document(scope: TenantScope, request_id: int, kind: str) -> dict | None:
    return await _DOCUMENT.first(scope, request_id, kind)


async def has_document(scope: TenantScope, request_id: int, kind: str) -> bool:
    return await scope.exists(Document).where((Document.request == request_id) & (Document.kind == kind))
