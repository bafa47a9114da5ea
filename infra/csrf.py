"""CSRF protection bound to the session and the host.

A form's token is an HMAC, under the secret key, of the host and of the browser's session: its id once the
browser has a session (signed in, or half-way through signing in), else a random cookie set for the purpose.
A plain double-submit cookie accepts any cookie-and-token pair that match, so a pair obtained elsewhere and
planted in a victim's browser (from a sibling host, say) passes; here a token taken from another session,
another browser or another town does not. The token changes when the session id does, at sign-in.

A request that carries no cookie at all carries no authority to abuse: it is let through when the browser
says it comes from one of this host's own pages (`Origin`). That is the citizen's form embedded in the
town's website, where the browser keeps no cookie of a frame from another site.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from litestar import Request
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.exceptions import PermissionDeniedException
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

COOKIE = "csrftoken"
FIELD = "_csrf_token"
HEADER = "x-csrftoken"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Its wording is what the error handler recognises to show the "your form expired" page.
REFUSED = "CSRF token verification failed"


class CsrfMiddleware:
    """Placed after the session middleware, so the session is loaded when the token is worked out."""

    def __init__(
        self,
        app: ASGIApp,
        secret: str,
        session_cookie: str,
        secure: bool,
        exempt_prefixes: tuple[str, ...] = (),
    ) -> None:
        """`exempt_prefixes`: paths whose callers authenticate with a key they send, never with a cookie."""
        self.app = app
        self.exempt_prefixes = exempt_prefixes
        self.secret = secret.encode()
        self.session_cookie = session_cookie
        self.secure = secure

    def token(self, request: Request, browser: str) -> str:
        session_id = request.cookies.get(self.session_cookie)
        anchor = (
            f"session:{session_id}" if request.scope.get("session") and session_id else f"browser:{browser}"
        )
        message = f"{(request.url.hostname or '').lower()}\n{anchor}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt_prefixes):
            await self.app(scope, receive, send)
            return
        request: Request = Request(scope, receive)
        browser = request.cookies.get(COOKIE) or ""
        new_cookie = "" if browser else secrets.token_urlsafe(32)
        expected = self.token(request, browser or new_cookie)
        if request.method not in SAFE_METHODS and not _cookieless_from_own_page(request):
            sent = request.headers.get(HEADER) or await _form_token(request)
            if not browser or not hmac.compare_digest(sent.encode(), expected.encode()):
                raise PermissionDeniedException(REFUSED)
        ScopeState.from_scope(scope).csrf_token = expected
        await self.app(scope, receive, self._setting_cookie(send, new_cookie) if new_cookie else send)

    def _setting_cookie(self, send: Send, value: str) -> Send:
        """Gives the browser its cookie with the first page (not with images, scripts or redirects)."""

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                if (headers.get("content-type") or "").startswith("text/html"):
                    cookie = Cookie(
                        key=COOKIE, value=value, secure=self.secure, httponly=True, samesite="lax"
                    )
                    headers.add("set-cookie", cookie.to_header(header=""))
            await send(message)

        return send_with_cookie


def _cookieless_from_own_page(request: Request) -> bool:
    origin = request.headers.get("origin") or ""
    host = (request.headers.get("host") or "").lower()
    return not request.cookies and bool(host) and origin.lower().partition("://")[2] == host


async def _form_token(request: Request) -> str:
    if request.content_type[0] not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return ""
    return str((await request.form()).get(FIELD) or "")
