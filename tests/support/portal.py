"""An HTTP client for one tenant's host that speaks the portal's forms (CSRF token included)."""

from __future__ import annotations

import re

import httpx

CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')


class PortalClient:
    def __init__(self, app, host: str) -> None:
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=f"http://{host}", follow_redirects=False
        )
        self._csrf = ""

    async def __aenter__(self) -> PortalClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.http.aclose()

    async def get(self, path: str, **kwargs) -> httpx.Response:
        response = await self.http.get(path, **kwargs)
        if match := CSRF_FIELD.search(response.text):
            self._csrf = match.group(1)
        return response

    async def post(self, path: str, data: dict | None = None, **kwargs) -> httpx.Response:
        if not self._csrf:
            await self.get("/")
        response = await self.http.post(path, data={"_csrf_token": self._csrf, **(data or {})}, **kwargs)
        if match := CSRF_FIELD.search(response.text):
            self._csrf = match.group(1)
        return response

    async def submit(self, form: dict) -> httpx.Response:
        return await self.post("/requests", form)

    async def login(self, email: str, password: str) -> httpx.Response:
        await self.get("/admin/login")
        return await self.post("/admin/login", {"email": email, "password": password})

    async def act(self, reference: str, action: str, **data) -> httpx.Response:
        return await self.post(f"/admin/requests/{reference}/{action}", data)


def status_path(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text[:500]
    return response.headers["location"].split("?")[0]
