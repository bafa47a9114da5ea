"""Single sign-on through a town's own OpenID provider (a real one, on loopback), for staff and citizens."""

import httpx
import pytest

from apps.web import create_app
from domain.tables import Citizen, SignInProvider, StaffUser
from tests.support.factories import make_town
from tests.support.oidc_provider import OidcProvider
from tests.support.portal import PortalClient
from tests.support.services import offline_settings

# The provider (oidc-provider-mock) uses Authlib server APIs that Authlib deprecates; that is its business.
pytestmark = pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning")
OFFLINE = offline_settings()


@pytest.fixture(scope="module")
def provider():
    with OidcProvider() as running:
        yield running


async def configure(provider: OidcProvider, town, audience: str, **fields) -> int:
    callback = f"http://{town.host}:8000/{'admin' if audience == 'staff' else 'account'}/oidc/callback"
    client_id, client_secret = await provider.register_client(callback)
    row = town.scope.new(
        SignInProvider,
        audience=audience,
        label="Springfield ID",
        issuer=provider.issuer,
        client_id=client_id,
        client_secret=client_secret,
        **fields,
    )
    async with town.scope.transaction():
        await row.save()
    return row.id


async def through_provider(
    portal: PortalClient, provider: OidcProvider, start: str, sub: str
) -> httpx.Response:
    """The browser's round trip: our start page, the provider's sign-in form, back to our callback."""
    page = await portal.get(start.rsplit("/", 2)[0] + "/sign-in" if "account" in start else "/admin/login")
    assert "Springfield ID" in page.text
    leaving = await portal.get(start)
    assert leaving.status_code == 302 and leaving.headers["location"].startswith(provider.issuer)
    back = await provider.sign_in(leaving.headers["location"], sub)
    return await portal.get(f"{back.path}?{back.query.decode()}")


async def test_staff_sign_in_through_the_towns_provider_maps_groups_to_roles(provider):
    town = await make_town()
    provider_id = await configure(
        provider,
        town,
        "staff",
        group_roles={"311-admins": "tenant_admin", "works": "agent"},
        email_domains="springfield.example",
        default_role="viewer",
    )
    await provider.set_user(
        "carl",
        {
            "email": "carl@springfield.example",
            "email_verified": True,
            "name": "Carl Carlson",
            "groups": ["works", "311-admins"],
        },
    )
    await provider.set_user(
        "lenny",
        {"email": "lenny@springfield.example", "email_verified": True, "name": "Lenny Leonard", "groups": []},
    )
    await provider.set_user(
        "snake", {"email": "snake@elsewhere.example", "email_verified": True, "groups": []}
    )
    app = create_app(OFFLINE)
    async with PortalClient(app, town.host) as carl:
        arrived = await through_provider(carl, provider, f"/admin/oidc/{provider_id}", "carl")
        assert arrived.status_code == 303 and arrived.headers["location"] == "/admin/requests"
        assert (await carl.get("/admin/requests")).status_code == 200
    async with PortalClient(app, town.host) as lenny:
        await through_provider(lenny, provider, f"/admin/oidc/{provider_id}", "lenny")
    async with PortalClient(app, town.host) as snake:
        refused = await through_provider(snake, provider, f"/admin/oidc/{provider_id}", "snake")
        assert refused.status_code == 403 and "gives no access" in refused.text
        assert (await snake.get("/admin/requests")).status_code == 303
    async with town.scope.transaction():
        staff = await StaffUser.select().where(StaffUser.tenant == town.id)
    roles = {row["email"]: row["role"] for row in staff}
    assert roles["carl@springfield.example"] == "tenant_admin"  # the most senior group wins
    assert roles["lenny@springfield.example"] == "viewer"  # the town's domain, no group: the default role
    assert "snake@elsewhere.example" not in roles


