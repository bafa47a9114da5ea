"""A real OpenID provider on 127.0.0.1 for the tests: `oidc-provider-mock` (Flask on Authlib's server side),
served by werkzeug in a thread. The mock does not check PKCE at all, so a thin WSGI layer in front of it does
(S256, required), and the same layer lets a test make it misbehave the way a hostile or misconfigured provider
would: answer under another host name, or hand out a token response that belongs to someone else."""

from __future__ import annotations

import io
import threading
import warnings
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import httpx
import werkzeug.serving
from authlib.deprecate import AuthlibDeprecationWarning
from authlib.oauth2.rfc7636 import create_s256_code_challenge

with warnings.catch_warnings():
    # The mock still imports `authlib.jose`; that deprecation is the mock's business, not ours.
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    import oidc_provider_mock

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class OidcProvider:
    """Start with `with OidcProvider() as provider:`; clients must be registered (`register_client`)."""

    def __init__(self) -> None:
        self._server: werkzeug.serving.BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._challenges: dict[str, str | None] = {}
        self.reset()

    def reset(self) -> None:
        """Undo whatever misbehaviour the previous test asked for."""
        self.host_override: dict[str, str] = {}
        self.next_token_response: bytes | None = None
        self.last_token_response: bytes | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "the provider is not running"
        return self._server.server_port

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> OidcProvider:
        app = oidc_provider_mock.app(require_client_registration=True, require_nonce=True)
        self._server = werkzeug.serving.make_server("127.0.0.1", 0, self._wrap(app), threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1})
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._thread.join(5)
        self._server.server_close()

    async def register_client(self, redirect_uri: str) -> tuple[str, str]:
        """Dynamic client registration (RFC 7591), as a tenant's administrator would register the portal."""
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.post(
                f"{self.issuer}/oauth2/clients", json={"redirect_uris": [redirect_uri]}
            )
        response.raise_for_status()
        client = response.json()
        return client["client_id"], client["client_secret"]

    async def set_user(self, sub: str, claims: dict[str, Any]) -> None:
        """The claims the provider will put in this subject's ID token (custom ones such as `groups` too)."""
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.put(f"{self.issuer}/users/{quote(sub, safe='')}", json=claims)
        assert response.status_code == 204, response.text

    async def sign_in(self, authorization_url: str, sub: str, *, deny: bool = False) -> httpx.URL:
        """What a person's browser does: open the provider's page, submit its form, and come back with the
        redirect the provider answers with (not followed: the test hands it to the portal's code)."""
        async with httpx.AsyncClient(timeout=10) as browser:
            page = await browser.get(authorization_url)
            assert page.status_code == 200 and 'name="sub"' in page.text, page.text
            # The form has no action attribute: it posts back to the authorization URL itself.
            form = {"action": "deny"} if deny else {"sub": sub}
            answer = await browser.post(authorization_url, data=form)
        assert answer.status_code == 302, answer.text
        return httpx.URL(answer.headers["location"])

    def _wrap(self, app: WsgiApp) -> WsgiApp:
        def provider(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            path = environ.get("PATH_INFO", "")
            if path in self.host_override:
                environ["HTTP_HOST"] = self.host_override[path]
            if path == "/oauth2/authorize" and environ["REQUEST_METHOD"] == "POST":
                return app(environ, self._remember_challenge(environ, start_response))
            if path == "/oauth2/token" and environ["REQUEST_METHOD"] == "POST":
                return self._token(app, environ, start_response)
            return app(environ, start_response)

        return provider

    def _remember_challenge(self, environ: dict[str, Any], start_response: Callable[..., Any]):
        """Notes the S256 challenge of the authorization request against the code the mock issues for it."""
        query = dict(parse_qsl(environ.get("QUERY_STRING", "")))
        challenge = query.get("code_challenge") if query.get("code_challenge_method") == "S256" else None

        def remember(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
            for name, value in headers:
                code = (
                    dict(parse_qsl(urlsplit(value).query)).get("code") if name.lower() == "location" else None
                )
                if code:
                    self._challenges[code] = challenge
            return start_response(status, headers, exc_info)

        return remember

    def _token(
        self, app: WsgiApp, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        form = dict(parse_qsl(body.decode()))
        if form.get("grant_type") == "authorization_code":
            challenge = self._challenges.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier")
            if not challenge or not verifier or create_s256_code_challenge(verifier) != challenge:
                return _json(start_response, "400 Bad Request", b'{"error": "invalid_grant"}')
        if self.next_token_response is not None:
            planted, self.next_token_response = self.next_token_response, None
            return _json(start_response, "200 OK", planted)
        chunks = app(environ, start_response)
        try:
            self.last_token_response = b"".join(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()
        return [self.last_token_response]


def _json(start_response: Callable[..., Any], status: str, body: bytes) -> list[bytes]:
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
