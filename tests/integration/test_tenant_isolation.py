"""No town sees another town's data: not by guessing ids or references, not with a borrowed session."""

from domain import queue as request_queue
from domain import requests as request_service
from domain.tables import ServiceRequest
from tests.support.factories import make_town, valid_form
from tests.support.portal import PortalClient, status_path


async def _one_request(app, town) -> tuple[str, str]:
    async with PortalClient(app, town.host) as citizen:
        path = status_path(await citizen.submit(valid_form(description=f"Only for {town.name}")))
    async with town.scope.transaction():
        row = (
            await ServiceRequest.select(ServiceRequest.reference)
            .where(ServiceRequest.tenant == town.id)
            .first()
        )
    return path, row["reference"]


async def test_a_shelbyville_clerk_gets_404_for_a_springfield_request(app):
    springfield, shelbyville = await make_town("Springfield"), await make_town("Shelbyville")
    springfield_path, springfield_ref = await _one_request(app, springfield)
    shelbyville_path, shelbyville_ref = await _one_request(app, shelbyville)
    async with PortalClient(app, shelbyville.host) as clerk:
        await clerk.login(shelbyville.admin_email, shelbyville.password)
        assert (await clerk.get(f"/admin/requests/{springfield_ref}")).status_code == 404
        assert (await clerk.act(springfield_ref, "close", reason="fixed")).status_code == 404
        queue = await clerk.get("/admin/requests?status=all")
        assert queue.status_code == 200
        assert shelbyville_ref in queue.text
        assert springfield_ref not in queue.text
        assert (await clerk.get(springfield_path)).status_code == 404
        assert (await clerk.get(springfield_path + "/receipt.pdf")).status_code == 404
    async with PortalClient(app, springfield.host) as citizen:
        assert (await citizen.get(shelbyville_path)).status_code == 404


async def test_a_session_from_one_town_is_worth_nothing_at_another(app):
    springfield, shelbyville = await make_town("Springfield"), await make_town("Shelbyville")
    async with PortalClient(app, springfield.host) as clerk:
        await clerk.login(springfield.admin_email, springfield.password)
        assert (await clerk.get("/admin/requests")).status_code == 200
        session_cookie = clerk.http.cookies.get("portal_session")
    assert session_cookie
    async with PortalClient(app, shelbyville.host) as intruder:
        intruder.http.cookies.set("portal_session", session_cookie, domain=shelbyville.host)
        response = await intruder.get("/admin/requests")
    assert response.status_code == 303 and response.headers["location"] == "/admin/login"


async def test_staff_of_one_town_cannot_sign_in_at_another(app):
    springfield, shelbyville = await make_town("Springfield"), await make_town("Shelbyville")
    async with PortalClient(app, shelbyville.host) as clerk:
        response = await clerk.login(springfield.admin_email, springfield.password)
    assert response.status_code == 422 and "do not match" in response.text


async def test_domain_services_only_ever_answer_for_their_own_town(app):
    springfield, shelbyville = await make_town("Springfield"), await make_town("Shelbyville")
    springfield_path, springfield_ref = await _one_request(app, springfield)
    await _one_request(app, shelbyville)
    token = springfield_path.rsplit("/", 1)[1]
    async with shelbyville.scope.transaction():
        assert await request_service.get_by_reference(shelbyville.scope, springfield_ref) is None
        assert await request_service.get_by_token(shelbyville.scope, token) is None
        listed = await request_queue.queue(shelbyville.scope, request_queue.QueueFilter(status="all"))
    assert [row.reference for row in listed] == [f"{shelbyville.prefix}-{listed[0].created_at.year}-000001"]
    async with springfield.scope.transaction():
        assert await request_service.get_by_reference(springfield.scope, springfield_ref) is not None


async def test_signing_in_is_required_for_the_admin(app):
    town = await make_town()
    async with PortalClient(app, town.host) as anonymous:
        response = await anonymous.get("/admin/requests")
        wrong = await anonymous.login(town.admin_email, "not the password")
    assert response.status_code == 303 and response.headers["location"] == "/admin/login"
    assert wrong.status_code == 422 and 'value="' + town.admin_email + '"' in wrong.text
