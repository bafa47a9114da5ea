"""Rich intake in Chromium, as a citizen does it: the address found without coordinates, a pin on the map
drawn from the town's own streets (no tile server here), two photos, the pothole's questions, and a "me too"
for the pothole already reported, instead of sending it again. With a mouse, from the keyboard alone,
without JavaScript, and in French; every step axe-clean."""

import io
import re

import pytest
from PIL import ExifTags, Image
from playwright.async_api import expect

from apps.demo import add_pothole_questions
from domain import places, submissions
from domain.intake import Submission, new_idempotency_key
from domain.tables import Document, ServiceRequest
from infra.settings import get_settings
from infra.storage import storage_from_settings
from tests.browser.conftest import axe_violations
from tests.integration.test_photos_and_flooding import jpeg_with_gps
from tests.support.factories import make_town
from tests.support.places import load_demo_places

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("worker")]


PHOTOS = [
    {"name": "pothole-1.jpg", "mimeType": "image/jpeg", "buffer": jpeg_with_gps((120, 90, 60))},
    {"name": "pothole-2.jpg", "mimeType": "image/jpeg", "buffer": jpeg_with_gps((60, 90, 120))},
]


async def town_with_a_reported_pothole():
    """Springfield with its demo streets and addresses, and an open pothole at 12 Evergreen Terrace."""
    town = await make_town("Springfield")
    await load_demo_places(town)
    await add_pothole_questions(town.scope)
    async with town.scope.transaction():
        place = (await places.search(town.scope, "12 Evergreen Terrace"))[0]
        earlier = await submissions.submit(
            town.scope,
            town.prefix,
            Submission(
                request_type_code="pothole",
                description="Deep pothole by the curb, in front of number 12.",
                contact_name="Maude Flanders",
                contact_email="maude@example.com",
                idempotency_key=new_idempotency_key(),
                address=place.label,
                latitude=place.latitude,
                longitude=place.longitude,
            ),
            "en",
        )
    return town, earlier.reference


async def stored_state(town, reference: str) -> tuple[int, int, list[bytes]]:
    """How many requests the town has, the pothole's supporters, and its photos as stored."""
    storage = storage_from_settings(get_settings())
    async with town.scope.transaction():
        count = await town.scope.count(ServiceRequest)
        row = await town.scope.select(ServiceRequest).where(ServiceRequest.reference == reference).first()
        documents = await town.scope.select(Document).where(
            (Document.request == row["id"]) & (Document.kind == "photo")
        )
    files = [await storage.get(document["storage_key"]) for document in documents]
    return count, row["supporters"], files


def assert_photos_clean(files: list[bytes]) -> None:
    assert len(files) == 2
    for content in files:
        with Image.open(io.BytesIO(content)) as image:
            exif = image.getexif()
            assert not exif.get_ifd(ExifTags.IFD.GPSInfo), "the GPS position stayed in the stored file"
            assert ExifTags.Base.Make not in exif


async def answer_the_pothole_questions(page, *, size: str, where: str) -> None:
    await expect(page.get_by_role("group", name=re.compile("How big is it"))).to_be_visible()
    await page.get_by_label(size).check()
    await page.get_by_label(where).check()


async def test_a_citizen_finds_the_place_on_the_map_and_says_me_too(browser, web_server):
    town, reference = await town_with_a_reported_pothole()
    base = f"http://{town.host}:{web_server}"
    context = await browser.new_context(bypass_csp=False)
    page = await context.new_page()
    outside = []
    page.on("request", lambda r: outside.append(r.url) if town.host not in r.url else None)
    await page.goto(base + "/")
    await page.get_by_label("Type of request").select_option(label="Roads: Pothole")
    await answer_the_pothole_questions(page, size="Larger than a car tyre", where="In the road")
    # The questions came in place: the button that brings them without JavaScript is not shown.
    await expect(page.get_by_role("button", name="Show the questions for this type")).to_be_hidden()
    # Asked only when the pothole is larger than a tyre.
    await expect(page.get_by_label(re.compile("how deep"))).to_be_visible()
    await page.get_by_label("Smaller than a car tyre").check()
    await expect(page.get_by_label(re.compile("how deep"))).to_be_hidden()
    await page.get_by_label("Describe the problem").fill("A deep pothole in front of number 12.")

    address = page.get_by_role("combobox", name="Address or nearby landmark")
    await address.press_sequentially("12 evergreen", delay=40)
    await page.get_by_role("option", name="12 Evergreen Terrace").click()
    await expect(address).to_have_value("12 Evergreen Terrace")
    await expect(page.locator("input[name=latitude]")).to_have_value(re.compile(r"^45\.50"))

    # The map draws the town's streets itself, and takes a pin where it is clicked.
    the_map = page.locator("#map")
    await expect(the_map.locator("path.leaflet-interactive").first).to_be_attached()
    box = await the_map.bounding_box()
    await page.mouse.click(box["x"] + box["width"] / 2 + 3, box["y"] + box["height"] / 2 + 3)
    await expect(the_map.locator(".leaflet-marker-icon")).to_have_count(1)
    await expect(address).to_have_value(re.compile("Evergreen Terrace"))

    await page.get_by_label("Photo 1", exact=True).set_input_files(files=[PHOTOS[0]])
    await page.get_by_label("What photo 1 shows").fill("The pothole from the sidewalk")
    await page.get_by_label("Photo 2", exact=True).set_input_files(files=[PHOTOS[1]])
    await page.get_by_label("What photo 2 shows").fill("The pothole up close")
    await page.get_by_label("Your name").fill("Ned Flanders")
    await page.get_by_label("Email address").fill("ned@example.com")

    nearby = page.get_by_role("region", name="Already reported nearby")
    await expect(nearby).to_contain_text(reference)
    await nearby.get_by_role("button", name=re.compile("Me too: Pothole")).click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Thank you")
    await expect(page.locator("main")).to_contain_text(reference)

    count, supporters, files = await stored_state(town, reference)
    assert (count, supporters) == (1, 1)
    assert_photos_clean(files)
    assert outside == []  # no tile server, no CDN: the page asked nothing of any other host
    await context.close()


