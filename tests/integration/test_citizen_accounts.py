"""Citizens sign in with an e-mail link that arrives through the real SMTP server, then see their requests."""

import json
import re
from datetime import UTC, datetime, timedelta

from apps.web import create_app
from domain.tables import Citizen, ServiceRequest, SignInLink
from infra.database import cross_tenant
from tests.support.factories import make_town, many_requests, valid_form
from tests.support.portal import PortalClient, status_path
from tests.support.services import offline_settings
from tests.workflows.lifecycle_helpers import about, text_of

OFFLINE = offline_settings()
LINK = re.compile(r"http://\S+?(/account/link/[\w-]+)")


async def sign_in(portal: PortalClient, inbox, email: str) -> str:
    """Asks for a link, reads it from the mail, opens it and confirms; returns the link's path."""
    asked = await portal.post("/account/sign-in", {"email": email})
    assert asked.status_code == 200 and "Check your e-mail" in asked.text
    mail = await inbox.wait_for(about(email.lower(), "sign-in link"))
    path = LINK.search(text_of(mail)).group(1)
    confirm = await portal.get(path)
    assert confirm.status_code == 200 and "Sign me in" in confirm.text
    used = await portal.post(path)
    assert used.status_code == 303 and used.headers["location"] == "/account/requests"
    inbox.messages.remove(mail)
    return path


async def test_requests_made_before_signing_in_appear_once_the_address_is_proved(inbox):
    app = create_app(OFFLINE)
    town = await make_town()
    email = f"marge@{town.slug}.example"
    async with PortalClient(app, town.host) as citizen:
        first = status_path(await citizen.submit(valid_form(contact_email=email, contact_name="Marge")))
        second = status_path(
            await citizen.submit(
                valid_form(contact_email=email.upper(), contact_name="Marge", description="Second")
            )
        )
        status_path(await citizen.submit(valid_form(contact_email=f"homer@{town.slug}.example")))
        assert (await citizen.get("/account/requests")).headers["location"] == "/account/sign-in"
        await sign_in(citizen, inbox, email)
        page = (await citizen.get("/account/requests")).text
        tokens = re.findall(r'href="/status/([\w-]+)"', page)
        assert tokens == [second.rsplit("/", 1)[1], first.rsplit("/", 1)[1]]  # newest first, no one else's
        form = (await citizen.get("/")).text
        assert f'value="{email}"' in form and 'value="Marge"' in form  # the form is filled in


async def test_a_sign_in_link_works_once_briefly_and_only_at_its_own_town(inbox):
    app = create_app(OFFLINE)
    town, other_town = await make_town(), await make_town("Shelbyville")
    email = f"once@{town.slug}.example"
    async with PortalClient(app, town.host) as citizen:
        path = await sign_in(citizen, inbox, email)
        again = await citizen.post(path)
        assert again.status_code == 410 and "expired or was already used" in again.text
    async with PortalClient(app, other_town.host) as elsewhere:
        await elsewhere.post("/account/sign-in", {"email": email})
    mail = await inbox.wait_for(about(email, "Shelbyville"))
    foreign_path = LINK.search(text_of(mail)).group(1)
    async with PortalClient(app, town.host) as citizen:
        assert (await citizen.post(foreign_path)).status_code == 410  # Shelbyville's link means nothing here
        await citizen.post("/account/sign-in", {"email": email})
        late = LINK.search(text_of(await inbox.wait_for(about(email, town.name)))).group(1)
        async with town.scope.transaction():
            await SignInLink.update({SignInLink.expires_at: datetime.now(UTC) - timedelta(seconds=1)}).where(
                SignInLink.email == email
            )
        assert (await citizen.get(late)).status_code == 410


async def test_asking_for_links_without_end_is_refused_and_unknown_addresses_look_the_same(inbox):
    app = create_app(OFFLINE)
    town = await make_town()
    email = f"flood@{town.slug}.example"
    async with PortalClient(app, town.host) as anyone:
        answers = [await anyone.post("/account/sign-in", {"email": email}) for _ in range(4)]
        bad = await anyone.post("/account/sign-in", {"email": "not an address"})
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert bad.status_code == 422 and 'value="not an address"' in bad.text


