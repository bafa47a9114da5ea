"""The OpenID Connect client against a real provider on 127.0.0.1, driven as a browser would: the portal's
`begin()`, the provider's sign-in form, the redirect back, the portal's `complete()`. Each refusal fails for
its own reason, checked by the message the person would see."""

from __future__ import annotations

import time
from dataclasses import replace

import httpx
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc.jwk import RSAKey

from infra import oidc
from infra.oidc import OidcError, ProviderConfig
from tests.support.oidc_provider import OidcProvider

# The provider's own (server-side) use of Authlib is deprecated; nothing of ours is silenced here.
pytestmark = pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning")

REDIRECT_URI = "http://127.0.0.1:8000/auth/oidc/callback"
ALICE = {
    "email": "alice@springfield.example",
    "email_verified": True,
    "name": "Alice Citizen",
    "groups": ["staff", "roads"],
}


@pytest.fixture(scope="module")
def provider():
    with OidcProvider() as running:
        yield running


@pytest.fixture(autouse=True)
def fresh(provider):
    oidc.clear_caches()
    provider.reset()


@pytest.fixture
async def tenant(provider) -> ProviderConfig:
    client_id, client_secret = await provider.register_client(REDIRECT_URI)
    await provider.set_user("alice-1", ALICE)
    return ProviderConfig(issuer=provider.issuer, client_id=client_id, client_secret=client_secret)


def params(callback: httpx.URL) -> dict[str, str]:
    return dict(callback.params)


async def test_sign_in_with_pkce_returns_the_identity(provider, tenant):
    url, pending = await oidc.begin(tenant, REDIRECT_URI)

    request = httpx.URL(url)
    assert str(request.copy_with(query=None)) == f"{provider.issuer}/oauth2/authorize"
    assert request.params["client_id"] == tenant.client_id
    assert request.params["response_type"] == "code"
    assert request.params["scope"] == "openid email profile"
    assert request.params["state"] == pending.state
    assert request.params["nonce"] == pending.nonce
    assert request.params["code_challenge_method"] == "S256"
    assert request.params["code_challenge"] == create_s256_code_challenge(pending.code_verifier)

    callback = await provider.sign_in(url, "alice-1")
    assert str(callback.copy_with(query=None)) == REDIRECT_URI
    identity = await oidc.complete(tenant, pending, params(callback))

    assert identity.subject == "alice-1"
    assert identity.email == "alice@springfield.example"
    assert identity.email_verified is True
    assert identity.name == "Alice Citizen"
    assert identity.groups == ("staff", "roads")
    assert identity.claims["iss"] == provider.issuer
    assert identity.claims["nonce"] == pending.nonce
    assert identity.claims["exp"] > time.time()


async def test_a_user_without_optional_claims(provider, tenant):
    await provider.set_user("bob-2", {"email": "bob@springfield.example"})
    url, pending = await oidc.begin(tenant, REDIRECT_URI)
    identity = await oidc.complete(tenant, pending, params(await provider.sign_in(url, "bob-2")))
    assert (identity.subject, identity.email, identity.email_verified) == (
        "bob-2",
        "bob@springfield.example",
        False,
    )
    assert identity.name is None and identity.groups == ()


async def test_wrong_state_is_refused_before_the_code_is_spent(provider, tenant):
    url, pending = await oidc.begin(tenant, REDIRECT_URI)
    callback = params(await provider.sign_in(url, "alice-1"))

    with pytest.raises(OidcError, match="does not belong to this browser session"):
        await oidc.complete(tenant, pending, {**callback, "state": "forged-" + pending.state})
    with pytest.raises(OidcError, match="does not belong to this browser session"):
        await oidc.complete(tenant, pending, {"code": callback["code"]})

    # The code was never sent to the provider, so the genuine callback still works.
    assert (await oidc.complete(tenant, pending, callback)).subject == "alice-1"


async def test_nonce_must_match_the_pending_login(provider, tenant):
    url, pending = await oidc.begin(tenant, REDIRECT_URI)
    callback = params(await provider.sign_in(url, "alice-1"))

    with pytest.raises(OidcError, match="nonce mismatch"):
        await oidc.complete(tenant, replace(pending, nonce="another-attempts-nonce"), callback)


