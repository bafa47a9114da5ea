"""The Open311 GeoReport v2 server of each town, over HTTP against the real database: the specification's
names and nesting in XML and JSON, posts that make the same request as the citizen form, keys, paging,
filters, FixMyStreet's updates, and nothing but public data."""

from __future__ import annotations

import json
import re
import uuid
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl
from xml.etree import ElementTree

import httpx
import pytest

from apps.web import create_app
from domain import api_keys, submissions
from domain.intake import Submission
from domain.tables import RequestEvent, RequestType, ServiceRequest, StaffUser
from tenants.tables import Tenant
from tests.support.factories import make_town, many_requests, valid_form
from tests.support.portal import PortalClient, status_path
from tests.support.services import offline_settings

APP = create_app(offline_settings())
BASE = "/open311/v2"
SPEC = Path(__file__).parents[1] / "support" / "open311_spec"
XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>'
FORMATS = ("json", "xml")
# Written into requests and their timelines; no GET may ever show them.
NAME, EMAIL, PHONE = "Ned Flanders", "ned.flanders@example.com", "555-0199"
INTERNAL, CITIZEN_WORDS = "Internal: the foreman lives next door", "Call me back at 555-0199"
STAFF_NOTE = "We will fill it this week."


@asynccontextmanager
async def open311(town, address: str = "127.0.0.1", app=APP):
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{town.host}") as client:
        yield client


async def key_of(town, *scopes: str) -> str:
    async with town.scope.transaction():
        _, raw_key = await api_keys.create(town.scope, "Kiosk", list(scopes or [api_keys.SUBMIT]), "test")
    return raw_key


def spec_json(name: str):
    """The specification's JSON example; its numbers with leading zeros (`001`) are read as text."""
    return json.loads(re.sub(r'(":)(0\d+)', r'\1"\2"', (SPEC / f"{name}.json").read_text()))


def spec_xml(name: str) -> ElementTree.Element:
    return ElementTree.fromstring((SPEC / f"{name}.xml").read_text().encode())


def json_paths(value, path: str = "") -> set[str]:
    """Every field's place in a document: `[]/service_code` is a field of each item of the root list."""
    if isinstance(value, dict):
        return {path + "/" + key for key in value} | {
            found for key, item in value.items() for found in json_paths(item, path + "/" + key)
        }
    if isinstance(value, list):
        return {path + "[]"} | {found for item in value for found in json_paths(item, path + "[]")}
    return set()


def xml_paths(element: ElementTree.Element, path: str = "") -> set[str]:
    here = f"{path}/{element.tag}"
    return {here} | {found for child in element for found in xml_paths(child, here)}


def paths(response: httpx.Response, fmt: str) -> set[str]:
    if fmt == "json":
        assert response.headers["content-type"] == "application/json; charset=utf-8"
        return json_paths(response.json())
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    assert response.text.startswith(XML_DECLARATION)
    return xml_paths(ElementTree.fromstring(response.content))


def spec_paths(name: str, fmt: str) -> set[str]:
    return json_paths(spec_json(name)) if fmt == "json" else xml_paths(spec_xml(name))


def descriptions(response: httpx.Response) -> list[str]:
    """The errors of an answer in the specification's error shape, in either format."""
    if response.headers["content-type"].startswith("application/json"):
        body = response.json()
        assert json_paths(body) == spec_paths("errors", "json")
        assert {error["code"] for error in body} == {response.status_code}
        return [error["description"] for error in body]
    root = ElementTree.fromstring(response.content)
    assert xml_paths(root) == spec_paths("errors", "xml")
    assert {error.findtext("code") for error in root} == {str(response.status_code)}
    return [error.findtext("description") or "" for error in root]


async def post(client: httpx.AsyncClient, fmt: str = "json", headers: dict | None = None, **fields: str):
    return await client.post(f"{BASE}/requests.{fmt}", data=fields, headers=headers or {})


