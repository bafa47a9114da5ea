"""The town's gazetteer and map: finding a place without knowing its coordinates.

Citizens type an address and pick it from the town's own list of address points and streets, which its
administrator imports (domain/place_files.py reads the files); or they drop a pin and are told the nearest
address. A place outside the town's boundary is refused. The map is drawn from the town's own streets, so
it works with no tile server; a tile server and an outside geocoder are options a town may add.

Search is each database's own, over `place.search_text` (domain/place_text.py normalises it):
- first the typed text as a substring (SQLite: an FTS5 trigram phrase; PostgreSQL: LIKE on a trigram
  index), with the typed house number required of addresses: "12 evergreen" is every street holding
  "evergreen", at number 12;
- if that finds nothing, a typo is assumed: the town's streets are compared by name with what was typed
  (on PostgreSQL, the 50 that pg_trgm's word similarity puts first), and the typed number is looked for
  on the few most alike;
- the candidates, a few hundred at most, are ordered here (domain/place_text.py `score`);
- only when the gazetteer has nothing is the town's geocoder asked, if it named one.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
from dataclasses import dataclass
from types import EllipsisType
from typing import Any
from urllib.parse import urlsplit

from piccolo.query.functions.aggregate import Max, Min

from domain import audit, place_geometry, writes
from domain.audit import Actor
from domain.place_files import NewPlace, parse_boundary, parse_place_files, parse_places
from domain.place_text import AddressText, Matcher, normalised, parsed
from domain.scope import TenantScope
from domain.tables import Place, TownMap
from domain.writes import utc_now
from infra import database, geocoder, outbound
from infra.i18n import N_, current_language
from infra.settings import get_settings

__all__ = [
    "OUTSIDE_TOWN",
    "GazetteerSummary",
    "MapView",
    "NewPlace",
    "PlaceMatch",
    "get",
    "has_gazetteer",
    "import_boundary",
    "import_files",
    "map_features",
    "map_problems",
    "map_version",
    "map_view",
    "nearest",
    "normalised",
    "outside_town",
    "parse_boundary",
    "parse_place_files",
    "parse_places",
    "replace_places",
    "resolve_typed",
    "search",
    "set_map",
    "summary",
]

OUTSIDE_TOWN = N_(
    "This place is outside %(town)s. Choose a place within the municipality, or ask the municipality "
    "that serves it."
)
BAD_TILE_URL = N_(
    "Enter the tile server's address as a template with {z}, {x} and {y} that starts with https://, such "
    "as https://tile.openstreetmap.org/{z}/{x}/{y}.png."
)
NO_ATTRIBUTION = N_(
    "Give the credit the tile server asks maps to show, such as © OpenStreetMap contributors."
)
BAD_ATTRIBUTION = N_("Write the credit as plain text of at most 300 characters, without < or >.")
BAD_GEOCODER_URL = N_(
    "Enter the geocoder's address starting with https://, such as https://nominatim.example.org."
)
GEOCODER_UNREACHABLE = N_(
    "The portal only calls a geocoder at an https address on the internet; this address is not one, or "
    "cannot be found."
)
MAX_SETTING = 300  # TownMap's columns
MIN_QUERY = 3  # characters: fewer name too many places to be worth asking
MAX_QUERY = 200
CANDIDATES = 200  # read per search at most, then ordered here
TYPO_FLOOR = 0.45  # a street whose name is less like the typed one than this is not what was meant
TYPO_STREETS = 5  # streets kept for a mistyped name, with the typed number's addresses on them
STREETS_COMPARED = 50  # on PostgreSQL, the streets most alike by pg_trgm are compared here
ROW_COLUMNS = (
    "place.id, place.kind, place.label, place.number, place.search_text, place.latitude, place.longitude"
)
EDGE = 1e-5  # degrees
NEAR_FIRST_METRES = 60  # the nearest address is looked for in a small box first, then the whole radius
NEAREST_CANDIDATES = 5000
INSERT_BATCH = {"sqlite": 2000, "postgres": 5000}  # rows per statement (SQLite binds at most 32,766 values)
INSERTED_COLUMNS = (
    "tenant_id, kind, label, number, street, locality, postcode, search_text, latitude, longitude, geometry"
)
_MATCH_COLUMNS = (Place.id, Place.kind, Place.label, Place.latitude, Place.longitude)
_CANDIDATE_COLUMNS = (*_MATCH_COLUMNS, Place.number, Place.search_text)


@dataclass(frozen=True)
class PlaceMatch:
    """A place found. `id` is 0 and `kind` "geocoder" for a place the town's outside geocoder gave, which
    is not in the gazetteer; `distance_metres` is set by `nearest`."""

    id: int
    kind: str  # address | street | geocoder
    label: str
    latitude: float | None
    longitude: float | None
    distance_metres: float | None = None


@dataclass(frozen=True)
class MapView:
    """How a page draws the town's map. `bounds` (south, west, north, east) frames the boundary, or the
    streets when there is none; `tile_url` empty: the town's own streets are the map."""

    tile_url: str
    tile_attribution: str
    bounds: place_geometry.Bounds | None
    has_gazetteer: bool
    has_boundary: bool