async def test_provider_refuses_a_wrong_pkce_verifier(provider, tenant):
    url, pending = await oidc.begin(tenant, REDIRECT_URI)
    callback = params(await provider.sign_in(url, "alice-1"))

    with pytest.raises(OidcError, match="invalid_grant"):
        await oidc.complete(tenant, replace(pending, code_verifier="x" * 64), callback)


async def test_token_issued_to_another_client_is_refused(provider, tenant):
    """Another application registered at the same provider gets a genuine, correctly signed ID token for the
    same person and the same nonce; when it is presented to the portal its audience gives it away."""
    other_id, other_secret = await provider.register_client(REDIRECT_URI)
    other = ProviderConfig(issuer=provider.issuer, client_id=other_id, client_secret=other_secret)

    url, pending = await oidc.begin(tenant, REDIRECT_URI)
    other_url, other_pending = await oidc.begin(other, REDIRECT_URI)
    other_url = str(httpx.URL(other_url).copy_set_param("nonce", pending.nonce))
    other_callback = params(await provider.sign_in(other_url, "alice-1"))
    assert (await oidc.complete(other, replace(other_pending, nonce=pending.nonce), other_callback)).subject

    provider.next_token_response = provider.last_token_response
    with pytest.raises(OidcError, match="audience mismatch"):
        await oidc.complete(tenant, pending, params(await provider.sign_in(url, "alice-1")))


async def test_wrong_client_secret_is_refused(provider, tenant):
    url, pending = await oidc.begin(tenant, REDIRECT_URI)
    callback = params(await provider.sign_in(url, "alice-1"))

    with pytest.raises(OidcError, match="invalid_client"):
        await oidc.complete(replace(tenant, client_secret="not-the-secret"), pending, callback)


async def test_access_denied_at_the_provider(provider, tenant):
    url, pending = await oidc.begin(tenant, REDIRECT_URI)
    callback = params(await provider.sign_in(url, "alice-1", deny=True))
    assert callback["error"] == "access_denied"

    with pytest.raises(OidcError, match="cancelled or refused"):
        await oidc.complete(tenant, pending, callback)


async def test_callback_naming_another_issuer_is_refused(provider, tenant):
    """RFC 9207's `iss` in the callback (this provider sends none; a mixed-up one would send its own)."""
    url, pending = await oidc.begin(tenant, REDIRECT_URI)
    callback = params(await provider.sign_in(url, "alice-1"))

    with pytest.raises(OidcError, match="different provider"):
        await oidc.complete(tenant, pending, {**callback, "iss": "https://login.other-town.example"})
    assert (await oidc.complete(tenant, pending, {**callback, "iss": provider.issuer})).subject == "alice-1"


async def test_discovery_naming_another_issuer_is_refused(provider, tenant):
    provider.host_override["/.well-known/openid-configuration"] = f"localhost:{provider.port}"

    with pytest.raises(OidcError, match="configured issuer"):
        await oidc.begin(tenant, REDIRECT_URI)


async def test_id_token_from_another_issuer_is_refused(provider, tenant):
    """The token endpoint answers under another name, so its validly signed ID token names another issuer."""
    url, pending = await oidc.begin(tenant, REDIRECT_URI)
    callback = params(await provider.sign_in(url, "alice-1"))
    provider.host_override["/oauth2/token"] = f"localhost:{provider.port}"

    with pytest.raises(OidcError, match="ID token was issued by a different provider"):
        await oidc.complete(tenant, pending, callback)


async def test_keys_are_refetched_after_a_key_rotation(provider, tenant):
    """A provider that rotated its signing key: the cached key set cannot verify the token (this provider
    sends no `kid`, so it shows as a bad signature, not an unknown `kid`), so the keys are fetched again."""
    url, pending = await oidc.begin(tenant, REDIRECT_URI)
    stale = RSAKey.generate_key(2048, parameters={"kid": "retired-key"})
    oidc._key_sets[f"{provider.issuer}/jwks"] = (
        time.monotonic() + 3600,
        {"keys": [stale.as_dict(private=False)]},
    )

    identity = await oidc.complete(tenant, pending, params(await provider.sign_in(url, "alice-1")))
    assert identity.subject == "alice-1"
