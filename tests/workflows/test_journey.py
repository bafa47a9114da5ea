"""A request's whole life on the real parts: HTTP intake, the Temporal workflow and worker, SMTP, PDF."""

import io
import re

import pytest
from pypdf import PdfReader

from domain import requests as request_service
from domain.tables import Department, Document, Notification
from tests.support.factories import make_town, valid_form
from tests.support.portal import PortalClient, status_path
from tests.support.services import eventually
from tests.workflows.lifecycle_helpers import text_of

pytestmark = pytest.mark.usefixtures("worker")


async def _request(town, path: str) -> dict:
    token = path.rsplit("/", 1)[1]
    async with town.scope.transaction():
        return await request_service.get_by_token(town.scope, token)


async def _status_is(town, path: str, status: str):
    async def check():
        row = await _request(town, path)
        return row if row.status == status else None

    return await eventually(check)


async def test_a_request_travels_from_the_portal_to_closure_with_a_pdf_receipt(app, inbox):
    town = await make_town("Springfield", color="#1d4f91")
    email = f"ned+{town.slug}@example.com"
    async with PortalClient(app, town.host) as citizen, PortalClient(app, town.host) as clerk:
        path = status_path(await citizen.submit(valid_form(contact_email=email)))
        routed = await _status_is(town, path, "routed")
        reference = routed.reference
        async with town.scope.transaction():
            roads = (
                await Department.select(Department.id)
                .where((Department.tenant == town.id) & (Department.slug == "public-works"))
                .first()
            )
        assert routed.department == roads["id"] and routed.workflow_started

        acknowledgement = await inbox.wait_for(lambda m: m["to"] == email and "received" in m["subject"])
        assert reference in acknowledgement["subject"]
        assert f"http://{town.host}:8000{path}" in text_of(acknowledgement)
        assert not list(acknowledgement.iter_attachments())  # the reference and link say it; no PDF

        assert (await clerk.login(town.roads_email, town.password)).status_code == 303
        queue = await clerk.get(
            f"/admin/requests?status=open&department={roads['id']}", headers={"HX-Request": "true"}
        )
        assert queue.text.startswith('<div id="queue"') and reference in queue.text
        other_department = await clerk.get("/admin/requests?status=open&department=999999")
        assert reference not in other_department.text

        assert (await clerk.act(reference, "assign")).status_code == 303
        assert (await clerk.act(reference, "start")).status_code == 303
        update = await clerk.act(reference, "comment", body="A crew is booked for Tuesday.", public="on")
        assert update.status_code == 303
        await inbox.wait_for(lambda m: m["to"] == email and "News" in m["subject"])
        internal = await clerk.act(reference, "comment", body="Needs the big truck.")
        assert internal.status_code == 303
        closed = await clerk.act(reference, "close", reason="fixed", body="Filled with hot asphalt.")
        assert closed.status_code == 303

        again = await clerk.act(reference, "close", reason="fixed")
        assert again.status_code == 409 and "This request is already closed." in again.text
        reassign = await clerk.act(reference, "assign")
        assert reassign.status_code == 409 and "already closed" in reassign.text

        closing_mail = await inbox.wait_for(lambda m: m["to"] == email and "closed" in m["subject"])
        attachments = list(closing_mail.iter_attachments())
        assert [part.get_filename() for part in attachments] == [f"{reference}.pdf"]
        pdf_text = "".join(
            page.extract_text() for page in PdfReader(io.BytesIO(attachments[0].get_content())).pages
        )
        assert reference in pdf_text and "Springfield" in pdf_text and "Fixed" in pdf_text
        assert "A crew is booked for Tuesday." in pdf_text and "Needs the big truck." not in pdf_text

        status_page = (await citizen.get(path)).text
        assert "Closed" in status_page and "Fixed" in status_page
        assert "A crew is booked for Tuesday." in status_page and "Needs the big truck." not in status_page
        receipt = await citizen.get(path + "/receipt.pdf")
        assert receipt.status_code == 200 and receipt.content.startswith(b"%PDF")

        detail = (await clerk.get(f"/admin/requests/{reference}")).text
        assert "Needs the big truck." in detail and "internal" in detail

    async with town.scope.transaction():
        row = await request_service.get_by_reference(town.scope, reference)
        notifications = await Notification.count().where(Notification.tenant == town.id)
    assert row.status == "closed" and row.close_reason == "fixed" and row.closed_at
    # One acknowledgement, one public update, one closure: nothing sent twice.
    assert len(inbox.matching(lambda m: m["to"] == email)) == 3
    assert notifications == 3
    async with town.scope.transaction():
        documents = await Document.select(Document.kind).where(Document.request == row.id)
    assert [document["kind"] for document in documents] == ["receipt"]  # one PDF per lifecycle


async def test_htmx_actions_answer_with_the_panel_and_refusals_keep_what_was_typed(app, inbox):
    town = await make_town()
    async with PortalClient(app, town.host) as citizen, PortalClient(app, town.host) as clerk:
        path = status_path(await citizen.submit(valid_form()))
        reference = (await _status_is(town, path, "routed")).reference
        await clerk.login(town.admin_email, town.password)
        htmx = {"HX-Request": "true"}
        start_too_early = await clerk.post(f"/admin/requests/{reference}/start", {}, headers=htmx)
        assert start_too_early.status_code == 409
        assert start_too_early.text.startswith('<div id="request-panel">')
        duplicate = await clerk.post(
            f"/admin/requests/{reference}/close",
            {"reason": "duplicate", "duplicate_of": "NOPE-1", "body": "Same hole as yesterday"},
            headers=htmx,
        )
        assert duplicate.status_code == 409 and "no other request with that reference" in duplicate.text
        assert ">Same hole as yesterday</textarea>" in duplicate.text
        assigned = await clerk.post(f"/admin/requests/{reference}/assign", {}, headers=htmx)
        assert assigned.status_code == 200 and "The request is assigned." in assigned.text
        assert "Ada Admin" in assigned.text


async def test_a_viewer_can_read_but_not_act(app):
    town = await make_town()
    async with PortalClient(app, town.host) as citizen, PortalClient(app, town.host) as viewer:
        path = status_path(await citizen.submit(valid_form()))
        reference = (await _status_is(town, path, "routed")).reference
        await viewer.login(town.viewer_email, town.password)
        page = await viewer.get(f"/admin/requests/{reference}")
        assert page.status_code == 200 and "Close request" not in page.text
        refused = await viewer.act(reference, "close", reason="fixed")
        assert refused.status_code == 403
    assert (await _request(town, path)).status == "routed"


async def test_closing_as_a_duplicate_links_the_original(app, inbox):
    town = await make_town()
    async with PortalClient(app, town.host) as citizen, PortalClient(app, town.host) as clerk:
        first = status_path(await citizen.submit(valid_form()))
        second = status_path(await citizen.submit(valid_form()))
        original = (await _status_is(town, first, "routed")).reference
        duplicate = (await _status_is(town, second, "routed")).reference
        await clerk.login(town.roads_email, town.password)
        response = await clerk.act(duplicate, "close", reason="duplicate", duplicate_of=original.lower())
        assert response.status_code == 303
        row = await _status_is(town, second, "closed")
        assert row.duplicate_of == original
        page = (await citizen.get(second)).text
        assert re.search(rf"Duplicate of another request\s*\({original}\)", page)
