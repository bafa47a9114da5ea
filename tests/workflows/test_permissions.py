"""The permission matrix: every admin route (read from the app, so a new route fails here until it is placed)
and every workflow Update, for every role, from the right and the wrong town, refusals and rights alike.
Guessed or tampered references never reveal anything, and a refused action changes nothing."""

import pytest
from temporalio.client import WorkflowUpdateFailedError

from apps.admin.controllers import SUCCESS
from apps.demo import DEMO_PASSWORD
from domain import api_keys, attachments, webhooks
from domain import requests as request_service
from domain.staff import hash_password
from domain.tables import (
    RequestQuestion,
    RequestType,
    RoutingRule,
    ServiceRequest,
    SignInProvider,
    StaffDepartment,
    StaffUser,
    WebhookDelivery,
    WebhookSubscription,
)
from tenants.tables import Tenant, TenantDomain
from tests.integration.test_photos_and_flooding import jpeg_with_gps
from tests.support.factories import ALWAYS_OPEN, department_id, make_town
from tests.support.portal import PortalClient
from tests.workflows.lifecycle_helpers import submit, wait_status
from workflows.service_request import contract
from workflows.service_request.contract import workflow_id
from workflows.service_request.workflow import ServiceRequestWorkflow

pytestmark = pytest.mark.usefixtures("worker")
ANONYMOUS, OUTSIDER, ELSEWHERE = "anonymous", "outsider", "elsewhere"
# Who sees (GET) and who may act (POST) on a request of Public Works and one of the City Clerk.
PEOPLE = {
    "admin": {"see": {"works", "clerk"}, "act": {"works", "clerk"}},
    "viewer": {"see": {"works", "clerk"}, "act": set()},
    "roads": {"see": {"works"}, "act": {"works"}},
    "lead": {"see": {"works"}, "act": {"works"}},
    "clerk": {"see": {"clerk"}, "act": {"clerk"}},
}
# OUTSIDER: signed in at the other town, carrying that session here. ELSEWHERE: the other town's
# administrator at their own town's address, naming this town's requests and settings.
EVERYONE = [*PEOPLE, ANONYMOUS, OUTSIDER, ELSEWHERE]