@dataclass(frozen=True)
class GazetteerSummary:
    addresses: int
    streets: int
    has_boundary: bool
    tile_url: str
    tile_attribution: str
    geocoder_url: str


@dataclass(frozen=True)
class _Candidate:
    match: PlaceMatch
    text: AddressText
    score: float


# --- Search ------------------------------------------------------------------------------------------


async def search(scope: TenantScope, text: str, limit: int = 8) -> list[PlaceMatch]:
    """Places for what a citizen is typing, best first: addresses at the typed number, then streets, then
    other numbers. Blank or too short: nothing. On PostgreSQL, when the town's geocoder is asked, the open
    transaction is committed and its connection given back while it answers (infra.database.released)."""
    return [candidate.match for candidate in await _ranked(scope, text, limit)]


async def resolve_typed(scope: TenantScope, text: str, limit: int = 5) -> PlaceMatch | list[PlaceMatch]:
    """For a form sent without the search box: the gazetteer's place when the typed text names one without
    doubt (once normalised it is exactly one entry, or one entry stands out: the typed number, a name
    alike, no other close); else the choices for a "did you mean" page, best first, where a geocoder's
    place may be one; an empty list when nothing is like it (a landmark, say: the text stands as typed).
    The same transaction note as `search`."""
    query = parsed(normalised(text)[:MAX_QUERY])
    ranked = await _ranked(scope, text, max(limit, 8))
    exact = [candidate for candidate in ranked if candidate.text.text == query.text and candidate.match.id]
    if len(exact) == 1:
        return exact[0].match
    if exact:
        return [candidate.match for candidate in exact[:limit]]
    if ranked and _stands_out(query, ranked):
        return ranked[0].match
    return [candidate.match for candidate in ranked[:limit]]


def _stands_out(query: AddressText, ranked: list[_Candidate]) -> bool:
    best = ranked[0]
    if not best.match.id or (query.number and best.text.number != query.number):
        return False
    if Matcher(query).name_similarity(best.text) < 0.8:
        return False
    return len(ranked) == 1 or ranked[1].score <= best.score - 0.1


async def _ranked(scope: TenantScope, text: str, limit: int) -> list[_Candidate]:
    query = parsed(normalised(text)[:MAX_QUERY])
    if len(query.text) < MIN_QUERY:
        return []
    rows = await _substring_candidates(scope, query)
    floor = 0.0
    if not rows:
        rows, floor = await _typo_candidates(scope, query), TYPO_FLOOR
    ranked = _order(query, rows, floor)
    if ranked:
        return ranked[:limit]
    return await _geocoded(scope, text, limit)


