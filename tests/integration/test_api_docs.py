"""The API describes itself: an OpenAPI document built from the handlers, with the keys' security scheme
and the webhooks sent, shown by a page whose every asset the portal serves itself."""

from __future__ import annotations

import re

import httpx

from apps.web import create_app
from domain import webhooks
from tests.support.factories import make_town
from tests.support.services import offline_settings


async def test_the_openapi_document_covers_every_json_endpoint_the_keys_and_the_webhooks():
    town = await make_town()
    app = create_app(offline_settings())
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{town.host}") as client:
        document = (await client.get("/api/schema/openapi.json")).json()
        paths = document["paths"]
        for path in (
            "/api/v1/requests/{reference}/work-order",
            "/api/v1/requests/{reference}/updates",
            "/api/v1/requests/{reference}/close",
            "/api/v1/webhooks",
            "/api/v1/webhooks/{subscription_id}/deliveries",
        ):
            assert path in paths, sorted(paths)
        assert any(path.startswith("/open311/v2/") for path in paths), sorted(paths)
        assert not any(path.startswith(("/admin", "/status", "/account", "/platform")) for path in paths)
        assert document["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
        assert paths["/api/v1/requests/{reference}/close"]["post"]["security"] == [{"apiKey": []}]
        assert set(document["webhooks"]) == set(webhooks.EVENTS)

        page = await client.get("/api/docs")
        assert page.status_code == 200
        assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert assets and all(asset.startswith("/") for asset in assets), assets  # nothing from a CDN
        for asset in assets:
            assert (await client.get(asset)).status_code == 200, asset
