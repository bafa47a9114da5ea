"""What the request form's script asks of the town's map, as JSON: places for what is being typed in the
address box, the nearest address to a pin, and the map itself (the town's streets and boundary, which it
draws with or without a tile server). The form works without any of it: a typed address is matched when
the form is sent (apps/portal/controllers.py)."""

from __future__ import annotations

import hashlib
import math
from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Response

from apps.pages import tenant_of
from domain import places
from domain.places import PlaceMatch
from domain.scope import TenantScope
from infra import ratelimit
from infra.i18n import N_, gettext
from infra.ratelimit import RateLimiter

TOO_LONG = N_("Type at most 200 characters.")
BAD_POSITION = N_("Give a latitude from -90 to 90 and a longitude from -180 to 180, as decimal numbers.")
TOO_MANY = N_("Too many searches in a short time. Wait a minute, then try again.")
MAP_SECONDS = 300  # how long a browser (or, for a visitor with no cookie, a shared cache) keeps the map


def _refused(status_code: int, message: str) -> Response:
    return Response(
        {"status_code": status_code, "message": gettext(message)},
        status_code=status_code,
        headers={"cache-control": "no-store"},
    )


def _place(match: PlaceMatch) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "id": match.id,
        "kind": match.kind,
        "label": match.label,
        "latitude": match.latitude,
        "longitude": match.longitude,
    }
    if match.distance_metres is not None:
        shown["distance_metres"] = match.distance_metres
    return shown


def _number(text: str, limit: float) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) and -limit <= number <= limit else None


class PlaceLookupController(Controller):
    path = "/places"
    include_in_schema = False

    async def _allowed(self, request: Request, limiter: RateLimiter) -> bool:
        address = request.client.host if request.client else ""
        return await limiter.allow(ratelimit.PLACE_SEARCH_PER_ADDRESS, f"{tenant_of(request).id}:{address}")

    @get("/search")
    async def search(
        self,
        request: Request,
        tenant_scope: NamedDependency[TenantScope],
        limiter: NamedDependency[RateLimiter],
        q: FromQuery[str] = "",
    ) -> Response:
        """{"places": [{"id", "kind", "label", "latitude", "longitude"}]}, best first; `id` is 0 for a
        place the town's outside geocoder gave."""
        if len(q) > places.MAX_QUERY:
            return _refused(400, TOO_LONG)
        if not await self._allowed(request, limiter):
            return _refused(429, TOO_MANY)
        found = await places.search(tenant_scope, q)
        # The same letters typed again (a backspace, say) need not be asked again for a while.
        return Response(
            {"places": [_place(match) for match in found]}, headers={"cache-control": "private, max-age=60"}
        )

    @get("/nearest")
    async def nearest(
        self,
        request: Request,
        tenant_scope: NamedDependency[TenantScope],
        limiter: NamedDependency[RateLimiter],
        latitude: FromQuery[str] = "",
        longitude: FromQuery[str] = "",
    ) -> Response:
        """{"place": {... "distance_metres"} or null, "outside": bool, "message": why, when outside}."""
        lat, lon = _number(latitude, 90), _number(longitude, 180)
        if lat is None or lon is None:
            return _refused(400, BAD_POSITION)
        if not await self._allowed(request, limiter):
            return _refused(429, TOO_MANY)
        if await places.outside_town(tenant_scope, lat, lon):
            message = gettext(places.OUTSIDE_TOWN) % {"town": tenant_of(request).name}
            return Response({"place": None, "outside": True, "message": message})
        found = await places.nearest(tenant_scope, lat, lon)
        return Response({"place": _place(found) if found else None, "outside": False})

    @get("/map.json")
    async def town_map(self, request: Request, tenant_scope: NamedDependency[TenantScope]) -> Response:
        """The GeoJSON FeatureCollection of the boundary and the streets, plus "bounds" (min_latitude,
        min_longitude, max_latitude, max_longitude, or null) and "tiles" ({"url", "attribution"} or null).
        A visitor with no cookie gets an answer any cache may keep: it carries no session."""
        version = await places.map_version(tenant_scope)
        etag = '"' + hashlib.sha256(version.encode()).hexdigest()[:32] + '"'
        shared = "public" if not request.cookies else "private"
        headers = {"cache-control": f"{shared}, max-age={MAP_SECONDS}", "etag": etag}
        if etag in request.headers.get("if-none-match", ""):
            return Response(b"", status_code=304, headers=headers)
        view = await places.map_view(tenant_scope)
        document = await places.map_features(tenant_scope)
        south, west, north, east = view.bounds or (None, None, None, None)
        document["bounds"] = (
            {"min_latitude": south, "min_longitude": west, "max_latitude": north, "max_longitude": east}
            if view.bounds
            else None
        )
        document["tiles"] = (
            {"url": view.tile_url, "attribution": view.tile_attribution} if view.tile_url else None
        )
        return Response(document, headers=headers)