def _number_filter(query: AddressText) -> tuple[str, list[Any]]:
    """The typed house number, required of addresses (a street has none and is kept)."""
    if not query.number:
        return "", []
    return " AND (place.number = {} OR place.kind = 'street')", [query.number]


async def _substring_candidates(scope: TenantScope, query: AddressText) -> list[dict]:
    phrase, by_number = query.text, query.number and len(query.street) >= MIN_QUERY
    if by_number:
        phrase = query.street
    condition, values = _number_filter(query) if by_number else ("", [])
    return await _containing(scope, [phrase], condition, values)


async def _typo_candidates(scope: TenantScope, query: AddressText) -> list[dict]:
    """The few streets whose names are most like the typed one, and the typed number on them. A typo can
    leave no three letters of a short name in place ("pirere" for "pierre"), so the streets are compared
    by name here rather than found by the substring index."""
    if len(query.name_text) < MIN_QUERY:
        return []
    streets = await _streets_alike(scope, query)
    if not streets:
        return []
    condition, values = _number_filter(query)
    on_them = await _containing(scope, [row["search_text"] for row in streets], condition, values)
    return list({row["id"]: row for row in [*streets, *on_them]}.values())


async def _streets_alike(scope: TenantScope, query: AddressText) -> list[dict]:
    matcher = Matcher(query)
    if writes.on_sqlite():  # every street of the town: their names only, then the few kept whole
        names = await Place.raw(
            "SELECT id, search_text FROM place WHERE tenant_id = {} AND kind = 'street'", scope.tenant_id
        )
        names = [row for row in names if matcher.could_name(row["search_text"])]
    else:  # the streets that pg_trgm's word similarity puts first
        names = await Place.raw(
            f"SELECT {ROW_COLUMNS} FROM place WHERE tenant_id = {{}} AND kind = 'street' "
            "ORDER BY word_similarity({}, search_text) DESC LIMIT {}",
            scope.tenant_id,
            query.name_text,
            STREETS_COMPARED,
        )
    scored = sorted(
        ((matcher.name_similarity(parsed(row["search_text"])), row) for row in names),
        key=lambda pair: -pair[0],
    )
    alike = [row for similarity, row in scored if similarity >= TYPO_FLOOR][:TYPO_STREETS]
    if not writes.on_sqlite() or not alike:
        return alike
    ids = [row["id"] for row in alike]
    rows = {
        row["id"]: row for row in await scope.select(Place, *_CANDIDATE_COLUMNS).where(Place.id.is_in(ids))
    }
    return [rows[number] for number in ids if number in rows]


async def _containing(
    scope: TenantScope, phrases: list[str], condition: str, values: list[Any]
) -> list[dict]:
    """The town's places whose search text holds one of the phrases, and meets the condition. On SQLite
    the FTS5 index holds every town's places: it is read first (CROSS JOIN keeps SQLite from reading the
    town's rows and probing the index for each), and the town's rows are kept."""
    if writes.on_sqlite():
        return await Place.raw(
            f"SELECT {ROW_COLUMNS} FROM place_search CROSS JOIN place ON place.id = place_search.rowid "
            f"WHERE place_search MATCH {{}} AND place.tenant_id = {{}}{condition} LIMIT {{}}",
            " OR ".join(f'"{phrase}"' for phrase in phrases),
            scope.tenant_id,
            *values,
            CANDIDATES,
        )
    likes = " OR ".join("search_text LIKE {}" for _ in phrases)
    return await Place.raw(
        f"SELECT {ROW_COLUMNS} FROM place WHERE tenant_id = {{}} AND ({likes}){condition} LIMIT {{}}",
        scope.tenant_id,
        *[f"%{phrase}%" for phrase in phrases],
        *values,
        CANDIDATES,
    )


