"""The edge: what a request must look like before a handler sees it, the links the portal writes, the
headers on every answer, and the inputs that used to end in a 500."""

import dataclasses
import http.server
import ipaddress
import json
import socket
import threading

import pytest
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from apps.web import create_app
from domain import attachments
from domain import requests as request_service
from domain.intake import valid_email
from domain.tables import Citizen, ServiceRequest, SignInProvider
from infra import oidc
from infra.mail import BadRecipient, Mailer, OutgoingMail
from infra.settings import get_settings
from tenants.resolve import TenantInfo, town_url
from tenants.tables import Tenant, TenantDomain
from tests.support.factories import make_town, valid_form
from tests.support.portal import PortalClient, status_path
from tests.support.services import offline_settings
from tests.unit.test_compose import environment

OFFLINE = offline_settings()
TOO_BIG = "99999999999999999999"
# A whole 1x1 PNG: the photo service decodes it (a truncated one is refused).
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360606060000000050001a5f645400000000049454e44ae426082"
)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- control characters ------------------------------------------------------------------------------


async def test_control_characters_in_a_form_field_are_refused_clearly_and_nothing_is_stored():
    town = await make_town()
    async with PortalClient(create_app(OFFLINE), town.host) as citizen:
        refused = await citizen.submit(valid_form(description="A hole \x00 in the road"))
        also = await citizen.submit(valid_form(contact_name="Ned\x1b[31m"))
        fine = await citizen.submit(valid_form(description="Line one\r\nline two\twith a tab"))
    assert refused.status_code == also.status_code == 400
    assert "control characters" in refused.text
    assert fine.status_code == 303
    async with town.scope.transaction():
        assert await town.scope.count(ServiceRequest) == 1


@pytest.mark.parametrize("address", ["/status/%00", "/status/abc%01def", "/?next=%00", "/status?q=a%0Ab"])
async def test_control_characters_in_the_address_are_refused(address):
    town = await make_town()
    async with PortalClient(create_app(OFFLINE), town.host) as visitor:
        answer = await visitor.http.get(address)
    assert answer.status_code == 400, answer.text
    assert answer.headers["x-content-type-options"] == "nosniff"


async def test_a_comment_with_a_nul_byte_never_reaches_the_workflow():
    town = await make_town()
    async with PortalClient(create_app(OFFLINE), town.host) as citizen:
        status = status_path(await citizen.submit(valid_form()))
        answer = await citizen.post(f"{status}/reply", {"body": "poison\x00pill"})
    assert answer.status_code == 400 and "control characters" in answer.text


# --- the Host header and the links the portal writes -----------------------------------------------------


@pytest.mark.parametrize(
    "suffix", [":8000@evil.example", ":abc", ":99999", "@evil.example", ":80:80", " evil"]
)
async def test_a_host_with_user_information_or_a_bad_port_is_refused_and_nothing_is_mailed(suffix, inbox):
    town = await make_town()
    sent = len(inbox.messages)
    async with PortalClient(create_app(OFFLINE), town.host) as attacker:
        await attacker.get("/account/sign-in")
        attacker.http.headers["host"] = town.host + suffix
        answer = await attacker.post("/account/sign-in", {"email": "victim@example.com"})
    assert answer.status_code == 400, answer.text
    assert len(inbox.messages) == sent


async def test_the_sign_in_link_points_at_the_towns_configured_host(inbox):
    town = await make_town()
    async with PortalClient(create_app(OFFLINE), town.host) as citizen:
        await citizen.get("/account/sign-in")
        answer = await citizen.post("/account/sign-in", {"email": "link@example.com"})
    assert answer.status_code == 200
    mail = await inbox.wait_for(lambda m: m["to"] == "link@example.com")
    assert f"http://{town.host}:8000/account/link/" in mail.get_content()


def test_town_links_use_the_towns_own_hosts_and_never_a_foreign_one():
    settings = get_settings()
    tenant = dataclasses.replace(_tenant(), domains=("311.testville.example",))
    assert town_url(tenant, settings, "/x") == "http://311.testville.example:8000/x"
    assert town_url(tenant, settings, "/x", via="evil.example") == "http://311.testville.example:8000/x"
    assert town_url(tenant, settings, "/x", via="testville.localhost") == "http://testville.localhost:8000/x"
    plain = _tenant()
    assert town_url(plain, settings, "/x", via="EVIL.example") == "http://testville.localhost:8000/x"


