"""A town from nothing, in Chromium: the platform creates it, its administrator (invited by mail) sets its
branding, a department, two staff (invited by mail), its types' service levels and a holiday, lists its
website and goes live; a citizen then reports through the portal framed in that website, on another
loopback origin, and the request reaches the right clerk with the due date of the town's calendar. A page
on a site the town did not list cannot frame the portal."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import expect

from apps.demo import DEMO_PASSWORD
from domain.calendar import BusinessCalendar, add_business_time
from domain.scope import TenantScope
from domain.staff import hash_password
from domain.tables import ServiceRequest, StaffUser, WebhookDelivery
from infra.database import cross_tenant
from tenants.onboarding import tenant_id_by_slug
from tenants.tables import PlatformAdmin, Tenant
from tests.browser.conftest import axe_violations
from tests.support.factories import make_town
from tests.support.website import TownWebsite
from tests.workflows.lifecycle_helpers import eventually, text_of

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("worker")]
PASSWORD = "a long password of my own"
PATIENCE = 60


async def _refused_frame(page) -> bool:
    return any(frame.url.startswith("chrome-error://") for frame in page.frames)


async def invitation_link(inbox, email: str) -> str:
    mail = await inbox.wait_for(lambda m: m["to"] == email and "You are invited" in str(m["subject"]))
    return re.search(r"(/admin/invitation/[\w-]+)", text_of(mail)).group(1)


async def join(browser, base: str, link: str) -> None:
    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    await page.goto(base + link)
    await page.locator("#password").fill(PASSWORD)
    await page.locator("#confirmation").fill(PASSWORD)
    await page.locator("form button[type=submit]").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Requests")
    await context.close()


async def invite(admin, name: str, email: str, departments: list[str]) -> None:
    await admin.get_by_role("link", name="Staff", exact=True).click()
    await admin.locator("#name").fill(name)
    await admin.locator("#email").fill(email)
    await admin.locator("#role").select_option(label="Agent")
    for department in departments:
        await admin.get_by_label(department, exact=True).check()
    await admin.get_by_role("button", name="Send the invitation").click()
    await expect(admin.get_by_role("status")).to_have_text("The invitation is sent.")


async def set_level(admin, type_name: str, hours: str, round_robin: bool = False) -> None:
    await admin.get_by_role("link", name="Request types").click()
    await admin.get_by_role("link", name=f"Change {type_name}").click()
    await admin.locator("#target_seconds").fill(hours)
    if round_robin:
        await admin.locator("#mode-round_robin").check()
    await admin.locator("form[action^='/admin/settings/types/'] button[type=submit]").click()
    await expect(admin.get_by_role("status")).to_be_visible()


async def test_a_town_from_nothing_to_a_request_made_through_its_own_website(browser, web_server, inbox):
    slug = f"ogden-{uuid.uuid4().hex[:6]}"
    platform_email = f"root-{slug}@platform.test"
    async with cross_tenant("test: a platform administrator"):
        await PlatformAdmin(
            email=platform_email, name="Root", password_hash=hash_password(DEMO_PASSWORD)
        ).save()
    website, elsewhere = TownWebsite(), TownWebsite()
    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    try:
        # The platform administrator creates the town from the small-town starter.
        await page.goto(f"http://localhost:{web_server}/platform/login")
        await page.locator("#email").fill(platform_email)
        await page.locator("#password").fill(DEMO_PASSWORD)
        await page.locator("form button[type=submit]").click()
        await page.get_by_role("link", name="Onboard a municipality").click()
        await page.locator("#name").fill("Ogdenville")
        await page.locator("#slug").fill(slug)
        await page.locator("#prefix").fill("OGD")
        await page.get_by_label("Small town").check()
        await page.locator("#timezone").fill("UTC")
        await page.locator("#admin_name").fill("Olga")
        await page.locator("#admin_email").fill(f"olga@{slug}.test")
        await page.get_by_role("button", name="Create the municipality").click()
        await expect(page.get_by_role("status")).to_contain_text(f"An invitation is sent to olga@{slug}.test")
        base = f"http://{slug}.localhost:{web_server}"
        await page.goto(base + "/")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Coming soon")

        # Its administrator joins and gets it ready, without JavaScript.
        await join(browser, base, await invitation_link(inbox, f"olga@{slug}.test"))
        await page.goto(base + "/admin/login")
        await page.get_by_label("Email address").fill(f"olga@{slug}.test")
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await page.get_by_role("link", name="Branding").click()
        await page.locator("#brand_color").fill("#ffcc00")
        await page.get_by_role("button", name="Save", exact=True).click()
        await expect(page.locator("#error-summary")).to_contain_text("WCAG AA asks for at least 4.5 to 1")
        await page.locator("#brand_color").fill("#0b3d2e")
        await page.locator("#contact_phone").fill("555-0100")
        await page.get_by_role("button", name="Save", exact=True).click()
        await expect(page.get_by_role("status")).to_have_text(
            "Your changes are saved; every page shows them now."
        )

        await page.get_by_role("link", name="Departments").click()
        await page.get_by_label("Name (English)").fill("Parks")
        await page.get_by_label("Name (Français)").fill("Parcs")
        await page.get_by_role("button", name="Add the department").click()
        await invite(page, "Pat Works", f"pat@{slug}.test", ["Public Works"])
        await invite(page, "Tess Office", f"tess@{slug}.test", ["Town Office", "Parks"])
        for email in (f"pat@{slug}.test", f"tess@{slug}.test"):
            await join(browser, base, await invitation_link(inbox, email))

        await set_level(page, "Pothole", "4", round_robin=True)
        await set_level(page, "Property tax question", "16")
        await set_level(page, "Records request", "40")
        await page.get_by_role("link", name="Calendar").click()
        holiday = datetime.now(UTC).date().isoformat()  # the clock does not run today
        await page.locator("#holiday").fill(holiday)
        await page.get_by_role("button", name="Add the holiday").click()
        await expect(page.get_by_role("status")).to_have_text("Holidays added: 1.")

        await page.get_by_role("link", name="On your website").click()
        await page.locator("#origins").fill(website.origin)
        await page.get_by_role("button", name="Save", exact=True).click()
        await page.locator("#type").select_option(label="Roads: Pothole")
        await page.get_by_role("button", name="Show the code").click()
        snippet = await page.locator("textarea.code").first.input_value()
        assert f"{base}/?type=pothole" in snippet
        page_html = (
            "<!doctype html><html lang=en><meta charset=utf-8><title>Roads</title>"
            f"<h1>Roads and sidewalks</h1>{snippet}</html>"
        )
        website.pages["/"] = elsewhere.pages["/"] = page_html

        await page.get_by_role("link", name="Setup checklist").click()
        await page.get_by_role("button", name="Go live").click()
        await expect(page.get_by_role("status")).to_have_text(
            "The portal is live: citizens can make requests."
        )
    finally:
        await context.close()

    # A citizen reports through the frame on the town's website; the frame grows to its content.
    try:
        citizen_context = await browser.new_context()
        citizen = await citizen_context.new_page()
        await citizen.goto(website.origin + "/")
        frame = citizen.frame_locator("#citizen-portal")
        await expect(frame.locator("#request_type")).to_have_value("pothole")  # the deep link chose it
        await expect(citizen.locator("#citizen-portal")).to_have_attribute(
            "style", re.compile(r"height: \d+px")
        )
        await frame.get_by_label("Describe the problem").fill("A deep pothole by the school.")
        await frame.get_by_label("Smaller than a car tyre").check()
        await frame.get_by_label("In the road").check()
        await frame.get_by_label("Address or nearby landmark").fill("12 School Road")
        await frame.get_by_label("Your name").fill("Ned Flanders")
        await frame.get_by_label("Email address").fill("ned@example.com")
        await frame.get_by_role("button", name="Send my request").click()
        await expect(frame.get_by_role("heading", level=1)).to_have_text("Thank you, your request is in")
        await expect(frame.locator("main")).to_contain_text("OGD-")
        reference = re.search(r"OGD-\d{4}-\d+", await frame.locator("main").inner_text()).group(0)

        # A site the town did not list gets no portal in its frame.
        await citizen.goto(elsewhere.origin + "/")
        blocked = citizen.frame_locator("#citizen-portal")
        await expect(citizen.get_by_role("heading", name="Roads and sidewalks")).to_be_visible()
        # Chromium replaces a frame its policy refuses with its own error page.
        await eventually(lambda: _refused_frame(citizen), within=PATIENCE)
        await expect(blocked.locator("#request_type")).to_have_count(0)
        await citizen_context.close()
    finally:
        website.close()
        elsewhere.close()

    # Round robin over Public Works: Pat, its only agent, has it, due 4 business hours after routing on
    # the town's calendar (which today is a holiday).
    tenant_id = await tenant_id_by_slug(slug)
    scope = TenantScope(tenant_id)

    async def routed():
        async with scope.transaction():
            row = await scope.select(ServiceRequest).where(ServiceRequest.reference == reference).first()
        return row if row and row["assignee"] else None

    row = await eventually(routed, within=PATIENCE)
    async with scope.transaction():
        pat = await scope.select(StaffUser).where(StaffUser.email == f"pat@{slug}.test").first()
        town = await Tenant.select().where(Tenant.id == tenant_id).output(load_json=True).first()
    assert row["assignee"] == pat["id"]
    settings = town["business_calendar"]
    calendar = BusinessCalendar.from_settings(
        town["timezone"], settings.get("hours"), settings.get("holidays")
    )
    assert holiday in settings["holidays"]
    expected = add_business_time(row["created_at"], timedelta(hours=4), calendar)
    assert abs(row["due_at"] - expected) < timedelta(minutes=2)
    assert row["due_at"].date().isoformat() != holiday


@pytest.mark.parametrize("locale", ["en-CA", "fr-CA"])
async def test_getting_a_town_ready_meets_wcag_21_aa(browser, web_server, locale):
    town = await make_town("Springfield")
    async with town.scope.transaction():
        await Tenant.update({Tenant.live: False}).where(Tenant.id == town.id)
    base = f"http://{town.host}:{web_server}"
    # axe is injected as an inline script, which the portal's own policy rightly forbids.
    context = await browser.new_context(bypass_csp=True, locale=locale)
    page = await context.new_page()
    found = {}
    await page.goto(base + "/")  # the resolver may hold the live town for a few seconds
    await expect(page.locator("h1")).to_have_text(re.compile("Coming soon|Bientôt"), timeout=PATIENCE * 1000)
    found["coming soon"] = await axe_violations(page)
    await page.goto(base + "/admin/login")
    await page.locator("#email").fill(town.admin_email)
    await page.locator("#password").fill(town.password)
    await page.locator("form button[type=submit]").click()
    await page.wait_for_url(base + "/admin/requests")
    for name, path in (
        ("checklist", "/admin/settings/launch"),
        ("branding", "/admin/settings/branding"),
        ("embed", "/admin/settings/embed"),
        ("routing", "/admin/settings/routing"),
        ("own addresses", "/admin/settings/domains"),
        ("mails", "/admin/settings/mail"),
        ("a mail", "/admin/settings/mail/acknowledgement"),
        ("API keys", "/admin/settings/api-keys"),
        ("webhooks", "/admin/settings/webhooks"),
    ):
        await page.goto(base + path)
        found[name] = await axe_violations(page)
    await page.goto(base + "/admin/settings/branding")
    await page.locator("#brand_color").fill("#ffcc00")
    await page.locator("form[action='/admin/settings/branding'] button[type=submit]").click()
    await expect(page.locator("#error-summary")).to_be_visible()
    found["branding with errors"] = await axe_violations(page)
    await page.goto(base + "/admin/settings/embed")
    await page.locator("#origins").fill("not a site")
    await page.locator("form[method=post][action='/admin/settings/embed'] button[type=submit]").click()
    await expect(page.locator("#error-summary")).to_be_visible()
    found["embed with errors"] = await axe_violations(page)
    await page.goto(base + "/admin/settings/routing")
    await page.locator("#preview-type").select_option(index=1)
    await page.locator("#text").fill("Main St")
    await page.locator("form[method=get] button[type=submit]").click()
    await expect(page.locator("#preview")).to_be_visible()
    found["routing preview"] = await axe_violations(page)
    await page.locator("form[action='/admin/settings/routing'][method=post] button[type=submit]").click()
    await expect(page.locator("#error-summary")).to_be_visible()
    found["routing with errors"] = await axe_violations(page)
    await page.goto(base + "/admin/settings/domains")
    await page.locator("#host").fill("https://nope")
    await page.locator("form[action='/admin/settings/domains'] button[type=submit]").click()
    await expect(page.locator("#error-summary")).to_be_visible()
    found["own addresses with errors"] = await axe_violations(page)
    await page.locator("#host").fill(f"311.{town.slug}.example")
    await page.locator("form[action='/admin/settings/domains'] button[type=submit]").click()
    await expect(page.get_by_role("status")).to_be_visible()
    found["own address to verify"] = await axe_violations(page)
    await page.goto(base + "/admin/settings/api-keys")
    await page.locator("form[action='/admin/settings/api-keys'] button[type=submit]").click()
    await expect(page.locator("#error-summary")).to_be_visible()
    found["API keys with errors"] = await axe_violations(page)
    await page.locator("#name").fill("Work-order system")
    await page.locator("#scope-work_orders").check()
    await page.locator("form[action='/admin/settings/api-keys'] button[type=submit]").click()
    await expect(page.locator("code.secret")).to_be_visible()
    found["a new API key"] = await axe_violations(page)
    await page.goto(base + "/admin/settings/webhooks")
    await page.locator("#name").fill("Work orders")
    await page.locator("#url").fill("http://10.1.2.3/hooks")
    await page.locator("[id='event-request.created']").check()
    await page.locator("form[action='/admin/settings/webhooks'] button[type=submit]").click()
    await expect(page.locator("#error-summary")).to_be_visible()
    found["webhooks with errors"] = await axe_violations(page)
    await page.locator("#url").fill("http://127.0.0.1:9/hooks")
    await page.locator("form[action='/admin/settings/webhooks'] button[type=submit]").click()
    await expect(page.locator("code.secret")).to_be_visible()
    found["a new webhook subscription"] = await axe_violations(page)
    subscription = await page.locator("main td a[href^='/admin/settings/webhooks/']").get_attribute("href")
    async with town.scope.transaction():
        await town.scope.new(
            WebhookDelivery,
            subscription=int(subscription.rsplit("/", 1)[1]),
            event="request.created",
            message_id=f"msg_{uuid.uuid4().hex}",
            payload="{}",
            state="failed",
            attempts=1,
            response_status=500,
            response_excerpt="Internal error",
            error="the receiver answered 500",
        ).save()
    await page.goto(base + subscription)
    found["a webhook subscription and its deliveries"] = await axe_violations(page)
    await page.locator("#url").fill("http://10.1.2.3/hooks")
    await page.locator(f"form[action='{subscription}'] button[type=submit]").click()
    await expect(page.locator("#error-summary")).to_be_visible()
    found["a webhook subscription with errors"] = await axe_violations(page)
    await page.goto(base + "/admin/settings/mail/acknowledgement")
    await page.locator("#subject_en").fill("{reference} {nope}")
    await page.locator("button[name=preview]").click()
    await expect(page.locator("#error-summary")).to_be_visible()
    found["a mail with errors"] = await axe_violations(page)
    await page.locator("#subject_en").fill("{town}: {reference}")
    await page.locator("button[name=preview]").click()
    await expect(page.locator("#preview")).to_be_visible()
    found["a mail's preview"] = await axe_violations(page)
    await page.goto(base + "/admin/settings/launch")
    await page.locator("form[action='/admin/settings/launch/live'] button[type=submit]").click()
    await expect(page.locator("#error-summary")).to_be_visible()
    found["checklist refusing"] = await axe_violations(page)
    french = locale.startswith("fr")
    assert ("Liste de mise en service" in await page.content()) is french

    platform_email = f"root-{town.slug}-{locale.lower()}@platform.test"
    async with cross_tenant("test: a platform administrator"):
        await PlatformAdmin(
            email=platform_email, name="Root", password_hash=hash_password(DEMO_PASSWORD)
        ).save()
    platform = f"http://localhost:{web_server}/platform"
    await page.goto(platform + "/login")
    await page.locator("#email").fill(platform_email)
    await page.locator("#password").fill(DEMO_PASSWORD)
    await page.locator("form button[type=submit]").click()
    await page.wait_for_url(platform + "/")
    await page.goto(platform + "/towns/new")
    found["onboarding a town"] = await axe_violations(page)
    await page.locator("form[action='/platform/towns/new'] button[type=submit]").click()
    await expect(page.locator("#error-summary")).to_be_visible()
    found["onboarding a town with errors"] = await axe_violations(page)
    await context.close()
    assert {name: issues for name, issues in found.items() if issues} == {}
