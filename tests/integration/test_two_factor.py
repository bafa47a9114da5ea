"""Towns without their own sign-in service can require a second step: a code from an authenticator app.

A member enrols with their password and a link mailed to their staff address, opened in the same browser; a
code is good once; a session signed in with a password alone ends when the town turns the requirement on,
while a session from the town's own OpenID provider (a real one, on loopback) carries on."""

import asyncio
import re
import time

import pyotp
import pytest

from apps.web import create_app
from domain.tables import SignInProvider, StaffUser
from tenants.tables import Tenant
from tests.support.factories import make_town
from tests.support.oidc_provider import OidcProvider
from tests.support.portal import PortalClient
from tests.support.services import offline_settings
from tests.workflows.lifecycle_helpers import about, text_of

# The provider (oidc-provider-mock) uses Authlib server APIs that Authlib deprecates; that is its business.
pytestmark = pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning")
OFFLINE = offline_settings()
ENROL_LINK = re.compile(r"http://\S+?(/admin/login/enrol/[\w-]+)")
SECRET = re.compile(r'class="secret">([A-Z2-7]+)<')


def code(secret: str, steps_ahead: int = 0) -> str:
    """The code of the current time step, or of a later one (the portal accepts one step of drift)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


async def require_two_factor(town) -> None:
    async with town.scope.transaction():
        await Tenant.update({Tenant.require_two_factor: True}).where(Tenant.id == town.id)


async def enrolment_link(inbox, email: str) -> str:
    mail = await inbox.wait_for(about(email, "Set up two-step sign-in"))
    inbox.messages.remove(mail)
    return ENROL_LINK.search(text_of(mail)).group(1)


async def test_a_member_enrols_with_the_password_and_the_mailed_link_then_gives_a_code_each_time(inbox):
    town = await make_town()
    await require_two_factor(town)
    app = create_app(OFFLINE)
    async with PortalClient(app, town.host) as clerk:
        half = await clerk.login(town.roads_email, town.password)
        assert half.headers["location"] == "/admin/login/code"
        assert (await clerk.get("/admin/requests")).headers["location"] == "/admin/login"  # not in yet
        waiting = await clerk.get("/admin/login/code")
        assert "We sent a link to" in waiting.text and town.roads_email in waiting.text
        assert 'class="secret"' not in waiting.text and 'class="qr"' not in waiting.text
        assert (await clerk.post("/admin/login/code", {"code": "123456"})).headers[
            "location"
        ] == "/admin/login/code"
        link = await enrolment_link(inbox, town.roads_email)

        async with PortalClient(app, town.host) as other_browser:  # the link alone is not enough
            refused = await other_browser.get(link)
            assert (
                refused.status_code == 403
                and "only in the browser where you entered your password" in refused.text
            )
        async with PortalClient(app, town.host) as knows_the_password:  # nor the password with it
            await knows_the_password.login(town.roads_email, town.password)
            await enrolment_link(inbox, town.roads_email)  # mailed to the member, not to this browser
            assert (await knows_the_password.get(link)).status_code == 403
            assert 'class="secret"' not in (await knows_the_password.get("/admin/login/code")).text

        assert (await clerk.get(link)).headers["location"] == "/admin/login/code"
        enrolment = await clerk.get("/admin/login/code")
        secret = SECRET.search(enrolment.text).group(1)
        assert 'class="qr"' in enrolment.text
        wrong = await clerk.post("/admin/login/code", {"code": "000000"})
        assert wrong.status_code == 422 and "This code is not right" in wrong.text
        first_code = code(secret)
        right = await clerk.post("/admin/login/code", {"code": first_code})
        assert right.status_code == 303 and right.headers["location"] == "/admin/requests"
        assert (await clerk.get("/admin/requests")).status_code == 200

    async with PortalClient(app, town.host) as clerk:
        assert (await clerk.login(town.roads_email, town.password)).headers["location"] == "/admin/login/code"
        asked = await clerk.get("/admin/login/code")
        assert 'class="secret"' not in asked.text  # enrolled: the key is never shown again
        replayed = await clerk.post("/admin/login/code", {"code": first_code})
        assert replayed.status_code == 422 and "already used" in replayed.text
        done = await clerk.post("/admin/login/code", {"code": code(secret, steps_ahead=1)})
        assert done.headers["location"] == "/admin/requests"
    assert (
        len(inbox.matching(about(town.roads_email, "Set up two-step sign-in"))) == 0
    )  # no mail once enrolled


async def test_one_code_posted_twice_at_once_signs_in_once():
    town = await make_town()
    secret = pyotp.random_base32()
    async with town.scope.transaction():
        await StaffUser.update({StaffUser.totp_secret: secret, StaffUser.totp_enabled: True}).where(
            StaffUser.email == town.roads_email
        )
    app = create_app(OFFLINE)
    clients = [PortalClient(app, town.host) for _ in range(2)]
    for client in clients:
        assert (await client.login(town.roads_email, town.password)).headers[
            "location"
        ] == "/admin/login/code"
    same = code(secret)
    answers = await asyncio.gather(*(client.post("/admin/login/code", {"code": same}) for client in clients))
    assert sorted(answer.status_code for answer in answers) == [303, 422]
    for client in clients:
        await client.__aexit__()


@pytest.fixture(scope="module")
def provider():
    with OidcProvider() as running:
        yield running


async def test_requiring_two_factor_ends_the_sessions_signed_in_with_a_password_alone(provider):
    town = await make_town()
    client_id, client_secret = await provider.register_client(f"http://{town.host}:8000/admin/oidc/callback")
    row = town.scope.new(
        SignInProvider,
        audience="staff",
        label="Testville ID",
        issuer=provider.issuer,
        client_id=client_id,
        client_secret=client_secret,
        group_roles={"works": "agent"},
    )
    async with town.scope.transaction():
        await row.save()
    await provider.set_user(
        "lou", {"email": f"lou@{town.slug}.test", "email_verified": True, "groups": ["works"]}
    )
    app = create_app(OFFLINE)
    async with (
        PortalClient(app, town.host) as admin,
        PortalClient(app, town.host) as clerk,
        PortalClient(app, town.host) as lou,
    ):
        await admin.login(town.admin_email, town.password)
        await clerk.login(town.roads_email, town.password)
        leaving = await lou.get(f"/admin/oidc/{row.id}")
        back = await provider.sign_in(leaving.headers["location"], "lou")
        assert (await lou.get(f"{back.path}?{back.query.decode()}")).headers["location"] == "/admin/requests"
        for member in (admin, clerk, lou):
            assert (await member.get("/admin/requests")).status_code == 200

        assert (await admin.post("/admin/settings/sign-in/two-factor", {"required": "on"})).status_code == 303

        for member in (clerk, admin):
            assert (await member.get("/admin/requests")).headers["location"] == "/admin/login"
            assert (await member.get("/admin/requests")).headers["location"] == "/admin/login"
        assert (await lou.get("/admin/requests")).status_code == 200  # the town's provider vouched for lou


async def test_the_code_page_means_nothing_without_the_password_first():
    town = await make_town()
    async with PortalClient(create_app(OFFLINE), town.host) as stranger:
        assert (await stranger.get("/admin/login/code")).headers["location"] == "/admin/login"
        response = await stranger.post("/admin/login/code", {"code": "123456"})
        assert response.headers["location"] == "/admin/login"
        assert (await stranger.get("/admin/login/enrol/anything")).status_code == 403
