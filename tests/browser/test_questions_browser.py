"""A citizen answers the pothole questions in Chromium: in English with JavaScript (the depth question
shows only for a large pothole, and choosing never moves the focus), in French without it (every question
shows, the conditional one saying when to answer it), the answers on the status page; the questions and
the administrator's pages for them meet WCAG 2.1 AA."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from apps.demo import add_pothole_questions
from domain.tables import RequestType
from tests.browser.conftest import axe_violations
from tests.support.factories import make_town

pytestmark = pytest.mark.browser


async def fill_contact(page, email: str) -> None:
    await page.locator("#description").fill("A deep pothole by the school.")
    await page.locator("#address").fill("12 School Road")
    await page.locator("#contact_name").fill("Ned Flanders")
    await page.locator("#contact_email").fill(email)


async def test_with_javascript_the_depth_question_shows_only_for_a_large_pothole(browser, web_server):
    town = await make_town("Springfield")
    await add_pothole_questions(town.scope)
    # axe is injected as an inline script, which the portal's own policy rightly forbids.
    context = await browser.new_context(locale="en-CA", bypass_csp=True)
    page = await context.new_page()
    await page.goto(f"http://{town.host}:{web_server}/")
    await page.get_by_label("Type of request").select_option(label="Roads: Pothole")
    size = page.get_by_role("group", name="How big is it? (required)")
    await expect(size).to_be_visible()
    depth = page.get_by_label("Roughly how deep, in cm?")
    await expect(depth).to_be_hidden()
    large = size.get_by_label("Larger than a car tyre")
    await large.check()
    await expect(depth).to_be_visible()
    await expect(large).to_be_focused()
    await size.get_by_label("Smaller than a hand").check()
    await expect(depth).to_be_hidden()
    await large.check()
    await depth.fill("12,5")
    assert await axe_violations(page) == []

    await (
        page.get_by_role("group", name="Is it in the road, the cycle lane or the sidewalk? (required)")
        .get_by_label("On the sidewalk")
        .check()
    )
    await page.get_by_label("Anything else we should know?").fill("It has damaged a bicycle.")
    await fill_contact(page, f"js+{town.slug}@example.com")
    await page.get_by_role("button", name="Send my request").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Thank you, your request is in")
    answers = page.locator("dl.answers")
    await expect(answers).to_contain_text("How big is it?")
    await expect(answers).to_contain_text("Larger than a car tyre")
    await expect(answers).to_contain_text("12,5")
    await expect(answers).to_contain_text("On the sidewalk")
    await context.close()


async def test_without_javascript_a_french_citizen_sees_every_question_and_is_told_what_is_missing(
    browser, web_server
):
    town = await make_town("Springfield")
    await add_pothole_questions(town.scope)
    context = await browser.new_context(java_script_enabled=False, locale="fr-CA")
    page = await context.new_page()
    await page.goto(f"http://{town.host}:{web_server}/?type=pothole")
    size = page.get_by_role("group", name="Quelle est sa taille? (obligatoire)")
    await expect(size).to_be_visible()
    depth = page.get_by_label("Quelle profondeur environ, en cm?")
    await expect(depth).to_be_visible()  # no script to hide it: its hint says when to answer it
    await expect(page.locator("#q_depth-condition")).to_contain_text("Plus grand qu’un pneu de voiture")
    await fill_contact(page, f"fr+{town.slug}@example.com")
    await depth.fill("beaucoup")
    await page.locator("#send").click()

    await expect(page.locator("#error-summary a[href='#q_size']")).to_be_visible()
    await expect(page.locator("#q_size-error")).to_be_visible()
    await expect(page.locator("#q_where-error")).to_be_visible()
    await expect(depth).to_have_value("beaucoup")  # kept, though not asked for a small pothole
    await expect(page.locator("#contact_name")).to_have_value("Ned Flanders")
    await size.get_by_label("Plus grand qu’un pneu de voiture").check()
    await page.get_by_label("Sur la chaussée").check()
    await page.locator("#send").click()
    await expect(page.locator("#q_depth-error")).to_be_visible()  # now it is asked, and not a number
    await depth.fill("12,5")
    await page.locator("#send").click()

    answers = page.locator("dl.answers")
    await expect(answers).to_contain_text("Quelle est sa taille?")
    await expect(answers).to_contain_text("Plus grand qu’un pneu de voiture")
    await expect(answers).to_contain_text("Sur la chaussée")
    await expect(answers).to_contain_text("12,5")
    await context.close()


@pytest.mark.parametrize("locale", ["en-CA", "fr-CA"])
async def test_the_questions_and_their_settings_meet_wcag_21_aa(browser, web_server, locale):
    town = await make_town("Springfield")
    await add_pothole_questions(town.scope)
    async with town.scope.transaction():
        pothole = (
            await town.scope.select(RequestType, RequestType.id).where(RequestType.code == "pothole").first()
        )
    base = f"http://{town.host}:{web_server}"
    context = await browser.new_context(bypass_csp=True, locale=locale)
    page = await context.new_page()
    found = {}
    await page.goto(base + "/?type=pothole")
    await page.locator("#send").click()
    await expect(page.locator("#q_size-error")).to_be_visible()
    found["form with the questions' errors"] = await axe_violations(page)
    await page.goto(base + "/admin/login")
    await page.locator("#email").fill(town.admin_email)
    await page.locator("#password").fill(town.password)
    await page.locator("form button[type=submit]").click()
    await page.wait_for_url(base + "/admin/requests")
    questions = f"/admin/settings/types/{pothole['id']}/questions"
    await page.goto(base + questions)
    found["questions"] = await axe_violations(page)
    await page.goto(base + questions + "/new")
    await page.locator("#kind-singlevaluelist").check()
    await page.locator("form#form button[type=submit]").click()
    await expect(page.locator("#error-summary")).to_be_visible()
    found["a new question with errors"] = await axe_violations(page)
    await page.goto(base + questions)
    await page.locator("table a").nth(2).click()  # the conditional one
    found["a question"] = await axe_violations(page)
    await context.close()
    assert {name: issues for name, issues in found.items() if issues} == {}