async def test_the_account_keeps_preferences_exports_everything_and_can_be_deleted(inbox):
    app = create_app(OFFLINE)
    town = await make_town()
    email = f"lisa@{town.slug}.example"
    async with PortalClient(app, town.host) as citizen:
        status_path(
            await citizen.submit(
                valid_form(contact_email=email, contact_name="Lisa", contact_phone="555 1234")
            )
        )
        await sign_in(citizen, inbox, email)
        bad = await citizen.post("/account", {"name": "Lisa S.", "phone": "call me", "language": "fr"})
        assert bad.status_code == 422 and 'value="call me"' in bad.text
        saved = await citizen.post(
            "/account", {"name": "Lisa S.", "phone": "", "language": "fr", "notify": "closure"}
        )
        assert saved.status_code == 303
        async with town.scope.transaction():
            account = (
                await Citizen.select().where((Citizen.tenant == town.id) & (Citizen.email == email)).first()
            )
        assert (account["name"], account["language"], account["notify_each_step"]) == ("Lisa S.", "fr", False)
        download = await citizen.get("/account/data.json")
        data = json.loads(download.content)
        assert download.headers["content-disposition"].startswith("attachment")
        assert data["account"]["email"] == email and len(data["requests"]) == 1
        assert data["requests"][0]["contact"]["phone"] == "555 1234"
        unconfirmed = await citizen.post("/account/delete", {})
        assert unconfirmed.status_code == 422
        deleted = await citizen.post("/account/delete", {"confirm": "yes"})
        assert deleted.status_code == 200 and "Your account is deleted" in deleted.text
        assert (await citizen.get("/account")).status_code == 303
    async with town.scope.transaction():
        remaining = await ServiceRequest.select().where(ServiceRequest.tenant == town.id)
        still_there = await Citizen.exists().where((Citizen.tenant == town.id) & (Citizen.email == email))
    assert len(remaining) == 1  # the town keeps the request ...
    assert (remaining[0]["contact_email"], remaining[0]["contact_phone"]) == (
        "",
        "",
    )  # ... without the person
    assert remaining[0]["contact_name"] == "(deleted)"
    assert not still_there


async def test_the_same_address_at_two_towns_is_two_accounts(inbox):
    app = create_app(OFFLINE)
    town, other_town = await make_town(), await make_town("Shelbyville")
    email = f"both@{town.slug}.example"
    for place in (town, other_town):
        async with PortalClient(app, place.host) as citizen:
            status_path(await citizen.submit(valid_form(contact_email=email, description=f"In {place.name}")))
            await sign_in(citizen, inbox, email)
            page = (await citizen.get("/account/requests")).text
            assert page.count('href="/status/') == 1
    async with cross_tenant("test: one address in two towns"):
        accounts = await Citizen.select(Citizen.tenant.as_alias("town")).where(Citizen.email == email)
    assert sorted(row["town"] for row in accounts) == sorted([town.id, other_town.id])


async def test_my_requests_come_a_page_at_a_time_newest_first_and_every_one_once(inbox):
    from domain.citizens import MY_REQUESTS_PAGE_SIZE

    town = await make_town()
    email = f"heavy@{town.slug}.example"
    expected = await many_requests(town, MY_REQUESTS_PAGE_SIZE * 2 + 3, contact_email=email)
    async with PortalClient(create_app(OFFLINE), town.host) as citizen:
        await sign_in(citizen, inbox, email)
        path, pages = "/account/requests", []
        while path:
            page = (await citizen.get(path)).text
            pages.append(re.findall(r'<td><a href="/status/[\w-]+">([\w-]+)</a>', page))
            older = re.search(r'<a href="(/account/requests\?before=\d+)">Older requests</a>', page)
            path = older.group(1) if older else ""
        assert [len(rows) for rows in pages] == [MY_REQUESTS_PAGE_SIZE, MY_REQUESTS_PAGE_SIZE, 3]
        assert sum(pages, []) == expected
        assert (
            "Newest requests" in page
            and "Newest requests" not in (await citizen.get("/account/requests")).text
        )
        exported = json.loads((await citizen.get("/account/data.json")).text)
        assert len(exported["requests"]) == len(expected)  # the download holds every one, not a page
