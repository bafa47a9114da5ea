"""A request as Open311 GeoReport v2 names its fields: the public API and the webhooks both send this shape.
Also what the town's Open311 server reads: its services, its published requests and their public lines.

Only public data: no contact details, no internal notes, no staff names, no citizen's comments or replies,
and only requests of types the town publishes (`RequestType.published`).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from piccolo.columns.combination import WhereRaw

from domain import catalog, intake, lifecycle, questions, writes
from domain.questions import LIST_KINDS, Question
from domain.requests import RequestRecord, localise, newest_first_after, records, select_requests
from domain.scope import TenantScope
from domain.tables import AuditEntry, RequestEvent, RequestQuestion, RequestType, ServiceRequest
from infra.i18n import N_, gettext, use_language

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# The specification's default and widest span of a query by dates, and its largest answer.
SPAN = timedelta(days=90)
MAX_PAGE = 1000
MAX_ROW_ID = 2**31 - 1  # a serial column's largest value
# The fields of a POST, as the specification names them; the answers come as `attribute[code]`.
POST_FIELDS = (
    "service_code",
    "lat",
    "long",
    "address_string",
    "address_id",
    "email",
    "device_id",
    "account_id",
    "first_name",
    "last_name",
    "phone",
    "description",
    "media_url",
)
# The intake's fields by their Open311 names, so each problem names the field the client sent.
FIELD_NAMES = {
    "request_type": "service_code",
    "description": "description",
    "address": "address_string",
    "latitude": "lat",
    "longitude": "long",
    "contact_name": "first_name",
    "contact_email": "email",
    "contact_phone": "phone",
}
# An answer to a type's question: `attribute[size]`, or `attribute[size][]` for one of several choices.
ATTRIBUTE = re.compile(r"attribute\[([^\[\]]+)\](?:\[\])?")
ONLY_WHEN = N_("Asked only when the answer to %(code)s is %(key)s.")
ONLY_WHEN_REQUIRED = N_("Asked only when the answer to %(code)s is %(key)s, and then required.")


def open311_status(status: str) -> str:
    """Every state maps to one of the two Open311 knows."""
    return "closed" if status in lifecycle.TERMINAL else "open"


def timestamp(moment: datetime | None) -> str:
    """ISO 8601 with its offset, to the second, as the specification's examples write them."""
    return moment.replace(microsecond=0).isoformat() if moment else ""


def service_request(record: RequestRecord, status_notes: str = "") -> dict[str, Any]:
    """The request's public fields, named and ordered as in the specification's `GET requests` example."""
    return {
        "service_request_id": record.reference,
        "status": open311_status(record.status),
        "status_notes": status_notes,
        "service_name": record.type_label or record.type_name,
        "service_code": record.type_code,
        "description": record.description,
        "agency_responsible": record.department_label or record.department_name or "",
        "service_notice": "",
        "requested_datetime": timestamp(record.created_at),
        "updated_datetime": timestamp(record.updated_at),
        "expected_datetime": timestamp(record.due_at),
        "address": record.address,
        "address_id": "",
        "zipcode": "",
        "lat": record.latitude,
        "long": record.longitude,
        "media_url": "",
    }


def w3_datetime(text: str) -> datetime:
    """A moment as the specification writes one (`2010-01-01T00:00:00Z`, or with an offset), in UTC. A
    moment without its offset names no instant, so it is refused (ValueError) like a malformed one. A
    space stands for the `+` of an offset that a client left unescaped in its query string."""
    text = text.strip().replace(" ", "+")
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None or "T" not in text:
        raise ValueError("a date and time with an offset")
    return moment.astimezone(UTC)