async def test_the_same_journey_from_the_keyboard_alone(browser, web_server):
    town, reference = await town_with_a_reported_pothole()
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"http://{town.host}:{web_server}/")
    select = page.get_by_label("Type of request")
    await select.focus()
    for _ in range(30):  # arrows walk a closed select, each step a change
        if await select.input_value() == "pothole":
            break
        await page.keyboard.press("ArrowDown")
    await expect(select).to_have_value("pothole")
    await expect(page.get_by_role("group", name=re.compile("How big is it"))).to_be_visible()
    await page.get_by_label("Smaller than a hand").focus()
    await page.keyboard.press("Space")
    await page.get_by_label("In the road").focus()
    await page.keyboard.press("ArrowDown")  # arrows move the choice within a group of radios
    await page.keyboard.press("ArrowDown")
    await expect(page.get_by_label("Smaller than a hand")).to_be_checked()
    await expect(page.get_by_label("On the sidewalk")).to_be_checked()
    await page.get_by_label("Describe the problem").focus()
    await page.keyboard.type("Small pothole on the sidewalk.")

    address = page.get_by_role("combobox", name="Address or nearby landmark")
    await address.focus()
    await page.keyboard.type("12 evergren", delay=40)  # a typo, and no "Terrace"
    await expect(page.get_by_role("option", name="12 Evergreen Terrace")).to_be_visible()
    await page.keyboard.press("ArrowDown")
    await expect(address).to_have_attribute("aria-activedescendant", "address-option-0")
    await page.keyboard.press("Enter")
    await expect(address).to_have_value("12 Evergreen Terrace")
    await expect(address).to_have_attribute("aria-expanded", "false")

    await page.get_by_label("Your name").focus()
    await page.keyboard.type("Rod Flanders")
    await page.keyboard.press("Tab")
    await page.keyboard.type("rod@example.com")
    me_too = page.get_by_role("button", name=re.compile("Me too: Pothole"))
    await expect(me_too).to_be_visible()
    # Reached by Tab from the address, like every control between them.
    await address.focus()
    for _ in range(40):
        await page.keyboard.press("Tab")
        if await me_too.evaluate("button => button === document.activeElement"):
            break
    else:
        pytest.fail("Tab never reached the Me too button")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Thank you")
    count, supporters, _ = await stored_state(town, reference)
    assert (count, supporters) == (1, 1)
    await context.close()


async def test_without_javascript_the_address_is_matched_and_nearby_requests_come_first(browser, web_server):
    town, reference = await town_with_a_reported_pothole()
    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    await page.goto(f"http://{town.host}:{web_server}/")
    await page.get_by_label("Type of request").select_option(label="Roads: Pothole")
    await page.get_by_role("button", name="Show the questions for this type").click()
    await answer_the_pothole_questions(page, size="Smaller than a car tyre", where="In the cycle lane")
    await expect(page.get_by_role("button", name="Use my location")).to_be_hidden()  # it needs a script
    await page.get_by_label("Describe the problem").fill("Pothole in the cycle lane.")
    await page.get_by_label("Address or nearby landmark").fill("Evergreen")  # the street, no number
    await page.get_by_label("Photo 1", exact=True).set_input_files(files=[PHOTOS[0]])
    await page.get_by_label("What photo 1 shows").fill("The pothole in the cycle lane")
    await page.get_by_label("Photo 2", exact=True).set_input_files(files=[PHOTOS[1]])
    await page.get_by_label("Your name").fill("Todd Flanders")
    await page.get_by_label("Email address").fill("todd@example.com")
    await page.get_by_role("button", name="Send my request").click()

    # "Did you mean": the street has many addresses; the photos are held, not asked again.
    choices = page.get_by_role("group", name="Did you mean one of these addresses?")
    await expect(choices).to_be_visible()
    await choices.get_by_label("12 Evergreen Terrace", exact=True).check()
    await expect(page.get_by_label("What photo 1 shows")).to_have_value("The pothole in the cycle lane")
    await expect(page.get_by_label("Smaller than a car tyre")).to_be_checked()
    await page.get_by_role("button", name="Send my request").click()

    nearby = page.get_by_role("region", name="Already reported nearby")
    await expect(nearby).to_contain_text(reference)
    await expect(page.get_by_label("Address or nearby landmark")).to_have_value("12 Evergreen Terrace")
    await nearby.get_by_role("button", name=re.compile("Me too: Pothole")).click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Thank you")
    count, supporters, files = await stored_state(town, reference)
    assert (count, supporters) == (1, 1)
    assert_photos_clean(files)
    await context.close()


async def test_rich_intake_pages_are_axe_clean_and_french_throughout(browser, web_server):
    town, reference = await town_with_a_reported_pothole()
    base = f"http://{town.host}:{web_server}"
    found = {}
    for language in ("en", "fr"):
        # axe is injected as an inline script, which the portal's own policy rightly forbids.
        context = await browser.new_context(bypass_csp=True)
        page = await context.new_page()
        await page.goto(f"{base}/lang/{language}?next=/")
        await page.locator("#request_type").select_option("pothole")
        await expect(page.locator("#type-details fieldset").first).to_be_visible()
        address = page.locator("#address")
        await address.press_sequentially("12 evergreen", delay=40)
        await expect(page.locator("#address-options [role=option]").first).to_be_visible()
        found[f"{language}: combobox open"] = await axe_violations(page)
        await page.locator("#address-options [role=option]").first.click()
        await expect(page.locator("#nearby li")).to_have_count(1)
        await expect(page.locator("#map .leaflet-marker-icon")).to_have_count(1)
        found[f"{language}: map, questions and nearby"] = await axe_violations(page)
        await page.locator("#send").click()
        await expect(page.locator("#error-summary")).to_be_visible()
        found[f"{language}: errors"] = await axe_violations(page)
        if language == "fr":
            main = await page.locator("main").inner_text()
            english_texts = ("How big is it", "Already reported nearby", "Me too", "What photo 1", "Where is")
            for english in english_texts:
                assert english not in main, f"{english!r} is not in French"
            await expect(page.get_by_role("group", name=re.compile("Quelle est sa taille"))).to_be_visible()
        await page.locator("#contact_email").fill("bart@example.com")
        await page.locator("#nearby button").first.click()
        found[f"{language}: me too"] = await axe_violations(page)
        await context.close()
    assert {name: issues for name, issues in found.items() if issues} == {}


async def test_a_photo_too_large_is_refused_before_the_form_is_sent(browser, web_server):
    town = await make_town()
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"http://{town.host}:{web_server}/")
    photo = page.get_by_label("Photo 1", exact=True)
    large = {"name": "large.jpg", "mimeType": "image/jpeg", "buffer": b"\xff\xd8" + b"0" * (5 * 1024 * 1024)}
    await photo.set_input_files(files=[large])
    await expect(page.get_by_role("alert")).to_contain_text("larger than 5 MB")
    assert await photo.evaluate("input => input.files.length") == 0
    await photo.set_input_files(files=[PHOTOS[0]])
    await expect(page.get_by_role("alert")).to_be_hidden()
    await context.close()


async def test_use_my_location_pins_the_map_and_names_the_nearest_address(browser, web_server):
    town = await make_town("Springfield")
    await load_demo_places(town)
    async with town.scope.transaction():
        place = (await places.search(town.scope, "742 Evergreen Terrace"))[0]
    context = await browser.new_context(
        geolocation={"latitude": place.latitude + 0.00003, "longitude": place.longitude},
        permissions=["geolocation"],
    )
    page = await context.new_page()
    await page.goto(f"http://{town.host}:{web_server}/")
    await expect(page.locator("#map path.leaflet-interactive").first).to_be_attached()
    await page.get_by_role("button", name="Use my location").click()
    await expect(page.get_by_label("Address or nearby landmark")).to_have_value("742 Evergreen Terrace")
    await expect(page.locator("#map .leaflet-marker-icon")).to_have_count(1)
    await expect(page.locator("input[name=latitude]")).to_have_value(re.compile(r"^45\.5"))
    await context.close()
