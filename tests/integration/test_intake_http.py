"""The citizen's form over HTTP, against the real database; no workflow needed for these."""

import re

import pytest

from domain.tables import ReferenceCounter, RequestEvent, RequestType, ServiceRequest
from tests.support.factories import make_town, valid_form
from tests.support.portal import PortalClient, status_path


async def test_the_portal_shows_the_towns_name_colours_logo_and_grouped_types(app):
    town = await make_town("Springfield", color="#123456")
    async with PortalClient(app, town.host) as portal:
        page = (await portal.get("/")).text
    assert "<title>Report a problem or make a request – Springfield</title>" in page
    assert "--brand: #123456" in page
    assert f'data-logo="{town.slug}"' in page
    assert '<optgroup label="Roads">' in page
    assert ">Roads: Pothole</option>" in page and ">Clerk: Copy of public records</option>" in page
    assert 'name="idempotency_key" value="' in page


async def test_invalid_input_is_shown_beside_each_field_and_nothing_typed_is_lost(app):
    town = await make_town()
    async with PortalClient(app, town.host) as portal:
        response = await portal.submit(
            valid_form(
                contact_email="ned-at-example",
                contact_name="",
                description="Hole near the school",
                address="",
            )
        )
    assert response.status_code == 422
    page = response.text
    assert (
        'id="contact_email-error"' in page
        and 'id="contact_name-error"' in page
        and 'id="address-error"' in page
    )
    assert 'aria-describedby="contact_email-hint contact_email-error"' in page
    assert 'href="#contact_email"' in page  # the summary links to the field
    assert 'value="ned-at-example"' in page
    assert ">Hole near the school</textarea>" in page
    assert re.search(r'<option value="pothole" selected>', page)
    async with town.scope.transaction():
        assert await ServiceRequest.count().where(ServiceRequest.tenant == town.id) == 0


async def test_a_type_the_town_no_longer_offers_is_refused_beside_the_field(app):
    town = await make_town()
    async with town.scope.transaction():
        await RequestType.update({RequestType.active: False}).where(
            (RequestType.tenant == town.id) & (RequestType.code == "pothole")
        )
    async with PortalClient(app, town.host) as portal:
        response = await portal.submit(valid_form(description="Hole near the school"))
        unknown = await portal.submit(valid_form(request_type="no-such-type"))
    for refused in (response, unknown):
        assert refused.status_code == 422
        assert 'id="request_type-error"' in refused.text
    assert ">Hole near the school</textarea>" in response.text
    assert '<option value="pothole"' not in response.text
    async with town.scope.transaction():
        assert await ServiceRequest.count().where(ServiceRequest.tenant == town.id) == 0


async def test_a_submission_gets_a_reference_and_a_status_page(app):
    town = await make_town("Springfield")
    async with PortalClient(app, town.host) as portal:
        path = status_path(await portal.submit(valid_form()))
        page = (await portal.get(path + "?new=1")).text
    assert re.search(rf'class="reference">{town.prefix}-\d{{4}}-000001<', page)
    async with town.scope.transaction():
        row = await ServiceRequest.select().where(ServiceRequest.tenant == town.id).first()
        assert row["status"] == "submitted" and row["contact_email"] == "ned@example.com"
        lines = await RequestEvent.select(
            RequestEvent.kind, RequestEvent.to_status, RequestEvent.actor_kind, RequestEvent.created_at
        ).where(RequestEvent.request == row["id"])
    assert lines == [
        {
            "kind": "submitted",
            "to_status": "submitted",
            "actor_kind": "citizen",
            "created_at": row["created_at"],
        }
    ]


async def test_posting_the_same_form_twice_makes_one_request(app):
    town = await make_town()
    form = valid_form()
    async with PortalClient(app, town.host) as portal:
        first = status_path(await portal.submit(form))
        second = status_path(await portal.submit(form))
        status_path(await portal.submit(valid_form()))
    assert first == second
    async with town.scope.transaction():
        references = await ServiceRequest.select(ServiceRequest.reference).where(
            ServiceRequest.tenant == town.id
        )
    # The second post was answered with the first request and left no gap in the numbering.
    assert sorted(row["reference"][-6:] for row in references) == ["000001", "000002"]


async def test_references_count_up_within_each_town(app):
    town = await make_town()
    async with PortalClient(app, town.host) as portal:
        for _ in range(3):
            status_path(await portal.submit(valid_form()))
    async with town.scope.transaction():
        references = await ServiceRequest.select(ServiceRequest.reference).where(
            ServiceRequest.tenant == town.id
        )
    assert sorted(row["reference"].rsplit("-", 1)[1] for row in references) == ["000001", "000002", "000003"]


