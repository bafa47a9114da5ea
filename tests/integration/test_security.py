"""Session and request hygiene: headers, rate limits, session rotation and timeouts, deactivation."""

import asyncio
import dataclasses
import json
import os
import subprocess
import sys

import pytest

from apps.demo import DEMO_PASSWORD
from apps.web import create_app
from domain.staff import hash_password
from domain.tables import StaffUser
from infra.database import cross_tenant
from infra.settings import DEVELOPMENT_SECRET_KEY, PROJECT_ROOT, SettingsError
from infra.temporal_dev import free_port
from tenants.tables import PlatformAdmin, Tenant
from tests.support.factories import make_town, valid_form
from tests.support.portal import PortalClient
from tests.support.services import offline_settings

OFFLINE = offline_settings()


@pytest.fixture(scope="module")
async def platform_admin() -> str:
    email = "timeouts@platform.test"
    async with cross_tenant("test: a platform administrator"):
        if not await PlatformAdmin.exists().where(PlatformAdmin.email == email):
            await PlatformAdmin(email=email, name="Root", password_hash=hash_password(DEMO_PASSWORD)).save()
    return email


async def test_every_page_carries_the_security_headers_with_the_towns_embedding_origins():
    town = await make_town()
    async with town.scope.transaction():
        await Tenant.update(
            {Tenant.embed_origins: "https://www.testville.example javascript:alert(1)"}
        ).where(Tenant.id == town.id)
    production = create_app(dataclasses.replace(OFFLINE, development=False, secret_key="k" * 40))
    async with PortalClient(production, town.host) as portal:
        headers = (await portal.get("/")).headers
    policy = headers["content-security-policy"]
    assert "script-src 'self';" in policy and "unsafe-eval" not in policy
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    assert policy.endswith("frame-ancestors 'self' https://www.testville.example")
    assert headers["referrer-policy"] == "same-origin"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["strict-transport-security"].startswith("max-age=")
    cookie = headers.get("set-cookie", "")
    assert "csrftoken=" in cookie and "HttpOnly" in cookie and "Secure" in cookie and "SameSite=lax" in cookie


async def test_development_does_not_send_hsts():
    town = await make_town()
    async with PortalClient(create_app(OFFLINE), town.host) as portal:
        assert "strict-transport-security" not in (await portal.get("/")).headers


async def test_a_flood_of_submissions_is_slowed_down_without_losing_what_was_typed():
    town = await make_town()
    async with PortalClient(create_app(OFFLINE), town.host) as portal:
        answers = [await portal.submit(valid_form(contact_email=f"person{n}@example.com")) for n in range(31)]
    assert [answer.status_code for answer in answers[:30]] == [303] * 30
    refused = answers[30]
    assert refused.status_code == 429
    assert "wait a few minutes" in refused.text and 'value="person30@example.com"' in refused.text


async def test_one_email_address_cannot_submit_without_end():
    town = await make_town()
    async with PortalClient(create_app(OFFLINE), town.host) as portal:
        answers = [await portal.submit(valid_form(contact_email="same@example.com")) for _ in range(11)]
    assert [answer.status_code for answer in answers] == [303] * 10 + [429]


async def test_guessing_a_password_is_slowed_down():
    town = await make_town()
    async with PortalClient(create_app(OFFLINE), town.host) as intruder:
        answers = [await intruder.login(town.admin_email, f"guess-{n}") for n in range(6)]
        still_refused = await intruder.login(town.admin_email, town.password)
    assert [answer.status_code for answer in answers] == [422] * 5 + [429]
    assert still_refused.status_code == 429 and "Too many attempts" in still_refused.text


async def test_signing_in_gives_a_new_session_id_so_a_planted_one_is_worthless():
    town = await make_town()
    async with PortalClient(create_app(OFFLINE), town.host) as clerk:
        planted = "a" * 64
        clerk.http.cookies.set("portal_session", planted, domain=town.host)
        response = await clerk.login(town.admin_email, town.password)
        assert response.status_code == 303
        issued = clerk.http.cookies.get("portal_session", domain=town.host)
        assert issued and issued != planted
        assert (await clerk.get("/admin/requests")).status_code == 200
    async with PortalClient(create_app(OFFLINE), town.host) as attacker:
        attacker.http.cookies.set("portal_session", planted, domain=town.host)
        assert (await attacker.get("/admin/requests")).status_code == 303