# The sign-in pages are open to all by design (their own tests cover them); every other admin route is
# guarded and listed here with what it takes.
SIGN_IN_ROUTES = {
    ("GET", "/admin"),
    ("GET", "/admin/login"),
    ("POST", "/admin/login"),
    ("GET", "/admin/login/code"),
    ("POST", "/admin/login/code"),
    ("GET", "/admin/login/enrol/{token:str}"),
    ("GET", "/admin/login/password"),
    ("POST", "/admin/login/password"),
    ("POST", "/admin/logout"),
    ("GET", "/admin/oidc/{provider_id:int}"),
    ("GET", "/admin/oidc/callback"),
}
QUEUE = ("GET", "/admin/requests")
DETAIL = ("GET", "/admin/requests/{reference:str}")
ACT = ("POST", "/admin/requests/{reference:str}/{action:str}")
# A request's photos: whoever sees the request, as the detail page.
PHOTOS = {
    ("GET", "/admin/requests/{reference:str}/photos/{photo_id:int}"),
    ("GET", "/admin/requests/{reference:str}/photos/{photo_id:int}/thumbnail"),
}
SETTINGS = ("GET", "/admin/settings/sign-in")
TWO_FACTOR = ("POST", "/admin/settings/sign-in/two-factor")
ADD_PROVIDER = ("POST", "/admin/settings/sign-in/providers")
REMOVE_PROVIDER = ("POST", "/admin/settings/sign-in/providers/{provider_id:int}/remove")
# The invitation page: open by design, the mailed link is the proof (tests/integration/test_team_settings.py).
INVITATION_ROUTES = {("GET", "/admin/invitation/{token:str}"), ("POST", "/admin/invitation/{token:str}")}
# The town's configuration: its administrators only. Paths with ids get this town's rows.
TOWN_SETTINGS = {
    ("GET", "/admin/settings/departments"),
    ("POST", "/admin/settings/departments"),
    ("GET", "/admin/settings/departments/{department_id:int}"),
    ("POST", "/admin/settings/departments/{department_id:int}"),
    ("GET", "/admin/settings/staff"),
    ("POST", "/admin/settings/staff"),
    ("GET", "/admin/settings/staff/{staff_id:int}"),
    ("POST", "/admin/settings/staff/{staff_id:int}"),
    ("POST", "/admin/settings/staff/{staff_id:int}/active"),
    ("POST", "/admin/settings/staff/{staff_id:int}/invitation"),
    ("GET", "/admin/settings/audit"),
    ("GET", "/admin/settings/types"),
    ("GET", "/admin/settings/types/new"),
    ("POST", "/admin/settings/types/new"),
    ("GET", "/admin/settings/types/{type_id:int}"),
    ("POST", "/admin/settings/types/{type_id:int}"),
    ("POST", "/admin/settings/types/{type_id:int}/apply"),
    ("GET", "/admin/settings/types/{type_id:int}/questions"),
    ("GET", "/admin/settings/types/{type_id:int}/questions/new"),
    ("POST", "/admin/settings/types/{type_id:int}/questions/new"),
    ("GET", "/admin/settings/types/{type_id:int}/questions/{question_id:int}"),
    ("POST", "/admin/settings/types/{type_id:int}/questions/{question_id:int}"),
    ("POST", "/admin/settings/types/{type_id:int}/questions/{question_id:int}/delete"),
    ("POST", "/admin/settings/types/{type_id:int}/questions/{question_id:int}/move"),
    ("GET", "/admin/settings/calendar"),
    ("POST", "/admin/settings/calendar/hours"),
    ("POST", "/admin/settings/calendar/holidays"),
    ("POST", "/admin/settings/calendar/holidays/import"),
    ("POST", "/admin/settings/calendar/holidays/remove"),
    ("GET", "/admin/settings/places"),
    ("POST", "/admin/settings/places/import"),
    ("POST", "/admin/settings/places/boundary"),
    ("POST", "/admin/settings/places/boundary/remove"),
    ("POST", "/admin/settings/places/map"),
    ("GET", "/admin/settings/branding"),
    ("POST", "/admin/settings/branding"),
    ("POST", "/admin/settings/branding/logo"),
    ("POST", "/admin/settings/branding/logo/monogram"),
    ("GET", "/admin/settings/launch"),
    ("POST", "/admin/settings/launch/live"),
    ("GET", "/admin/settings/embed"),
    ("POST", "/admin/settings/embed"),
    ("GET", "/admin/settings/routing"),
    ("POST", "/admin/settings/routing"),
    ("POST", "/admin/settings/routing/{rule_id:int}/remove"),
    ("GET", "/admin/settings/domains"),
    ("POST", "/admin/settings/domains"),
    ("POST", "/admin/settings/domains/{domain_id:int}/verify"),
    ("POST", "/admin/settings/domains/{domain_id:int}/remove"),
    ("GET", "/admin/settings/mail"),
    ("GET", "/admin/settings/mail/{event:str}"),
    ("POST", "/admin/settings/mail/{event:str}"),
    ("GET", "/admin/settings/api-keys"),
    ("POST", "/admin/settings/api-keys"),
    ("POST", "/admin/settings/api-keys/{key_id:int}/revoke"),
    ("GET", "/admin/settings/webhooks"),
    ("POST", "/admin/settings/webhooks"),
    ("GET", "/admin/settings/webhooks/{subscription_id:int}"),
    ("POST", "/admin/settings/webhooks/{subscription_id:int}"),
    ("POST", "/admin/settings/webhooks/{subscription_id:int}/rotate"),
    ("POST", "/admin/settings/webhooks/{subscription_id:int}/delete"),
    ("POST", "/admin/settings/webhooks/{subscription_id:int}/deliveries/{delivery_id:int}/redeliver"),
}
# Placeholders that name no row of the town: the other town's administrator reaches their own.
NOT_ROWS = {"{event:str}": "acknowledgement"}
# What an empty form posted at the other town's own address gets: refused for a missing field, except the
# removal of a holiday or of the boundary (removes nothing), the initial as logo, an empty list of embedding
# sites (no site may frame the portal), empty mail texts (the portal's own) and empty map settings (no tile
# server, no geocoder), which go back to the page.
EMPTY_POST_ANSWER = {
    "/admin/settings/mail/acknowledgement": 303,
    "/admin/settings/calendar/holidays/remove": 303,
    "/admin/settings/branding/logo/monogram": 303,
    "/admin/settings/embed": 303,
    "/admin/settings/places/boundary/remove": 303,
    "/admin/settings/places/map": 303,
}
GUARDED = {QUEUE, DETAIL, ACT, *PHOTOS, SETTINGS, TWO_FACTOR, ADD_PROVIDER, REMOVE_PROVIDER, *TOWN_SETTINGS}