def pothole(raw_key: str, **overrides: str) -> dict[str, str]:
    fields = {
        "api_key": raw_key,
        "service_code": "pothole",
        "description": "A deep pothole in the right lane.",
        "address_string": "12 Main Street",
        "first_name": "Ned",
        "last_name": "Flanders",
        "email": EMAIL,
        "phone": PHONE,
    }
    return fields | overrides


async def submitted(
    town, code: str = "pothole", description: str = "A deep pothole in the right lane."
) -> int:
    """A request made as intake makes it, with the contact details no GET may show."""
    async with town.scope.transaction():
        result = await submissions.submit(
            town.scope,
            town.prefix,
            Submission(
                code, description, NAME, EMAIL, uuid.uuid4().hex, PHONE, "12 Main Street", 45.5, -73.6
            ),
            "en",
        )
    return result.request_id


async def add_line(town, request_id: int, body: str, actor_kind: str, public: bool = True, **values) -> None:
    async with town.scope.transaction():
        await town.scope.new(
            RequestEvent,
            request=request_id,
            kind="comment",
            actor_kind=actor_kind,
            body=body,
            public=public,
            created_at=datetime.now(UTC),
            **values,
        ).save()


async def set_status(town, request_id: int, status: str) -> None:
    async with town.scope.transaction():
        await town.scope.update(ServiceRequest, {ServiceRequest.status: status}).where(
            ServiceRequest.id == request_id
        )
        await town.scope.new(
            RequestEvent,
            request=request_id,
            kind="close",
            from_status="routed",
            to_status=status,
            actor_kind="staff",
            created_at=datetime.now(UTC),
        ).save()


@pytest.mark.parametrize("fmt", FORMATS)
async def test_every_answer_has_the_specifications_names_and_nesting(fmt):
    town = await make_town()
    raw_key = await key_of(town)
    request_id = await submitted(town)
    await add_line(town, request_id, STAFF_NOTE, "staff")
    async with open311(town) as client:
        example = dict(parse_qsl((SPEC / "post_request.http").read_text().split("\n\n", 1)[1].strip()))
        example |= {"api_key": raw_key, "jurisdiction_id": town.slug, "service_code": "pothole"}
        posted = await client.post(f"{BASE}/requests.{fmt}", data=example)
        assert posted.status_code == 200, posted.text
        token_part = {"[]/token"} if fmt == "json" else {"/service_requests/request/token"}
        assert paths(posted, fmt) == spec_paths("post_request", fmt) | token_part
        token = (
            posted.json()[0]["token"]
            if fmt == "json"
            else ElementTree.fromstring(posted.content)[0].findtext("token")
        )
        reference = (await client.get(f"{BASE}/tokens/{token}.json")).json()[0]["service_request_id"]

        for path, name in (
            (f"/discovery.{fmt}", "discovery"),
            (f"/services.{fmt}", "services"),
            (f"/tokens/{token}.{fmt}", "token"),
            (f"/requests.{fmt}", "requests"),
            (f"/requests/{reference}.{fmt}", "request"),
            (f"/servicerequestupdates.{fmt}", "servicerequestupdates"),
        ):
            answer = await client.get(BASE + path)
            assert answer.status_code == 200, (path, answer.text)
            assert paths(answer, fmt) == spec_paths(name, fmt), path

        # No type asks questions yet: the definition has the specification's fields, and no attribute.
        definition = await client.get(f"{BASE}/services/pothole.{fmt}")
        attribute_fields = {
            path for path in spec_paths("service_definition", fmt) if re.search(r"/attributes(\[\])?/", path)
        }
        assert (
            attribute_fields
            and paths(definition, fmt) == spec_paths("service_definition", fmt) - attribute_fields
        )

        refused = await client.post(f"{BASE}/requests.{fmt}", data=example | {"api_key": "cpk_wrong"})
        assert refused.status_code == 403 and descriptions(refused)