def window(start: datetime | None, end: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    """The dates a query covers: at most SPAN, the last SPAN when neither end is given, SPAN from or up to
    the one given. ValueError when the two given are reversed or further apart than SPAN."""
    if start and end:
        if end < start or end - start > SPAN:
            raise ValueError("the dates are reversed or too far apart")
        return start, end
    try:
        if start:
            return start, start + SPAN
        if end:
            return end - SPAN, end
    except OverflowError as error:  # a span from or to the end of the calendar
        raise ValueError("the dates leave the calendar") from error
    return now - SPAN, now


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the (created_at, id) row value its last row had. Carried in the next page's
    address, so that page is one range of an index however far in it starts, and a row deleted since
    (retention) does not send the reader back to the first page."""

    created_at: datetime
    id: int

    def token(self) -> str:
        text = f"{self.created_at.astimezone(UTC).isoformat()}~{self.id}"
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def parse(cls, token: str) -> Cursor:
        """ValueError for anything `token()` did not make."""
        try:
            text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            moment, _, number = text.partition("~")
            cursor = cls(w3_datetime(moment), int(number))
        except (ValueError, UnicodeDecodeError) as error:
            raise ValueError("not a cursor of this server") from error
        if not 0 < cursor.id <= MAX_ROW_ID:
            raise ValueError("not a cursor of this server")
        return cursor


@dataclass(frozen=True)
class RequestQuery:
    """`GET requests` filters: dates of submission, service codes, open/closed, and where the page starts."""

    start: datetime
    end: datetime
    service_codes: tuple[str, ...] = ()
    statuses: frozenset[str] = frozenset()
    after: Cursor | None = None
    page_size: int = MAX_PAGE


@dataclass(frozen=True)
class Page:
    """Documents in the specification's shape, and where the next page starts (None: this is the last)."""

    items: list[dict[str, Any]]
    next: Cursor | None


async def services(scope: TenantScope, language: str, languages: tuple[str, ...]) -> list[dict[str, Any]]:
    """The offered types in `language`. Their names in the town's other languages are their keywords:
    the synonyms a reader of another language searches for."""
    named = {other: await catalog.request_types(scope, other) for other in languages if other != language}
    asking = await _types_with_questions(scope)
    documents = []
    for option in await catalog.request_types(scope, language):
        synonyms = [
            word
            for options in named.values()
            for other in options
            if other.id == option.id
            for word in (other.name, other.category)
        ]
        keywords = [word for word in dict.fromkeys(synonyms) if word not in (option.name, option.category)]
        documents.append(
            {
                "service_code": option.code,
                "service_name": option.name,
                "description": option.description,
                "metadata": option.id in asking,
                "type": "realtime",
                "keywords": ", ".join(keywords),
                "group": option.category,
            }
        )
    return documents


async def _types_with_questions(scope: TenantScope) -> set[int]:
    """The ids of the types that ask questions: their definitions have attributes (`metadata` true)."""
    rows = await scope.select(RequestQuestion, RequestQuestion.request_type).distinct()
    return {row["request_type"] for row in rows}


async def service_definition(scope: TenantScope, code: str, language: str) -> dict[str, Any] | None:
    """The type's questions as the specification's attributes, in `language`."""
    offered = await catalog.offered_type(scope, code)
    if offered is None:
        return None
    asked = await questions.for_type(scope, offered["id"], language)
    with use_language(language):
        attributes = [attribute(question, order) for order, question in enumerate(asked, start=1)]
    return {"service_code": code, "attributes": attributes}


def attribute(question: Question, order: int) -> dict[str, Any]:
    """One question as an attribute. The specification has no conditions: a question asked only on an
    earlier answer is not required as such, and its description says when it is asked."""
    notes = [question.hint] if question.hint else []
    if question.shown_when:
        code, key = question.shown_when
        notes.append(gettext(ONLY_WHEN_REQUIRED if question.required else ONLY_WHEN, code=code, key=key))
    document: dict[str, Any] = {
        "variable": True,
        "code": question.code,
        "datatype": question.kind,
        "required": question.required and question.shown_when is None,
        "datatype_description": " ".join(notes) or None,
        "order": order,
        "description": question.prompt,
    }
    if question.kind in LIST_KINDS:
        document["values"] = [{"key": key, "name": name} for key, name in question.choices]
    return document


def attribute_field(code: str) -> str:
    """Where a POST gives the answer to a question (see `attribute_values`)."""
    return f"attribute[{code}]"


def attribute_values(items: Iterable[tuple[str, Any]]) -> dict[str, list[str]]:
    """A POST's answers by `attribute_field`, `attribute[code][]` gathered with `attribute[code]`."""
    found: dict[str, list[str]] = {}
    for name, value in items:
        if isinstance(value, str) and (match := ATTRIBUTE.fullmatch(name)):
            found.setdefault(attribute_field(match[1]), []).append(value)
    return found


async def changeset(scope: TenantScope) -> str:
    """When the town last changed its types or their questions (what clients cache from `GET services`
    and the definitions), as the discovery examples write it; the epoch when it never did."""
    row = (
        await scope.select(AuditEntry, AuditEntry.created_at)
        .where(AuditEntry.action.like("type.%") | AuditEntry.action.like("question.%"))
        .order_by(AuditEntry.id, ascending=False)
        .first()
    )
    moment = row["created_at"] if row else datetime(1970, 1, 1, tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def discovery(url: str, contact: str, key_service: str, changed: str) -> dict[str, Any]:
    return {
        "changeset": changed,
        "contact": contact,
        "key_service": key_service,
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": url,
                "changeset": changed,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }


def idempotency_key(api_key_id: int, header: str) -> str:
    """The request's key from a client's `Idempotency-Key`: the same header from the same API key makes one
    request; another key's header, even the same text, another. No header: a post of its own."""
    if not header.strip():
        return intake.new_idempotency_key()
    return hashlib.sha256(f"{api_key_id}:{header.strip()}".encode()).hexdigest()[:32]


def intake_values(fields: Mapping[str, str], key: str) -> dict[str, str]:
    """The citizen form's values from a POST's fields, for the same intake checks. A place given by its
    coordinates or its address id alone is also the address that intake asks of types that need one."""
    given = {name: str(fields.get(name, "") or "").strip() for name in POST_FIELDS}
    coordinates = f"{given['lat']}, {given['long']}" if given["lat"] and given["long"] else ""
    return intake.clean_form(
        {
            "request_type": given["service_code"],
            "description": given["description"],
            "address": given["address_string"] or coordinates or given["address_id"],
            "latitude": given["lat"],
            "longitude": given["long"],
            "contact_name": " ".join(part for part in (given["first_name"], given["last_name"]) if part),
            "contact_email": given["email"],
            "contact_phone": given["phone"],
            "idempotency_key": key,
        }
    )


async def _published_types(scope: TenantScope, codes: tuple[str, ...] = ()) -> list[int]:
    """The ids of the types whose requests are open data (of those codes, when given): one small read that
    spares joining the type into every scan of the requests."""
    query = scope.select(RequestType, RequestType.id).where(RequestType.published.eq(True))
    if codes:
        query = query.where(RequestType.code.is_in(list(codes)))
    return [row["id"] for row in await query]


async def _status_notes(scope: TenantScope, request_ids: list[int]) -> dict[int, str]:
    """Each request's latest public line with words written by the town (staff, system, integration), in
    one read for the whole page: a citizen's comments and replies may say who they are; they are not open
    data."""
    if not request_ids:
        return {}
    rows = (
        await scope.select(RequestEvent, RequestEvent.request, RequestEvent.body)
        .where(
            RequestEvent.request.is_in(request_ids)
            & RequestEvent.public.eq(True)
            & (RequestEvent.body != "")
            & (RequestEvent.actor_kind != "citizen")
        )
        .order_by(RequestEvent.created_at)
        .order_by(RequestEvent.id)
    )
    return {row["request"]: row["body"] for row in rows}  # the latest line of each request wins


async def _documents(scope: TenantScope, found: list[RequestRecord], language: str) -> list[dict[str, Any]]:
    notes = await _status_notes(scope, [record.id for record in found])
    return [service_request(localise(record, language), notes.get(record.id, "")) for record in found]


async def requests_page(scope: TenantScope, query: RequestQuery, language: str) -> Page:
    """One page of published requests, newest first. Its rows are one range of the index
    service_request_tenant_created, started at the cursor's row value (requests.newest_first_after),
    so the thousandth page costs what the second does."""
    type_ids = await _published_types(scope, query.service_codes)
    if not type_ids:
        return Page([], None)
    if not writes.on_sqlite():
        # Every town's pages share one prepared statement, and PostgreSQL's generic plan for it, made from
        # a small town's runs, read a big town's rows past the cursor and sorted them: 100-250 ms a page
        # at 100k requests instead of 10. This page is planned for its own values.
        await ServiceRequest.raw("SET LOCAL plan_cache_mode = force_custom_plan")
    found = select_requests(scope).where(
        ServiceRequest.request_type.is_in(type_ids)
        & (ServiceRequest.created_at >= query.start)
        & (ServiceRequest.created_at <= query.end)
    )
    if query.statuses == {"open"}:
        found = found.where(ServiceRequest.status.not_in(list(lifecycle.TERMINAL)))
    elif query.statuses == {"closed"}:
        found = found.where(ServiceRequest.status.is_in(list(lifecycle.TERMINAL)))
    after = (query.after.created_at, query.after.id) if query.after else None
    shown = records(await newest_first_after(found, after).limit(query.page_size + 1))
    more = len(shown) > query.page_size
    shown = shown[: query.page_size]
    following = Cursor(shown[-1].created_at, shown[-1].id) if more else None
    return Page(await _documents(scope, shown, language), following)


async def requests_by_reference(scope: TenantScope, references: list[str], language: str) -> list[dict]:
    """The published requests among these references, newest first; the others are not there at all."""
    type_ids = await _published_types(scope)
    wanted = [reference.strip().upper() for reference in references if reference.strip()]
    if not type_ids or not wanted:
        return []
    found = select_requests(scope).where(
        ServiceRequest.reference.is_in(wanted) & ServiceRequest.request_type.is_in(type_ids)
    )
    return await _documents(scope, records(await newest_first_after(found, None)), language)


async def reference_of_token(scope: TenantScope, token: str) -> str | None:
    """The reference of the published request posted under this token (its idempotency key)."""
    type_ids = await _published_types(scope)
    if not type_ids:
        return None
    row = (
        await scope.select(ServiceRequest, ServiceRequest.reference)
        .where((ServiceRequest.idempotency_key == token) & ServiceRequest.request_type.is_in(type_ids))
        .first()
    )
    return row["reference"] if row else None


async def updates_page(
    scope: TenantScope, start: datetime, end: datetime, after: Cursor | None, page_size: int = MAX_PAGE
) -> Page:
    """FixMyStreet's `servicerequestupdates`: the public lines of published requests written in the span,
    oldest first, one range of the index request_event_tenant_created. A line that moved the request
    gives the status it moved to; one that did not, the request's status now."""
    type_ids = await _published_types(scope)
    if not type_ids:
        return Page([], None)
    lines = scope.select(
        RequestEvent,
        RequestEvent.id,
        RequestEvent.request.reference.as_alias("reference"),
        RequestEvent.request.status.as_alias("request_status"),
        RequestEvent.to_status,
        RequestEvent.actor_kind,
        RequestEvent.body,
        RequestEvent.created_at,
    ).where(
        RequestEvent.public.eq(True)
        & (RequestEvent.created_at >= start)
        & (RequestEvent.created_at <= end)
        & RequestEvent.request.request_type.is_in(type_ids)
    )
    if after:
        lines = lines.where(
            WhereRaw("(request_event.created_at, request_event.id) > ({}, {})", after.created_at, after.id)
        )
    rows = await lines.order_by(RequestEvent.created_at).order_by(RequestEvent.id).limit(page_size + 1)
    shown = rows[:page_size]
    following = Cursor(shown[-1]["created_at"], shown[-1]["id"]) if len(rows) > page_size else None
    return Page([_update(row) for row in shown], following)


def _update(row: dict[str, Any]) -> dict[str, Any]:
    """One line as FixMyStreet's extension names an update's fields."""
    return {
        "update_id": str(row["id"]),
        "service_request_id": row["reference"],
        "status": open311_status(row["to_status"] or row["request_status"]),
        "updated_datetime": timestamp(row["created_at"]),
        "description": "" if row["actor_kind"] == "citizen" else row["body"],
        "media_url": "",
    }
