"""Security headers on every response, with the embedding origins of the tenant being served."""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send

# No inline scripts anywhere: htmx and every other script load from our own origin. Inline styles are
# allowed for the tenant's brand colours.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'self'; object-src 'none'; "
    "frame-ancestors {ancestors}"
)


def frame_ancestors(embed_origins: str) -> str:
    origins = [origin for origin in embed_origins.split() if origin.startswith(("https://", "http://"))]
    return " ".join(["'self'", *origins])


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, development: bool) -> None:
        self.app = app
        self.development = development

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                tenant = scope.get("state", {}).get("tenant")
                headers = MutableScopeHeaders.from_message(message)
                ancestors = frame_ancestors(tenant.embed_origins if tenant else "")
                headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.format(ancestors=ancestors)
                # Status pages carry their key in the address: never send it to another site.
                headers["Referrer-Policy"] = "same-origin"
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(self)"
                if not self.development:
                    headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
            await send(message)

        await self.app(scope, receive, send_with_headers)
