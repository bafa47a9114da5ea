"""Towns without their own sign-in service can require a second step: a code from an authenticator app."""

import re

import pyotp

from apps.web import create_app
from tenants.tables import Tenant
from tests.support.factories import make_town
from tests.support.portal import PortalClient
from tests.support.services import offline_settings

OFFLINE = offline_settings()


async def test_a_town_that_requires_two_factor_enrols_its_staff_then_asks_for_a_code_each_time():
    town = await make_town()
    async with town.scope.transaction():
        await Tenant.update({Tenant.require_two_factor: True}).where(Tenant.id == town.id)
    app = create_app(OFFLINE)
    async with PortalClient(app, town.host) as clerk:
        half = await clerk.login(town.roads_email, town.password)
        assert half.headers["location"] == "/admin/login/code"
        assert (await clerk.get("/admin/requests")).headers["location"] == "/admin/login"  # not in yet
        enrolment = await clerk.get("/admin/login/code")
        secret = re.search(r'class="secret">([A-Z2-7]+)<', enrolment.text).group(1)
        assert "<svg" in enrolment.text
        wrong = await clerk.post("/admin/login/code", {"code": "000000"})
        assert wrong.status_code == 422 and "This code is not right" in wrong.text
        right = await clerk.post("/admin/login/code", {"code": pyotp.TOTP(secret).now()})
        assert right.status_code == 303 and right.headers["location"] == "/admin/requests"
        assert (await clerk.get("/admin/requests")).status_code == 200
    async with PortalClient(app, town.host) as clerk:
        await clerk.login(town.roads_email, town.password)
        asked = await clerk.get("/admin/login/code")
        assert 'class="secret"' not in asked.text  # enrolled: the key is never shown again
        done = await clerk.post("/admin/login/code", {"code": pyotp.TOTP(secret).now()})
        assert done.headers["location"] == "/admin/requests"


async def test_the_code_page_means_nothing_without_the_password_first():
    town = await make_town()
    async with PortalClient(create_app(OFFLINE), town.host) as stranger:
        assert (await stranger.get("/admin/login/code")).headers["location"] == "/admin/login"
        response = await stranger.post("/admin/login/code", {"code": "123456"})
        assert response.headers["location"] == "/admin/login"
