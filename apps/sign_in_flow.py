"""The two legs of an OpenID Connect sign-in, shared by the citizens' and the staff's pages."""

from __future__ import annotations

import dataclasses

from litestar import Request
from litestar.response import Redirect

from apps.pages import scope_of, town_link
from domain import sign_in
from infra import oidc
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