# Each staff action with a form it accepts, in an order that takes a routed request to closed; transfer
# (which sends it to another department) is walked on a request of its own.
WALK = ["assign", "start", "hold", "wait", "resolve", "comment", "close"]
WALK_STATUS = ["assigned", "in_progress", "on_hold", "waiting_on_citizen", "resolved", "resolved", "closed"]
FORMS = {
    "assign": {},
    "start": {},
    "hold": {"body": "Waiting for the asphalt plant."},
    "wait": {"body": "Which side of the street?"},
    "resolve": {"body": "Patched."},
    "comment": {"body": "Checked on site."},
    "close": {"reason": "fixed"},
    "transfer": {"body": "Not ours."},  # department_id: the other department, filled in below
}


def admin_routes(app) -> set[tuple[str, str]]:
    return {
        (method, route.path)
        for route in app.routes
        if route.path.startswith("/admin")
        for method in getattr(route, "methods", ())
        if method not in ("HEAD", "OPTIONS")
    }


def test_the_matrix_places_every_admin_route_and_every_action(app):
    assert admin_routes(app) == SIGN_IN_ROUTES | INVITATION_ROUTES | GUARDED
    assert set(FORMS) == set(SUCCESS) == {*WALK, "transfer"}


@pytest.fixture(scope="module")
async def setting(app):
    town = await make_town()
    other_town = await make_town("Shelbyville")
    clerk_department = await department_id(town, "clerk")
    async with town.scope.transaction():
        clerk = town.scope.new(
            StaffUser,
            email=f"clerk@{town.slug}.test",
            name="Cleo Clerk",
            role="agent",
            password_hash=hash_password(DEMO_PASSWORD),
        )
        await clerk.save()
        await town.scope.new(StaffDepartment, staff=clerk.id, department=clerk_department).save()
        provider = town.scope.new(
            SignInProvider,
            audience="staff",
            label="Testville ID",
            issuer="https://id.testville.example",
            client_id="portal",
            client_secret="s3cret",
        )
        await provider.save()
    async with PortalClient(app, town.host) as citizen:
        works_path = await submit(citizen)
        clerk_path = await submit(citizen, request_type="records", address="")
    references = {
        "works": (await wait_status(town, works_path, "routed")).reference,
        "clerk": (await wait_status(town, clerk_path, "routed")).reference,
    }
    emails = {
        "admin": town.admin_email,
        "viewer": town.viewer_email,
        "roads": town.roads_email,
        "lead": town.lead_email,
        "clerk": clerk.email,
    }
    departments = {"works": await department_id(town, "public-works"), "clerk": clerk_department}
    return town, other_town, references, emails, provider.id, departments


async def _client(app, setting, who: str) -> PortalClient:
    town, other_town, _, emails, _, _ = setting
    if who == ELSEWHERE:
        client = PortalClient(app, other_town.host)
        assert (await client.login(other_town.admin_email, DEMO_PASSWORD)).status_code == 303
        return client
    client = PortalClient(app, town.host)
    if who in emails:
        assert (await client.login(emails[who], DEMO_PASSWORD)).status_code == 303
    elif who == OUTSIDER:
        other = PortalClient(app, other_town.host)
        await other.login(other_town.admin_email, DEMO_PASSWORD)
        client.http.cookies.set("portal_session", other.session_id(), domain=town.host)
        await other.__aexit__()
    return client


