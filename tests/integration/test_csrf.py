"""CSRF on every state-changing route of the app, found by walking its routes (a new route is covered the day
it is added): without a token, with a forged one, with one from another browser, or with a cookie-and-token
pair taken from another session or another town and planted in the browser, it is refused; with its own
token it gets through to the handler. Both for a visitor (no session yet) and for a signed-in session."""

import dataclasses
import re
import secrets

import pytest

from apps.api import API_PREFIXES
from apps.demo import DEMO_PASSWORD
from apps.web import create_app
from domain.staff import hash_password
from infra.csrf import SAFE_METHODS
from infra.database import cross_tenant
from tenants.tables import PlatformAdmin
from tests.support.factories import make_town
from tests.support.portal import PortalClient
from tests.support.services import offline_settings

# Every route, the development inbox included; no limits, so the many sign-ins here are never refused.
APP = create_app(dataclasses.replace(offline_settings(), dev_inbox_dir="/nonexistent", rate_limits="off"))
PLATFORM_HOST = "localhost"
PLATFORM_EMAIL = "csrf-root@platform.test"
PARAMETER = re.compile(r"\{(\w+):(\w+)\}")


def unsafe_routes(app) -> list[tuple[str, str]]:
    """(method, path) of every handler that accepts a state-changing method, parameters filled in."""
    found = set()
    for route in app.routes:
        for method in set(getattr(route, "methods", ())) - SAFE_METHODS:
            found.add((method, PARAMETER.sub(lambda m: "1" if m.group(2) == "int" else "x", route.path)))
    return sorted(found)


# The APIs take a key in each call and never a browser's session, so there is no ambient authority for a
# forged request to borrow (the last test below); every other state-changing route takes the token.
API_ROUTES = [(method, path) for method, path in unsafe_routes(APP) if path.startswith(API_PREFIXES)]
ROUTES = [route for route in unsafe_routes(APP) if route not in API_ROUTES]


def test_the_walk_finds_the_citizens_the_staffs_and_the_platforms_forms():
    paths = {path for _, path in ROUTES}
    assert {"/requests", "/status/x/x", "/account/sign-in", "/admin/login", "/admin/requests/x/x"} <= paths
    assert {"/admin/settings/sign-in/providers/1/remove", "/platform/towns/new", "/platform/logout"} <= paths


@pytest.fixture(scope="module")
async def towns():
    async with cross_tenant("test: a platform administrator"):
        if not await PlatformAdmin.exists().where(PlatformAdmin.email == PLATFORM_EMAIL):
            admin = PlatformAdmin(
                email=PLATFORM_EMAIL, name="Root", password_hash=hash_password(DEMO_PASSWORD)
            )
            await admin.save()
    return await make_town(), await make_town("Shelbyville")


@pytest.fixture(scope="module")
async def browsers(towns):
    """Browsers that only ever send refused requests, so the module shares them; `nth` tells apart two
    visitors' browsers."""
    opened: dict[tuple[str, str, int], PortalClient] = {}

    async def get(host: str, who: str, nth: int = 0) -> PortalClient:
        if (host, who, nth) not in opened:
            opened[host, who, nth] = await browser(host, who)
        return opened[host, who, nth]

    yield get
    for client in opened.values():
        await client.__aexit__()


def host_of(path: str, town) -> str:
    return PLATFORM_HOST if path.startswith("/platform") else town.host


async def browser(host: str, signed_in_as: str) -> PortalClient:
    """A browser at `host` that has loaded a form; signed in (staff, or platform) if `signed_in_as` is set."""
    client = PortalClient(APP, host)
    platform = host == PLATFORM_HOST
    login = "/platform/login" if platform else "/admin/login"
    await client.get(login)
    if signed_in_as:
        email = PLATFORM_EMAIL if platform else signed_in_as
        answer = await client.post(login, {"email": email, "password": DEMO_PASSWORD})
        assert answer.status_code == 303, answer.text
        await client.get(login)  # a page with a form, so the client holds the session's token
    assert client._csrf
    return client


def refused(response) -> bool:
    return response.status_code == 403 and "form expired" in response.text


async def send(client: PortalClient, method: str, path: str, token: str | None, csrf_cookie: str = ""):
    """The request as the client's browser would send it; `csrf_cookie` replaces its CSRF cookie."""
    data = {} if token is None else {"_csrf_token": token}
    headers = {}
    if csrf_cookie:
        session = client.session_id()
        headers["cookie"] = f"csrftoken={csrf_cookie}" + (f"; portal_session={session}" if session else "")
    return await client.http.request(method, path, data=data, headers=headers)


@pytest.mark.parametrize("signed_in", [False, True], ids=["visitor", "signed-in"])
@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
async def test_a_state_changing_route_takes_only_its_own_sessions_token(
    towns, browsers, method, path, signed_in
):
    town, other_town = towns
    host = host_of(path, town)
    me, someone_else = (town.admin_email, town.roads_email) if signed_in else ("", "")
    client, neighbour = await browsers(host, me), await browsers(host, someone_else, nth=1)
    elsewhere = await browsers(other_town.host, other_town.admin_email if signed_in else "")
    assert len({client._csrf, neighbour._csrf, elsewhere._csrf}) == 3
    assert refused(await send(client, method, path, None)), "no token"
    assert refused(await send(client, method, path, secrets.token_hex(32))), "a forged token"
    assert refused(await send(client, method, path, neighbour._csrf)), "another browser's token"
    if signed_in:  # a visitor has no session to bind to: their cookie is what the token proves
        pair = (neighbour._csrf, neighbour.http.cookies.get("csrftoken"))
        assert refused(await send(client, method, path, *pair)), "another session's cookie and token"
    pair = (elsewhere._csrf, elsewhere.http.cookies.get("csrftoken"))
    assert refused(await send(client, method, path, *pair)), "another town's cookie and token"
    async with await browser(host, me) as fresh:  # the route may sign out: a browser of its own
        assert not refused(await send(fresh, method, path, fresh._csrf)), "its own token"


async def test_the_apis_take_a_key_and_never_a_browsers_session(towns):
    town, _ = towns
    assert {path for _, path in API_ROUTES} >= {"/open311/v2/requests.json", "/api/v1/requests/x/close"}
    async with PortalClient(APP, town.host) as admin:
        assert (await admin.login(town.admin_email, DEMO_PASSWORD)).status_code == 303
        # Signed in as the town's administrator, with the session's cookie: no key, no authority.
        closed = await admin.http.post("/api/v1/requests/x/close", json={"reason": "fixed"})
        assert closed.status_code == 401, closed.text
        posted = await admin.http.post("/open311/v2/requests.json", data={"service_code": "pothole"})
        assert posted.status_code == 403, posted.text
        assert "set-cookie" not in posted.headers and "set-cookie" not in closed.headers
