"""Platform administrators onboard towns from the base host, and reach nothing of any town's requests."""

import re

import pytest

from apps.demo import DEMO_PASSWORD
from apps.web import create_app
from domain.staff import hash_password
from infra.database import cross_tenant
from tenants.onboarding import NEUTRAL_COLOR
from tenants.tables import PlatformAdmin
from tests.support.factories import make_town
from tests.support.portal import PortalClient
from tests.support.services import offline_settings

OFFLINE = offline_settings()


@pytest.fixture(scope="module")
async def platform_admin():
    email = "root@platform.test"
    async with cross_tenant("test: a platform administrator"):
        if not await PlatformAdmin.exists().where(PlatformAdmin.email == email):
            await PlatformAdmin(email=email, name="Root", password_hash=hash_password(DEMO_PASSWORD)).save()
    return email


async def platform_client(app, email: str) -> PortalClient:
    client = PortalClient(app, "localhost")
    await client.get("/platform/login")
    response = await client.post("/platform/login", {"email": email, "password": DEMO_PASSWORD})
    assert response.status_code == 303
    return client


async def test_onboarding_a_town_makes_a_working_portal_with_its_first_administrator(platform_admin):
    app = create_app(OFFLINE)
    async with await platform_client(app, platform_admin) as platform:
        form = await platform.get("/platform/towns/new")
        assert form.status_code == 200
        bad = await platform.post(
            "/platform/towns/new",
            {
                "name": "Ogdenville",
                "slug": "Not OK!",
                "prefix": "o",
                "timezone": "Mars/Olympus",
                "contact_email": "311 at ogdenville",
                "admin_name": "",
                "admin_email": "nope",
            },
        )
        assert bad.status_code == 422 and 'value="Ogdenville"' in bad.text
        assert bad.text.count('class="error-message"') == 6
        done = await platform.post(
            "/platform/towns/new",
            {
                "name": "Ogdenville",
                "slug": "ogdenville",
                "prefix": "OGD",
                "timezone": "America/Winnipeg",
                "contact_email": "311@ogdenville.example",
                "admin_name": "Olga",
                "admin_email": "olga@ogdenville.example",
            },
        )
        assert done.status_code == 200
        password = re.search(r'class="secret">([^<]+)<', done.text).group(1)
        again = await platform.post(
            "/platform/towns/new",
            {
                "name": "Ogdenville 2",
                "slug": "ogdenville",
                "prefix": "OGD",
                "timezone": "UTC",
                "admin_name": "X",
                "admin_email": "x@example.com",
            },
        )
        assert again.status_code == 422 and "already has this address" in again.text
    async with PortalClient(app, "ogdenville.localhost") as town:
        portal = (await town.get("/")).text
        assert "Ogdenville" in portal and "Roads: Pothole" in portal
        # Its own neutral look, not the demo town's colours, and its public contact, not Olga's address.
        assert f"--brand: {NEUTRAL_COLOR};" in portal and "#1d4f91" not in portal
        assert re.search(r'<span class="logo"[^>]*><svg[^>]*>.*>O</text></svg>', portal)
        assert "311@ogdenville.example" in portal and "olga@" not in portal
        signed = await town.login("olga@ogdenville.example", password)
        assert signed.status_code == 303 and signed.headers["location"] == "/admin/login/password"
        assert (await town.get("/admin/requests")).status_code == 303  # not signed in yet
        await town.get("/admin/login/password")
        for new, again, problem in (
            ("short", "short", "at least 12 characters"),
            ("a-long-enough-one", "another-long-one", "not the same"),
            (password, password, "other than the one you were given"),
        ):
            refused = await town.post("/admin/login/password", {"password": new, "confirmation": again})
            assert refused.status_code == 422 and problem in refused.text
        chosen = await town.post(
            "/admin/login/password", {"password": "olga-own-password", "confirmation": "olga-own-password"}
        )
        assert chosen.status_code == 303 and chosen.headers["location"] == "/admin/requests"
        assert (await town.get("/admin/requests")).status_code == 200
        await town.post("/admin/logout")
        assert (await town.login("olga@ogdenville.example", password)).status_code == 422
        again = await town.login("olga@ogdenville.example", "olga-own-password")
        assert again.headers["location"] == "/admin/requests"


async def test_the_platform_is_only_on_the_base_host_and_only_for_platform_admins(platform_admin):
    app = create_app(OFFLINE)
    town = await make_town()
    async with PortalClient(app, town.host) as wrong_host:
        assert (await wrong_host.get("/platform/login")).status_code == 404
    async with PortalClient(app, "localhost") as staff:
        await staff.get("/platform/login")
        refused = await staff.post("/platform/login", {"email": town.admin_email, "password": DEMO_PASSWORD})
        assert refused.status_code == 422
        assert (await staff.get("/platform/")).headers["location"] == "/platform/login"
    async with await platform_client(app, platform_admin) as platform:
        cookie = platform.http.cookies.get("portal_session")
    async with PortalClient(app, town.host) as carried:
        carried.http.cookies.set("portal_session", cookie, domain=town.host)
        assert (await carried.get("/admin/requests")).status_code == 303  # no town's workspace