def _order(query: AddressText, rows: list[dict], floor: float) -> list[_Candidate]:
    matcher, found = Matcher(query), []
    for row in rows:
        text = parsed(row["search_text"])
        if floor and matcher.name_similarity(text) < floor:
            continue
        match = PlaceMatch(row["id"], row["kind"], row["label"], row["latitude"], row["longitude"])
        found.append(_Candidate(match, text, matcher.score(text, row["kind"] == "street")))
    found.sort(
        key=lambda candidate: (-candidate.score, _house_order(candidate.text.number), candidate.match.label)
    )
    return found


def _house_order(number: str) -> int:
    digits = re.match(r"\d+", number)
    return int(digits.group()) if digits else 0


async def _geocoded(scope: TenantScope, text: str, limit: int) -> list[_Candidate]:
    town_map = await _map_row(scope)
    if not town_map or not town_map["geocoder_url"]:
        return []
    allowed = outbound.networks(get_settings().outbound_allowed_networks)
    text = "".join(character for character in text if character.isprintable())[:MAX_QUERY]
    async with database.released():  # a slow geocoder must not hold a pooled connection
        found = await geocoder.nominatim_search(
            town_map["geocoder_url"], text, _bounds(town_map), limit, current_language.get(), allowed
        )
    return [
        _Candidate(PlaceMatch(0, "geocoder", place.label, place.latitude, place.longitude), parsed(""), 0.0)
        for place in found
        if not _outside(town_map, place.latitude, place.longitude)
    ]


async def get(scope: TenantScope, place_id: int) -> PlaceMatch | None:
    row = await scope.select(Place, *_MATCH_COLUMNS).where(Place.id == place_id).first()
    return _match(row) if row else None


def _match(row: dict, distance: float | None = None) -> PlaceMatch:
    return PlaceMatch(row["id"], row["kind"], row["label"], row["latitude"], row["longitude"], distance)


# --- Pins --------------------------------------------------------------------------------------------


async def nearest(
    scope: TenantScope, latitude: float, longitude: float, within_metres: float = 250
) -> PlaceMatch | None:
    """The address point nearest a pin, within `within_metres`; where there is none, the street whose
    line passes nearest. A small box is read first, since in a dense street it already holds the answer."""
    for radius in sorted({min(NEAR_FIRST_METRES, within_metres), within_metres}):
        south, west, north, east = place_geometry.box_around(latitude, longitude, radius)
        rows = (
            await scope.select(Place, *_MATCH_COLUMNS)
            .where(
                (Place.latitude >= south)
                & (Place.latitude <= north)
                & (Place.longitude >= west)
                & (Place.longitude <= east)
                & (Place.kind == "address")
            )
            .limit(NEAREST_CANDIDATES)
        )
        distances = [
            (place_geometry.haversine_metres(latitude, longitude, row["latitude"], row["longitude"]), row)
            for row in rows
        ]
        within = [(distance, row) for distance, row in distances if distance <= radius]
        if within:
            distance, row = min(within, key=lambda pair: pair[0])
            return _match(row, round(distance, 1))
    return await _nearest_street(scope, latitude, longitude, within_metres)


async def _nearest_street(
    scope: TenantScope, latitude: float, longitude: float, within_metres: float
) -> PlaceMatch | None:
    rows = await scope.select(Place, *_MATCH_COLUMNS, Place.geometry).where(Place.kind == "street")
    best: tuple[float, dict] | None = None
    for row in rows:
        for line in place_geometry.lines_of(row["geometry"] or {}):
            distance = place_geometry.metres_to_line(latitude, longitude, line)
            if distance <= within_metres and (best is None or distance < best[0]):
                best = (distance, row)
    return _match(best[1], round(best[0], 1)) if best else None


async def outside_town(scope: TenantScope, latitude: float, longitude: float) -> bool:
    """True when the town has a boundary and the point is not within it (say so with OUTSIDE_TOWN)."""
    town_map = await _map_row(scope)
    return town_map is not None and _outside(town_map, latitude, longitude)


