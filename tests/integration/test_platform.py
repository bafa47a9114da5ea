"""Platform administrators onboard towns from the base host, and reach nothing of any town's requests."""

import re

import pytest

from apps.demo import DEMO_PASSWORD
from apps.web import create_app
from domain.staff import hash_password
from domain.tables import Department
from infra.database import cross_tenant
from tenants.onboarding import NEUTRAL_COLOR, tenant_id_by_slug
from tenants.tables import PlatformAdmin
from tests.integration.test_team_settings import PASSWORD, invitation, invitation_link
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


async def test_onboarding_a_town_from_a_starter_invites_its_administrator_who_takes_it_live(
    platform_admin, inbox
):
    app = create_app(OFFLINE)
    async with await platform_client(app, platform_admin) as platform:
        form = await platform.get("/platform/towns/new")
        assert form.status_code == 200 and "Small town" in form.text and "County" in form.text
        bad = await platform.post(
            "/platform/towns/new",
            {
                "name": "Ogdenville",
                "slug": "Not OK!",
                "prefix": "o",
                "starter": "metropolis",
                "timezone": "Mars/Olympus",
                "contact_email": "311 at ogdenville",
                "admin_name": "",
                "admin_email": "nope",
            },
        )
        assert bad.status_code == 422 and 'value="Ogdenville"' in bad.text
        assert bad.text.count('class="error-message"') == 7
        assert "Choose the kind of municipality" in bad.text
        done = await platform.post(
            "/platform/towns/new",
            {
                "name": "Ogdenville",
                "slug": "ogdenville",
                "prefix": "OGD",
                "starter": "city",
                "timezone": "America/Winnipeg",
                "contact_email": "311@ogdenville.example",
                "admin_name": "Olga",
                "admin_email": "olga@ogdenville.example",
            },
        )
        assert done.status_code == 200 and "An invitation is sent to olga@ogdenville.example" in done.text
        assert "/admin/invitation/" not in done.text  # the link goes to Olga's mailbox only
        again = await platform.post(
            "/platform/towns/new",
            {
                "name": "Ogdenville 2",
                "slug": "ogdenville",
                "prefix": "OGD",
                "starter": "county",
                "timezone": "UTC",
                "admin_name": "X",
                "admin_email": "x@example.com",
            },
        )
        assert again.status_code == 422 and "already has this address" in again.text
    link = await invitation_link(inbox, "olga@ogdenville.example")
    async with PortalClient(app, "ogdenville.localhost") as public:
        soon = await public.get("/")
        assert "Coming soon" in soon.text and "Ogdenville" in soon.text
        assert "request_type" not in soon.text  # no form before the town is live
        # Its own neutral look, not the demo town's colours, and its public contact, not Olga's address.
        assert f"--brand: {NEUTRAL_COLOR};" in soon.text and "#1d4f91" not in soon.text
        assert re.search(r'<span class="logo"[^>]*><svg[^>]*>.*>O</text></svg>', soon.text)
        assert "311@ogdenville.example" in soon.text and "olga@" not in soon.text
    async with PortalClient(app, "ogdenville.localhost") as olga:
        await olga.get(link)
        joined = await olga.post(link, {"password": PASSWORD, "confirmation": PASSWORD})
        assert joined.status_code == 303
        preview = await olga.get("/")
        assert "Not live yet" in preview.text and "Roads: Pothole" in preview.text  # the city's catalogue
        assert "Parks: Graffiti" in preview.text
        checklist = await olga.get("/admin/settings/launch")
        assert "needed before going live" in checklist.text  # nobody works the city's departments
        assert "Nobody works: City Clerk, Finance" in checklist.text
        refused = await olga.post("/admin/settings/launch/live", {"live": "yes"})
        assert refused.status_code == 422 and "cannot go live yet" in refused.text
        async with cross_tenant("test: Ogdenville's departments"):
            rows = await Department.select(Department.id).where(
                Department.tenant == await tenant_id_by_slug("ogdenville")
            )
        await olga.get("/admin/settings/staff")
        invited = await olga.post(
            "/admin/settings/staff",
            invitation("clerk@ogdenville.example", *(row["id"] for row in rows), name="Oscar"),
        )
        assert invited.status_code == 303
        await olga.get("/admin/settings/launch")
        live = await olga.post("/admin/settings/launch/live", {"live": "yes"})
        assert live.headers["location"] == "/admin/settings/launch?done=live"
    async with PortalClient(app, "ogdenville.localhost") as public:
        portal = (await public.get("/")).text
        assert "Coming soon" not in portal and "Not live yet" not in portal and "Roads: Pothole" in portal


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