async def _statuses(town, references: dict) -> dict:
    async with town.scope.transaction():
        rows = await town.scope.select(ServiceRequest, ServiceRequest.reference, ServiceRequest.status).where(
            ServiceRequest.reference.is_in(list(references.values()))
        )
    return {row["reference"]: row["status"] for row in rows}


@pytest.fixture(scope="module")
async def photo_ids(setting) -> dict[str, int]:
    """A photo on each request of the setting, by department."""
    town, _, references, _, _, _ = setting
    ids = {}
    async with town.scope.transaction():
        for department, reference in references.items():
            item = await request_service.get_by_reference(town.scope, reference)
            ids[department] = await attachments.add_photo(town.scope, item.id, jpeg_with_gps(), 10)
    return ids


@pytest.mark.parametrize("who", EVERYONE)
async def test_the_request_routes_answer_each_role_as_they_should(app, setting, photo_ids, who):
    """Queue, detail, photos and every action: refused actions are refused for the right reason and change
    nothing (those who may act are walked through every action in the test below)."""
    town, _, references, _, _, departments = setting
    rights = PEOPLE.get(who, {"see": set(), "act": set()})
    signed_in = who in PEOPLE or who == ELSEWHERE
    before = await _statuses(town, references)
    async with await _client(app, setting, who) as client:
        queue = await client.get("/admin/requests?status=all")
        assert queue.status_code == (200 if signed_in else 303)
        for department, reference in references.items():
            assert (reference in queue.text) == (department in rights["see"])
            shown = (await client.get(f"/admin/requests/{reference}")).status_code
            assert shown == (200 if department in rights["see"] else 404 if signed_in else 303)
            for suffix in ("", "/thumbnail"):
                photo = await client.get(
                    f"/admin/requests/{reference}/photos/{photo_ids[department]}{suffix}"
                )
                assert photo.status_code == shown, (who, department, suffix)
            other = departments["clerk" if department == "works" else "works"]
            for action, form in FORMS.items():
                if department in rights["act"] and action != "comment":
                    continue
                form = {**form, "department_id": str(other)} if action == "transfer" else form
                acted = (await client.act(reference, action, **form)).status_code
                if not signed_in:
                    expected = 303
                elif department in rights["act"]:
                    expected = 303  # a comment: allowed, and it changes no status
                else:
                    expected = 403 if department in rights["see"] else 404
                assert acted == expected, (who, department, action)
        tampered = await client.get(f"/admin/requests/{town.prefix}-2026-999999")
        assert tampered.status_code == (404 if signed_in else 303)
    assert await _statuses(town, references) == before


@pytest.mark.parametrize("who", EVERYONE)
async def test_only_the_towns_administrator_reaches_its_sign_in_settings(app, setting, who):
    town, _, _, _, provider_id, _ = setting
    is_admin, signed_in = who == "admin", who in PEOPLE
    sneaky = {"audience": "staff", "label": "Sneaky ID", "issuer": "http://127.0.0.1:9/sneaky"}
    async with await _client(app, setting, who) as client:
        page = await client.get("/admin/settings/sign-in")
        if who == ELSEWHERE:  # at their own town, naming this town's provider
            removed = await client.post(f"/admin/settings/sign-in/providers/{provider_id}/remove")
            assert page.status_code == 200 and "Testville ID" not in page.text
            assert removed.status_code == 404
        else:
            added = await client.post(
                "/admin/settings/sign-in/providers", {**sneaky, "client_id": "x", "client_secret": "y"}
            )
            row = await _sneaky(town)
            removed = await client.post(
                f"/admin/settings/sign-in/providers/{(row or {}).get('id', provider_id)}/remove"
            )
            two_factor = await client.post("/admin/settings/sign-in/two-factor", {"required": "on"})
            answers = (page.status_code, added.status_code, removed.status_code, two_factor.status_code)
            expected = 200 if is_admin else 403 if signed_in else 303
            assert answers == (expected, *((303 if is_admin else expected),) * 3), who
            assert row is not None if is_admin else row is None
    assert await _sneaky(town) is None
    async with town.scope.transaction():
        assert await town.scope.exists(SignInProvider).where(SignInProvider.id == provider_id)
        tenant = await Tenant.select(Tenant.require_two_factor).where(Tenant.id == town.id).first()
        assert tenant["require_two_factor"] is is_admin
        if is_admin:  # as it was, for the other roles
            await Tenant.update({Tenant.require_two_factor: False}).where(Tenant.id == town.id)
    app.state.tenant_resolver.forget()


