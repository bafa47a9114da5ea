"""A town's administrator sets its branding (colours refused below WCAG AA contrast, logos sanitised or
re-encoded), lists the sites that may frame its portal, and takes it live; a deep link opens the form on a
type; a form posted from the portal's own page in a frame, where the browser keeps no cookie, is accepted,
and one from another site is not."""

from __future__ import annotations

import base64
import io
import re

import httpx
from PIL import Image

from apps.web import create_app
from domain.tables import AuditEntry
from tenants.tables import Tenant
from tests.integration.test_team_settings import signed_in_admin
from tests.support.factories import make_town, valid_form
from tests.support.portal import PortalClient
from tests.support.services import offline_settings

OFFLINE = offline_settings()
BRANDING = "/admin/settings/branding"
GOOD = {
    "name": "Testville",
    "brand_color": "#0B3D2E",
    "brand_text_color": "#ffffff",
    "contact_email": "311@testville.example",
    "contact_phone": "+1 555 555 0100 ext. 12",
    "footer_links": "Privacy | https://testville.example/privacy\nAccessibility | https://testville.example/a11y",
}
EVIL_SVG = b"""<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 64 64"
     onload="alert('svg')">
  <script>alert('script')</script>
  <defs><linearGradient id="sky"><stop offset="0" stop-color="#0b3d2e"/></linearGradient></defs>
  <circle cx="32" cy="32" r="30" fill="url(#sky)" onclick="alert('click')"/>
  <rect width="10" height="10" fill="url(https://tracker.example/pixel)"/>
  <image href="https://tracker.example/logo.png" width="10" height="10"/>
  <use xlink:href="https://tracker.example/sprite.svg#a"/><use href="#sky"/>
  <foreignObject><div xmlns="http://www.w3.org/1999/xhtml">HTML</div></foreignObject>
  <text x="4" y="40">Testville</text>
</svg>"""


async def logo_of(town) -> str:
    async with town.scope.transaction():
        row = await Tenant.select(Tenant.logo_svg).where(Tenant.id == town.id).first()
    return row["logo_svg"]


def upload(client: PortalClient, name: str, content: bytes, media_type: str):
    return client.http.post(
        f"{BRANDING}/logo", data={"_csrf_token": client._csrf}, files={"logo": (name, content, media_type)}
    )


async def test_branding_refuses_colours_below_aa_contrast_beside_the_field_and_shows_what_it_saves():
    town = await make_town()
    app = create_app(OFFLINE)
    async with await signed_in_admin(app, town) as admin:
        assert (await admin.get(BRANDING)).status_code == 200
        typed = {**GOOD, "brand_color": "#ffff00", "contact_phone": "call us", "footer_links": "Privacy"}
        refused = await admin.post(BRANDING, typed)
        assert refused.status_code == 422
        assert "has a contrast of 1.07 to 1; WCAG AA asks for at least 4.5 to 1" in refused.text
        assert refused.text.count('class="error-message"') == 3  # colour, phone, links
        assert 'value="#ffff00"' in refused.text and "call us" in refused.text  # nothing typed is lost
        assert (await admin.post(BRANDING, {**GOOD, "brand_color": "blue"})).status_code == 422
        saved = await admin.post(BRANDING, GOOD)
        assert saved.headers["location"] == f"{BRANDING}?done=saved"
    async with PortalClient(app, town.host) as citizen:
        page = (await citizen.get("/")).text
    assert "--brand: #0b3d2e;" in page
    assert '<a href="tel:+15555550100ext.12">+1 555 555 0100 ext. 12</a>' in page
    assert '<a href="https://testville.example/privacy">Privacy</a>' in page and "Accessibility" in page
    async with town.scope.transaction():
        entry = await town.scope.select(AuditEntry).where(AuditEntry.action == "branding.changed").first()
    assert entry["before"]["brand_color"] == "#1d4f91" and entry["after"]["brand_color"] == "#0B3D2E"
    assert entry["after"]["contact_phone"] == GOOD["contact_phone"]


async def test_an_uploaded_logo_is_rebuilt_from_drawing_elements_or_re_encoded_without_its_metadata():
    town = await make_town()
    app = create_app(OFFLINE)
    async with await signed_in_admin(app, town) as admin:
        await admin.get(BRANDING)
        assert (await upload(admin, "logo.svg", EVIL_SVG, "image/svg+xml")).status_code == 303
        logo = await logo_of(town)
        assert "<circle" in logo and 'fill="url(#sky)"' in logo and "Testville</text>" in logo
        assert '<use href="#sky"' in logo
        for hostile in ("script", "onload", "onclick", "tracker.example", "foreignObject", "<image", "HTML"):
            assert hostile not in logo, hostile
        page = (await admin.get("/")).text
        assert logo in page  # inline in the header

        photo = io.BytesIO()
        exif = Image.Exif()
        exif[0x010E] = "secret description"  # ImageDescription
        Image.new("RGB", (1200, 600), "#0b3d2e").save(photo, "JPEG", exif=exif)
        await admin.get(BRANDING)
        assert (await upload(admin, "logo.jpg", photo.getvalue(), "image/jpeg")).status_code == 303
        logo = await logo_of(town)
        encoded = re.search(r'href="data:image/jpeg;base64,([^"]+)"', logo).group(1)
        with Image.open(io.BytesIO(base64.b64decode(encoded))) as stored:
            assert stored.size == (256, 128) and not stored.getexif()
        assert 'viewBox="0 0 256 128"' in logo

        await admin.get(BRANDING)
        unreadable = (("logo.png", b"\x89PNG not really"), ("logo.svg", b"<svg><unclosed"), ("x", b""))
        for name, content in unreadable:
            refused = await upload(admin, name, content, "application/octet-stream")
            assert refused.status_code == 422 and "could not be read" in refused.text, name
        assert await logo_of(town) == logo  # the logo it had is kept
        assert (await admin.post(f"{BRANDING}/logo/monogram")).status_code == 303
        assert ">T</text>" in await logo_of(town)


