"""Files kept with a request: citizens' photos (each with a thumbnail and alt text) and generated receipts.

The files live in the portal's storage (infra/storage.py); a Document row names each by key. Keys start
with the town (`<tenant>/...`) and carry random or secret-derived parts, and a file is read only through a
row found by the tenant scope, so one town never reaches another's files. Rows written before storage
existed keep their bytes in `Document.content`, and are served from there.

A photo chosen on the request form is checked and re-encoded as the form is posted, then *held* in
storage under a token (`held/<tenant>/...`) that the form carries in a hidden field: when the form comes
back with an error, nothing has to be chosen again. Once the request is filed, `attach_held` moves the
held photos to the request. Held photos never attached are swept after HELD_FOR.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from domain import lifecycle
from domain.scope import CompiledQuery, TenantScope
from domain.tables import Document, RequestEvent, ServiceRequest
from domain.writes import on_sqlite, utc_now, write_transaction
from infra import images
from infra.i18n import N_
from infra.storage import FileMissing, Storage, configured_storage

log = logging.getLogger(__name__)
PHOTO_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
EXTENSION_TYPES = {extension: media_type for media_type, extension in PHOTO_TYPES.items()}
PHOTO_MAX_BYTES = 5 * 1024 * 1024
# The largest request form a citizen posts: its photos at their largest, and the rest.
FORM_MAX_BYTES = 12 * PHOTO_MAX_BYTES
ALT_TEXT_MAX = 300  # Document.alt_text
# How long a photo chosen on a form waits for the form to be sent.
HELD_FOR = timedelta(hours=24)
HELD_PREFIX = "held/"
# A held photo's token: 128 bits in hex, and the extension of the stored format.
TOKEN = re.compile(r"[0-9a-f]{32}\.(jpg|png|webp)")
FORM_KEY = re.compile(r"[0-9a-f]{32}")  # intake's idempotency key
# The form's fields for a photo chosen now (`photo-<n>`) and one held by an earlier post (`held_photo-<n>`).
PLACE = re.compile(r"photo-([1-9][0-9]{0,2})")
HELD_PLACE = re.compile(r"held_photo-([1-9][0-9]{0,2})")
BAD_PHOTO = N_("Choose a photo in JPEG, PNG or WebP format (or HEIC), up to 5 MB.")
PHOTOS_FULL = N_("This request has as many photos as it can take.")
PHOTOS_CLOSED = N_("Photos cannot be added to a closed or cancelled request.")
TOO_MANY_PHOTOS = N_(
    "That is more photos than a request can take: the ones that did not fit were not kept. "
    "Remove some to add others."
)
PHOTO_EXPIRED = N_("A photo you chose earlier is no longer kept. Choose it again, please.")
ALT_TOO_LONG = N_("Describe each photo in 300 characters or fewer.")


@runtime_checkable
class Upload(Protocol):
    """A file posted with a form, as the web framework hands it over."""

    filename: str

    async def read(self) -> bytes: ...


class PhotoRefused(ValueError):
    """Why a photo was not kept; its message is a msgid the citizen reads."""


@dataclass(frozen=True)
class HeldPhoto:
    """A photo chosen on the form, kept until the request is filed. `token` goes in a hidden field: it is
    unguessable and names a file of this town only; `preview` is its thumbnail as a data: URI."""

    token: str
    alt_text: str = ""
    preview: str = ""


@dataclass(frozen=True)
class Photo:
    id: int
    alt_text: str
    created_at: datetime


@dataclass(frozen=True)
class StoredFile:
    """A file to send: its name is made here, never the upload's."""

    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class _Ready:
    """A photo re-encoded with its thumbnail, about to be stored."""

    content: bytes
    content_type: str
    thumbnail: bytes


@dataclass(frozen=True)
class _Placed:
    """A photo in storage under its final keys, about to be recorded on the request."""

    key: str
    thumbnail_key: str
    content_type: str
    alt_text: str


# --- keys -------------------------------------------------------------------------------------------------


def _held_key(tenant_id: int, token: str) -> str:
    return f"{HELD_PREFIX}{tenant_id}/{token}"