@pytest.mark.parametrize("who", EVERYONE)
async def test_only_the_towns_administrator_reaches_its_configuration(app, setting, who):
    """Every configuration route: the administrator reads each page; anyone else is refused, and their
    posts (an empty form, which would deactivate, demote or retire) change nothing. The other town's
    administrator, naming this town's rows at their own address, finds none of them."""
    town, _, _, emails, _, departments = setting
    async with town.scope.transaction():
        roads = await town.scope.select(StaffUser).where(StaffUser.email == emails["roads"]).first()
        pothole = await town.scope.select(RequestType).where(RequestType.code == "pothole").first()
        rule = town.scope.new(RoutingRule, keyword="bridge", department=departments["works"])
        await rule.save()
        domain = town.scope.new(TenantDomain, host=f"311.{town.slug}.example", verification_token="0" * 32)
        await domain.save()
        key, _ = await api_keys.create(town.scope, "Works", [api_keys.READ], "test")
        hook = town.scope.new(WebhookSubscription, name="Works", url="http://127.0.0.1:9/", secret="")
        await hook.save()
        request_row = await town.scope.select(ServiceRequest, ServiceRequest.id).first()
        delivery = town.scope.new(
            WebhookDelivery,
            subscription=hook.id,
            request=request_row["id"],
            event="request.created",
            message_id=f"msg_{town.slug}",
            payload="{}",
            state="delivered",
        )
        await delivery.save()
        question = town.scope.new(RequestQuestion, request_type=pothole["id"], code="size", texts={"en": {}})
        await question.save()
    ids = {
        "{key_id:int}": key.id,
        "{subscription_id:int}": hook.id,
        "{delivery_id:int}": delivery.id,
        "{department_id:int}": departments["works"],
        "{staff_id:int}": roads["id"],
        "{type_id:int}": pothole["id"],
        "{question_id:int}": question.id,
        "{rule_id:int}": rule.id,
        "{domain_id:int}": domain.id,
    }
    async with await _client(app, setting, who) as client:
        for method, route in sorted(TOWN_SETTINGS):
            path = route
            for mark, value in ids.items():
                path = path.replace(mark, str(value))
            named = path != route
            path = next((path.replace(mark, value) for mark, value in NOT_ROWS.items() if mark in path), path)
            if who == "admin":
                if method == "GET":
                    assert (await client.get(path)).status_code == 200, path
                continue
            answer = await (client.get(path) if method == "GET" else client.post(path, {}))
            if who == ELSEWHERE:
                own = 200 if method == "GET" else EMPTY_POST_ANSWER.get(path, 422)  # their own town's page
                expected = 404 if named else own
            else:
                expected = 403 if who in PEOPLE else 303
            assert answer.status_code == expected, (who, path)
    async with town.scope.transaction():
        after = await town.scope.select(StaffUser).where(StaffUser.id == roads["id"]).first()
        kept = await town.scope.select(RequestType).where(RequestType.id == pothole["id"]).first()
    assert (after["active"], after["role"]) == (True, "agent") and kept == pothole
    async with town.scope.transaction():
        asked = await town.scope.select(RequestQuestion).where(RequestQuestion.id == question.id).first()
        assert (asked["code"], asked["position"]) == ("size", 0)
        await town.scope.delete(RequestQuestion).where(RequestQuestion.id == question.id)
    async with town.scope.transaction():
        assert [item.active for item in await api_keys.keys(town.scope) if item.id == key.id] == [True]
        assert (await webhooks.subscription(town.scope, hook.id)).url == "http://127.0.0.1:9/"
        assert (await webhooks.delivery(town.scope, hook.id, delivery.id)).state == "delivered"
        await town.scope.delete(WebhookSubscription).where(WebhookSubscription.id == hook.id)
    async with town.scope.transaction():
        assert await town.scope.exists(RoutingRule).where(RoutingRule.id == rule.id)
        await town.scope.delete(RoutingRule).where(RoutingRule.id == rule.id)
        assert await town.scope.exists(TenantDomain).where(TenantDomain.id == domain.id)
        await town.scope.delete(TenantDomain).where(TenantDomain.id == domain.id)
        calendar = (
            await Tenant.select(Tenant.business_calendar)
            .where(Tenant.id == town.id)
            .output(load_json=True)
            .first()
        )
    assert calendar["business_calendar"] == ALWAYS_OPEN