def _tenant() -> TenantInfo:
    return TenantInfo(
        id=1,
        slug="testville",
        name="Testville",
        reference_prefix="TES",
        brand_color="#000000",
        brand_text_color="#ffffff",
        logo_svg="",
        timezone="UTC",
        languages=("en",),
        contact_email="",
        business_calendar={},
        reopen_window_seconds=0,
    )


async def test_a_town_with_its_own_domain_is_resolved_with_it():
    town = await make_town()
    async with town.scope.transaction():
        await TenantDomain(tenant=town.id, host="311.edge-town.example").save()
    resolver = create_app(OFFLINE).state.tenant_resolver
    tenant = await resolver.resolve(town.host)
    assert tenant.domains == ("311.edge-town.example",)


# --- client addresses behind the proxies ---------------------------------------------------------------


@pytest.mark.parametrize(("trusted", "limited"), [("compose", True), ("*", False)])
async def test_rotating_x_forwarded_for_does_not_escape_the_rate_limit(trusted, limited):
    """As deployed: the HTTPS proxy appends the client's real address to what the client sent, and uvicorn
    believes the header only as far as the proxies it trusts (FORWARDED_ALLOW_IPS in compose.yaml)."""
    town = await make_town()
    allowed = environment("web")["FORWARDED_ALLOW_IPS"] if trusted == "compose" else "*"
    app = ProxyHeadersMiddleware(create_app(OFFLINE), trusted_hosts=allowed)
    async with PortalClient(app, town.host) as attacker:  # it connects from 127.0.0.1, as a proxy on the host
        answers = []
        for n in range(31):
            attacker.http.headers["x-forwarded-for"] = f"198.51.100.{n}, 203.0.113.7"
            answers.append(await attacker.submit(valid_form(contact_email=f"p{n}@example.com")))
    assert (answers[-1].status_code == 429) is limited
    assert all(answer.status_code == 303 for answer in answers[:30])


# --- headers -------------------------------------------------------------------------------------------


async def test_pages_with_personal_data_are_not_stored_and_error_pages_carry_the_security_headers():
    town = await make_town()
    async with PortalClient(create_app(OFFLINE), town.host) as citizen:
        status = status_path(await citizen.submit(valid_form()))
        for path in (status, "/account/sign-in", "/", "/no/such/page", "/status/unknown-token"):
            answer = await citizen.get(path)
            assert answer.headers["cache-control"] == "no-store", path
            assert "frame-ancestors" in answer.headers["content-security-policy"], path
            assert answer.headers["x-content-type-options"] == "nosniff", path
        assert "no-store" not in (await citizen.get("/static/portal.css")).headers.get("cache-control", "")
        await citizen.login(town.admin_email, town.password)
        assert (await citizen.get("/admin/requests")).headers["cache-control"] == "no-store"


async def test_the_language_cookie_is_secure_in_production():
    town = await make_town()
    production = create_app(dataclasses.replace(OFFLINE, development=False, secret_key="k" * 40))
    async with PortalClient(production, town.host) as visitor:
        answer = await visitor.get("/lang/fr")
    (cookie,) = [line for line in answer.headers.get_list("set-cookie") if line.startswith("lang=")]
    assert cookie.startswith("lang=fr;") and "Secure" in cookie and "HttpOnly" in cookie


async def test_photos_are_served_inline_under_a_safe_name():
    town = await make_town()
    async with PortalClient(create_app(OFFLINE), town.host) as citizen:
        status = status_path(await citizen.submit(valid_form()))
        async with town.scope.transaction():
            item = await request_service.get_by_token(town.scope, status.rsplit("/", 1)[1])
            photo_id = await attachments.add_photo(town.scope, item.id, PNG, most=10)
        answer = await citizen.get(f"{status}/photos/{photo_id}")
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/png"
    assert answer.headers["content-disposition"] == f'inline; filename="photo-{photo_id}.png"'
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["cache-control"] == "no-store"


async def test_there_is_no_api_schema_page_loading_scripts_from_a_cdn():
    town = await make_town()
    async with PortalClient(create_app(OFFLINE), town.host) as visitor:
        for path in ("/schema", "/schema/swagger", "/schema/openapi.json"):
            assert (await visitor.get(path)).status_code == 404, path


# --- inputs that gave a 500 ------------------------------------------------------------------------------