def _outside(town_map: dict, latitude: float, longitude: float) -> bool:
    if not town_map["boundary"]:
        return False
    bounds = _bounds(town_map)
    if bounds:  # stored as PostgreSQL `real`, so widened by a metre or so for a point right on the edge
        south, west, north, east = bounds
        if not (south - EDGE <= latitude <= north + EDGE and west - EDGE <= longitude <= east + EDGE):
            return True
    return not place_geometry.contains(town_map["boundary"], latitude, longitude)


def _bounds(town_map: dict) -> place_geometry.Bounds | None:
    corners = ("min_latitude", "min_longitude", "max_latitude", "max_longitude")
    if any(town_map[name] is None for name in corners):
        return None
    south, west, north, east = (float(town_map[name]) for name in corners)
    return south, west, north, east


async def _map_row(scope: TenantScope) -> dict | None:
    return await scope.select(TownMap).first()


# --- The map -----------------------------------------------------------------------------------------


async def map_view(scope: TenantScope) -> MapView:
    town_map = await _map_row(scope) or {}
    has_boundary = bool(town_map.get("boundary"))
    bounds = _bounds(town_map) if has_boundary else await _street_bounds(scope)
    return MapView(
        tile_url=town_map.get("tile_url", ""),
        tile_attribution=town_map.get("tile_attribution", ""),
        bounds=bounds,
        has_gazetteer=await has_gazetteer(scope),
        has_boundary=has_boundary,
    )


async def has_gazetteer(scope: TenantScope) -> bool:
    return await scope.exists(Place)


async def _street_bounds(scope: TenantScope) -> place_geometry.Bounds | None:
    row = await scope.select(
        Place,
        Min(Place.latitude, alias="south"),
        Min(Place.longitude, alias="west"),
        Max(Place.latitude, alias="north"),
        Max(Place.longitude, alias="east"),
    ).where(Place.kind == "street")
    corners = row[0] if row else {}
    if any(corners.get(name) is None for name in ("south", "west", "north", "east")):
        return None
    return corners["south"], corners["west"], corners["north"], corners["east"]


async def map_version(scope: TenantScope) -> str:
    """Changes whenever the map's features or settings do: an ETag for them."""
    row = await scope.select(TownMap, TownMap.id, TownMap.updated_at).first()
    return (
        f"{scope.tenant_id}-{row['id']}-{row['updated_at'].timestamp():.6f}" if row else f"{scope.tenant_id}"
    )


async def map_features(scope: TenantScope) -> dict:
    """One GeoJSON FeatureCollection: the boundary (properties kind "boundary") and every street line
    (kind "street", name), for a browser map to draw with no tile server."""
    features = []
    town_map = await _map_row(scope)
    if town_map and town_map["boundary"]:
        features.append(
            {"type": "Feature", "geometry": town_map["boundary"], "properties": {"kind": "boundary"}}
        )
    streets = (
        await scope.select(Place, Place.label, Place.geometry)
        .where(Place.kind == "street")
        .order_by(Place.id)
    )
    features += [
        {
            "type": "Feature",
            "geometry": row["geometry"],
            "properties": {"kind": "street", "name": row["label"]},
        }
        for row in streets
        if row["geometry"]
    ]
    return {"type": "FeatureCollection", "features": features}


async def summary(scope: TenantScope) -> GazetteerSummary:
    """What the administrator's page shows of the town's map and gazetteer."""
    town_map = await _map_row(scope) or {}
    return GazetteerSummary(
        addresses=await scope.count(Place).where(Place.kind == "address"),
        streets=await scope.count(Place).where(Place.kind == "street"),
        has_boundary=bool(town_map.get("boundary")),
        tile_url=town_map.get("tile_url", ""),
        tile_attribution=town_map.get("tile_attribution", ""),
        geocoder_url=town_map.get("geocoder_url", ""),
    )


# --- Changes -----------------------------------------------------------------------------------------


