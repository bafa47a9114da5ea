"""OpenID Connect sign-in against each tenant's own provider (citizens and staff alike).

A thin adapter: every OAuth 2.0 / OIDC step is Authlib's. The authorization URL and the code exchange come
from Authlib's `AsyncOAuth2Client` (its httpx2 flavour, which Authlib 1.9 prefers over legacy httpx), the ID
token's signature is checked with `joserfc` (Authlib's JOSE successor; `authlib.jose` is deprecated) and its
claims with Authlib's `CodeIDToken`, the same pieces Authlib's own framework clients use. No web framework and
no database here: the caller keeps the `PendingLogin` in the server-side session between the two legs.

Those libraries are imported by the first sign-in, not when the web starts: they are a sixth of an idle web
process's memory, and most towns sign in with passwords.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import re
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from infra import outbound
from infra.settings import Settings, get_settings

if TYPE_CHECKING:
    import ssl

    import httpx2
    from authlib.integrations.httpx_client import AsyncOAuth2Client

# Every call to a provider is bounded: a slow provider must not hold a worker for long.
TIMEOUT_SECONDS, CONNECT_TIMEOUT_SECONDS = 10.0, 5.0
# Discovery documents and key sets change rarely; a token the cached keys cannot verify refetches them early.
CACHE_SECONDS = 3600
# A discovery document or key set is a few kilobytes; a provider that sends more is not one.
MAX_DOCUMENT_BYTES = 512 * 1024
# Clock skew tolerated between this server and the provider for `exp` and `iat`.
LEEWAY_SECONDS = 60
# Signature algorithms accepted for ID tokens: asymmetric only, so the client secret can never sign one.
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"}
)

_discovered: dict[str, tuple[float, dict[str, Any]]] = {}
_key_sets: dict[str, tuple[float, dict[str, Any]]] = {}


@dataclass(frozen=True)
class ProviderConfig:
    """One tenant's provider as the tenant configured it; `issuer` must match the provider's exactly."""

    issuer: str
    client_id: str
    client_secret: str
    scopes: str = "openid email profile"


@dataclass(frozen=True)
class PendingLogin:
    """The secrets of one sign-in attempt, kept server-side between `begin` and `complete`."""

    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in, from a validated ID token."""

    subject: str
    email: str | None
    email_verified: bool
    name: str | None
    groups: tuple[str, ...]
    claims: dict[str, Any]


class OidcError(Exception):
    """A failed sign-in. The message is safe to show a person: no token, secret or provider-sent text."""


@dataclass(frozen=True)
class Reach:
    """Where this server may send its requests for a town's provider. A town administrator types the
    issuer, so without these rules the server would fetch any address for them, its own loopback and
    the cloud's metadata service included."""

    require_https: bool = True
    # Private, loopback or link-local networks the operator allows anyway (a provider on the intranet).
    allowed_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> Reach:
        return cls(
            require_https=not settings.development,
            allowed_networks=outbound.networks(settings.oidc_allowed_networks),
        )