async def test_numbers_too_big_for_the_database_are_refused_at_the_edge():
    town = await make_town()
    async with PortalClient(create_app(OFFLINE), town.host) as clerk:
        status = status_path(await clerk.submit(valid_form()))
        async with town.scope.transaction():
            item = await request_service.get_by_token(town.scope, status.rsplit("/", 1)[1])
        reference = item.reference
        assert (await clerk.get(f"{status}/photos/{TOO_BIG}")).status_code == 400
        assert (await clerk.get(f"/account/oidc/{TOO_BIG}")).status_code == 400
        await clerk.login(town.admin_email, town.password)
        assert (await clerk.get(f"/admin/requests?before={TOO_BIG}")).status_code == 400
        for department in (TOO_BIG, "4294967296", "²"):  # the second fits SQLite, not PostgreSQL's integer
            assert (await clerk.get(f"/admin/requests?department={department}")).status_code == 200
        assert (await clerk.get(f"/admin/oidc/{TOO_BIG}")).status_code == 400
        assigned = await clerk.act(reference, "assign", assignee_id=TOO_BIG)
        transferred = await clerk.act(reference, "transfer", department_id=TOO_BIG)
    assert assigned.status_code < 500 and transferred.status_code == 409


async def test_static_and_dev_inbox_names_that_no_file_can_have_are_not_found(tmp_path):
    town = await make_town()
    app = create_app(dataclasses.replace(OFFLINE, dev_inbox_dir=str(tmp_path)))
    async with PortalClient(app, town.host) as visitor:
        assert (await visitor.get("/static/%00")).status_code == 400
        assert (await visitor.get("/static/" + "a" * 300)).status_code == 404
        assert (await visitor.get("/static/" + "a" * 250 + ".css")).status_code == 404
        assert (await visitor.get("/dev/inbox/" + "1" * 253)).status_code == 404
        assert (await visitor.get("/dev/inbox/..%2Fportal")).status_code == 404


async def test_a_provider_whose_discovery_fails_gives_a_clear_page():
    town = await make_town()
    row = town.scope.new(
        SignInProvider,
        audience="citizen",
        label="Broken ID",
        issuer=f"http://127.0.0.1:{closed_port()}",
        client_id="portal",
        client_secret="secret",
    )
    async with town.scope.transaction():
        await row.save()
    async with PortalClient(create_app(OFFLINE), town.host) as citizen:
        answer = await citizen.get(f"/account/oidc/{row.id}")
    assert answer.status_code == 502 and "sign-in service is not answering" in answer.text


async def test_a_town_name_with_line_breaks_still_gets_its_sign_in_mail_with_one_line_headers(inbox):
    town = await make_town()
    async with town.scope.transaction():
        broken = "Testville\r\nBcc: everyone@evil.example"
        await Tenant.update({Tenant.name: broken}).where(Tenant.id == town.id)
    async with PortalClient(create_app(OFFLINE), town.host) as citizen:
        await citizen.get("/account/sign-in")
        answer = await citizen.post("/account/sign-in", {"email": "crlf@example.com"})
    assert answer.status_code == 200
    mail = await inbox.wait_for(lambda m: m["to"] == "crlf@example.com")
    assert mail["bcc"] is None
    assert "\n" not in str(mail["subject"]) and "Testville Bcc:" in str(mail["subject"])


# --- e-mail addresses ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    ["root,x@evil.example", "a@b.example\x00", "<b>x</b>@evil.example", '"x"@evil.example', "a@b", "a b@c"],
)
async def test_contact_addresses_are_one_plain_address(address):
    assert not valid_email(address)
    town = await make_town()
    async with PortalClient(create_app(OFFLINE), town.host) as citizen:
        answer = await citizen.submit(valid_form(contact_email=address))
        signing_in = await citizen.post("/account/sign-in", {"email": address})
    assert answer.status_code in (400, 422) and signing_in.status_code in (400, 422)
    assert await town.scope.count(ServiceRequest) == 0
    assert await town.scope.count(Citizen) == 0


def test_mail_goes_to_exactly_one_address_and_carries_its_date_and_id():
    mailer = Mailer("127.0.0.1", 25, "no-reply@portal.example")
    message = mailer.build(OutgoingMail(to="a@x.example", subject="Hi\r\nBcc: b@y.example", text="."))
    assert message["Date"] and message["Message-ID"].endswith("@portal.example>")
    assert message["Subject"] == "Hi Bcc: b@y.example" and message["Bcc"] is None
    for to in ("a@x.example,b@y.example", "a@x.example\r\nBcc: b@y.example", "nobody"):
        with pytest.raises(BadRecipient):
            mailer.build(OutgoingMail(to=to, subject="x", text="."))


# --- what the server fetches for a town's OpenID provider ----------------------------------------------