async def import_files(
    scope: TenantScope, actor: Actor, files: list[tuple[bytes, str]]
) -> tuple[int, list[str]]:
    """The files' places become the town's gazetteer, if the files hold no problem: (how many places,
    []) or (0, the problems). They are read in a thread, since a city's file takes seconds."""
    found, problems = await asyncio.to_thread(parse_place_files, files)
    if problems:
        return 0, problems
    return await replace_places(scope, actor, found, ", ".join(name for _, name in files)), []


async def import_boundary(scope: TenantScope, actor: Actor, content: bytes, filename: str) -> list[str]:
    """The file's polygon becomes the town's boundary if it is one; else the problems, and no change."""
    boundary, problems = await asyncio.to_thread(parse_boundary, content)
    if boundary is not None:
        await set_map(scope, actor, boundary=boundary, source=filename)
    return problems


async def replace_places(scope: TenantScope, actor: Actor, places: list[NewPlace], source: str = "") -> int:
    """The town's gazetteer becomes `places`, in one write transaction: citizens searching meanwhile see
    the old one whole, then the new one whole. Streets are written first: a search reads so many
    candidates at most, in about the order written, so it meets the streets before their addresses.
    `source`: the file names, for the audit log. On SQLite the import holds the write lock throughout
    (seconds for a city), so other writes wait for it."""
    ordered = sorted(places, key=lambda place: place.kind != "street")
    async with writes.write_transaction():
        before = await _sizes(scope)
        await scope.delete(Place)
        insert = _insert_sqlite if writes.on_sqlite() else _insert_postgres
        size = INSERT_BATCH["sqlite" if writes.on_sqlite() else "postgres"]
        for start in range(0, len(ordered), size):
            await insert(scope, ordered[start : start + size])
        await _touch_map(scope, {})
        after = await _sizes(scope)
        await audit.record(
            scope, actor, "places.imported", source[:200], before if any(before.values()) else None, after
        )
    return len(ordered)


async def _sizes(scope: TenantScope) -> dict[str, int]:
    return {
        "addresses": await scope.count(Place).where(Place.kind == "address"),
        "streets": await scope.count(Place).where(Place.kind == "street"),
    }


def _row(place: NewPlace) -> tuple:
    """The values as `place` holds them; abbreviations written out may lengthen a label's search text."""
    return (
        place.kind,
        place.label[:300],
        place.number[:20],
        place.street[:200],
        place.locality[:100],
        place.postcode[:20],
        normalised(place.label)[:400],
        place.latitude,
        place.longitude,
        json.dumps(place.geometry, separators=(",", ":")),
    )


async def _insert_sqlite(scope: TenantScope, places: list[NewPlace]) -> None:
    row = "({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})"
    values = [value for place in places for value in (scope.tenant_id, *_row(place))]
    await Place.raw(
        f"INSERT INTO place ({INSERTED_COLUMNS}) VALUES " + ", ".join([row] * len(places)), *values
    )


async def _insert_postgres(scope: TenantScope, places: list[NewPlace]) -> None:
    """One statement per batch, the columns as arrays (COPY is refused on a table with row-level security)."""
    columns = list(zip(*map(_row, places), strict=True))
    types = ("text", "text", "text", "text", "text", "text", "text", "real", "real", "json")
    arrays = ", ".join(f"{{}}::{kind}[]" for kind in types)
    await Place.raw(
        f"INSERT INTO place ({INSERTED_COLUMNS}) SELECT {{}}, * FROM unnest({arrays})",
        scope.tenant_id,
        *columns,
    )


async def _touch_map(scope: TenantScope, values: dict) -> None:
    """The town's one map row, made if it has none, with `values` and a new `updated_at` (map_version)."""
    await TownMap.insert(scope.new(TownMap)).on_conflict(target=TownMap.tenant, action="DO NOTHING")
    await scope.update(TownMap, {**values, TownMap.updated_at: utc_now()})