async def check_reach(url: str, reach: Reach) -> None:
    """Raises OidcError unless `url` is https (or http in development) and every address its host name
    resolves to is public or in a network the operator allows. The name is resolved again when the request
    is made; a provider's DNS that changes its answer in between is outside what this check covers."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise OidcError("The sign-in provider's address is not valid.") from error
    if parts.scheme != "https" and (reach.require_https or parts.scheme != "http"):
        raise OidcError("The sign-in provider's address must use https.")
    if not parts.hostname:
        raise OidcError("The sign-in provider's address is not valid.")
    try:
        await outbound.ensure_public(parts.hostname, port, reach.allowed_networks)
    except outbound.Unreachable as error:
        if error.reason == "not_found":
            raise OidcError("The sign-in provider's address cannot be found.") from error
        raise OidcError("The sign-in provider's address is on a private or local network.") from error


def clear_caches() -> None:
    """Forget discovered metadata and keys, so the next sign-in asks the providers again (tests use it)."""
    _discovered.clear()
    _key_sets.clear()


async def discover(
    config: ProviderConfig, http: httpx2.AsyncClient, reach: Reach | None = None
) -> dict[str, Any]:
    """The provider's `.well-known/openid-configuration`, cached per issuer for `CACHE_SECONDS`.

    The document must name the configured issuer exactly (OIDC Discovery §4.3): otherwise another provider's
    tokens could pass as this tenant's.
    """
    reach = reach or Reach.from_settings(get_settings())
    await check_reach(config.issuer, reach)
    cached = _discovered.get(config.issuer)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    document = await _get_json(http, config.issuer.rstrip("/") + "/.well-known/openid-configuration")
    if document.get("issuer") != config.issuer:
        raise OidcError("The sign-in provider does not identify itself with the configured issuer.")
    for endpoint in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(document.get(endpoint), str):
            raise OidcError("The sign-in provider's configuration is incomplete.")
    if reach.require_https and urlsplit(document["authorization_endpoint"]).scheme != "https":
        raise OidcError("The sign-in provider's address must use https.")
    # The server itself calls these two; only the browser goes to the authorization endpoint.
    for endpoint in ("token_endpoint", "jwks_uri"):
        await check_reach(document[endpoint], reach)
    _discovered[config.issuer] = (time.monotonic() + CACHE_SECONDS, document)
    return document


async def begin(
    config: ProviderConfig,
    redirect_uri: str,
    *,
    http: httpx2.AsyncClient | None = None,
    reach: Reach | None = None,
) -> tuple[str, PendingLogin]:
    """The URL to send the browser to, and what to keep in the session until it comes back.

    `state` ties the callback to this browser, `nonce` ties the ID token to this attempt, and PKCE (S256)
    ties the code to this server even if the code leaks on its way back.
    """
    from authlib.common.security import generate_token

    async with _http(http) as client:
        metadata = await discover(config, client, reach)
    pending = PendingLogin(
        state=generate_token(43),
        nonce=generate_token(43),
        code_verifier=generate_token(64),
        redirect_uri=redirect_uri,
    )
    async with _oauth_client(config, metadata) as oauth:
        url, _ = oauth.create_authorization_url(
            metadata["authorization_endpoint"],
            state=pending.state,
            code_verifier=pending.code_verifier,
            nonce=pending.nonce,
            redirect_uri=redirect_uri,
        )
    return url, pending


async def complete(
    config: ProviderConfig,
    pending: PendingLogin,
    callback_params: Mapping[str, str],
    *,
    http: httpx2.AsyncClient | None = None,
    reach: Reach | None = None,
) -> Identity:
    """Checks the callback, exchanges the code and validates the ID token; raises `OidcError` on any doubt."""
    # An error never signs anyone in, so it is reported whatever its state; only its known code is used.
    if "error" in callback_params:
        raise OidcError(_provider_refusal(callback_params["error"]))
    received_state = callback_params.get("state", "").encode()
    if not hmac.compare_digest(received_state, pending.state.encode()):
        raise OidcError("This sign-in link does not belong to this browser session; please start again.")
    # RFC 9207: a provider that names itself in the callback must be this tenant's (mix-up attacks).
    if "iss" in callback_params and callback_params["iss"] != config.issuer:
        raise OidcError("The sign-in answer came from a different provider than the one configured.")
    code = callback_params.get("code")
    if not code:
        raise OidcError("The sign-in provider sent no authorization code.")
    import httpx2
    from authlib.integrations.httpx_client import OAuthError

    async with _http(http) as client:
        metadata = await discover(config, client, reach)
        async with _oauth_client(config, metadata) as oauth:
            try:
                token = await oauth.fetch_token(
                    metadata["token_endpoint"],
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=pending.code_verifier,
                    redirect_uri=pending.redirect_uri,
                )
            except OAuthError as error:
                raise OidcError(
                    f"The sign-in provider rejected the sign-in ({_code(error.error)})."
                ) from error
            except (httpx2.HTTPError, ValueError) as error:
                raise OidcError("The sign-in provider could not be reached; please try again.") from error
        if not isinstance(token.get("id_token"), str):
            raise OidcError("The sign-in provider sent no ID token.")
        claims = await _validate_id_token(config, metadata, pending, token, client)
    return _identity(claims)


async def _validate_id_token(
    config: ProviderConfig,
    metadata: dict[str, Any],
    pending: PendingLogin,
    token: Mapping[str, Any],
    http: httpx2.AsyncClient,
) -> dict[str, Any]:
    """Signature against the provider's JWKS, then the claims.

    A cached key set that cannot verify the token (unknown `kid`, or a bad signature: some providers, the test
    one included, send no `kid`) is fetched again once, so a provider's key rotation is picked up at once.
    """
    from authlib.oidc.core import CodeIDToken
    from joserfc import jwt
    from joserfc.errors import BadSignatureError, ClaimError, InvalidKeyIdError, JoseError, MissingClaimError
    from joserfc.jwk import KeySet, KeySetSerialization
    from joserfc.jws import JWSRegistry

    offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = [alg for alg in offered if alg in ASYMMETRIC_ALGORITHMS] or ["RS256"]
    registry = JWSRegistry(algorithms=algorithms, strict_check_header=False)
    try:
        try:
            keys = KeySet.import_key_set(cast(KeySetSerialization, await _jwks(metadata["jwks_uri"], http)))
            decoded = jwt.decode(token["id_token"], keys, registry=registry)
        except (InvalidKeyIdError, BadSignatureError):
            keys = KeySet.import_key_set(
                cast(KeySetSerialization, await _jwks(metadata["jwks_uri"], http, refresh=True))
            )
            decoded = jwt.decode(token["id_token"], keys, registry=registry)
    except JoseError as error:
        raise OidcError("The ID token's signature could not be verified.") from error

    claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        options={
            "iss": {"essential": True, "value": metadata["issuer"]},
            "aud": {"essential": True, "value": config.client_id},
            "sub": {"essential": True},
        },
        params={
            "nonce": pending.nonce,
            "client_id": config.client_id,
            "access_token": token.get("access_token"),
        },
    )
    try:
        claims.validate(leeway=LEEWAY_SECONDS)
    except MissingClaimError as error:
        raise OidcError(f"The ID token lacks its '{error.claim}' claim.") from error
    except ClaimError as error:
        raise OidcError(
            _CLAIM_PROBLEMS.get(error.claim, f"The ID token's '{error.claim}' claim is invalid.")
        ) from error
    except JoseError as error:
        raise OidcError("The ID token is invalid.") from error
    return dict(claims)


_CLAIM_PROBLEMS = {
    "iss": "The ID token was issued by a different provider than the one configured.",
    "aud": "The ID token was issued for a different application (audience mismatch).",
    "azp": "The ID token was issued for a different application (authorized party mismatch).",
    "nonce": "The ID token does not belong to this sign-in attempt (nonce mismatch).",
    "exp": "The ID token has expired; please sign in again.",
    "iat": "The ID token's issue time is in the future; check the server clocks.",
    "nbf": "The ID token is not valid yet; check the server clocks.",
    "at_hash": "The ID token does not match the access token.",
}


async def _jwks(uri: str, http: httpx2.AsyncClient, *, refresh: bool = False) -> dict[str, Any]:
    cached = _key_sets.get(uri)
    if cached and cached[0] > time.monotonic() and not refresh:
        return cached[1]
    key_set = await _get_json(http, uri)
    _key_sets[uri] = (time.monotonic() + CACHE_SECONDS, key_set)
    return key_set


async def _get_json(http: httpx2.AsyncClient, url: str) -> dict[str, Any]:
    """Redirects are not followed (they could lead anywhere) and the answer is read up to a cap."""
    import httpx2

    body = bytearray()
    try:
        accept = {"Accept": "application/json"}
        async with http.stream("GET", url, timeout=_timeout(), headers=accept) as answer:
            answer.raise_for_status()
            async for chunk in answer.aiter_bytes():
                body += chunk
                if len(body) > MAX_DOCUMENT_BYTES:
                    raise OidcError("The sign-in provider sent an unexpected answer.")
        document = json.loads(body)
    except (httpx2.HTTPError, ValueError) as error:
        raise OidcError("The sign-in provider could not be reached; please try again.") from error
    if not isinstance(document, dict):
        raise OidcError("The sign-in provider sent an unexpected answer.")
    return document


@asynccontextmanager
async def _http(http: httpx2.AsyncClient | None) -> AsyncIterator[httpx2.AsyncClient]:
    """The caller's client (and its connection pool) if given, else a short-lived one."""
    import httpx2

    if http is not None:
        yield http
    else:
        async with httpx2.AsyncClient(timeout=_timeout(), verify=_tls()) as client:
            yield client