async def test_the_millionth_request_of_a_year_keeps_every_digit(app):
    town = await make_town()
    async with PortalClient(app, town.host) as portal:
        status_path(await portal.submit(valid_form()))
        async with town.scope.transaction():
            await town.scope.update(ReferenceCounter, {ReferenceCounter.last_value: 999_999})
        status_path(await portal.submit(valid_form()))
    async with town.scope.transaction():
        references = await town.scope.select(ServiceRequest, ServiceRequest.reference)
    assert sorted(row["reference"].rsplit("-", 1)[1] for row in references) == ["000001", "1000000"]


async def test_the_form_works_without_the_csrf_token_never(app):
    town = await make_town()
    async with PortalClient(app, town.host) as portal:
        await portal.get("/")
        response = await portal.http.post("/requests", data=valid_form())
    assert response.status_code == 403
    assert "Traceback" not in response.text and "form expired" in response.text


async def test_an_unknown_host_is_404_and_never_a_default_town(app):
    await make_town()
    async with PortalClient(app, "nowhere.localhost") as portal:
        response = await portal.get("/")
    assert response.status_code == 404
    assert "No municipality" in response.text


async def test_a_custom_domain_reaches_its_town(app):
    from tenants.onboarding import create_tenant

    await create_tenant("ogdenville-x1", "Ogdenville", "OGD", domains=("311.ogdenville.example",))
    async with PortalClient(app, "311.ogdenville.example") as portal:
        response = await portal.get("/")
    assert response.status_code == 200 and "Ogdenville" in response.text


async def test_french_is_offered_and_remembered(app):
    town = await make_town("Villeneuve")
    async with PortalClient(app, town.host) as portal:
        by_browser = await portal.get("/", headers={"Accept-Language": "fr-CA,fr;q=0.9"})
        switched = await portal.get("/lang/fr?next=/status")
        after = await portal.get("/status")
    assert by_browser.text.startswith('<!doctype html>\n<html lang="fr">')
    assert "Voirie: Nid-de-poule" in by_browser.text
    assert switched.status_code == 303 and switched.headers["location"] == "/status"
    assert '<html lang="fr">' in after.text


@pytest.mark.parametrize(
    "elsewhere", ["//evil.example", "/\\evil.example", "https://evil.example/", "status"]
)
async def test_switching_language_never_sends_the_visitor_to_another_site(app, elsewhere):
    town = await make_town()
    async with PortalClient(app, town.host) as portal:
        switched = await portal.get("/lang/fr", params={"next": elsewhere})
    assert switched.status_code == 303 and switched.headers["location"] == "/"


async def test_the_status_lookup_needs_the_reference_and_the_same_email(app):
    town = await make_town()
    async with PortalClient(app, town.host) as portal:
        path = status_path(await portal.submit(valid_form(contact_email="ned@example.com")))
        async with town.scope.transaction():
            reference = (
                await ServiceRequest.select(ServiceRequest.reference)
                .where(ServiceRequest.tenant == town.id)
                .first()
            )["reference"]
        wrong = await portal.post("/status", {"reference": reference, "email": "homer@example.com"})
        right = await portal.post("/status", {"reference": reference.lower(), "email": "NED@example.com"})
    assert wrong.status_code == 422 and "No request matches" in wrong.text
    assert right.status_code == 303 and right.headers["location"] == path


async def test_a_missing_page_is_a_friendly_404(app):
    town = await make_town()
    async with PortalClient(app, town.host) as portal:
        response = await portal.get("/status/not-a-token")
    assert response.status_code == 404
    assert "Page not found" in response.text and town.name in response.text


async def test_the_same_idempotency_key_in_two_towns_makes_a_request_in_each(app):
    springfield, shelbyville = await make_town("Springfield"), await make_town("Shelbyville")
    form = valid_form()
    async with PortalClient(app, springfield.host) as portal:
        first = status_path(await portal.submit(form))
    async with PortalClient(app, shelbyville.host) as portal:
        second = status_path(await portal.submit(form))
    assert first != second
    for town in (springfield, shelbyville):
        async with town.scope.transaction():
            rows = await ServiceRequest.select(ServiceRequest.idempotency_key).where(
                ServiceRequest.tenant == town.id
            )
        assert rows == [{"idempotency_key": form["idempotency_key"]}]