async def test_deactivating_a_member_of_staff_ends_their_session_at_once():
    town = await make_town()
    async with PortalClient(create_app(OFFLINE), town.host) as clerk:
        await clerk.login(town.roads_email, town.password)
        assert (await clerk.get("/admin/requests")).status_code == 200
        async with town.scope.transaction():
            await StaffUser.update({StaffUser.active: False}).where(StaffUser.email == town.roads_email)
        assert (await clerk.get("/admin/requests")).status_code == 303


async def test_visitors_who_never_sign_in_get_no_session():
    town = await make_town()
    async with PortalClient(create_app(OFFLINE), town.host) as visitor:
        for path in ("/", "/status", "/healthz", "/static/portal.css"):
            response = await visitor.get(path)
            assert "portal_session" not in response.headers.get("set-cookie", ""), path


async def test_the_session_cookie_lasts_as_long_as_the_longest_session_the_settings_allow():
    town = await make_town()
    for citizen_seconds, staff_seconds in ((40 * 24 * 3600, 8 * 3600), (3600, 7200)):
        settings = dataclasses.replace(
            OFFLINE, citizen_session_seconds=citizen_seconds, session_absolute_seconds=staff_seconds
        )
        async with PortalClient(create_app(settings), town.host) as clerk:
            cookie = (await clerk.login(town.admin_email, town.password)).headers["set-cookie"]
        assert f"Max-Age={max(citizen_seconds, staff_seconds)};" in cookie, cookie


def test_production_refuses_the_development_secret_key_or_a_short_one():
    for key in (DEVELOPMENT_SECRET_KEY, "too-short"):
        with pytest.raises(SettingsError, match="SECRET_KEY must be a random value of at least 32"):
            dataclasses.replace(OFFLINE, development=False, secret_key=key)
    assert dataclasses.replace(OFFLINE, development=False, secret_key="k" * 32).secret_key == "k" * 32
    assert dataclasses.replace(OFFLINE, secret_key=DEVELOPMENT_SECRET_KEY).development  # fine on a laptop