def _photo_key(tenant_id: int, token: str) -> str:
    return f"{tenant_id}/photos/{token}"


def _thumbnail_of(key: str) -> str:
    return key.rsplit(".", 1)[0] + "-thumbnail.jpg"


def _token(content_type: str, form_key: str, upload: bytes) -> str:
    """Random; but the same upload on the same form (a post sent twice) gets the same token, so a retried
    post attaches it once. The form's key is a secret of that form, so the token stays unguessable."""
    if FORM_KEY.fullmatch(form_key):
        digest = hashlib.sha256(f"{form_key}:{hashlib.sha256(upload).hexdigest()}".encode()).hexdigest()
    else:
        digest = secrets.token_hex(16)
    return f"{digest[:32]}.{PHOTO_TYPES[content_type]}"


def _own(scope: TenantScope, key: str) -> str:
    """A second wall: a key read from one of this town's rows must name one of this town's files."""
    if not key.startswith(f"{scope.tenant_id}/"):
        raise FileMissing(key)
    return key


def _data_uri(jpeg: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()


# --- photos chosen on the request form ----------------------------------------------------------------------


async def _ready(content: bytes) -> _Ready:
    if not content or len(content) > PHOTO_MAX_BYTES:
        raise PhotoRefused(BAD_PHOTO)
    try:
        return await asyncio.to_thread(_reencoded, content)
    except images.BadImage:
        raise PhotoRefused(BAD_PHOTO) from None


def _reencoded(content: bytes) -> _Ready:
    cleaned, content_type = images.clean_photo(content)
    return _Ready(cleaned, content_type, images.thumbnail(cleaned))


async def _put(store: Storage, key: str, ready: _Ready) -> None:
    await store.put(key, ready.content, ready.content_type)
    await store.put(_thumbnail_of(key), ready.thumbnail, "image/jpeg")


async def hold_photos(
    store: Storage, tenant_id: int, uploads: list[tuple[bytes, str]], form_key: str = ""
) -> tuple[list[HeldPhoto], list[str]]:
    """Checks and re-encodes each upload (content, alt text) at once and holds the good ones; returns them
    and the msgids of the refusals. `form_key` is the form's idempotency key (see `_token`)."""
    held: list[HeldPhoto] = []
    problems: list[str] = []
    for content, alt_text in uploads:
        try:
            ready = await _ready(content)
        except PhotoRefused as refused:
            problems.append(str(refused))
            continue
        token = _token(ready.content_type, form_key, content)
        await _put(store, _held_key(tenant_id, token), ready)
        held.append(HeldPhoto(token, alt_text, _data_uri(ready.thumbnail)))
    return held, problems


async def hold_form_photos(
    store: Storage, tenant_id: int, form: Mapping[str, Any], most: int
) -> tuple[list[HeldPhoto], dict[str, str]]:
    """The photos of a posted request form (apps/portal/templates/partials/photo_fields.html): those held
    by an earlier post and not removed, then those chosen now, at most `most` in all. Returns them and
    the error to show by the photo fields, if any; the photos that could be kept are kept all the same."""
    kept, problems = await _kept(store, tenant_id, form)
    chosen = _chosen(form)
    room = max(most - len(kept), 0)
    if len(chosen) > room:
        problems.append(TOO_MANY_PHOTOS)
        chosen = chosen[:room]
    uploads = [(await upload.read(), alt_text) for upload, alt_text in chosen]
    form_key = str(form.get("idempotency_key", "") or "")
    new, refused = await hold_photos(store, tenant_id, uploads, form_key)
    held = _distinct(kept + new)
    if any(len(photo.alt_text) > ALT_TEXT_MAX for photo in held):
        problems.append(ALT_TOO_LONG)
    problems = refused + problems
    return held, {"photo": problems[0]} if problems else {}


def _numbered(form: Mapping[str, Any], place: re.Pattern[str]) -> list[int]:
    return sorted(int(match.group(1)) for name in form if (match := place.fullmatch(name)))


async def _kept(store: Storage, tenant_id: int, form: Mapping[str, Any]) -> tuple[list[HeldPhoto], list[str]]:
    kept: list[HeldPhoto] = []
    problems: list[str] = []
    for number in _numbered(form, HELD_PLACE):
        token = str(form.get(f"held_photo-{number}", "") or "")
        if not TOKEN.fullmatch(token):
            continue  # none in this place, or not one we gave out
        if form.get(f"held_photo_remove-{number}"):
            await _forget(store, tenant_id, token)
            continue
        alt_text = str(form.get(f"held_photo_alt-{number}", "") or "").strip()
        try:
            preview = await _held_thumbnail(store, tenant_id, token)
        except FileMissing:
            problems.append(PHOTO_EXPIRED)
            continue
        kept.append(HeldPhoto(token, alt_text, _data_uri(preview)))
    return kept, problems


async def _held_thumbnail(store: Storage, tenant_id: int, token: str) -> bytes:
    """The held photo's thumbnail; once attached (a post sent again after it went through), the attached
    one's, which only this town's key reaches."""
    try:
        return await store.get(_thumbnail_of(_held_key(tenant_id, token)))
    except FileMissing:
        return await store.get(_thumbnail_of(_photo_key(tenant_id, token)))


def _chosen(form: Mapping[str, Any]) -> list[tuple[Upload, str]]:
    """The files chosen in the form's photo places, each with the description beside it. An empty place
    still sends a part without a name; a text value where a file should be is no photo either."""
    chosen = []
    for number in _numbered(form, PLACE):
        upload = form.get(f"photo-{number}")
        if isinstance(upload, Upload) and upload.filename:
            chosen.append((upload, str(form.get(f"photo_alt-{number}", "") or "").strip()))
    return chosen


def _distinct(held: list[HeldPhoto]) -> list[HeldPhoto]:
    """One of each: the same photo chosen twice on one form, or a token repeated by hand."""
    seen: dict[str, HeldPhoto] = {}
    for photo in held:
        seen.setdefault(photo.token, photo)
    return list(seen.values())


async def _forget(store: Storage, tenant_id: int, token: str) -> None:
    key = _held_key(tenant_id, token)
    await store.delete(key)
    await store.delete(_thumbnail_of(key))


async def attach_held(
    scope: TenantScope, store: Storage, request_id: int, held: list[HeldPhoto], most: int
) -> list[int]:
    """Moves the held photos to the request, just filed, with one public timeline line; returns the new
    photos' ids. A post sent again attaches nothing twice, and a request keeps at most `most` photos."""
    held = [photo for photo in _distinct(held) if TOKEN.fullmatch(photo.token)]
    if not held:
        return []
    tenant_id = scope.tenant_id
    present = await _photo_keys(scope, request_id)
    room = max(most - len(present), 0)
    placed = []
    for photo in [photo for photo in held if _photo_key(tenant_id, photo.token) not in present][:room]:
        key = _photo_key(tenant_id, photo.token)
        if await _moved(store, tenant_id, photo.token, key):
            content_type = EXTENSION_TYPES[photo.token.rsplit(".", 1)[1]]
            placed.append(_Placed(key, _thumbnail_of(key), content_type, photo.alt_text))
    added = await _record(scope, request_id, placed, most, refuse=False)
    for photo in held:
        await _forget(store, tenant_id, photo.token)
    return added


async def _moved(store: Storage, tenant_id: int, token: str, key: str) -> bool:
    """Copies a held photo to its final keys (the photo first, then its thumbnail, so a thumbnail there
    means both are). An earlier attempt may have copied it already and removed the held one."""
    held = _held_key(tenant_id, token)
    try:
        await store.put(key, await store.get(held), EXTENSION_TYPES[token.rsplit(".", 1)[1]])
        await store.put(_thumbnail_of(key), await store.get(_thumbnail_of(held)), "image/jpeg")
        return True
    except FileMissing:
        try:
            await store.get(_thumbnail_of(key))
            return True
        except FileMissing:
            log.warning("held photo %s of tenant %s is gone; not attached", token, tenant_id)
            return False


async def sweep_held(store: Storage, older_than: timedelta = HELD_FOR) -> int:
    """Removes the photos held for forms that were never sent; returns how many files went."""
    stale = await store.keys_older_than(HELD_PREFIX, utc_now() - older_than)
    for key in stale:
        await store.delete(key)
    return len(stale)


# --- photos of a request ------------------------------------------------------------------------------------


async def add_photo(
    scope: TenantScope,
    request_id: int,
    content: bytes,
    most: int,
    alt_text: str = "",
    store: Storage | None = None,
) -> int:
    """Keeps a citizen's photo of their own request (the status page), re-encoded without its metadata (a
    phone's GPS position), and notes it on the public timeline; a request takes at most `most` photos,
    and none once it is closed or cancelled. `store`: the configured one unless given."""
    store = store or configured_storage()
    if len(alt_text) > ALT_TEXT_MAX:
        raise PhotoRefused(ALT_TOO_LONG)
    ready = await _ready(content)
    key = _photo_key(scope.tenant_id, _token(ready.content_type, "", content))
    await _put(store, key, ready)
    placed = _Placed(key, _thumbnail_of(key), ready.content_type, alt_text)
    try:
        (photo_id,) = await _record(scope, request_id, [placed], most, refuse=True)
    except PhotoRefused:
        await store.delete(key)
        await store.delete(placed.thumbnail_key)
        raise
    return photo_id


async def _photo_keys(scope: TenantScope, request_id: int) -> set[str]:
    rows = await scope.select(Document, Document.storage_key).where(
        (Document.request == request_id) & (Document.kind == "photo")
    )
    return {row["storage_key"] for row in rows}


async def _record(
    scope: TenantScope, request_id: int, placed: list[_Placed], most: int, refuse: bool
) -> list[int]:
    """The rows of photos already in storage, and one timeline line for them; a photo the request cannot
    take raises PhotoRefused when `refuse`, else is left out. The request's row is locked (on SQLite the
    immediate transaction does it), so two posts of one form cannot both add a photo."""
    added: list[int] = []
    async with write_transaction():
        query = scope.select(ServiceRequest, ServiceRequest.status).where(ServiceRequest.id == request_id)
        row = await (query if on_sqlite() else query.lock_rows()).first()
        if row is None or row["status"] in lifecycle.TERMINAL:
            if refuse:
                raise PhotoRefused(PHOTOS_CLOSED)
            return []
        present = await _photo_keys(scope, request_id)
        for photo in placed:
            if photo.key in present:
                continue
            if len(present) >= most:
                if refuse:
                    raise PhotoRefused(PHOTOS_FULL)
                break
            document = scope.new(
                Document,
                request=request_id,
                kind="photo",
                content_type=photo.content_type,
                content=b"",
                storage_key=photo.key,
                thumbnail_key=photo.thumbnail_key,
                alt_text=photo.alt_text[:ALT_TEXT_MAX],
                filename=f"photo-{secrets.token_hex(4)}.{PHOTO_TYPES[photo.content_type]}",
            )
            await document.save()
            present.add(photo.key)
            added.append(document.id)
        if added:
            await scope.new(
                RequestEvent,
                request=request_id,
                kind="photo",
                actor_kind="citizen",
                public=True,
                body="",
                created_at=utc_now(),
            ).save()
    return added


async def photos(scope: TenantScope, request_id: int) -> list[Photo]:
    rows = (
        await scope.select(Document, Document.id, Document.alt_text, Document.created_at)
        .where((Document.request == request_id) & (Document.kind == "photo"))
        .order_by(Document.id)
    )
    return [Photo(row["id"], row["alt_text"], row["created_at"]) for row in rows]


async def photo(scope: TenantScope, store: Storage, request_id: int, photo_id: int) -> StoredFile | None:
    row = await _photo_row(scope, request_id, photo_id)
    if row is None:
        return None
    name = f"photo-{photo_id}.{PHOTO_TYPES.get(row['content_type'], 'bin')}"
    content = await _content(scope, store, bytes(row["content"]), row["storage_key"])
    return None if content is None else StoredFile(name, row["content_type"], content)


async def photo_thumbnail(
    scope: TenantScope, store: Storage, request_id: int, photo_id: int
) -> StoredFile | None:
    row = await _photo_row(scope, request_id, photo_id)
    if row is None:
        return None
    content = await _thumbnail(scope, store, row)
    return None if content is None else StoredFile(f"photo-{photo_id}-thumbnail.jpg", "image/jpeg", content)


async def embedded_thumbnails(scope: TenantScope, store: Storage, request_id: int) -> list[tuple[Photo, str]]:
    """Each photo with its thumbnail as a data: URI, for a page that fetches nothing (the PDF receipt)."""
    rows = (
        await scope.select(
            Document,
            Document.id,
            Document.alt_text,
            Document.created_at,
            Document.content,
            Document.storage_key,
            Document.thumbnail_key,
        )
        .where((Document.request == request_id) & (Document.kind == "photo"))
        .order_by(Document.id)
    )
    embedded = []
    for row in rows:
        if (content := await _thumbnail(scope, store, row)) is not None:
            embedded.append((Photo(row["id"], row["alt_text"], row["created_at"]), _data_uri(content)))
    return embedded


async def _photo_row(scope: TenantScope, request_id: int, photo_id: int) -> dict | None:
    return (
        await scope.select(
            Document, Document.content, Document.content_type, Document.storage_key, Document.thumbnail_key
        )
        .where((Document.request == request_id) & (Document.kind == "photo") & (Document.id == photo_id))
        .first()
    )


async def _thumbnail(scope: TenantScope, store: Storage, row: dict) -> bytes | None:
    """The stored thumbnail; a photo kept before thumbnails were has one made from its bytes."""
    if row["thumbnail_key"]:
        return await _content(scope, store, b"", row["thumbnail_key"])
    if content := bytes(row["content"] or b""):
        try:
            return await asyncio.to_thread(images.thumbnail, content)
        except images.BadImage:
            return None
    return None


async def _content(scope: TenantScope, store: Storage, content: bytes, key: str) -> bytes | None:
    """A row's file: its own bytes when it has them (rows from before storage), else the stored file."""
    if content or not key:
        return content or None
    try:
        return await store.get(_own(scope, key))
    except FileMissing:
        log.warning("file %s of tenant %s is missing from storage", key, scope.tenant_id)
        return None


# --- generated documents ------------------------------------------------------------------------------------


async def store_document(
    scope: TenantScope, store: Storage, request_id: int, kind: str, filename: str, content: bytes
) -> int:
    """Replaces any earlier document of the same kind: a retried render leaves one receipt. Its key is the
    same for every render of that kind (derived from the request's secret status token), so a new render
    overwrites the last one's file and none is left behind."""
    row = (
        await scope.select(ServiceRequest, ServiceRequest.public_token)
        .where(ServiceRequest.id == request_id)
        .first()
    )
    if row is None:
        raise LookupError(f"request {request_id} is not one of tenant {scope.tenant_id}'s")
    digest = hashlib.sha256(f"{row['public_token']}:{kind}".encode()).hexdigest()[:32]
    key = f"{scope.tenant_id}/documents/{digest}.pdf"
    await store.put(key, content, "application/pdf")
    async with write_transaction():
        await scope.delete(Document).where((Document.request == request_id) & (Document.kind == kind))
        document = scope.new(
            Document, request=request_id, kind=kind, filename=filename, content=b"", storage_key=key
        )
        await document.save()
    return document.id


_DOCUMENT = CompiledQuery(
    Document,
    lambda scope, request_id, kind: scope.select(
        Document, Document.filename, Document.content_type, Document.content, Document.storage_key
    ).where((Document.request == request_id) & (Document.kind == kind)),
)


async def get_document(scope: TenantScope, store: Storage, request_id: int, kind: str) -> StoredFile | None:
    row = await _DOCUMENT.first(scope, request_id, kind)
    if row is None:
        return None
    content = await _content(scope, store, bytes(row["content"]), row["storage_key"])
    return None if content is None else StoredFile(row["filename"], row["content_type"], content)


async def has_document(scope: TenantScope, request_id: int, kind: str) -> bool:
    return await scope.exists(Document).where((Document.request == request_id) & (Document.kind == kind))