async def _sneaky(town) -> dict | None:
    async with town.scope.transaction():
        return (
            await town.scope.select(SignInProvider, SignInProvider.id)
            .where(SignInProvider.label == "Sneaky ID")
            .first()
        )


ACTING = [(who, department) for who, rights in PEOPLE.items() for department in sorted(rights["act"])]


@pytest.mark.parametrize(("who", "department"), ACTING, ids=[f"{w}-{d}" for w, d in ACTING])
async def test_each_member_who_may_act_takes_a_request_through_every_action(app, setting, who, department):
    town, _, _, _, _, departments = setting
    form = {"request_type": "records", "address": ""} if department == "clerk" else {}
    form["contact_email"] = f"{who}-{department}@example.com"  # each address may submit only so many
    async with PortalClient(app, town.host) as citizen:
        walked, transferred = await submit(citizen, **form), await submit(citizen, **form)
    reference = {path: (await wait_status(town, path, "routed")).reference for path in (walked, transferred)}
    elsewhere = departments["clerk" if department == "works" else "works"]
    steps = [
        (walked, action, FORMS[action], status) for action, status in zip(WALK, WALK_STATUS, strict=True)
    ]
    steps.append((transferred, "transfer", {**FORMS["transfer"], "department_id": str(elsewhere)}, "routed"))
    async with await _client(app, setting, who) as client:
        for path, action, form, status in steps:
            answer = await client.act(reference[path], action, **form)
            assert answer.status_code == 303, (who, action, answer.text[:300])
            row = await wait_status(town, path, status)
    assert row.department == elsewhere  # the transfer moved it


STAFF_UPDATES = [
    (ServiceRequestWorkflow.assign, lambda me: contract.AssignCommand(assignee_id=me["actor_id"], **me)),
    (ServiceRequestWorkflow.start_work, lambda me: contract.StartCommand(**me)),
    (ServiceRequestWorkflow.hold, lambda me: contract.NoteCommand(body="x", **me)),
    (ServiceRequestWorkflow.wait_on_citizen, lambda me: contract.NoteCommand(body="x", **me)),
    (ServiceRequestWorkflow.resolve, lambda me: contract.NoteCommand(body="x", **me)),
    (ServiceRequestWorkflow.transfer, lambda me: contract.TransferCommand(department_id=1, **me)),
    (ServiceRequestWorkflow.comment, lambda me: contract.CommentCommand(body="x", **me)),
    (ServiceRequestWorkflow.close, lambda me: contract.CloseCommand(reason="fixed", **me)),
]


@pytest.mark.parametrize(("update", "command"), STAFF_UPDATES, ids=[u.__name__ for u, _ in STAFF_UPDATES])
@pytest.mark.parametrize(
    ("role", "departments"), [("viewer", []), ("agent", "other"), ("supervisor", "other"), ("", [])]
)
async def test_the_workflow_refuses_every_update_from_someone_without_the_right(
    setting, temporal_client, update, command, role, departments
):
    town, _, references, _, _, ids = setting
    others = [ids["works"] + 1000] if departments == "other" else departments
    me = {"actor_id": 1, "actor_role": role, "actor_departments": others}
    handle = temporal_client.get_workflow_handle(workflow_id(town.slug, references["works"]))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(update, command(me))
    assert "department you do not work for" in str(refused.value.cause) or "read requests" in str(
        refused.value.cause
    )
    assert (await handle.query(ServiceRequestWorkflow.current_state)).status == "routed"
