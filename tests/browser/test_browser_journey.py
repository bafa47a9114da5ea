"""The journey once more, as people do it: a citizen without JavaScript, a clerk with HTMX, in Chromium."""

import re

import httpx
import pytest
from playwright.async_api import expect

from tests.browser.conftest import axe_violations
from tests.support.factories import make_town
from tests.workflows.lifecycle_helpers import text_of

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("worker")]


async def test_citizen_without_javascript_and_clerk_with_htmx_take_a_request_to_closure(
    browser, web_server, inbox
):
    town = await make_town("Springfield")
    base = f"http://{town.host}:{web_server}"
    email = f"browser+{town.slug}@example.com"

    citizen = await browser.new_context(java_script_enabled=False)
    page = await citizen.new_page()
    await page.goto(base + "/")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Report a problem or make a request")
    await page.get_by_label("Type of request").select_option(label="Roads: Pothole")
    await page.get_by_label("Describe the problem").fill("Pothole")
    await page.get_by_label("Your name").fill("Ned Flanders")
    await page.get_by_label("Email address").fill("not-an-email")
    await page.get_by_role("button", name="Send my request").click()

    # Errors beside their fields, in a summary that links to them, with everything typed kept.
    await expect(page.locator("#error-summary")).to_be_visible()
    await expect(page.locator("#contact_email-error")).to_contain_text("name@example.com")
    await expect(page.locator("#address-error")).to_be_visible()
    await expect(page.get_by_label("Your name")).to_have_value("Ned Flanders")
    await expect(page.get_by_label("Type of request")).to_have_value("pothole")

    await page.get_by_label("Email address").fill(email)
    await page.get_by_label("Address or nearby landmark").fill("742 Evergreen Terrace")
    await page.get_by_role("button", name="Send my request").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Thank you, your request is in")
    reference = (await page.locator(".reference").inner_text()).strip()
    assert re.fullmatch(rf"{town.prefix}-\d{{4}}-000001", reference)
    status_url = page.url.split("?")[0]
    await inbox.wait_for(lambda m: m["to"] == email and reference in m["subject"])

    clerk_context = await browser.new_context()
    clerk = await clerk_context.new_page()
    await clerk.goto(base + "/admin")
    await clerk.get_by_label("Email address").fill(town.roads_email)
    await clerk.get_by_label("Password").fill(town.password)
    await clerk.get_by_role("button", name="Sign in").click()
    await expect(clerk.get_by_role("heading", level=1)).to_have_text("Requests")

    # HTMX filter: the table is swapped in place and the address bar follows.
    await clerk.get_by_label("Department").select_option(label="Public Works")
    await expect(clerk).to_have_url(re.compile(r"department=\d+"))
    await expect(clerk.get_by_role("link", name=reference)).to_be_visible()
    await clerk.get_by_label("Status").select_option("closed")
    await expect(clerk.get_by_text("No request matches these filters.")).to_be_visible()
    await clerk.get_by_label("Status").select_option("open")
    await clerk.get_by_role("link", name=reference).click()

    await clerk.get_by_role("button", name="Assign", exact=True).click()
    await expect(clerk.get_by_role("status")).to_have_text("The request is assigned.")
    await clerk.get_by_label("Post an update").fill("A crew is on its way.")
    await clerk.get_by_role("button", name="Post update").click()
    await expect(clerk.get_by_role("status")).to_have_text("Your update is posted.")
    await clerk.get_by_label("Reason for closing").select_option("fixed")
    await clerk.get_by_role("button", name="Close request").click()
    await expect(clerk.get_by_role("status")).to_contain_text("The request is closed.")
    await expect(clerk.get_by_role("button", name="Close request")).to_have_count(0)

    await inbox.wait_for(lambda m: m["to"] == email and "closed" in m["subject"])
    await page.goto(status_url)
    await expect(page.locator(".status")).to_have_text("Closed")
    receipt = page.get_by_role("link", name="Download the receipt (PDF)")
    await expect(receipt).to_be_visible()
    # Chromium resolves *.localhost itself; Python does not, so fetch through 127.0.0.1 with the Host header.
    async with httpx.AsyncClient() as http:
        response = await http.get(
            f"http://127.0.0.1:{web_server}" + await receipt.get_attribute("href"),
            headers={"Host": f"{town.host}:{web_server}"},
        )
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    await citizen.close()
    await clerk_context.close()


async def test_citizen_pages_and_the_workspace_meet_wcag_21_aa(browser, web_server):
    town = await make_town("Springfield")
    base = f"http://{town.host}:{web_server}"
    # axe is injected as an inline script, which the portal's own policy rightly forbids.
    context = await browser.new_context(bypass_csp=True)
    page = await context.new_page()
    found = {}
    await page.goto(base + "/")
    found["form"] = await axe_violations(page)
    await page.get_by_role("button", name="Send my request").click()
    await expect(page.locator("#error-summary")).to_be_visible()
    found["form with errors"] = await axe_violations(page)
    await page.goto(base + "/status")
    found["lookup"] = await axe_violations(page)
    await page.goto(base + "/admin/login")
    found["sign-in"] = await axe_violations(page)
    await page.get_by_label("Email address").fill(town.admin_email)
    await page.get_by_label("Password").fill(town.password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Requests")
    found["queue"] = await axe_violations(page)
    await context.close()
    assert {name: issues for name, issues in found.items() if issues} == {}


async def test_the_form_fits_a_phone_and_works_from_the_keyboard(browser, web_server):
    town = await make_town()
    context = await browser.new_context(
        viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True
    )
    page = await context.new_page()
    await page.goto(f"http://{town.host}:{web_server}/")
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator("main")).to_be_focused()
    await context.close()


async def test_a_citizen_signs_in_by_email_link_and_finds_their_requests(browser, web_server, inbox):
    town = await make_town("Springfield")
    base = f"http://{town.host}:{web_server}"
    email = f"maude@{town.slug}.example"
    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    await page.goto(base + "/")
    await page.get_by_label("Type of request").select_option(label="Clerk: Copy of public records")
    await page.get_by_label("Describe the problem").fill("Minutes of the May council meeting")
    await page.get_by_label("Your name").fill("Maude Flanders")
    await page.get_by_label("Email address").fill(email)
    await page.get_by_role("button", name="Send my request").click()
    reference = (await page.locator(".reference").inner_text()).strip()

    await page.get_by_role("link", name="My requests").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to follow your requests")
    await page.get_by_label("Email address").fill(email)
    await page.get_by_role("button", name="E-mail me a sign-in link").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Check your e-mail")
    mail = await inbox.wait_for(lambda m: m["to"] == email and "sign-in link" in str(m["subject"]))
    link = re.search(r"(/account/link/[\w-]+)", text_of(mail)).group(1)
    await page.goto(base + link)
    await page.get_by_role("button", name="Sign me in").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("My requests")
    await expect(page.get_by_role("link", name=reference)).to_be_visible()
    await page.get_by_role("link", name="My account").click()
    await page.get_by_label("only when a request is closed").check()
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status")).to_have_text("Your choices are saved.")
    await context.close()
