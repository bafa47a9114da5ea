"""A town administrator sets up a department and invites its first member, without JavaScript; the invitee
joins through the mailed link in their own browser. Every page of it meets WCAG 2.1 AA, in both languages."""

import re

import pytest
from playwright.async_api import expect

from tests.browser.conftest import axe_violations
from tests.support.factories import make_town
from tests.workflows.lifecycle_helpers import text_of

pytestmark = pytest.mark.browser
PASSWORD = "a long password of my own"


async def sign_in(page, base: str, email: str, password: str) -> None:
    await page.goto(base + "/admin/login")
    await page.get_by_label("Email address").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Requests")


async def test_an_administrator_adds_a_department_and_invites_its_first_member_who_joins(
    browser, web_server, inbox
):
    town = await make_town("Springfield")
    base = f"http://{town.host}:{web_server}"
    email = f"ranger@{town.slug}.test"
    admin_context = await browser.new_context(java_script_enabled=False)
    admin = await admin_context.new_page()
    await sign_in(admin, base, town.admin_email, town.password)
    await admin.get_by_role("link", name="Departments").click()
    await admin.get_by_label("Name (English)").fill("Parks")
    await admin.get_by_label("Name (Français)").fill("Parcs")
    await admin.get_by_role("button", name="Add the department").click()
    await expect(admin.get_by_role("status")).to_have_text("The department is added.")
    parks = admin.get_by_role("row").filter(has_text="Parks")
    await expect(parks).to_contain_text("Nobody: its requests reach no one")

    await admin.get_by_role("link", name="Staff", exact=True).click()
    await admin.get_by_role("button", name="Send the invitation").click()  # nothing filled in
    await expect(admin.locator("#error-summary")).to_contain_text("Enter the person's name.")
    await admin.locator("#name").fill("Ranger Rick")
    await admin.get_by_label("Email address").fill(email)
    await admin.get_by_label("Role").select_option(label="Agent")
    await admin.get_by_label("Parks").check()
    await admin.get_by_role("button", name="Send the invitation").click()
    await expect(admin.get_by_role("status")).to_have_text("The invitation is sent.")
    await expect(admin.get_by_role("row").filter(has_text=email)).to_contain_text("Invited, not joined yet")

    mail = await inbox.wait_for(lambda m: m["to"] == email and "You are invited" in str(m["subject"]))
    link = re.search(r"(/admin/invitation/[\w-]+)", text_of(mail)).group(1)
    newcomer_context = await browser.new_context(java_script_enabled=False)
    newcomer = await newcomer_context.new_page()
    await newcomer.goto(base + link)
    await expect(newcomer.get_by_role("heading", level=1)).to_have_text("Join the staff of Springfield")
    await newcomer.locator("#password").fill(PASSWORD)
    await newcomer.locator("#confirmation").fill(PASSWORD)
    await newcomer.get_by_role("button", name="Save my password and sign in").click()
    await expect(newcomer.get_by_role("heading", level=1)).to_have_text("Requests")
    await expect(newcomer.get_by_text("Signed in as Ranger Rick")).to_be_visible()
    await newcomer_context.close()

    await admin.get_by_role("link", name="Departments").click()
    await expect(admin.get_by_role("row").filter(has_text="Parks")).to_contain_text("Ranger Rick")
    await admin.get_by_role("link", name="Audit log").click()
    await expect(admin.get_by_role("row").filter(has_text="Invitation accepted")).to_contain_text(
        "Ranger Rick"
    )
    await expect(admin.get_by_role("row").filter(has_text="Department added")).to_contain_text("Parcs")
    await admin_context.close()


@pytest.mark.parametrize("locale", ["en-CA", "fr-CA"])
async def test_the_settings_pages_and_the_invitation_meet_wcag_21_aa(browser, web_server, inbox, locale):
    town = await make_town("Springfield")
    base = f"http://{town.host}:{web_server}"
    # axe is injected as an inline script, which the portal's own policy rightly forbids.
    context = await browser.new_context(bypass_csp=True, locale=locale)
    page = await context.new_page()
    await page.goto(base + "/admin/login")
    await page.locator("#email").fill(town.admin_email)
    await page.locator("#password").fill(town.password)
    await page.locator("form button[type=submit]").click()
    await page.wait_for_url(base + "/admin/requests")
    found = {}
    for name, path in (
        ("departments", "/admin/settings/departments"),
        ("staff", "/admin/settings/staff"),
        ("audit log", "/admin/settings/audit"),
        ("request types", "/admin/settings/types"),
        ("a request type", "/admin/settings/types/new"),
        ("calendar", "/admin/settings/calendar"),
    ):
        await page.goto(base + path)
        found[name] = await axe_violations(page)
    await page.goto(base + "/admin/settings/types/new")
    await page.locator("form[action='/admin/settings/types/new'] button[type=submit]").click()
    await expect(page.locator("#error-summary")).to_be_visible()
    found["a request type with errors"] = await axe_violations(page)
    await page.goto(base + "/admin/settings/calendar")
    await page.locator("#tue").fill("16:30-08:30")
    await page.locator("form[action='/admin/settings/calendar/hours'] button[type=submit]").click()
    await expect(page.locator("#error-summary")).to_be_visible()
    found["calendar with errors"] = await axe_violations(page)
    await page.goto(base + "/admin/settings/staff")
    await page.locator("form[action='/admin/settings/staff'] button[type=submit]").click()
    await expect(page.locator("#error-summary")).to_be_visible()
    found["invitation with errors"] = await axe_violations(page)
    await page.locator("#name").fill("Ranger Rick")
    await page.locator("#email").fill(f"ranger@{town.slug}.test")
    await page.locator("#role").select_option("viewer")
    await page.locator("form[action='/admin/settings/staff'] button[type=submit]").click()
    await expect(page.get_by_role("status")).to_be_visible()
    await page.locator("a[href^='/admin/settings/staff/']").last.click()
    found["member"] = await axe_violations(page)
    await page.locator("a[href^='/admin/settings/departments']").first.click()
    await page.locator("a[href^='/admin/settings/departments/']").first.click()
    found["department"] = await axe_violations(page)
    await page.goto(base + "/admin/settings/audit")
    found["audit log with entries"] = await axe_violations(page)
    french = locale.startswith("fr")
    assert ("Journal des modifications" in await page.content()) is french

    mail = await inbox.wait_for(lambda m: m["to"] == f"ranger@{town.slug}.test")
    link = re.search(r"(/admin/invitation/[\w-]+)", text_of(mail)).group(1)
    invitee = await (await browser.new_context(bypass_csp=True, locale=locale)).new_page()
    await invitee.goto(base + link)
    found["invitation"] = await axe_violations(invitee)
    await invitee.locator("form button[type=submit]").click()
    await expect(invitee.locator("#error-summary")).to_be_visible()
    found["accepting with errors"] = await axe_violations(invitee)
    await invitee.context.close()
    await context.close()
    assert {name: issues for name, issues in found.items() if issues} == {}