async def test_a_deactivated_member_stays_out_even_with_the_provider_vouching(provider):
    town = await make_town()
    provider_id = await configure(provider, town, "staff", group_roles={"works": "agent"})
    async with town.scope.transaction():
        await StaffUser.update({StaffUser.active: False}).where(StaffUser.email == town.roads_email)
    await provider.set_user("rory", {"email": town.roads_email, "email_verified": True, "groups": ["works"]})
    async with PortalClient(create_app(OFFLINE), town.host) as rory:
        refused = await through_provider(rory, provider, f"/admin/oidc/{provider_id}", "rory")
    assert refused.status_code == 403 and "deactivated" in refused.text


async def test_citizens_sign_in_with_the_towns_digital_id(provider):
    town = await make_town()
    provider_id = await configure(provider, town, "citizen")
    await provider.set_user(
        "maggie", {"email": "Maggie@Example.com", "email_verified": True, "name": "Maggie"}
    )
    await provider.set_user("unverified", {"email": "who@example.com", "email_verified": False})
    app = create_app(OFFLINE)
    async with PortalClient(app, town.host) as maggie:
        arrived = await through_provider(maggie, provider, f"/account/oidc/{provider_id}", "maggie")
        assert arrived.headers["location"] == "/account/requests"
        assert (await maggie.get("/account/requests")).status_code == 200
    async with PortalClient(app, town.host) as stranger:
        refused = await through_provider(stranger, provider, f"/account/oidc/{provider_id}", "unverified")
        assert refused.status_code == 400 and "did not confirm an e-mail address" in refused.text
    async with town.scope.transaction():
        assert await Citizen.exists().where(
            (Citizen.tenant == town.id) & (Citizen.email == "maggie@example.com")
        )


async def test_a_callback_that_did_not_start_here_is_refused(provider):
    town = await make_town()
    async with PortalClient(create_app(OFFLINE), town.host) as forger:
        await forger.get("/admin/login")
        answer = await forger.get("/admin/oidc/callback?code=stolen&state=guess")
    assert answer.status_code == 403 and "did not work" in answer.text


async def test_the_town_administrator_sets_up_single_sign_on_and_two_step_sign_in(provider, inbox):
    town = await make_town()
    app = create_app(OFFLINE)
    client_id, client_secret = await provider.register_client(f"http://{town.host}:8000/admin/oidc/callback")
    await provider.set_user(
        "patty", {"email": "patty@springfield.example", "email_verified": True, "groups": ["clerks"]}
    )
    async with PortalClient(app, town.host) as agent:
        await agent.login(town.roads_email, town.password)
        assert (await agent.get("/admin/settings/sign-in")).status_code == 403
    async with PortalClient(app, town.host) as admin:
        await admin.login(town.admin_email, town.password)
        assert (await admin.get("/admin/settings/sign-in")).status_code == 200
        bad = await admin.post(
            "/admin/settings/sign-in/providers",
            {
                "audience": "staff",
                "label": "Springfield ID",
                "issuer": "not a url",
                "client_id": client_id,
                "client_secret": client_secret,
                "group_roles": "clerks = boss",
            },
        )
        assert bad.status_code == 422 and 'value="Springfield ID"' in bad.text
        added = await admin.post(
            "/admin/settings/sign-in/providers",
            {
                "audience": "staff",
                "label": "Springfield ID",
                "issuer": provider.issuer,
                "client_id": client_id,
                "client_secret": client_secret,
                "group_roles": "clerks = agent\n311 = tenant_admin",
            },
        )
        assert added.status_code == 303
        async with town.scope.transaction():
            row = (
                await SignInProvider.select()
                .where(SignInProvider.tenant == town.id)
                .output(load_json=True)
                .first()
            )
        assert row["group_roles"] == {"clerks": "agent", "311": "tenant_admin"}
        assert (await admin.post("/admin/settings/sign-in/two-factor", {"required": "on"})).status_code == 303
    async with PortalClient(app, town.host) as patty:
        arrived = await through_provider(patty, provider, f"/admin/oidc/{row['id']}", "patty")
        assert arrived.headers["location"] == "/admin/requests"
    async with PortalClient(app, town.host) as clerk:
        assert (await clerk.login(town.roads_email, town.password)).headers["location"] == "/admin/login/code"