async def test_only_the_listed_sites_may_frame_the_portal_and_the_embed_page_gives_the_code():
    town = await make_town()
    app = create_app(OFFLINE)
    async with PortalClient(app, town.host) as citizen:
        before = await citizen.get("/")
    assert before.headers["content-security-policy"].endswith("frame-ancestors 'self'")
    assert "embed.js" not in before.text
    async with await signed_in_admin(app, town) as admin:
        assert (await admin.get("/admin/settings/embed")).status_code == 200
        refused = await admin.post("/admin/settings/embed", {"origins": "https://www.town.example/roads"})
        assert refused.status_code == 422 and "without a path" in refused.text
        assert "https://www.town.example/roads" in refused.text
        origins = "https://www.town.example/\nhttp://127.0.0.1:8123"
        assert (await admin.post("/admin/settings/embed", {"origins": origins})).status_code == 303
        code = (await admin.get("/admin/settings/embed?type=pothole")).text
    portal = re.escape(f"http://{town.host}") + "(:[0-9]+)?"  # the installation's public port, if any
    assert re.search(f'&lt;iframe id="citizen-portal" src="{portal}/\\?type=pothole"', code)
    assert re.search(f'event.origin !== "{portal}"', code)
    async with PortalClient(app, town.host) as citizen:
        after = await citizen.get("/")
    policy = after.headers["content-security-policy"]
    assert policy.endswith("frame-ancestors 'self' https://www.town.example http://127.0.0.1:8123")
    assert 'data-embed-origins="https://www.town.example http://127.0.0.1:8123"' in after.text
    assert '<script src="/static/embed.js" defer>' in after.text
    async with town.scope.transaction():
        entry = await town.scope.select(AuditEntry).where(AuditEntry.action == "embed.origins").first()
    assert entry["after"] == {"origins": ["https://www.town.example", "http://127.0.0.1:8123"]}


async def test_a_deep_link_opens_the_form_with_its_type_chosen():
    town = await make_town()
    app = create_app(OFFLINE)
    async with PortalClient(app, town.host) as citizen:
        chosen = (await citizen.get("/?type=streetlight")).text
        unknown = (await citizen.get("/?type=no-such-type")).text
    assert re.search(r'<option value="streetlight" selected>', chosen)
    assert chosen.count(" selected>") == 1
    assert " selected>" not in unknown


async def test_a_form_without_cookies_is_taken_only_from_the_portals_own_page():
    """In a frame on the town's site the browser keeps no cookie of ours, so no CSRF cookie either: with
    no cookie there is no session to abuse, and the browser's Origin says which page posted."""
    town = await make_town()
    app = create_app(OFFLINE)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{town.host}") as bare:
        posts = {
            f"http://{town.host}": 303,
            "https://evil.example": 403,
            "null": 403,
            "": 403,
        }
        for origin, expected in posts.items():
            headers = {"origin": origin} if origin else {}
            answer = await bare.post("/requests", data=valid_form(), headers=headers)
            assert answer.status_code == expected, origin
            assert not bare.cookies  # the client keeps none, like a browser in a third-party frame
            bare.cookies.clear()
    assert answer.status_code == 403


async def test_before_going_live_the_public_sees_coming_soon_and_the_towns_staff_see_the_portal():
    town = await make_town()
    app = create_app(OFFLINE)
    async with town.scope.transaction():
        await Tenant.update({Tenant.live: False}).where(Tenant.id == town.id)
    app.state.tenant_resolver.forget()
    async with PortalClient(app, town.host) as public:
        for path in ("/", "/account", "/status", "/status/not-a-token"):
            answer = await public.get(path)
            assert answer.status_code == 200 and "Coming soon" in answer.text, path
        assert "Sign in" in (await public.get("/admin/login")).text  # the workspace stays open
    async with await signed_in_admin(app, town) as admin:
        preview = (await admin.get("/")).text
        assert "Not live yet" in preview and 'name="request_type"' in preview
        checklist = await admin.get("/admin/settings/launch")
        assert checklist.status_code == 200 and "Go live" in checklist.text
        assert (await admin.post("/admin/settings/launch/live", {"live": "maybe"})).status_code == 422
        refused = await admin.post("/admin/settings/launch/live", {"live": "yes"})
        assert refused.status_code == 422 and "Street Lighting" in refused.text  # nobody works it
    async with PortalClient(app, town.host) as public:
        assert "Coming soon" in (await public.get("/")).text