def test_the_web_process_does_not_start_in_production_with_the_development_secret_key():
    env = {**os.environ, "DEVELOPMENT": "false", "PYTHONPATH": str(PROJECT_ROOT)}
    env.pop("SECRET_KEY", None)
    command = [sys.executable, "-m", "apps.cli", "web", "--port", str(free_port())]  # what production runs
    started = subprocess.run(command, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert started.returncode != 0
    assert "SECRET_KEY must be a random value" in started.stderr, started.stderr[-2000:]


async def test_signing_in_correctly_again_and_again_never_locks_the_account():
    town = await make_town()
    app = create_app(OFFLINE)
    for _ in range(8):
        async with PortalClient(app, town.host) as clerk:
            assert (await clerk.login(town.roads_email, town.password)).status_code == 303
    async with PortalClient(app, town.host) as clerk:  # a slip of the finger between them counts, alone
        answers = [await clerk.login(town.roads_email, password) for password in ("typo", town.password) * 3]
    assert [answer.status_code for answer in answers] == [422, 303] * 3


async def test_a_stranger_guessing_a_clerks_password_cannot_lock_the_clerk_out():
    town = await make_town()
    app = create_app(OFFLINE)
    async with PortalClient(app, town.host, address="203.0.113.66") as stranger:
        guesses = [await stranger.login(town.roads_email, f"guess-{n}") for n in range(7)]
        assert [guess.status_code for guess in guesses] == [422] * 5 + [429] * 2
        assert (await stranger.login(town.roads_email, town.password)).status_code == 429
    async with PortalClient(app, town.host, address="198.51.100.7") as clerk:
        assert (await clerk.login(town.roads_email, town.password)).status_code == 303
        assert (await clerk.get("/admin/requests")).status_code == 200


async def test_a_stranger_guessing_a_platform_administrators_password_cannot_lock_them_out(platform_admin):
    app = create_app(OFFLINE)

    async def attempt(address: str, password: str) -> int:
        async with PortalClient(app, "localhost", address=address) as client:
            await client.get("/platform/login")
            answer = await client.post("/platform/login", {"email": platform_admin, "password": password})
            return answer.status_code

    guesses = [await attempt("203.0.113.70", f"guess-{n}") for n in range(6)]
    assert guesses == [422] * 5 + [429]
    assert await attempt("203.0.113.70", DEMO_PASSWORD) == 429
    assert [await attempt("198.51.100.8", DEMO_PASSWORD) for _ in range(7)] == [303] * 7


async def test_one_address_guessing_across_many_accounts_is_stopped():
    town = await make_town()
    async with PortalClient(create_app(OFFLINE), town.host, address="203.0.113.67") as sprayer:
        answers = [await sprayer.login(f"person{n}@{town.slug}.test", "Winter2026!") for n in range(21)]
    assert [answer.status_code for answer in answers] == [422] * 20 + [429]


async def test_simultaneous_guesses_are_counted_before_the_password_is_checked():
    town = await make_town()
    app = create_app(OFFLINE)
    clients = [PortalClient(app, town.host, address="203.0.113.68") for _ in range(10)]
    for client in clients:
        await client.get("/admin/login")
    answers = await asyncio.gather(
        *(client.post("/admin/login", {"email": town.roads_email, "password": "guess"}) for client in clients)
    )
    assert sorted(answer.status_code for answer in answers) == [422] * 5 + [429] * 5
    for client in clients:
        await client.__aexit__()


async def backdate_session(app, client: PortalClient, **seconds: float) -> None:
    """Moves the session's sign-in or last-visit time (`signed_in_at`, `seen_at`) back, as if that much
    time had passed, in the real session store."""
    store, session_id = app.stores.get("sessions"), client.session_id()
    data = json.loads(await store.get(session_id))
    for field, back in seconds.items():
        data[field] -= back
    await store.set(session_id, json.dumps(data).encode())


async def signed_in(app, who: str, town, platform_email: str) -> tuple[PortalClient, str, str]:
    """A signed-in client (staff or platform administrator), a page of theirs, and their sign-in page."""
    if who == "staff":
        client = PortalClient(app, town.host)
        assert (await client.login(town.admin_email, town.password)).status_code == 303
        return client, "/admin/requests", "/admin/login"
    client = PortalClient(app, "localhost")
    await client.get("/platform/login")
    answer = await client.post("/platform/login", {"email": platform_email, "password": DEMO_PASSWORD})
    assert answer.status_code == 303
    return client, "/platform/", "/platform/login"


@pytest.mark.parametrize("limit", ["idle", "absolute"])
@pytest.mark.parametrize("who", ["staff", "platform"])
async def test_a_session_ends_when_idle_too_long_and_at_its_absolute_limit_even_when_busy(
    platform_admin, who, limit
):
    settings = dataclasses.replace(OFFLINE, session_idle_seconds=600, session_absolute_seconds=3600)
    app = create_app(settings)
    client, home, sign_in_page = await signed_in(app, who, await make_town(), platform_admin)
    async with client:
        if limit == "idle":
            await backdate_session(app, client, seen_at=590, signed_in_at=590)
            assert (await client.get(home)).status_code == 200  # 590 s without a request: still in
            await backdate_session(app, client, seen_at=610, signed_in_at=610)
        else:
            for _ in range(3):  # busy all along: nearly an hour in
                await backdate_session(app, client, signed_in_at=1190)
                assert (await client.get(home)).status_code == 200
            await backdate_session(app, client, signed_in_at=40)
        assert (await client.get(home)).headers.get("location") == sign_in_page
        assert (await client.get(home)).headers.get("location") == sign_in_page  # and it stays ended