async def test_the_format_comes_from_the_suffix_then_the_format_parameter_then_is_xml():
    town = await make_town()
    async with open311(town) as client:
        assert (await client.get(f"{BASE}/services")).text.startswith(XML_DECLARATION)
        assert (await client.get(f"{BASE}/services?format=json")).json()[0]["service_code"] == "pothole"
        assert (await client.get(f"{BASE}/services.xml?format=json")).text.startswith(XML_DECLARATION)
        bad = await client.get(f"{BASE}/services?format=csv")
        assert bad.status_code == 400 and descriptions(bad) == ["format: Ask for json or xml."]
        for unknown in ("/services.csv", "/services/pothole.csv", "/requests/ABC.yaml", "/nothing/here.json"):
            answer = await client.get(BASE + unknown)
            assert answer.status_code == 404 and descriptions(answer), unknown


async def test_discovery_points_at_the_towns_own_endpoint():
    town = await make_town()
    async with open311(town) as client:
        document = (await client.get(f"{BASE}/discovery.json")).json()
    (endpoint,) = document["endpoints"]
    assert endpoint["url"].startswith(f"http://{town.host}") and endpoint["url"].endswith("/open311/v2")
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["type"] == "production" and set(endpoint["formats"]) == {"text/xml", "application/json"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", document["changeset"])


async def test_services_are_the_offered_types_in_the_towns_first_language_or_the_locale():
    town = await make_town()
    async with town.scope.transaction():
        await town.scope.update(RequestType, {RequestType.active: False}).where(RequestType.code == "records")
    async with open311(town) as client:
        english = (await client.get(f"{BASE}/services.json", headers={"Accept-Language": "fr"})).json()
        french = (await client.get(f"{BASE}/services.json?locale=fr")).json()
        unknown_locale = (await client.get(f"{BASE}/services.json?locale=de")).json()
    pothole = next(service for service in english if service["service_code"] == "pothole")
    assert pothole == {
        "service_code": "pothole",
        "service_name": "Pothole",
        "description": "",
        "metadata": False,
        "type": "realtime",
        "keywords": "Nid-de-poule, Voirie",
        "group": "Roads",
    }
    assert "records" not in {service["service_code"] for service in english}
    assert next(service for service in french if service["service_code"] == "pothole")["group"] == "Voirie"
    assert unknown_locale == english


async def test_a_post_makes_the_same_request_as_the_form_and_a_repeated_key_makes_none():
    town = await make_town()
    raw_key = await key_of(town)
    async with PortalClient(APP, town.host) as portal:
        status_path(
            await portal.submit(valid_form(contact_name=NAME, contact_email=EMAIL, contact_phone=PHONE))
        )
    async with open311(town) as client:
        first = await post(client, headers={"Idempotency-Key": "order-1"}, **pothole(raw_key))
        again = await post(client, "xml", headers={"Idempotency-Key": "order-1"}, **pothole(raw_key))
        other_key = await post(client, headers={"Idempotency-Key": "order-1"}, **pothole(await key_of(town)))
    assert first.status_code == again.status_code == other_key.status_code == 200
    answer = first.json()[0]
    assert answer["service_notice"] == "" and answer["account_id"] == ""
    assert re.fullmatch(r"[0-9a-f]{32}", answer["token"])
    assert (
        ElementTree.fromstring(again.content)[0].findtext("service_request_id")
        == answer["service_request_id"]
    )
    assert other_key.json()[0]["service_request_id"] != answer["service_request_id"]

    async with town.scope.transaction():
        rows = await town.scope.select(ServiceRequest).order_by(ServiceRequest.id)
        lines = await town.scope.select(
            RequestEvent,
            RequestEvent.request,
            RequestEvent.kind,
            RequestEvent.to_status,
            RequestEvent.actor_kind,
        )
    by_form, by_api, _ = rows
    assert [row["reference"] for row in rows] == [
        f"{town.prefix}-{datetime.now(UTC).year}-00000{n}" for n in (1, 2, 3)
    ]
    assert (
        by_api["reference"] == answer["service_request_id"] and by_api["idempotency_key"] == answer["token"]
    )
    differing = {"id", "reference", "public_token", "idempotency_key", "created_at", "updated_at"}
    assert {k: v for k, v in by_form.items() if k not in differing} == {
        k: v for k, v in by_api.items() if k not in differing
    }
    assert [line for line in lines if line["request"] == by_api["id"]] == [
        {"request": by_api["id"], "kind": "submitted", "to_status": "submitted", "actor_kind": "citizen"}
    ]


async def test_a_post_takes_a_place_by_coordinates_or_address_id_alone():
    town = await make_town()
    raw_key = await key_of(town)
    async with open311(town) as client:
        by_point = await post(client, **pothole(raw_key, address_string="", lat="45.5", long="-73.6"))
        by_id = await post(client, **pothole(raw_key, address_string="", address_id="545483"))
        nowhere = await post(client, **pothole(raw_key, address_string=""))
    assert by_point.status_code == by_id.status_code == 200
    async with town.scope.transaction():
        rows = await town.scope.select(ServiceRequest).order_by(ServiceRequest.id)
    assert [(row["address"], row["latitude"]) for row in rows] == [("45.5, -73.6", 45.5), ("545483", None)]
    assert nowhere.status_code == 400 and descriptions(nowhere)[0].startswith("address_string: ")


@pytest.mark.parametrize("fmt", FORMATS)
async def test_each_missing_or_invalid_field_is_its_own_error(fmt):
    town = await make_town()
    raw_key = await key_of(town)
    async with open311(town) as client:
        missing = await post(client, fmt, api_key=raw_key, service_code="pothole", description="Hole")
        invalid = await post(client, fmt, **pothole(raw_key, email="ned-at-example", lat="north", long="2"))
        no_code = await post(client, fmt, **pothole(raw_key, service_code=""))
        unknown_code = await post(client, fmt, **pothole(raw_key, service_code="no-such-type"))
        control = await post(client, fmt, **pothole(raw_key, description="A hole\x00 in the road"))
    assert missing.status_code == invalid.status_code == no_code.status_code == 400
    assert [text.split(":")[0] for text in descriptions(missing)] == [
        "description",
        "address_string",
        "first_name",
        "email",
    ]
    assert descriptions(invalid) == [
        "email: Enter an email address like name@example.com.",
        "lat: Enter a number in decimal degrees, or leave both coordinates empty.",
    ]
    assert [text.split(":")[0] for text in descriptions(no_code)] == ["service_code"]
    assert unknown_code.status_code == 404 and descriptions(unknown_code)[0].startswith("service_code: ")
    assert control.status_code == 400 and "control characters" in descriptions(control)[0]
    async with town.scope.transaction():
        assert await town.scope.count(ServiceRequest) == 0


async def test_errors_speak_the_locale_asked_for_whatever_the_client_library_sends():
    town = await make_town()
    raw_key = await key_of(town)
    async with open311(town) as client:
        french = await client.post(
            f"{BASE}/requests.json?locale=fr", data=pothole(raw_key, first_name="", last_name="")
        )
        english = await client.post(
            f"{BASE}/requests.json",
            data=pothole(raw_key, first_name="", last_name=""),
            headers={"Accept-Language": "fr"},
        )
    assert descriptions(french) == ["first_name: Saisissez votre nom."]
    assert descriptions(english) == ["first_name: Enter your name."]  # the town's first language


async def test_a_post_needs_a_key_of_this_town_that_may_submit():
    town, other = await make_town(), await make_town("Elsewhere")
    reader, neighbours, submitter = await key_of(town, api_keys.READ), await key_of(other), await key_of(town)
    revoked = await key_of(town)
    async with town.scope.transaction():
        (info,) = [item for item in await api_keys.keys(town.scope) if item.prefix == revoked[:12]]
        await api_keys.revoke(town.scope, info.id)
    async with open311(town) as client:
        for raw_key in ("", "cpk_not-a-key", reader, neighbours, revoked):
            refused = await post(client, **pothole(raw_key))
            assert refused.status_code == 403 and descriptions(refused)[0].startswith("api_key: "), raw_key
        by_header = await post(client, headers={"X-Api-Key": submitter}, **pothole(""))
        assert by_header.status_code == 200
        # Reads need no key; a wrong one is refused, a right one of any scope is taken.
        assert (await client.get(f"{BASE}/services.json?api_key=cpk_wrong")).status_code == 403
        assert (await client.get(f"{BASE}/services.json?api_key={neighbours}")).status_code == 403
        assert (await client.get(f"{BASE}/services.json?api_key={reader}")).status_code == 200
    async with town.scope.transaction():
        assert await town.scope.count(ServiceRequest) == 1


async def test_the_jurisdiction_id_must_be_this_town():
    town = await make_town()
    raw_key = await key_of(town)
    async with open311(town) as client:
        for own in (town.slug, town.host.upper(), ""):
            assert (await client.get(f"{BASE}/services.json?jurisdiction_id={own}")).status_code == 200
        elsewhere = await client.get(f"{BASE}/services.json?jurisdiction_id=sfgov.org")
        posted = await post(client, **pothole(raw_key, jurisdiction_id="sfgov.org"))
    for refused in (elsewhere, posted):
        assert refused.status_code == 404 and descriptions(refused)[0].startswith("jurisdiction_id: ")


async def test_unknown_ids_codes_and_tokens_are_404():
    town = await make_town()
    async with open311(town) as client:
        for path in (
            "/services/no-such-type.json",
            "/requests/TES-2026-999999.json",
            "/tokens/0123456789abcdef0123456789abcdef.xml",
            "/tokens/short.json",
        ):
            answer = await client.get(BASE + path)
            assert answer.status_code == 404 and descriptions(answer), path


async def test_requests_of_unpublished_types_appear_in_no_answer():
    town = await make_town()
    raw_key = await key_of(town)
    async with open311(town) as client:
        posted = await post(client, **pothole(raw_key, service_code="tax-question", address_string=""))
        assert posted.status_code == 200  # a kiosk may still post one
        secret = posted.json()[0]
        public = (await post(client, **pothole(raw_key))).json()[0]
        async with town.scope.transaction():
            row = await town.scope.select(ServiceRequest, ServiceRequest.id).where(
                ServiceRequest.reference == secret["service_request_id"]
            )
        await add_line(town, row[0]["id"], STAFF_NOTE, "staff")
        listed = (await client.get(f"{BASE}/requests.json")).json()
        both = f"{secret['service_request_id']},{public['service_request_id']}"
        by_ids = await client.get(f"{BASE}/requests.json?service_request_id={both}")
        answers = [
            await client.get(f"{BASE}/requests/{secret['service_request_id']}.json"),
            await client.get(f"{BASE}/tokens/{secret['token']}.json"),
            await client.get(f"{BASE}/requests.json?service_code=tax-question"),
            await client.get(f"{BASE}/servicerequestupdates.json"),
        ]
    assert [item["service_request_id"] for item in listed] == [public["service_request_id"]]
    assert [item["service_request_id"] for item in by_ids.json()] == [public["service_request_id"]]
    assert answers[0].status_code == answers[1].status_code == 404
    assert answers[2].json() == []
    assert {update["service_request_id"] for update in answers[3].json()} == {public["service_request_id"]}


async def test_no_answer_ever_carries_personal_data_internal_notes_or_staff_names():
    town = await make_town()
    request_id = await submitted(town)
    async with town.scope.transaction():
        staff = await town.scope.select(StaffUser, StaffUser.id, StaffUser.name).first()
    await add_line(town, request_id, STAFF_NOTE, "staff", actor=staff["id"])
    await add_line(town, request_id, INTERNAL, "staff", public=False, actor=staff["id"])
    await add_line(town, request_id, CITIZEN_WORDS, "citizen")
    async with open311(town) as client:
        (item,) = (await client.get(f"{BASE}/requests.json")).json()
        reference = item["service_request_id"]
        bodies = [
            (await client.get(f"{BASE}{path}.{fmt}")).text
            for fmt in FORMATS
            for path in (
                "/discovery",
                "/services",
                "/requests",
                f"/requests/{reference}",
                "/servicerequestupdates",
            )
        ]
        bodies.append((await client.get(f"{BASE}/requests.json?service_request_id={reference}")).text)
    assert item["status_notes"] == STAFF_NOTE and item["lat"] == 45.5
    for body in bodies:
        for secret in (NAME, EMAIL, PHONE, INTERNAL, CITIZEN_WORDS, staff["name"]):
            assert secret not in body


async def test_pages_follow_one_another_by_the_link_header_and_show_each_request_once():
    town = await make_town()
    newest_first = await many_requests(town, 8)  # submission times tie in threes
    dates = "start_date=2026-02-20T00:00:00Z&end_date=2026-03-20T00:00:00-04:00"
    seen: list[str] = []
    async with open311(town) as client:
        answer = await client.get(f"{BASE}/requests.json?page_size=3&{dates}")
        while True:
            assert answer.status_code == 200, answer.text
            seen += [item["service_request_id"] for item in answer.json()]
            link = answer.headers.get("link")
            if link is None:
                break
            url = re.fullmatch(r'<(http://[^/]+)(/[^>]+)>; rel="next"', link)
            assert url and url.group(1).startswith(f"http://{town.host}")
            answer = await client.get(url.group(2))
        bad_cursor = await client.get(f"{BASE}/requests.json?after=bm90LWEtY3Vyc29y")
    assert seen == newest_first and len(seen) == 8
    assert bad_cursor.status_code == 400 and descriptions(bad_cursor)[0].startswith("after: ")


async def test_requests_are_filtered_by_code_status_and_dates_and_ids_override_the_rest():
    town = await make_town()
    hole, light, closed = (
        (await submitted(town)),
        (await submitted(town, "streetlight")),
        (await submitted(town)),
    )
    await set_status(town, closed, "closed")
    async with town.scope.transaction():
        await town.scope.update(
            ServiceRequest, {ServiceRequest.created_at: datetime(2026, 1, 10, tzinfo=UTC)}
        ).where(ServiceRequest.id == hole)
        references = {
            row["id"]: row["reference"]
            for row in await town.scope.select(ServiceRequest, ServiceRequest.id, ServiceRequest.reference)
        }

    async def found(client, query: str) -> list[str]:
        answer = await client.get(f"{BASE}/requests.json?{query}")
        assert answer.status_code == 200, (query, answer.text)
        return [item["service_request_id"] for item in answer.json()]

    async with open311(town) as client:
        assert await found(client, "") == [references[closed], references[light]]  # the last 90 days
        assert await found(client, "status=open") == [references[light]]
        assert await found(client, "status=closed") == [references[closed]]
        assert await found(client, "status=open,closed&service_code=pothole") == [references[closed]]
        assert await found(client, "service_code=streetlight,sidewalk") == [references[light]]
        assert await found(client, "start_date=2026-01-01T00:00:00Z&end_date=2026-02-01T00:00:00+01:00") == [
            references[hole]
        ]
        assert await found(client, "end_date=2026-01-20T00:00:00Z") == [references[hole]]
        ids = f"{references[hole]},{references[light].lower()},NOPE"
        assert await found(client, f"service_request_id={ids}&status=closed&service_code=sidewalk") == [
            references[light],
            references[hole],
        ]
        for query, field in (
            ("start_date=yesterday", "start_date"),
            ("end_date=2026-01-20T00:00:00", "end_date"),  # no offset: no instant
            ("start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z", "end_date"),
            ("start_date=2026-02-01T00:00:00Z&end_date=2026-01-01T00:00:00Z", "end_date"),
            ("status=pending", "status"),
            ("page_size=0", "page_size"),
            ("page_size=1001", "page_size"),
        ):
            refused = await client.get(f"{BASE}/requests.xml?{query}")
            assert refused.status_code == 400, query
            assert [text.split(":")[0] for text in descriptions(refused)] == [field], query


async def test_updates_are_the_public_lines_of_published_requests_in_the_span():
    town = await make_town()
    hole, tax = await submitted(town), await submitted(town, "tax-question")
    await add_line(town, hole, STAFF_NOTE, "staff")
    await add_line(town, hole, INTERNAL, "staff", public=False)
    await add_line(town, hole, CITIZEN_WORDS, "citizen")
    await add_line(town, tax, STAFF_NOTE, "staff")
    await set_status(town, hole, "closed")
    async with open311(town) as client:
        updates = (await client.get(f"{BASE}/servicerequestupdates.json")).json()
        xml = await client.get(f"{BASE}/servicerequestupdates.xml")
        later = datetime.now(UTC) + timedelta(hours=1)
        after = await client.get(
            f"{BASE}/servicerequestupdates.json", params={"start_date": later.isoformat(timespec="seconds")}
        )
        paged = await client.get(f"{BASE}/servicerequestupdates.json?page_size=2")
        following = re.search(r"<http://[^/]+(/[^>]+)>", paged.headers["link"]).group(1)
        rest = (await client.get(following)).json()
    reference = updates[0]["service_request_id"]
    assert [(update["status"], update["description"]) for update in updates] == [
        ("open", ""),  # submitted
        ("closed", STAFF_NOTE),  # a line that did not move the request: its status now
        ("closed", ""),  # the citizen's words are not open data
        ("closed", ""),  # closed
    ]
    assert {update["service_request_id"] for update in updates} == {reference}
    assert [update["update_id"] for update in paged.json() + rest] == [
        update["update_id"] for update in updates
    ]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", u["updated_datetime"]) for u in updates)
    assert len(ElementTree.fromstring(xml.content)) == 4
    assert after.status_code == 200 and after.json() == []


async def test_a_town_that_is_not_live_answers_404_everywhere():
    town = await make_town()
    raw_key = await key_of(town)
    async with town.scope.transaction():
        await Tenant.update({Tenant.live: False}).where(Tenant.id == town.id)
    app = create_app(offline_settings())  # one that has not seen the town open
    async with open311(town, app=app) as client:
        answers = [
            await client.get(f"{BASE}{path}")
            for path in ("/discovery.json", "/services.xml", "/requests.json")
        ]
        answers.append(await post(client, **pothole(raw_key)))
    for answer in answers:
        assert answer.status_code == 404 and descriptions(answer)
    async with town.scope.transaction():
        assert await town.scope.count(ServiceRequest) == 0


async def test_readers_without_a_key_are_limited_per_address_with_the_specs_error():
    town = await make_town()
    app = create_app(offline_settings())
    async with open311(town, address="10.3.1.1", app=app) as client:
        statuses = [(await client.get(f"{BASE}/services.json")).status_code for _ in range(121)]
        over = await client.get(f"{BASE}/services.xml")
    async with open311(town, address="10.3.1.2", app=app) as neighbour:
        assert (await neighbour.get(f"{BASE}/services.json")).status_code == 200
    assert statuses[:120] == [200] * 120 and statuses[120] == 429
    assert over.status_code == 429 and descriptions(over) and over.headers["retry-after"] == "60"


async def test_a_host_that_names_no_town_gets_the_specifications_not_found():
    """Refused before any town is known (the platform's own host): still the error list, never a 500."""
    async with PortalClient(APP, "localhost") as client:
        for path in ("/open311/v2/tokens/", "/open311/v2/requests/..%2F..%2Fetc%2Fpasswd"):
            answer = await client.http.get(path)
            assert answer.status_code == 404, path
            assert ElementTree.fromstring(answer.content).tag == "errors"


async def test_an_emergency_type_takes_no_request_through_the_api_either():
    town = await make_town()
    raw_key = await key_of(town)
    async with town.scope.transaction():
        await town.scope.update(RequestType, {RequestType.emergency: True}).where(
            RequestType.code == "pothole"
        )
    async with open311(town) as client:
        refused = await post(client, **pothole(raw_key))
    assert refused.status_code == 400
    assert refused.json()[0]["description"].startswith("service_code: ")
    async with town.scope.transaction():
        assert await town.scope.count(ServiceRequest) == 0
