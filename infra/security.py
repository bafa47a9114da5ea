"""The edge: what every request must look like before any handler sees it, and the headers every response
carries, error pages included."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import unquote_plus

from litestar import Request
from litestar.datastructures import FormMultiDict, MutableScopeHeaders, UploadFile
from litestar.exceptions import ClientException
from litestar.types import ASGIApp, HTTPResponseBodyEvent, Message, Receive, Scope, Send

from infra.i18n import gettext

# No inline scripts anywhere: htmx and every other script load from our own origin. Inline styles are
# allowed for the tenant's brand colours. Images may come from any https origin: a town's map tiles come
# from the tile server it configures (domain/places.py), and an image can run nothing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'self'; object-src 'none'; "
    "frame-ancestors {ancestors}"
)
# Control characters nobody types. PostgreSQL cannot store NUL at all, and the others break mail headers,
# logs and exports. Text fields keep tab and line breaks; addresses and query strings keep nothing.
CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
CONTROL_IN_ADDRESS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# A host name or an IP literal, and an optional numeric port: no user information (`a@b`), nothing else.
VALID_HOST = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\])(?::(?P<port>[0-9]{1,5}))?"
)
MAX_PORT = 65535
# File systems refuse longer names; no page of ours has a path segment anywhere near it.
MAX_SEGMENT = 255
MAX_PATH = 2048
# Static assets carry no personal data and may be cached; every other answer may.
CACHEABLE_PREFIXES = ("/static/",)


def frame_ancestors(embed_origins: str) -> str:
    origins = [origin for origin in embed_origins.split() if origin.startswith(("https://", "http://"))]
    return " ".join(["'self'", *origins])


def security_headers(development: bool):
    """A `before_send` hook rather than a middleware: it also sees the answers Litestar gives before any
    route runs (an unknown path, a refused method), which route middleware never does."""

    async def add_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        tenant = scope.get("state", {}).get("tenant")
        headers = MutableScopeHeaders.from_message(message)
        ancestors = frame_ancestors(tenant.embed_origins if tenant else "")
        headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.format(ancestors=ancestors)
        # Status pages carry their key in the address: never send it to another site.
        headers["Referrer-Policy"] = "same-origin"
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(self)"
        if not development:
            headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        # Status pages, receipts, photos, the staff's pages and exports hold personal data: no browser or
        # proxy cache keeps a copy, and the back button after signing out shows nothing.
        if "cache-control" not in headers and not scope.get("path", "").startswith(CACHEABLE_PREFIXES):
            headers["Cache-Control"] = "no-store"

    return add_headers


def refusal(scope: Scope) -> tuple[int, str] | None:
    """Why this request is refused before routing, if it is: a forged Host, control characters in the
    address, or a path no file system could hold."""
    host = next((value.decode("latin-1") for key, value in scope.get("headers", []) if key == b"host"), "")
    valid = VALID_HOST.fullmatch(host) if host else None
    if host and (valid is None or int(valid["port"] or 0) > MAX_PORT):
        return 400, "This address is not valid."
    path, query = scope.get("path", ""), scope.get("query_string", b"").decode("latin-1")
    if CONTROL_IN_ADDRESS.search(path) or CONTROL_IN_ADDRESS.search(unquote_plus(query)):
        return 400, "This address contains characters that are not allowed."
    if len(path) > MAX_PATH or any(len(segment) > MAX_SEGMENT for segment in path.split("/")):
        return 404, "There is nothing at this address."
    return None


class EdgeMiddleware:
    """Refuses malformed requests with a plain 4xx page before the tenant is looked up. The page is not
    translated: nothing about the request, its town included, can be trusted yet."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refused = refusal(scope) if scope["type"] == "http" else None
        if refused is None:
            await self.app(scope, receive, send)
            return
        status, text = refused
        body = f"<!doctype html><html lang=en><meta charset=utf-8><title>{status}</title><h1>{text}</h1>"
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"text/html; charset=utf-8")],
            }
        )
        end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body.encode(), "more_body": False}
        await send(end)


def text_is_clean(value: str) -> bool:
    return CONTROL_IN_TEXT.search(value) is None


class CheckedRequest(Request):
    """Every form the portal reads passes through here, so no handler ever sees a control character."""

    async def form(self) -> FormMultiDict:
        form = await super().form()
        for name, value in form.multi_items():
            text = value.filename if isinstance(value, UploadFile) else value
            if not (text_is_clean(name) and text_is_clean(str(text or ""))):
                raise ClientException(
                    gettext(
                        "The form contains characters that cannot be accepted (invisible control "
                        "characters). Remove them, or type the text again, and send it again."
                    )
                )
        return form

    async def json(self):
        data = await super().json()
        if not _json_is_clean(data):
            raise ClientException(gettext("The data contains characters that cannot be accepted."))
        return data


def _json_is_clean(data) -> bool:
    if isinstance(data, str):
        return text_is_clean(data)
    if isinstance(data, dict):
        return all(_json_is_clean(key) and _json_is_clean(value) for key, value in data.items())
    if isinstance(data, list):
        return all(_json_is_clean(item) for item in data)
    return True


def token_digest(token: str) -> str:
    """What the portal keeps of a token it mails in a single-use link: the table opens nothing if it leaks."""
    return hashlib.sha256(token.encode()).hexdigest()
