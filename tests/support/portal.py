"""An HTTP client for one tenant's host that speaks the portal's forms (CSRF token included)."""

from __future__ import annotations

import re

import httpx

CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')


class PortalClient:
    """`address` is the client's IP address as the portal sees it."""

    def __init__(self, app, host: str, address: str = "127.0.0.1") -> None:
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=(address, 50000)),
            base_url=f"http://{host}",
            follow_redirects=False,
        )
        self._csrf = ""
        self._csrf_page = "/"
        self._csrf_session: str | None = None

    async def __aenter__(self) -> PortalClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.http.aclose()

    def session_id(self) -> str | None:
        return next(
            (cookie.value for cookie in self.http.cookies.jar if cookie.name == "portal_session"), None
        )

    async def get(self, path: str, **kwargs) -> httpx.Response:
        session = self.session_id()
        response = await self.http.get(path, **kwargs)
        self._remember_token(response, session, path)
        return response

    async def post(self, path: str, data: dict | None = None, **kwargs) -> httpx.Response:
        if not self._csrf or self._csrf_session != self.session_id():
            # The token belongs to the session, which changes at sign-in: reload a page, as a person would.
            await self.get(self._csrf_page)
        session = self.session_id()
        response = await self.http.post(path, data={"_csrf_token": self._csrf, **(data or {})}, **kwargs)
        self._remember_token(response, session)
        return response

    def _remember_token(self, response: httpx.Response, session: str | None, page: str = "") -> None:
        if match := CSRF_FIELD.search(response.text):
            self._csrf, self._csrf_session = match.group(1), session
            self._csrf_page = page or self._csrf_page

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
