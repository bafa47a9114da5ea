"""The little geometry a town's map needs, in plain Python: distances on the Earth, whether a point is in
the town's boundary, where a street is. Positions are GeoJSON's [longitude, latitude].

A town is a few kilometres across, so distances to a street's segments are taken on a local flat
projection (under a metre off at that scale); distances between two points use the haversine formula."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

EARTH_RADIUS_METRES = 6_371_008.8
METRES_PER_DEGREE = math.pi * EARTH_RADIUS_METRES / 180
Position = Sequence[float]  # [longitude, latitude]
Bounds = tuple[float, float, float, float]  # south, west, north, east


def haversine_metres(
    latitude: float, longitude: float, other_latitude: float, other_longitude: float
) -> float:
    phi, other_phi = math.radians(latitude), math.radians(other_latitude)
    half_dphi = (other_phi - phi) / 2
    half_dlambda = math.radians(other_longitude - longitude) / 2
    a = math.sin(half_dphi) ** 2 + math.cos(phi) * math.cos(other_phi) * math.sin(half_dlambda) ** 2
    return 2 * EARTH_RADIUS_METRES * math.asin(min(1.0, math.sqrt(a)))


def box_around(latitude: float, longitude: float, metres: float) -> Bounds:
    """A box that holds every point within `metres` of the given one (away from the poles)."""
    dlat = metres / METRES_PER_DEGREE
    dlon = metres / (METRES_PER_DEGREE * max(math.cos(math.radians(latitude)), 0.01))
    return latitude - dlat, longitude - dlon, latitude + dlat, longitude + dlon


def lines_of(geometry: dict) -> list[Sequence[Position]]:
    """A LineString's or MultiLineString's lines."""
    if geometry.get("type") == "LineString":
        return [geometry["coordinates"]]
    if geometry.get("type") == "MultiLineString":
        return list(geometry["coordinates"])
    return []


def metres_to_line(latitude: float, longitude: float, line: Sequence[Position]) -> float:
    """The shortest distance from the point to any segment of the line."""
    scale = math.cos(math.radians(latitude))
    x, y = longitude * scale, latitude
    best = math.inf
    for start, end in zip(line, line[1:], strict=False):
        ax, ay, bx, by = start[0] * scale, start[1], end[0] * scale, end[1]
        dx, dy = bx - ax, by - ay
        length = dx * dx + dy * dy
        along = 0.0 if length == 0 else max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / length))
        best = min(best, math.hypot(x - (ax + along * dx), y - (ay + along * dy)))
    return best * METRES_PER_DEGREE


def middle_of(lines: Iterable[Sequence[Position]]) -> tuple[float, float]:
    """(latitude, longitude) of the point halfway along the longest line: on the street itself, which its
    centroid, for a street that bends, is not."""
    longest = max(lines, key=_length)
    half, walked = _length(longest) / 2, 0.0
    for start, end in zip(longest, longest[1:], strict=False):
        step = math.dist(start[:2], end[:2])
        if walked + step >= half and step > 0:
            along = (half - walked) / step
            return start[1] + along * (end[1] - start[1]), start[0] + along * (end[0] - start[0])
        walked += step
    return longest[0][1], longest[0][0]


def _length(line: Sequence[Position]) -> float:
    return sum(math.dist(start[:2], end[:2]) for start, end in zip(line, line[1:], strict=False))


def polygons_of(boundary: dict) -> list[Sequence[Sequence[Position]]]:
    """A Polygon's or MultiPolygon's polygons, each its outer ring then its holes."""
    if boundary.get("type") == "Polygon":
        return [boundary["coordinates"]]
    if boundary.get("type") == "MultiPolygon":
        return list(boundary["coordinates"])
    return []


def bounds_of(boundary: dict) -> Bounds | None:
    outer = [position for polygon in polygons_of(boundary) for position in polygon[0]]
    if not outer:
        return None
    latitudes, longitudes = [position[1] for position in outer], [position[0] for position in outer]
    return min(latitudes), min(longitudes), max(latitudes), max(longitudes)


def contains(boundary: dict, latitude: float, longitude: float) -> bool:
    """Inside an outer ring and in none of its holes, for any of the polygons."""
    return any(
        _in_ring(polygon[0], longitude, latitude)
        and not any(_in_ring(hole, longitude, latitude) for hole in polygon[1:])
        for polygon in polygons_of(boundary)
    )


def _in_ring(ring: Sequence[Position], x: float, y: float) -> bool:
    """Ray casting: a ray from the point crosses the ring's edges an odd number of times if it is inside."""
    inside = False
    for start, end in zip(ring, [*ring[1:], ring[0]], strict=True):
        (x1, y1), (x2, y2) = start[:2], end[:2]
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside
