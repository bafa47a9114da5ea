"""Before a citizen sends a duplicate: the open requests of the same type nearby, "me too" counted once per
address, and what staff see of it; emergency and out-of-hours types. On SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
import math
import random
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from apps.web import create_app
from domain import catalog, followers, nearby, starters, submissions
from domain.intake import Submission
from domain.scope import TenantScope
from domain.tables import AuditEntry, RequestFollower, RequestType, ServiceRequest
from tenants.onboarding import create_tenant
from tests.integration.test_request_type_settings import stored_type, type_form
from tests.integration.test_team_settings import signed_in_admin
from tests.support.factories import department_id, make_town, valid_form
from tests.support.portal import PortalClient, status_path
from tests.support.services import offline_settings
from tests.workflows.lifecycle_helpers import about, text_of, wait_status

OFFLINE = offline_settings()
CENTRE = (45.5017, -73.5673)
METRES_PER_DEGREE = math.pi * 6_371_008.8 / 180


def moved(north: float = 0.0, east: float = 0.0) -> tuple[float, float]:
    """The point this many metres north and east of CENTRE."""
    latitude, longitude = CENTRE
    return (
        latitude + north / METRES_PER_DEGREE,
        longitude + east / (METRES_PER_DEGREE * math.cos(math.radians(latitude))),
    )


async def placed(
    town,
    where: tuple[float, float],
    code: str = "pothole",
    status: str = "routed",
    email: str = "ned@example.com",
    address: str = "12 Evergreen Terrace",
    description: str = "A deep pothole in the right lane.",
) -> str:
    """A request of `code` at `where`, moved to `status` as its workflow would have."""
    async with town.scope.transaction():
        result = await submissions.submit(
            town.scope,
            town.prefix,
            Submission(
                code,
                description,
                "Ned",
                email,
                uuid.uuid4().hex,
                address=address,
                latitude=where[0],
                longitude=where[1],
            ),
            "en",
        )
        await town.scope.update(ServiceRequest, {ServiceRequest.status: status}).where(
            ServiceRequest.id == result.request_id
        )
    return result.reference


async def type_of(town, code: str) -> dict[str, Any]:
    async with town.scope.transaction():
        offered = await catalog.offered_type(town.scope, code)
    assert offered is not None, code
    return offered


async def found(town, where=CENTRE, code: str = "pothole", metres: int = 50, language: str = "en"):
    offered = await type_of(town, code)
    async with town.scope.transaction():
        return await nearby.open_nearby(town.scope, offered["id"], where[0], where[1], metres, language)


async def test_open_requests_of_the_type_within_the_distance_nearest_first_and_nothing_else():
    town, other = await make_town(), await make_town("Othertown")
    near = await placed(town, moved(north=30), address="12 Evergreen Terrace")
    nearer = await placed(town, moved(east=-12), status="in_progress", address="")
    further = await placed(town, moved(east=45), status="submitted")
    await placed(town, moved(north=70))  # beyond 50 m
    await placed(town, moved(north=40, east=40))  # in the box's corner, 57 m away
    await placed(town, moved(north=5), status="closed")
    await placed(town, moved(north=5), status="cancelled")
    await placed(town, moved(north=5), code="sidewalk")  # another type
    await placed(other, CENTRE)  # another town, the very same place
    async with town.scope.transaction():
        await nearby.support(town.scope, near, "marge@example.com", "en")

    shown = await found(town)
    assert [item.reference for item in shown] == [nearer, near, further]
    first, second, _ = shown
    assert abs(first.distance_metres - 12) < 0.5 and abs(second.distance_metres - 30) < 0.5
    assert first.about_metres == 10 and second.about_metres == 30
    assert first.status == "in_progress" and first.status_label == "In progress" and first.address == ""
    assert second.type_name == "Pothole" and second.supporters == 1 and second.reporters == 2
    assert second.description == "A deep pothole in the right lane." and second.created_at.tzinfo
    assert [item.type_name for item in await found(town, language="fr")] == ["Nid-de-poule"] * 3
    assert len(await found(town, metres=100)) == 5  # the 70 m and the corner's 57 m now in reach
    assert await found(town, metres=0) == []
    assert [item.reference for item in await found(town, moved(north=2000))] == []
    async with town.scope.transaction():
        assert (
            len(
                await nearby.open_nearby(
                    town.scope, (await type_of(town, "pothole"))["id"], *CENTRE, 50, "en", limit=2
                )
            )
            == 2
        )
    # The other town sees its own request only.
    assert len(await found(other)) == 1


async def test_in_a_busy_district_the_nearest_are_shown_whatever_the_database_ranks_first():
    """More open requests in the box than the database hands back: the nearest still come first."""
    town = await make_town()
    rng = random.Random(7)
    placed_at = {}
    for number in range(nearby.CANDIDATES + 15):
        angle, distance = rng.uniform(0, 2 * math.pi), rng.uniform(5, 48)
        where = moved(north=distance * math.cos(angle), east=distance * math.sin(angle))
        placed_at[await placed(town, where, address=f"{number} Main Street")] = distance
    for corner in range(10):  # in the box, outside the circle
        await placed(town, moved(north=45 - corner, east=45))
    shown = await found(town, metres=50)
    nearest = sorted(placed_at, key=lambda reference: placed_at[reference])[:5]
    assert [item.reference for item in shown] == nearest


async def test_a_type_that_is_not_open_data_is_never_shown_or_supported():
    town = await make_town()
    private = await placed(town, CENTRE, code="sidewalk")
    async with town.scope.transaction():
        await town.scope.update(RequestType, {RequestType.published: False}).where(
            RequestType.code == "sidewalk"
        )
    assert await found(town, code="sidewalk") == []
    async with town.scope.transaction():
        with pytest.raises(nearby.SupportRefused) as refused:
            await nearby.support(town.scope, private, "marge@example.com", "en")
    assert str(refused.value) == nearby.UNKNOWN and not refused.value.closed


async def test_a_long_description_is_shown_by_its_beginning():
    town = await make_town()
    words = "The crack runs along the curb and gets wider every week after the rain. " * 8
    await placed(town, CENTRE, description=words)
    (item,) = await found(town)
    assert item.description.endswith("…") and len(item.description) <= nearby.DESCRIPTION_SHOWN + 1
    assert words.startswith(item.description[:-1])


async def supporters_of(town, reference: str) -> tuple[int, list[dict]]:
    async with town.scope.transaction():
        row = await town.scope.select(ServiceRequest).where(ServiceRequest.reference == reference).first()
        rows = await town.scope.select(RequestFollower).where(RequestFollower.request == row["id"])
    return row["supporters"], sorted(rows, key=lambda follower: follower["email"])


async def test_me_too_counts_each_address_once_and_makes_it_a_follower():
    town, other = await make_town(), await make_town("Othertown")
    reference = await placed(town, CENTRE, email="ned@example.com")
    closed = await placed(town, CENTRE, status="closed")
    theirs = await placed(other, CENTRE)
    scope = town.scope

    async def support(ref: str, email: str) -> nearby.SupportResult:
        async with scope.transaction():
            return await nearby.support(scope, ref, email, "fr")

    assert await support(reference, "Marge@Example.com ") == nearby.SupportResult(reference, 1, already=False)
    assert await support(reference.lower(), "marge@example.com") == nearby.SupportResult(reference, 1, True)
    assert await support(reference, "ned@example.com") == nearby.SupportResult(
        reference, 1, True
    )  # the author
    # Someone who followed it before says "me too": counted now, once.
    async with scope.transaction():
        row = (
            await scope.select(ServiceRequest, ServiceRequest.id)
            .where(ServiceRequest.reference == reference)
            .first()
        )
        await followers.follow(scope, row["id"], "homer@example.com", "en")
    assert (await support(reference, "homer@example.com")).supporters == 2
    assert (await support(reference, "homer@example.com")).already
    count, rows = await supporters_of(town, reference)
    assert count == 2
    assert [(r["email"], r["supporter"], r["language"]) for r in rows] == [
        ("homer@example.com", True, "en"),
        ("marge@example.com", True, "fr"),
    ]
    async with scope.transaction():
        mailed = {follower["email"] for follower in await followers.followers(scope, row["id"])}
    assert mailed == {"homer@example.com", "marge@example.com"}

    for ref, closed_one, message in (
        (closed, True, nearby.CLOSED),
        ("NOPE-2026-000001", False, nearby.UNKNOWN),
        (theirs, False, nearby.UNKNOWN),  # another town's request is unknown here
    ):
        with pytest.raises(nearby.SupportRefused) as refused:
            await support(ref, "marge@example.com")
        assert str(refused.value) == message and refused.value.closed is closed_one
    assert (await supporters_of(other, theirs))[0] == 0


async def test_me_too_said_at_the_same_moment_still_counts_each_address_once():
    town = await make_town()
    reference = await placed(town, CENTRE)

    async def support(email: str) -> nearby.SupportResult:
        async with town.scope.transaction():
            return await nearby.support(town.scope, reference, email, "en")

    emails = ["same@example.com"] * 5 + [f"other{n}@example.com" for n in range(5)]
    results = await asyncio.gather(*(support(email) for email in emails))
    assert sum(not result.already for result in results) == 6
    count, rows = await supporters_of(town, reference)
    assert count == 6 and len(rows) == 6


async def test_the_list_comes_as_a_fragment_and_me_too_answers_with_a_page():
    town = await make_town()
    reference = await placed(town, moved(north=30), address="12 Evergreen Terrace")
    app = create_app(OFFLINE)
    latitude, longitude = CENTRE
    query = f"/requests/nearby?type=pothole&latitude={latitude}&longitude={longitude}"
    async with PortalClient(app, town.host) as citizen:
        fragment = await citizen.get(query)
        assert fragment.status_code == 200
        html = fragment.text
        assert 'aria-labelledby="nearby-heading"' in html and "Already reported nearby" in html
        assert f'formaction="/requests/nearby/{reference}/support"' in html
        assert 'aria-label="Me too: Pothole at 12 Evergreen Terrace"' in html
        assert "about 30 m away" in html and "1 person reported this" in html and "Received by the" in html
        assert "<form" not in html  # it sits inside the request form
        french = await citizen.get(query, headers={"accept-language": "fr"})
        assert "Nid-de-poule" in french.text
        for empty in (
            f"/requests/nearby?type=tax-question&latitude={latitude}&longitude={longitude}",
            f"/requests/nearby?type=gas-smell&latitude={latitude}&longitude={longitude}",
            f"/requests/nearby?type=nothing&latitude={latitude}&longitude={longitude}",
            f"/requests/nearby?type=pothole&latitude={latitude + 1}&longitude={longitude}",
        ):
            answer = await citizen.get(empty)
            assert answer.status_code == 200 and answer.text.strip() == "", empty
        for bad in ("latitude=north&longitude=1", "latitude=91&longitude=1", "latitude=nan&longitude=1", ""):
            assert (await citizen.get(f"/requests/nearby?type=pothole&{bad}")).status_code == 400, bad

        # The request form's fields come with the button; a good address is all it takes.
        form = valid_form(contact_email="Marge@Example.com", description="Same hole, deeper now")
        thanked = await citizen.post(f"/requests/nearby/{reference}/support", form)
        assert thanked.status_code == 200
        assert f"Thank you: you now follow request {reference}" in thanked.text
        assert "2 people reported this." in thanked.text and "marge@example.com" in thanked.text
        again = await citizen.post(f"/requests/nearby/{reference.lower()}/support", form)
        assert again.status_code == 200 and f"You already follow request {reference}" in again.text
    assert (await supporters_of(town, reference))[0] == 1


async def test_me_too_errors_are_said_by_the_field_and_the_form_comes_back_as_typed():
    town, other = await make_town(), await make_town("Othertown")
    reference = await placed(town, CENTRE)
    closed = await placed(town, CENTRE, status="closed")
    private = await placed(town, CENTRE, code="tax-question")
    theirs = await placed(other, CENTRE)
    app = create_app(OFFLINE)
    typed = valid_form(description="Same hole, deeper now", contact_email="marge@", contact_name="Marge")
    async with PortalClient(app, town.host) as citizen:
        bad = await citizen.post(f"/requests/nearby/{reference}/support", typed)
        assert bad.status_code == 422
        assert 'id="contact_email-error"' in bad.text and "Enter an email address like" in bad.text
        assert 'value="marge@"' in bad.text and 'aria-invalid="true"' in bad.text
        assert 'name="description" value="Same hole, deeper now"' in bad.text  # carried back
        assert 'formaction="/requests" name="refresh"' in bad.text
        empty = await citizen.post(f"/requests/nearby/{reference}/support", {**typed, "contact_email": ""})
        assert empty.status_code == 422 and "Enter your email address" in empty.text
        answers = {}
        for ref in (closed, private, theirs, "NOPE-1"):
            answer = await citizen.post(
                f"/requests/nearby/{ref}/support", {**typed, "contact_email": "m@x.org"}
            )
            answers[ref] = answer
            assert 'name="description" value="Same hole, deeper now"' in answer.text
            assert 'name="contact_email" value="m@x.org"' in answer.text  # carried, not asked again
        assert answers[closed].status_code == 409 and "closed in the meantime" in answers[closed].text
        for ref in (private, theirs, "NOPE-1"):  # a private request reads as an unknown one
            assert answers[ref].status_code == 404
            assert "We found no open request with this reference" in answers[ref].text
    assert (await supporters_of(town, reference))[0] == 0


async def test_me_too_is_limited_per_client_address():
    town = await make_town()
    reference = await placed(town, CENTRE)
    app = create_app(OFFLINE)
    async with PortalClient(app, town.host, address="10.9.8.7") as script:
        for _ in range(20):
            assert (await script.post(f"/requests/nearby/{reference}/support", {})).status_code == 422
        refused = await script.post(
            f"/requests/nearby/{reference}/support", {"contact_email": "late@example.com"}
        )
        assert refused.status_code == 429 and "Please wait a few minutes" in refused.text
    async with PortalClient(app, town.host, address="10.9.8.8") as neighbour:
        answer = await neighbour.post(f"/requests/nearby/{reference}/support", {"contact_email": "n@x.org"})
        assert answer.status_code == 200
    assert (await supporters_of(town, reference))[0] == 1


async def test_staff_see_how_many_said_me_too():
    town = await make_town()
    reference = await placed(town, CENTRE)
    async with town.scope.transaction():
        for email in ("a@example.com", "b@example.com", "a@example.com"):
            await nearby.support(town.scope, reference, email, "en")
    app = create_app(OFFLINE)
    async with PortalClient(app, town.host) as clerk:
        await clerk.login(town.admin_email, town.password)
        queue = await clerk.get("/admin/requests")
        assert '<th scope="col">Me too</th>' in queue.text
        row = queue.text.split(f">{reference}</a>", 1)[1].split("</tr>", 1)[0]
        assert '<td class="number">2</td>' in row
        panel = await clerk.get(f"/admin/requests/{reference}")
        assert "2 more people reported this" in panel.text


@pytest.mark.usefixtures("worker")
async def test_a_supporter_is_mailed_at_the_requests_public_steps(app, inbox):
    town = await make_town()
    supporter = f"neighbour@{town.slug}.example"
    async with PortalClient(app, town.host) as citizen, PortalClient(app, town.host) as clerk:
        made = await citizen.submit(valid_form(latitude=str(CENTRE[0]), longitude=str(CENTRE[1])))
        path = status_path(made)
        routed: Any = await wait_status(town, path, "routed")  # the record, whatever the helper says
        reference = routed.reference
        assert (
            await citizen.post(f"/requests/nearby/{reference}/support", {"contact_email": supporter})
        ).status_code == 200
        await clerk.login(town.roads_email, town.password)
        await clerk.act(reference, "comment", body="Crew on site tomorrow.", public="on")
        news = await inbox.wait_for(about(supporter, reference))
        assert "Crew on site tomorrow." in text_of(news)
        # The status page's address is its key (cancel, reply): a supporter never gets it, nor the
        # receipt, which names the citizen who made the request.
        assert path not in text_of(news) and "/status/" not in text_of(news)
        assert "you said “me too”" in text_of(news)
        await clerk.act(reference, "close", reason="fixed")
        closed = await inbox.wait_for(lambda m: m["to"] == supporter and "closed" in m["subject"])
        assert "/status/" not in text_of(closed)
        assert not list(closed.iter_attachments())


async def test_emergency_and_nearby_settings_are_checked_by_the_field_saved_and_audited():
    town = await make_town()
    works = await department_id(town, "public-works")
    app = create_app(OFFLINE)
    emergency = {
        "emergency": "on",
        "emergency_phone": "911",
        "emergency_message_en": "Leave the building now and call 911 from outside.",
        "emergency_message_fr": "",
        "nearby_metres": "0",
    }
    cases = [
        ({**emergency, "emergency_phone": ""}, "emergency_phone", "Enter the number to call"),
        ({**emergency, "emergency_phone": "call us"}, "emergency_phone", "Enter a phone number using digits"),
        ({**emergency, "emergency_message_en": ""}, "emergency_message_en", "Write what to do now"),
        ({**emergency, "emergency_message_fr": "x" * 501}, "emergency_message_fr", "This is too long."),
        ({**emergency, "nearby_metres": "1001"}, "nearby_metres", "Enter a whole number of metres"),
        ({**emergency, "nearby_metres": "fifty"}, "nearby_metres", "Enter a whole number of metres"),
        ({"after_hours_notice_fr": "y" * 501}, "after_hours_notice_fr", "This is too long."),
    ]
    async with await signed_in_admin(app, town) as admin:
        for fields, name, message in cases:
            form = type_form(works, name_en="Gas leak", category_en="Safety", **fields)
            refused = await admin.post("/admin/settings/types/new", form)
            assert refused.status_code == 422, name
            assert f'id="{name}-error"' in refused.text and message in refused.text, name
            assert f'href="#{name}"' in refused.text, name  # the summary links to the field
            if "emergency" in fields and name != "emergency_message_en":  # what was typed stays
                assert "Leave the building now and call 911 from outside.</textarea>" in refused.text
        saved = await admin.post(
            "/admin/settings/types/new",
            type_form(
                works,
                name_en="Gas leak",
                category_en="Safety",
                **{
                    **emergency,
                    "emergency_message_fr": "Quittez le bâtiment maintenant.",
                    "after_hours_notice_en": "We read this on business days.",
                },
            ),
        )
        assert saved.status_code == 303
        row = await stored_type(town, "gas-leak")
        assert row["emergency"] and row["emergency_phone"] == "911" and row["nearby_metres"] == 0
        assert row["translations"] == {
            "en": {
                "emergency_message": "Leave the building now and call 911 from outside.",
                "after_hours_notice": "We read this on business days.",
            },
            "fr": {
                "category": "Parcs",
                "name": "Arbre tombé",
                "emergency_message": "Quittez le bâtiment maintenant.",
            },
        }
        page = await admin.get(f"/admin/settings/types/{row['id']}")
        assert 'id="emergency" name="emergency" aria-describedby="emergency-hint" checked' in page.text
        assert "Quittez le bâtiment maintenant.</textarea>" in page.text and 'value="0"' in page.text
        # Off again: its message may stay, and nothing else of the type is lost.
        off = {**emergency, "emergency": "", "emergency_phone": "", "nearby_metres": "250"}
        changed = await admin.post(
            f"/admin/settings/types/{row['id']}",
            type_form(works, name_en="Gas leak", category_en="Safety", **off),
        )
        assert changed.status_code == 303
    row = await stored_type(town, "gas-leak")
    assert not row["emergency"] and row["nearby_metres"] == 250 and row["name"] == "Gas leak"
    async with town.scope.transaction():
        entries = await town.scope.select(AuditEntry).order_by(AuditEntry.id)
    assert [entry["action"] for entry in entries] == ["type.added", "type.changed"]
    assert entries[0]["after"]["emergency_message_en"].startswith("Leave the building")
    assert entries[1]["before"]["emergency"] is True and entries[1]["after"]["nearby_metres"] == 250


async def test_an_emergency_type_is_refused_and_shows_its_message_and_number():
    town = await make_town()
    offered = await type_of(town, "gas-smell")
    assert catalog.emergency_refusal(offered) == catalog.EMERGENCY_REFUSAL
    assert catalog.emergency_refusal(await type_of(town, "pothole")) is None
    assert catalog.emergency_refusal(None) is None
    async with town.scope.transaction():
        options = {option.code: option for option in await catalog.request_types(town.scope, "fr")}
    gas = options["gas-smell"]
    assert catalog.emergency_refusal(gas) == catalog.EMERGENCY_REFUSAL
    assert gas.emergency_phone == "911" and gas.name == "Odeur de gaz"
    assert gas.emergency_message == "Quittez le bâtiment maintenant et appelez le 911 de l'extérieur."
    assert options["pothole"].published and options["pothole"].nearby_metres == 50
    assert not options["tax-question"].published and not options["pothole"].emergency

    engine: Any = create_app(OFFLINE).template_engine
    environment = engine.engine
    template = environment.get_template("partials/type_notice.html")
    html = template.render(chosen=gas, notice="")
    assert "data-emergency" in html and 'role="alert"' in html and 'href="tel:911"' in html
    assert "Quittez le bâtiment" in html
    quiet = template.render(chosen=options["pothole"], notice="")
    assert quiet.strip() == ""
    closed = template.render(chosen=options["missed-pickup"], notice="Lu les jours ouvrables.")
    assert (
        "data-emergency" not in closed and 'role="status"' in closed and "Lu les jours ouvrables." in closed
    )


# The test town's week: Monday to Friday 09:00-17:00 in Toronto, and one holiday.
WORKING_WEEK = {
    "hours": {day: ["09:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": ["2027-03-08"],
}


async def test_the_out_of_hours_notice_follows_the_towns_calendar():
    town = await make_town(business_calendar=WORKING_WEEK)
    async with town.scope.transaction():
        english = {option.code: option for option in await catalog.request_types(town.scope, "en")}
        french = {option.code: option for option in await catalog.request_types(town.scope, "fr")}
    pickup = english["missed-pickup"]
    assert pickup.after_hours_notice.startswith("Our collection team reads requests on business days")
    monday_morning = datetime(2027, 3, 1, 15, 0, tzinfo=UTC)  # 10:00 in Toronto
    sunday_night = datetime(2027, 3, 1, 3, 0, tzinfo=UTC)  # Sunday 22:00 in Toronto
    holiday = datetime(2027, 3, 8, 15, 0, tzinfo=UTC)  # a Monday, 11:00 in Toronto (daylight time)
    evening = datetime(2027, 3, 2, 22, 30, tzinfo=UTC)  # Tuesday 17:30
    scope = town.scope
    async with scope.transaction():
        assert await catalog.notice_now(scope, pickup, monday_morning) == ""
        for closed in (sunday_night, holiday, evening):
            assert await catalog.notice_now(scope, pickup, closed) == pickup.after_hours_notice, closed
        assert (await catalog.notice_now(scope, french["missed-pickup"], holiday)).startswith("Notre équipe")
        assert await catalog.notice_now(scope, english["pothole"], sunday_night) == ""  # no notice of its own
    always = await make_town("Allnight")  # open around the clock: never out of hours
    async with always.scope.transaction():
        options = {option.code: option for option in await catalog.request_types(always.scope, "en")}
        assert await catalog.notice_now(always.scope, options["missed-pickup"], sunday_night) == ""


async def test_a_new_town_from_a_starter_gets_an_emergency_and_an_out_of_hours_notice():
    slug = f"starter-{uuid.uuid4().hex[:8]}"
    tenant_id = await create_tenant(
        slug, "Starter Town", "STA", timezone="America/Toronto", languages="fr,en"
    )
    scope = TenantScope(tenant_id)
    async with scope.transaction():
        await starters.seed(scope, "city", ("fr", "en"))
        options = {option.code: option for option in await catalog.request_types(scope, "en")}
        stored = await scope.select(RequestType).where(RequestType.code == "gas-smell").first()
    gas = options["gas-smell"]
    assert gas.emergency and gas.emergency_phone == "911" and gas.name == "Gas smell"
    assert gas.emergency_message == "Leave the building now and call 911 from outside."
    assert stored["name"] == "Odeur de gaz" and next(iter(stored["translations"])) == "fr"
    assert options["missed-collection"].after_hours_notice.startswith("Our collection team")
