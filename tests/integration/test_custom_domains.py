"""A town's own host name answers nothing until the town proves it holds it with a file on its web server
(here on loopback); then the portal answers there and its links use it. Names of the installation, names
another town has, and checks that would call a private address are refused."""

from __future__ import annotations

import dataclasses
import re

from apps.web import create_app
from domain.tables import AuditEntry
from tests.integration.test_team_settings import signed_in_admin
from tests.support.factories import make_town
from tests.support.portal import PortalClient
from tests.support.services import offline_settings
from tests.support.website import TownWebsite

PATH = "/admin/settings/domains"
FILE = "/.well-known/citizen-portal-verification.txt"


def token_and_id(page: str, host: str) -> tuple[str, str]:
    block = page[page.index(f"<h2>{host}:") :]
    token = re.search(r'<code class="secret">([0-9a-f]{32})</code>', block).group(1)
    domain_id = re.search(r'action="/admin/settings/domains/(\d+)/verify"', block).group(1)
    return token, domain_id


async def test_a_name_is_served_only_once_the_town_has_proven_it_holds_it():
    town, other = await make_town(), await make_town("Elsewhere")
    host = f"311.{town.slug}.example"
    website = TownWebsite()
    settings = dataclasses.replace(offline_settings(), domain_check_address=website.address)
    app = create_app(settings)
    try:
        async with await signed_in_admin(app, town) as admin:
            assert (await admin.get(PATH)).status_code == 200
            for bad, message in (
                ("https://311.example/", "Enter a host name"),
                ("portal.localhost", "belongs to the installation"),
                ("no_underscores.example", "Enter a host name"),
            ):
                refused = await admin.post(PATH, {"host": bad})
                assert refused.status_code == 422 and message in refused.text, bad
            added = await admin.post(PATH, {"host": host.upper() + "."})
            assert added.headers["location"] == f"{PATH}?done=added"
            page = (await admin.get(PATH)).text
            assert f"<h2>{host}: not verified yet</h2>" in page
            token, domain_id = token_and_id(page, host)
        async with await signed_in_admin(app, other) as neighbour:
            await neighbour.get(PATH)
            taken = await neighbour.post(PATH, {"host": host})
            assert taken.status_code == 422 and "already in use" in taken.text
            # Naming the first town's row at its own address finds nothing.
            assert (await neighbour.post(f"{PATH}/{domain_id}/verify")).status_code == 404

        async with PortalClient(app, host) as visitor:
            assert (await visitor.get("/")).status_code == 404  # not proven: no town answers there

        async with await signed_in_admin(app, town) as admin:
            await admin.get(PATH)
            missing = await admin.post(f"{PATH}/{domain_id}/verify")
            assert missing.status_code == 422 and f"could not be read at http://{host}{FILE}" in missing.text
            website.pages[FILE] = "not the code\n"
            wrong = await admin.post(f"{PATH}/{domain_id}/verify")
            assert wrong.status_code == 422 and "does not hold this name's code" in wrong.text
            website.pages[FILE] = token + "\n"
            verified = await admin.post(f"{PATH}/{domain_id}/verify")
            assert verified.headers["location"] == f"{PATH}?done=verified"
            assert host in website.hosts_seen  # it asked for the name, not for the address it connected to
            assert f"<h2>{host}: verified</h2>" in (await admin.get(PATH)).text
            embed = (await admin.get("/admin/settings/embed")).text
            assert f'src="http://{host}:' in embed or f'src="http://{host}/' in embed  # links use the name

        async with PortalClient(app, host) as visitor:
            served = await visitor.get("/")
            assert served.status_code == 200 and town.name in served.text

        async with await signed_in_admin(app, town) as admin:
            await admin.get(PATH)
            assert (await admin.post(f"{PATH}/{domain_id}/remove")).status_code == 303
        async with PortalClient(app, host) as visitor:
            assert (await visitor.get("/")).status_code == 404
    finally:
        website.close()
    async with town.scope.transaction():
        actions = [row["action"] for row in await town.scope.select(AuditEntry, AuditEntry.action)]
    assert [a for a in actions if a.startswith("domain.")] == [
        "domain.added",
        "domain.verified",
        "domain.removed",
    ]


async def test_the_check_never_calls_a_private_address_the_operator_did_not_allow():
    town = await make_town()
    website = TownWebsite()
    strict = dataclasses.replace(
        offline_settings(), domain_check_address=website.address, outbound_allowed_networks=""
    )
    app = create_app(strict)
    host = f"portal.{town.slug}.example"
    try:
        async with await signed_in_admin(app, town) as admin:
            await admin.get(PATH)
            await admin.post(PATH, {"host": host})
            token, domain_id = token_and_id((await admin.get(PATH)).text, host)
            website.pages[FILE] = token
            refused = await admin.post(f"{PATH}/{domain_id}/verify")
            assert refused.status_code == 422 and "private or local network" in refused.text
            assert website.hosts_seen == []  # refused before any connection
    finally:
        website.close()
