"""Before a citizen sends a request that is already in: the open requests of the same type near the place
they gave, and "me too", which makes them a follower and counts them among the request's supporters.

Only a type whose requests are open data (`RequestType.published`) is ever shown or supported: a pothole
is public, a tax question never is. The check lives here, in both functions, so no page can forget it, and
a request of a private type answers exactly as an unknown reference does.

The search is a box on the partial index `service_request_open_place` (tenant, type, latitude, longitude;
open requests with a position only): the query repeats the index's predicate word for word, with its
constants, because neither database proves a partial index usable from bound values or from algebra. The
database ranks the box's rows by a flat-map distance and returns the nearest few; the exact distance is
worked out here for those.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from piccolo.columns.combination import WhereRaw
from piccolo.querystring import QueryString

from domain import followers, lifecycle
from domain.scope import CompiledQuery, TenantScope
from domain.tables import RequestType, ServiceRequest
from domain.writes import write_transaction
from infra.i18n import N_

EARTH_RADIUS_METRES = 6_371_008.8  # the mean radius
METRES_PER_DEGREE = math.pi * EARTH_RADIUS_METRES / 180
MAX_METRES = 1000  # what a type may set: further than this is another street's problem
DESCRIPTION_SHOWN = 200
# The box's rows nearest the place by a flat-map distance, ranked by the database: a wide distance in a busy
# district holds a thousand open requests, and only the first few are shown. At a kilometre the flat
# distance is within a hundredth of a percent of the true one, so the nearest few are among these.
CANDIDATES = 25
# The index's predicate as migration 0027 wrote it: the terms must match it exactly.
OPEN_WITH_PLACE = "service_request.status NOT IN ('closed', 'cancelled')"

UNKNOWN = N_("We found no open request with this reference that you can follow.")
CLOSED = N_("This request was closed in the meantime. If the problem is still there, send your own request.")


@dataclass(frozen=True)
class NearbyRequest:
    """An open request near the citizen's place, as anyone may read it: never its author's details."""

    reference: str
    type_name: str
    status: str
    status_label: str  # a msgid (domain.lifecycle.STATUS_LABELS)
    address: str
    description: str  # its beginning
    created_at: datetime
    distance_metres: float
    supporters: int

    @property
    def reporters(self) -> int:
        """Its author and everyone who said "me too"."""
        return self.supporters + 1

    @property
    def about_metres(self) -> int:
        """The distance as a person says it: to the nearest ten metres, and never "0 m"."""
        return max(10, round(self.distance_metres / 10) * 10)


@dataclass(frozen=True)
class SupportResult:
    reference: str
    supporters: int
    # True when this address was counted before (or made the request): nothing changed.
    already: bool

    @property
    def reporters(self) -> int:
        return self.supporters + 1


class SupportRefused(ValueError):
    """A request that cannot be supported; the message is a msgid. `closed`: it exists, publicly, but is
    closed or cancelled; otherwise it is unknown here (or private, which must look the same)."""

    def __init__(self, message: str, closed: bool = False) -> None:
        super().__init__(message)
        self.closed = closed


@dataclass(frozen=True)
class Box:
    south: float
    north: float
    west: float
    east: float


def box_around(latitude: float, longitude: float, metres: float) -> Box:
    """Every point within `metres` of the place lies in this box. Degrees of longitude shrink with
    cos(latitude); taking the cosine at the box's edge nearest a pole keeps the box a little wide rather
    than short. A town never straddles the 180th meridian, so the box does not wrap around it."""
    span = metres / METRES_PER_DEGREE
    south, north = max(latitude - span, -90.0), min(latitude + span, 90.0)
    cosine = math.cos(math.radians(max(abs(south), abs(north))))
    width = 180.0 if cosine < 1e-9 else min(span / cosine, 180.0)
    return Box(south, north, longitude - width, longitude + width)


def distance_metres(
    latitude: float, longitude: float, other_latitude: float, other_longitude: float
) -> float:
    """Great-circle distance (haversine): exact enough at a street's scale, and anywhere on Earth."""
    phi, other_phi = math.radians(latitude), math.radians(other_latitude)
    half_chord = (
        math.sin((other_phi - phi) / 2) ** 2
        + math.cos(phi) * math.cos(other_phi) * math.sin(math.radians(other_longitude - longitude) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_METRES * math.asin(min(1.0, math.sqrt(half_chord)))


def _open_in_box(
    scope: TenantScope,
    type_id: int,
    south: float,
    north: float,
    west: float,
    east: float,
    latitude: float,
    longitude: float,
    squeeze: float,
):
    """`squeeze`: cos²(latitude), what a degree of longitude is worth beside one of latitude, squared."""
    flat_distance = QueryString(
        "(service_request.latitude - {}) * (service_request.latitude - {}) "
        "+ (service_request.longitude - {}) * (service_request.longitude - {}) * {}",
        latitude,
        latitude,
        longitude,
        longitude,
        squeeze,
    )
    query = scope.select(
        ServiceRequest,
        ServiceRequest.reference,
        ServiceRequest.status,
        ServiceRequest.address,
        ServiceRequest.description,
        ServiceRequest.created_at,
        ServiceRequest.latitude,
        ServiceRequest.longitude,
        ServiceRequest.supporters,
    ).where(
        (ServiceRequest.request_type == type_id)
        & WhereRaw(OPEN_WITH_PLACE)
        & ServiceRequest.latitude.is_not_null()
        & (ServiceRequest.latitude >= south)
        & (ServiceRequest.latitude <= north)
        & (ServiceRequest.longitude >= west)
        & (ServiceRequest.longitude <= east)
    )
    return query.order_by(flat_distance).limit(CANDIDATES)


_OPEN_IN_BOX = CompiledQuery(ServiceRequest, _open_in_box)
_PUBLISHED_TYPE = CompiledQuery(
    RequestType,
    lambda scope, type_id: scope.select(RequestType, RequestType.name, RequestType.translations).where(
        (RequestType.id == type_id) & RequestType.published.eq(True)
    ),
)


def _beginning(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= DESCRIPTION_SHOWN:
        return text
    return text[:DESCRIPTION_SHOWN].rsplit(" ", 1)[0].rstrip(",;:.") + "…"


async def open_nearby(
    scope: TenantScope,
    request_type_id: int,
    latitude: float,
    longitude: float,
    metres: int,
    language: str,
    limit: int = 5,
) -> list[NearbyRequest]:
    """The open requests of the type within `metres` of the place, nearest first (the older first at the
    same distance), `limit` of them and never more than CANDIDATES; none when the type is not open data
    or `metres` is 0."""
    if metres <= 0 or limit <= 0:
        return []
    request_type = await _PUBLISHED_TYPE.first(scope, request_type_id)
    if request_type is None:
        return []
    type_name = (request_type["translations"] or {}).get(language, {}).get("name") or request_type["name"]
    box = box_around(latitude, longitude, min(metres, MAX_METRES))
    squeeze = math.cos(math.radians(latitude)) ** 2
    found = []
    rows = await _OPEN_IN_BOX.rows(
        scope, request_type_id, box.south, box.north, box.west, box.east, latitude, longitude, squeeze
    )
    for row in rows:
        distance = distance_metres(latitude, longitude, row["latitude"], row["longitude"])
        if distance <= metres:
            found.append((distance, row))
    found.sort(key=lambda pair: (pair[0], pair[1]["created_at"]))
    return [
        NearbyRequest(
            reference=row["reference"],
            type_name=type_name,
            status=row["status"],
            status_label=lifecycle.STATUS_LABELS[row["status"]],
            address=row["address"],
            description=_beginning(row["description"]),
            created_at=row["created_at"],
            distance_metres=distance,
            supporters=row["supporters"],
        )
        for distance, row in found[:limit]
    ]


async def support(scope: TenantScope, reference: str, email: str, language: str) -> SupportResult:
    """Says "me too": the address follows the request (mailed at each public step, as followers are) and is
    counted once among its supporters, in one write. Saying it again, or having made the request, changes
    nothing; someone who followed it before counts now. Refuses, with SupportRefused, a reference that is
    unknown in this town or of a type that is not open data (the same answer) and a closed request.

    No timeline line: a line per supporter would bury the request's own story; staff read the count."""
    email = email.strip().lower()
    async with write_transaction():
        row = (
            await scope.select(
                ServiceRequest,
                ServiceRequest.id,
                ServiceRequest.reference,
                ServiceRequest.status,
                ServiceRequest.contact_email,
                ServiceRequest.supporters,
                ServiceRequest.request_type.published.as_alias("published"),
            )
            .where(ServiceRequest.reference == reference.strip().upper())
            .first()
        )
        if row is None or not row["published"]:
            raise SupportRefused(UNKNOWN)
        if row["status"] in lifecycle.TERMINAL:
            raise SupportRefused(CLOSED, closed=True)
        counted = email != row["contact_email"].lower() and await followers.support(
            scope, row["id"], email, language
        )
        if not counted:
            return SupportResult(row["reference"], row["supporters"], already=True)
        updated = (
            await scope.update(ServiceRequest, {ServiceRequest.supporters: ServiceRequest.supporters + 1})
            .where(ServiceRequest.id == row["id"])
            .returning(ServiceRequest.supporters)
        )
        return SupportResult(row["reference"], updated[0]["supporters"], already=False)


async def for_form(
    scope: TenantScope, offered: dict, latitude: float, longitude: float, language: str
) -> list[NearbyRequest]:
    """What the request form shows near its place for the chosen type (`catalog.offered_type`'s row), at
    the type's own distance: nothing for an emergency, whose form takes no request."""
    if offered.get("emergency"):
        return []
    return await open_nearby(scope, offered["id"], latitude, longitude, offered["nearby_metres"], language)
