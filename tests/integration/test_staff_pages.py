"""The staff workspace as staff read it: their own wording for states, and no form without its button in
any state a request can be in. No workflow is needed: the pages read the database."""

from html.parser import HTMLParser

import pytest

from apps.demo import DEMO_PASSWORD
from apps.web import create_app
from domain import lifecycle
from domain.tables import Department, ServiceRequest
from tests.support.factories import make_town, many_requests, valid_form
from tests.support.portal import PortalClient, status_path
from tests.support.services import offline_settings


class Forms(HTMLParser):
    """Each form of a page with the names of its submit buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, list[str]] = {}
        self._current: str | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        if tag == "form":
            self._current = attributes.get("id") or attributes.get("action", "")
            self.forms[self._current] = []
        elif self._current is not None and (
            (tag == "button" and attributes.get("type", "submit") == "submit")
            or (tag == "input" and attributes.get("type") == "submit")
        ):
            self.forms[self._current].append(attributes.get("formaction") or tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


@pytest.fixture(scope="module")
async def request_page():
    """A signed-in administrator and the reference of one request whose status a test sets directly."""
    town = await make_town()
    async with town.scope.transaction():
        works = (
            await Department.select(Department.id)
            .where((Department.tenant == town.id) & (Department.slug == "public-works"))
            .first()
        )
    async with PortalClient(create_app(offline_settings()), town.host) as client:
        path = status_path(await client.submit(valid_form()))
        async with town.scope.transaction():
            row = (
                await ServiceRequest.select(ServiceRequest.reference)
                .where(ServiceRequest.public_token == path.rsplit("/", 1)[1])
                .first()
            )
            await ServiceRequest.update({ServiceRequest.department: works["id"]}).where(
                ServiceRequest.tenant == town.id
            )
        assert (await client.login(town.admin_email, DEMO_PASSWORD)).status_code == 303
        yield town, client, row["reference"]


async def _set_status(town, status: str) -> None:
    async with town.scope.transaction():
        await ServiceRequest.update({ServiceRequest.status: status}).where(ServiceRequest.tenant == town.id)


@pytest.mark.parametrize("status", list(lifecycle.STATUS_LABELS))
async def test_every_form_on_the_request_panel_has_a_submit_button_in_every_state(request_page, status):
    town, client, reference = request_page
    await _set_status(town, status)
    page = await client.get(f"/admin/requests/{reference}")
    assert page.status_code == 200
    parser = Forms()
    parser.feed(page.text)
    panel = {name: buttons for name, buttons in parser.forms.items() if reference in name or "action" in name}
    without_button = [name for name, buttons in panel.items() if not buttons]
    assert without_button == [], (status, without_button)
    if status not in lifecycle.TERMINAL:
        assert "action-comment" in panel  # the panel's forms are really there


async def test_staff_read_staff_wording_for_a_request_waiting_on_the_citizen(request_page):
    town, client, reference = request_page
    await _set_status(town, lifecycle.WAITING_ON_CITIZEN)
    detail = (await client.get(f"/admin/requests/{reference}")).text
    queue = (await client.get("/admin/requests?status=all")).text
    for page in (detail, queue):
        assert "Waiting on citizen" in page and "Waiting for your reply" not in page
    assert '<option value="waiting_on_citizen">Waiting on citizen</option>' in queue
    await client.get("/lang/fr?next=/")
    french = (await client.get(f"/admin/requests/{reference}")).text
    assert "En attente du citoyen" in french and "En attente de votre réponse" not in french
    french_queue = (await client.get("/admin/requests?status=all")).text
    assert '<option value="waiting_on_citizen">En attente du citoyen</option>' in french_queue
    assert '<td class="status">En attente du citoyen</td>' in french_queue
    assert "<td>Voirie: Nid-de-poule</td>" in french_queue and "<td>Travaux publics</td>" in french_queue


async def test_older_requests_page_through_the_whole_queue_once_each_in_order():
    import re

    town = await make_town()
    expected = await many_requests(town, 121)
    async with PortalClient(create_app(offline_settings()), town.host) as clerk:
        await clerk.login(town.admin_email, town.password)
        path, seen, pages = "/admin/requests?status=", [], 0
        while path:
            page = await clerk.get(path)
            assert page.status_code == 200
            seen += re.findall(r'<td><a href="/admin/requests/([\w-]+)">', page.text)
            pages += 1
            older = re.search(r'<a href="(/admin/requests\?[^"]*before=\d+)">Older requests</a>', page.text)
            path = older.group(1).replace("&amp;", "&") if older else ""
    assert seen == expected and pages == 3