class _Huge(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's hook name
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"issuer": "' + b"x" * (2 * oidc.MAX_DOCUMENT_BYTES) + b'"}')

    def log_message(self, *args):
        pass


async def test_the_server_does_not_fetch_loopback_private_or_plain_http_issuers_unless_allowed():
    public_only = oidc.Reach(require_https=False)
    production = oidc.Reach(require_https=True)
    for url in (
        "http://127.0.0.1:1/",
        "http://[::1]:1/",
        "http://10.1.2.3/",
        "http://169.254.169.254/",
        "http://[64:ff9b::7f00:1]/",  # loopback through a NAT64 gateway
        "http://[::ffff:10.1.2.3]/",
    ):
        with pytest.raises(oidc.OidcError, match="private or local"):
            await oidc.check_reach(url, public_only)
    with pytest.raises(oidc.OidcError, match="https"):
        await oidc.check_reach("http://login.example.org", production)
    with pytest.raises(oidc.OidcError, match="not valid"):
        await oidc.check_reach("https://login.example.org:port/", production)
    await oidc.check_reach("http://127.0.0.1:1/", oidc.Reach.from_settings(get_settings()))
    config = oidc.ProviderConfig(issuer="http://127.0.0.1:1", client_id="c", client_secret="s")
    with pytest.raises(oidc.OidcError, match="private or local"):
        await oidc.begin(config, "http://testville.localhost:8000/cb", reach=public_only)


class _PointsInward(http.server.BaseHTTPRequestHandler):
    """A provider at an allowed address whose discovery document sends the server on to a private one."""

    endpoints: dict[str, str] = {}

    def do_GET(self):  # noqa: N802 - http.server's hook name
        issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        document = {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/authorize",
            "token_endpoint": f"{issuer}/token",
            "jwks_uri": f"{issuer}/jwks",
            **self.endpoints,
        }
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(document).encode())

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("endpoint", ["token_endpoint", "jwks_uri"])
async def test_a_provider_cannot_send_the_server_on_to_a_private_address(endpoint):
    class Handler(_PointsInward):
        endpoints = {endpoint: "http://10.1.2.3/inside"}

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    only_this_provider = oidc.Reach(
        require_https=False, allowed_networks=(ipaddress.ip_network("127.0.0.1/32"),)
    )
    try:
        oidc.clear_caches()
        config = oidc.ProviderConfig(
            issuer=f"http://127.0.0.1:{server.server_address[1]}", client_id="c", client_secret="s"
        )
        with pytest.raises(oidc.OidcError, match="private or local"):
            await oidc.begin(config, "http://testville.localhost:8000/cb", reach=only_this_provider)
        Handler.endpoints = {}  # the same provider, its endpoints at home: fine
        oidc.clear_caches()
        url, _ = await oidc.begin(config, "http://testville.localhost:8000/cb", reach=only_this_provider)
        assert url.startswith(f"{config.issuer}/authorize?")
    finally:
        oidc.clear_caches()
        server.shutdown()
        server.server_close()


async def test_a_huge_provider_answer_is_cut_off():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Huge)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config = oidc.ProviderConfig(
            issuer=f"http://127.0.0.1:{server.server_address[1]}", client_id="c", client_secret="s"
        )
        with pytest.raises(oidc.OidcError, match="unexpected answer"):
            await oidc.begin(config, "http://testville.localhost:8000/cb")
    finally:
        server.shutdown()
        server.server_close()


async def test_the_settings_form_refuses_an_issuer_the_server_may_not_call():
    town = await make_town()
    strict = dataclasses.replace(OFFLINE, oidc_allowed_networks="")
    async with PortalClient(create_app(strict), town.host) as admin:
        await admin.login(town.admin_email, town.password)
        await admin.get("/admin/settings/sign-in")
        answer = await admin.post(
            "/admin/settings/sign-in/providers",
            {
                "audience": "staff",
                "label": "Loopback",
                "issuer": "http://127.0.0.1:8000",
                "client_id": "c",
                "client_secret": "s",
            },
        )
    assert answer.status_code == 422 and "https address on the internet" in answer.text
    assert not await town.scope.exists(SignInProvider)


def test_json_bodies_are_checked_like_forms():
    from infra.security import _json_is_clean

    assert _json_is_clean({"a": ["b", {"c": "d\ne"}], "n": 1})
    assert not _json_is_clean({"a": ["b", {"c": "d\x00"}]})
    assert not _json_is_clean({"k\x07": 1})
