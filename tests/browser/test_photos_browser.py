"""Photos on the request form as a citizen sends them, in Chromium: without JavaScript, through the plain file
inputs; kept when the form comes back with an error; shown on the status page and to staff as thumbnails
named by the citizen's words. The form with its photos, the status page and the staff panel meet WCAG 2.1 AA.
"""

import pytest
from playwright.async_api import expect

from tests.browser.conftest import axe_violations
from tests.integration.test_photos_and_flooding import jpeg_with_gps
from tests.support.factories import make_town

pytestmark = pytest.mark.browser


async def _report_with_a_photo(page, base: str, photo_path: str) -> None:
    """The form filled in without a name, so it comes back with the photo held."""
    await page.goto(base + "/")
    await page.get_by_label("Type of request").select_option(label="Roads: Pothole")
    await page.get_by_label("Describe the problem").fill("A deep pothole in the right lane.")
    await page.get_by_label("Address or nearby landmark").fill("742 Evergreen Terrace")
    await page.get_by_label("Email address").fill("ned@example.com")
    await page.get_by_label("Photo 1", exact=True).set_input_files(photo_path)
    await page.get_by_label("What photo 1 shows").fill("Pothole by the kerb")
    await page.get_by_role("button", name="Send my request").click()
    await expect(page.locator("#contact_name-error")).to_be_visible()


async def test_a_photo_sent_without_javascript_is_kept_through_an_error_and_shown_as_a_thumbnail(
    browser, web_server, tmp_path
):
    town = await make_town()
    base = f"http://{town.host}:{web_server}"
    photo = tmp_path / "pothole.jpg"
    photo.write_bytes(jpeg_with_gps())
    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    await _report_with_a_photo(page, base, str(photo))
    # Held: its description kept and editable, and a place for another photo, numbered after it.
    await expect(page.get_by_label("What photo 1 shows")).to_have_value("Pothole by the kerb")
    await expect(page.get_by_label("Remove photo 1")).not_to_be_checked()
    await expect(page.get_by_label("Photo 2", exact=True)).to_have_attribute("type", "file")
    await page.get_by_label("Your name").fill("Ned Flanders")
    await page.get_by_role("button", name="Send my request").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Thank you, your request is in")
    link = page.get_by_role("link", name="Pothole by the kerb")
    thumbnail = link.locator("img")
    await expect(thumbnail).to_have_js_property("complete", True)
    assert await thumbnail.evaluate(
        "image => image.naturalWidth > 0 && image.currentSrc.endsWith('/thumbnail')"
    )
    await link.click()
    assert page.url.split("/")[-2] == "photos"  # the photo itself
    await context.close()


async def test_the_form_with_its_photos_the_status_page_and_the_staff_panel_meet_wcag_21_aa(
    browser, web_server, tmp_path
):
    town = await make_town()
    base = f"http://{town.host}:{web_server}"
    photo = tmp_path / "pothole.jpg"
    photo.write_bytes(jpeg_with_gps())
    context = await browser.new_context(bypass_csp=True)  # axe runs as an inline script
    page = await context.new_page()
    found = {}
    await _report_with_a_photo(page, base, str(photo))
    found["form with a held photo"] = await axe_violations(page)
    await page.get_by_label("Your name").fill("Ned Flanders")
    await page.get_by_role("button", name="Send my request").click()
    await expect(page.get_by_role("link", name="Pothole by the kerb")).to_be_visible()
    found["status page"] = await axe_violations(page)
    reference = (await page.locator(".reference").inner_text()).strip()
    await page.goto(base + "/admin/login")
    await page.get_by_label("Email address").fill(town.admin_email)
    await page.get_by_label("Password").fill(town.password)
    await page.get_by_role("button", name="Sign in").click()
    await page.goto(f"{base}/admin/requests/{reference}")
    link = page.get_by_role("link", name="Pothole by the kerb")
    await expect(link.locator("img")).to_have_js_property("complete", True)
    assert await link.locator("img").evaluate("image => image.currentSrc.endsWith('/thumbnail')")
    found["staff panel"] = await axe_violations(page)
    await context.close()
    assert {name: issues for name, issues in found.items() if issues} == {}