def _timeout() -> httpx2.Timeout:
    import httpx2

    return httpx2.Timeout(TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS)


@cache
def _tls() -> ssl.SSLContext:
    """Loading the CA bundle reads files and takes ~50 ms: done once, by the first sign-in."""
    import httpx2

    return httpx2.create_ssl_context()


def _oauth_client(config: ProviderConfig, metadata: Mapping[str, Any]) -> AsyncOAuth2Client:
    """Authlib's client for this tenant; client_secret_basic unless the provider offers only POST."""
    from authlib.integrations.httpx_client import AsyncOAuth2Client

    methods = metadata.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    auth_method = "client_secret_post" if "client_secret_basic" not in methods else "client_secret_basic"
    return AsyncOAuth2Client(
        client_id=config.client_id,
        client_secret=config.client_secret,
        scope=config.scopes,
        code_challenge_method="S256",
        token_endpoint_auth_method=auth_method,
        timeout=_timeout(),
        verify=_tls(),
    )


def _provider_refusal(error: str) -> str:
    """Only the error code is shown, from a known list: `error_description` is provider text, not ours."""
    if error == "access_denied":
        return "Sign-in was cancelled or refused at the sign-in provider."
    if error in {"login_required", "consent_required", "interaction_required", "account_selection_required"}:
        return "The sign-in provider needs you to sign in again."
    if error == "temporarily_unavailable":
        return "The sign-in provider is temporarily unavailable; please try again."
    return "The sign-in provider could not complete the sign-in."


def _code(error: object) -> str:
    """An OAuth error code fit to show; anything else the provider put there is not repeated."""
    return error if isinstance(error, str) and _ERROR_CODE.fullmatch(error) else "unexpected error"


_ERROR_CODE = re.compile(r"[a-z_]{1,40}")


def _identity(claims: dict[str, Any]) -> Identity:
    email = claims.get("email")
    name = claims.get("name")
    groups = claims.get("groups")
    return Identity(
        subject=str(claims["sub"]),
        email=email if isinstance(email, str) else None,
        # Some providers send the boolean as a string.
        email_verified=claims.get("email_verified") in (True, "true"),
        name=name if isinstance(name, str) else None,
        groups=tuple(g for g in groups if isinstance(g, str)) if isinstance(groups, list) else (),
        claims=claims,
    )
