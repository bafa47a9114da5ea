"""Resolve the tenant from the Host header before anything else runs, and fail closed.

An unknown host gets 404; there is no default tenant. The request's language is chosen here too, from the
tenant's offered languages, so every template and message below speaks it.
"""

from __future__ import annotations

from http.cookies import SimpleCookie

from litestar.types import ASGIApp, HTTPResponseStartEvent, Receive, Scope, Send

from infra.database import request_slot
from infra.i18n import current_language, pick_language
from tenants.resolve import TenantResolver

LANGUAGE_COOKIE = "lang"
NOT_FOUND_PAGE = (
    b"<!doctype html><html lang=en><meta charset=utf-8><title>Not found</title>"
    b"<h1>No municipality answers at this address</h1>"
    b"<p>Check the address, or go to your municipality's website.</p></html>"
)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return ""


class TenantMiddleware:
    def __init__(self, app: ASGIApp, resolver: TenantResolver, exempt_prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.resolver = resolver
        self.exempt_prefixes = exempt_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt_prefixes):
            await self.app(scope, receive, send)
            return
        tenant = await self.resolver.resolve(_header(scope, b"host"))
        if tenant is None:
            start: HTTPResponseStartEvent = {
                "type": "http.response.start",
                "status": 404,
                "headers": [(b"content-type", b"text/html; charset=utf-8")],
            }
            await send(start)
            await send({"type": "http.response.body", "body": NOT_FOUND_PAGE, "more_body": False})
            return
        scope.setdefault("state", {})["tenant"] = tenant
        cookie = SimpleCookie(_header(scope, b"cookie"))
        chosen = cookie[LANGUAGE_COOKIE].value if LANGUAGE_COOKIE in cookie else None
        language = pick_language(chosen, _header(scope, b"accept-language"), tenant.languages)
        token = current_language.set(language)
        try:
            with request_slot():  # where the `tenant_scope` dependency opens the request's transaction
                await self.app(scope, receive, send)
        finally:
            current_language.reset(token)
