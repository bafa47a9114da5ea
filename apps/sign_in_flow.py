"""What the sign-in pages share: the two legs of an OpenID Connect sign-in (citizens and staff), and the
limit on password attempts (staff and platform administrators)."""

from __future__ import annotations

import dataclasses

from litestar import Request
from litestar.response import Redirect

from apps.pages import scope_of, town_link
from domain import sign_in
from infra import oidc
from infra.ratelimit import SIGN_IN_PER_ACCOUNT, SIGN_IN_PER_ADDRESS, RateLimiter
from infra.settings import Settings

PENDING = "oidc_pending"


async def start(request: Request, settings: Settings, row: dict, callback_path: str) -> Redirect:
    redirect_uri = town_link(request, settings, callback_path)
    url, pending = await oidc.begin(sign_in.config_of(row), redirect_uri)
    request.set_session(
        {**(request.session or {}), PENDING: {**dataclasses.asdict(pending), "provider": row["id"]}}
    )
    return Redirect(url, status_code=302)


async def finish(request: Request, audience: str) -> tuple[dict, oidc.Identity]:
    """The provider row and the identity it vouches for; OidcError or SignInRefused otherwise."""
    saved = dict((request.session or {}).get(PENDING) or {})
    if not saved:
        raise oidc.OidcError("This sign-in did not start here, or it took too long. Please start again.")
    provider_id = saved.pop("provider")
    row = await sign_in.provider(scope_of(request), provider_id, audience)
    if row is None:
        raise oidc.OidcError("This sign-in service is no longer offered.")
    identity = await oidc.complete(
        sign_in.config_of(row), oidc.PendingLogin(**saved), dict(request.query_params)
    )
    return row, identity


def _password_counters(request: Request, realm: str, email: str) -> tuple[tuple, tuple]:
    address = request.client.host if request.client else ""
    return (
        (SIGN_IN_PER_ADDRESS, f"{realm}:{address}"),
        (SIGN_IN_PER_ACCOUNT, f"{realm}:{email.strip().lower()}:{address}"),
    )


async def may_try_password(limiter: RateLimiter, request: Request, realm: str, email: str) -> bool:
    """Counts the attempt; False once this address has failed too often, on any account or on this one.
    `realm` keeps towns (and the platform) apart."""
    for limit, who in _password_counters(request, realm, email):
        if not await limiter.allow(limit, who):
            return False
    return True


async def password_was_right(limiter: RateLimiter, request: Request, realm: str, email: str) -> None:
    """A right password is no failure: it gives back what `may_try_password` counted."""
    for limit, who in _password_counters(request, realm, email):
        await limiter.forgive(limit, who)
