"""An outside geocoder a town may name (Nominatim's /search API), asked only when its own gazetteer has
nothing for what a citizen typed. It is a help, never a dependency: any failure (an address it may not
call, a refused connection, a slow or odd answer) is an empty list, quickly, and logged."""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from urllib.parse import urlsplit

from infra import outbound

log = logging.getLogger(__name__)
# A citizen is typing and waits for suggestions: a geocoder slower than this has none to give.
TIMEOUT_SECONDS = 2.5
MAX_ANSWER_BYTES = 500_000
USER_AGENT = "citizen-portal (address search fallback)"
Bounds = tuple[float, float, float, float]  # south, west, north, east


@dataclass(frozen=True)
class GeocodedPlace:
    label: str
    latitude: float
    longitude: float


async def nominatim_search(
    base_url: str,
    text: str,
    bounds: Bounds | None,
    limit: int,
    language: str = "en",
    allowed_networks: tuple[outbound.Network, ...] = (),
) -> list[GeocodedPlace]:
    """Up to `limit` places for `text`, within `bounds` when given. `allowed_networks`: private networks
    the operator lets the server call (a geocoder on the intranet); public addresses are always allowed."""
    try:
        parts = urlsplit(base_url)
        port = parts.port or (80 if parts.scheme == "http" else 443)
        await outbound.ensure_public(parts.hostname or "", port, allowed_networks)
        return await _ask(base_url, text, bounds, limit, language)
    except Exception as error:  # noqa: BLE001 - the citizen goes on without suggestions, whatever it was
        log.info("geocoder %s gave nothing for a search: %r", base_url, error)
        return []


async def _ask(
    base_url: str, text: str, bounds: Bounds | None, limit: int, language: str
) -> list[GeocodedPlace]:
    import httpx2  # at the first search that needs it: most towns name no geocoder

    parameters: dict[str, str | int] = {
        "q": text,
        "format": "jsonv2",
        "limit": limit,
        "accept-language": language,
    }
    if bounds:
        south, west, north, east = bounds
        parameters |= {"viewbox": f"{west:.6f},{north:.6f},{east:.6f},{south:.6f}", "bounded": 1}
    url = base_url.rstrip("/") + "/search"
    async with (
        httpx2.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False) as client,
        client.stream("GET", url, params=parameters, headers={"user-agent": USER_AGENT}) as response,
    ):
        if response.status_code != 200:
            log.info("geocoder %s answered %s", base_url, response.status_code)
            return []
        body = b""
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > MAX_ANSWER_BYTES:
                return []
    return _places(json.loads(body), limit)


def _places(answer: object, limit: int) -> list[GeocodedPlace]:
    found = []
    for item in answer if isinstance(answer, list) else []:
        if not isinstance(item, dict):
            continue
        try:
            latitude, longitude = float(item["lat"]), float(item["lon"])
        except (KeyError, TypeError, ValueError):
            continue
        label = str(item.get("display_name") or "").strip()[:300]
        on_earth = math.isfinite(latitude + longitude) and abs(latitude) <= 90 and abs(longitude) <= 180
        if label and on_earth:
            found.append(GeocodedPlace(label, latitude, longitude))
    return found[:limit]