def _web_address(url: str, http_here: bool = False) -> bool:
    """An https address; with `http_here`, http to this machine too (a geocoder beside the portal). Tiles
    are always https: the citizen's browser loads them, and the pages' policy allows https images only."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises for a port that is not a number
    except ValueError:
        return False
    if not host or len(url) > MAX_SETTING or any(character in url for character in " \"'<>\\"):
        return False
    if parts.scheme == "https":
        return True
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    return http_here and parts.scheme == "http" and loopback


async def map_problems(tile_url: str, tile_attribution: str, geocoder_url: str) -> dict[str, str]:
    """Messages by field for the map's settings; empty addresses are allowed (no tiles, no geocoder). The
    geocoder's host must resolve to a public address, or one in a network the operator allows
    (OUTBOUND_ALLOWED_NETWORKS), as for every call the server makes on a town's behalf."""
    errors = {}
    if tile_url and not (_web_address(tile_url) and all(mark in tile_url for mark in ("{z}", "{x}", "{y}"))):
        errors["tile_url"] = BAD_TILE_URL
    if len(tile_attribution) > MAX_SETTING or "<" in tile_attribution or ">" in tile_attribution:
        errors["tile_attribution"] = BAD_ATTRIBUTION  # a map draws it as HTML
    elif tile_url and not tile_attribution:
        errors["tile_attribution"] = NO_ATTRIBUTION
    if geocoder_url and not _web_address(geocoder_url, http_here=True):
        errors["geocoder_url"] = BAD_GEOCODER_URL
    elif geocoder_url:
        parts = urlsplit(geocoder_url)
        allowed = outbound.networks(get_settings().outbound_allowed_networks)
        port = parts.port or (80 if parts.scheme == "http" else 443)
        try:
            await outbound.ensure_public(parts.hostname or "", port, allowed)
        except outbound.Unreachable:
            errors["geocoder_url"] = GEOCODER_UNREACHABLE
    return errors


async def set_map(
    scope: TenantScope,
    actor: Actor,
    *,
    boundary: dict | None | EllipsisType = ...,
    tile_url: str | EllipsisType = ...,
    tile_attribution: str | EllipsisType = ...,
    geocoder_url: str | EllipsisType = ...,
    source: str = "",
) -> None:
    """Changes what is given (`...`: as it is). `boundary`: a checked Polygon or MultiPolygon
    (parse_boundary), or None to remove it; `source` names its file in the audit log. The caller has
    checked the addresses with `map_problems`."""
    async with writes.write_transaction():
        current = await _map_row(scope) or {
            "boundary": {},
            "tile_url": "",
            "tile_attribution": "",
            "geocoder_url": "",
        }
        values: dict[Any, Any] = {}
        if not isinstance(boundary, EllipsisType):
            corners = place_geometry.bounds_of(boundary or {})
            south, west, north, east = corners or (None, None, None, None)
            values |= {
                TownMap.boundary: boundary or {},
                TownMap.min_latitude: south,
                TownMap.min_longitude: west,
                TownMap.max_latitude: north,
                TownMap.max_longitude: east,
            }
        given = {"tile_url": tile_url, "tile_attribution": tile_attribution, "geocoder_url": geocoder_url}
        settings = {name: value for name, value in given.items() if not isinstance(value, EllipsisType)}
        values |= {TownMap._meta.get_column_by_name(name): value for name, value in settings.items()}
        await _touch_map(scope, values)
        if not isinstance(boundary, EllipsisType):
            had, has = _points(current["boundary"]), _points(boundary)
            await audit.record(
                scope,
                actor,
                "map.boundary",
                source[:200],
                {"boundary_points": had} if had else None,
                {"boundary_points": has} if has else None,
            )
        changed_before, changed_after = audit.changed({name: current[name] for name in settings}, settings)
        if changed_before or changed_after:
            await audit.record(scope, actor, "map.changed", "", changed_before, changed_after)


def _points(boundary: dict | None) -> int:
    """A boundary in the audit log: how many points it has, not each of them."""
    return sum(len(ring) for polygon in place_geometry.polygons_of(boundary or {}) for ring in polygon)
