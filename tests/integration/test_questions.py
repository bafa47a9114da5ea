"""A type's own questions, end to end against the real database: the administrator's pages (each kind,
errors beside their field, conditions kept whole, moves, deletion, the audit log, another town's rows not
found), the citizen's fragment and form, the snapshot kept on the request and shown on the status page,
the staff panel and the receipt, Open311's definitions and posts, and the starter catalogues."""

from __future__ import annotations

import html
import re
import uuid
from xml.etree import ElementTree

from apps.demo import add_pothole_questions
from apps.web import create_app
from domain import question_settings, questions, starters, submissions
from domain import requests as request_service
from domain.audit import Actor
from domain.intake import Submission
from domain.scope import TenantScope
from domain.tables import AuditEntry, RequestQuestion, RequestType, ServiceRequest
from infra.i18n import use_language
from infra.mail import Mailer
from tenants.onboarding import create_tenant
from tests.integration.test_open311 import descriptions, key_of, open311, paths, spec_paths
from tests.integration.test_team_settings import signed_in_admin
from tests.support.factories import make_town, valid_form
from tests.support.portal import PortalClient, status_path
from tests.support.services import offline_settings
from workflows.service_request.activities import RequestActivities

OFFLINE = offline_settings()
APP = create_app(OFFLINE)
BASE = "/open311/v2"
# One of each kind, as an administrator fills in the form (the first one: a required one choice).
KIND_FORMS = {
    "singlevaluelist": {
        "prompt_en": "How big is it?",
        "prompt_fr": "Quelle est sa taille?",
        "required": "on",
        "choice_0_en": "Smaller than a hand",
        "choice_0_fr": "Plus petit qu’une main",
        "choice_1_en": "Larger than a car tyre",
        "choice_1_fr": "Plus grand qu’un pneu",
    },
    "string": {"prompt_en": "Which lane?", "hint_en": "As the street sign says it."},
    "text": {"prompt_en": "Anything else we should know?", "prompt_fr": "Autre chose?"},
    "number": {"prompt_en": "Roughly how deep, in cm?", "code": "depth"},
    "datetime": {"prompt_en": "Since when?"},
    "multivaluelist": {
        "prompt_en": "Where is it?",
        "choice_0_en": "In the road",
        "choice_1_en": "In the cycle lane",
        "choice_2_en": "On the sidewalk",
        "choice_2_fr": "Sur le trottoir",
    },
}


def question_form(kind: str, /, **overrides: str) -> dict[str, str]:
    return {"kind": kind, **KIND_FORMS[kind], **overrides}


async def type_row(town, code: str = "pothole") -> dict:
    async with town.scope.transaction():
        return await town.scope.select(RequestType).where(RequestType.code == code).first()


async def stored_questions(town, code: str = "pothole") -> list[dict]:
    kind = await type_row(town, code)
    async with town.scope.transaction():
        return (
            await town.scope.select(RequestQuestion)
            .where(RequestQuestion.request_type == kind["id"])
            .order_by(RequestQuestion.position)
        )


async def audit_actions(town) -> list[str]:
    async with town.scope.transaction():
        rows = await town.scope.select(AuditEntry, AuditEntry.action).order_by(AuditEntry.id)
    return [row["action"] for row in rows]


def error_of(page: str, field: str) -> str:
    """The message shown beside a field (its `-error` paragraph), without the hidden "Error:"."""
    found = re.search(
        rf'id="{re.escape(field)}-error"><span class="visually-hidden">[^<]*</span> ([^<]*)</p>', page
    )
    assert found, f"no error beside {field}"
    return html.unescape(found[1])


async def test_an_administrator_adds_a_question_of_each_kind_and_citizens_are_asked_them_in_order():
    town = await make_town()
    pothole = await type_row(town)
    path = f"/admin/settings/types/{pothole['id']}/questions"
    async with await signed_in_admin(APP, town) as admin:
        assert path in (await admin.get(f"/admin/settings/types/{pothole['id']}")).text
        empty = await admin.get(path)
        assert empty.status_code == 200 and "asks no question of its own yet" in empty.text
        form = await admin.get(f"{path}/new")
        assert form.status_code == 200 and 'name="choice_3_fr"' in form.text  # four empty answer rows
        for kind in KIND_FORMS:
            added = await admin.post(f"{path}/new", question_form(kind))
            assert added.status_code == 303 and added.headers["location"] == f"{path}?done=added", added.text
        listed = await admin.get(added.headers["location"])
    assert "The question is added." in listed.text
    shown = [html.unescape(prompt) for prompt in re.findall(r"<tr>\s*<td>([^<]+)<br>", listed.text)]
    assert shown == [form["prompt_en"] for form in KIND_FORMS.values()]
    assert all(
        label in listed.text for label in ("One choice", "Short text", "Several choices", "Date and time")
    )

    rows = await stored_questions(town)
    assert [(row["code"], row["kind"], row["position"]) for row in rows] == [
        ("how-big-is-it", "singlevaluelist", 1),
        ("which-lane", "string", 2),
        ("anything-else-we-should-know", "text", 3),
        ("depth", "number", 4),
        ("since-when", "datetime", 5),
        ("where-is-it", "multivaluelist", 6),
    ]
    size, lane = rows[0], rows[1]
    assert size["required"] and not lane["required"]
    assert size["texts"] == {
        "en": {"prompt": "How big is it?", "hint": ""},
        "fr": {"prompt": "Quelle est sa taille?", "hint": ""},
    }
    assert size["choices"] == [
        {
            "key": "smaller-than-a-hand",
            "names": {"en": "Smaller than a hand", "fr": "Plus petit qu’une main"},
        },
        {
            "key": "larger-than-a-car-tyre",
            "names": {"en": "Larger than a car tyre", "fr": "Plus grand qu’un pneu"},
        },
    ]
    assert lane["choices"] == [] and lane["texts"] == {
        "en": {"prompt": "Which lane?", "hint": "As the street sign says it."}
    }
    assert await audit_actions(town) == ["question.added"] * 6
    async with town.scope.transaction():
        entry = await town.scope.select(AuditEntry).first()
    assert entry["subject"] == "Pothole: How big is it?"
    assert entry["after"] == {
        "code": "how-big-is-it",
        "kind": "singlevaluelist",
        "must_answer": True,
        "prompt_en": "How big is it?",
        "prompt_fr": "Quelle est sa taille?",
        "choices": [
            "smaller-than-a-hand: Smaller than a hand / Plus petit qu’une main",
            "larger-than-a-car-tyre: Larger than a car tyre / Plus grand qu’un pneu",
        ],
        "shown_when": None,
    }

    async with PortalClient(APP, town.host) as citizen:
        english = (await citizen.get("/form/type-details?type=pothole")).text
        french = (
            await citizen.get("/form/type-details?type=pothole", headers={"accept-language": "fr"})
        ).text
        none = (await citizen.get("/form/type-details?type=records")).text
        unknown = await citizen.get("/form/type-details?type=no-such-type")
    fields = re.findall(r'<(input|textarea)[^>]* name="(q_[^"]+)"', english)
    assert list(dict.fromkeys(name for _, name in fields)) == [f"q_{row['code']}" for row in rows]
    assert '<legend>How big is it? <span class="required">(required)</span></legend>' in english
    assert (
        'type="radio" id="q_how-big-is-it-2" name="q_how-big-is-it" value="larger-than-a-car-tyre" required'
        in english
    )
    assert 'type="checkbox" id="q_where-is-it-3" name="q_where-is-it" value="on-the-sidewalk"' in english
    assert re.search(r'<input id="q_since-when" name="q_since-when" type="datetime-local"', english)
    assert re.search(r'<input id="q_depth" name="q_depth" type="text" inputmode="decimal"', english)
    assert re.search(
        r'<textarea id="q_anything-else-we-should-know" name="q_anything-else-we-should-know"', english
    )
    assert (
        'aria-describedby="q_which-lane-hint"' in english
        and 'id="q_which-lane-hint">As the street sign' in english
    )
    # In French where it is translated, in the town's first language where it is not.
    assert "Quelle est sa taille?" in french and "Sur le trottoir" in french and "In the road" in french
    assert "Which lane?" in french and "(obligatoire)" in french
    assert 'id="type-questions"' in none and "q_" not in none
    assert unknown.status_code == 200 and "q_" not in unknown.text


async def test_a_question_that_cannot_be_asked_is_refused_beside_its_field_keeping_what_was_typed():
    town = await make_town()
    pothole = await type_row(town)
    path = f"/admin/settings/types/{pothole['id']}/questions"
    async with await signed_in_admin(APP, town) as admin:
        await admin.post(f"{path}/new", question_form("number", code="depth"))
        cases = [
            (
                {"prompt_en": "", "hint_en": "Kept as typed"},
                "prompt_en",
                "Write the question citizens will answer.",
            ),
            ({"kind": "poem"}, "kind", "Choose the kind of answer."),
            ({"code": "How Big!"}, "code", "Use lower-case letters, digits and hyphens"),
            ({"code": "depth"}, "code", "Another question of this type already has this code."),
            ({"choice_1_en": "", "choice_1_fr": ""}, "choices", "Give at least two answers to choose from."),
            ({"choice_1_en": ""}, "choice_1_en", "Name this answer in the first language"),
            ({"prompt_fr": "x" * 301}, "prompt_fr", "This is too long."),
            (
                {"shown_when": "depth=12"},
                "shown_when",
                "Choose an earlier question with answers to choose from",
            ),
            (
                {"shown_when": "nothing=here"},
                "shown_when",
                "Choose an earlier question with answers to choose from",
            ),
        ]
        for overrides, field, message in cases:
            refused = await admin.post(f"{path}/new", question_form("singlevaluelist", **overrides))
            assert refused.status_code == 422, (overrides, refused.status_code)
            assert error_of(refused.text, field).startswith(message), overrides
            assert f'<a href="#{field}">' in refused.text  # the summary links to the field
            assert "Error:" in refused.text.split("</title>")[0]
        kept = await admin.post(
            f"{path}/new", question_form("singlevaluelist", prompt_en="", hint_en="Kept as typed")
        )
    assert 'value="Kept as typed"' in kept.text and 'value="Plus grand qu’un pneu"' in kept.text
    assert [row["code"] for row in await stored_questions(town)] == ["depth"]
    assert await audit_actions(town) == ["question.added"]


async def test_conditions_stay_whole_through_changes_moves_and_deletions_and_answers_outlive_them():
    town = await make_town()
    pothole = await type_row(town)
    path = f"/admin/settings/types/{pothole['id']}/questions"
    async with await signed_in_admin(APP, town) as admin:
        await admin.post(f"{path}/new", question_form("singlevaluelist", code="size"))
        form = await admin.get(f"{path}/new")  # the condition may name the one-choice question only
        assert 'value="size=larger-than-a-car-tyre"' in form.text
        assert "Only when “How big is it?” is “Larger than a car tyre”" in html.unescape(form.text)
        await admin.post(f"{path}/new", question_form("number", shown_when="size=larger-than-a-car-tyre"))
        await admin.post(f"{path}/new", question_form("text", code="details"))
        size, depth, details = await stored_questions(town)
        assert (depth["shown_when_code"], depth["shown_when_value"]) == ("size", "larger-than-a-car-tyre")

        request_id = await _submitted(
            town,
            (
                {
                    "code": "size",
                    "question": "How big is it?",
                    "answer": "Larger than a car tyre",
                    "value": "larger-than-a-car-tyre",
                },
            ),
        )

        edit = await admin.get(f"{path}/{size['id']}")
        assert 'name="choice_1_key" value="larger-than-a-car-tyre"' in edit.text
        assert "Code: size" in edit.text and 'name="code"' not in edit.text
        keeping = {
            "kind": "singlevaluelist",
            "prompt_en": "How large is it?",
            "prompt_fr": "Quelle est sa taille?",
            "required": "on",
            "choice_0_key": "smaller-than-a-hand",
            "choice_0_en": "Smaller than a hand",
            "choice_0_fr": "Plus petit qu’une main",
            "choice_1_key": "larger-than-a-car-tyre",
            "choice_1_en": "Bigger than a car tyre",
            "choice_1_fr": "Plus grand qu’un pneu",
            "choice_2_en": "As big as a car",
        }
        dropped = {key: value for key, value in keeping.items() if not key.startswith("choice_1")}
        refused = await admin.post(f"{path}/{size['id']}", dropped)
        assert refused.status_code == 422 and "Another question is asked only when this one" in error_of(
            refused.text, "choices"
        )
        refused = await admin.post(f"{path}/{size['id']}", {**keeping, "kind": "string"})
        assert refused.status_code == 422 and "Another question is asked only when this one" in error_of(
            refused.text, "kind"
        )
        own = await admin.post(
            f"{path}/{details['id']}", {**question_form("text"), "shown_when": "details=x"}
        )
        assert own.status_code == 422 and error_of(own.text, "shown_when")
        saved = await admin.post(f"{path}/{size['id']}", keeping)
        assert saved.status_code == 303, saved.text

        moved_above = await admin.post(f"{path}/{depth['id']}/move", {"direction": "up"})
        assert moved_above.status_code == 409 and "must come after that question" in moved_above.text
        assert (await admin.post(f"{path}/{details['id']}/move", {"direction": "up"})).status_code == 303
        assert (await admin.post(f"{path}/{size['id']}/move", {"direction": "down"})).status_code == 303
        assert (await admin.post(f"{path}/{size['id']}/move", {"direction": "down"})).status_code == 409
        assert (await admin.post(f"{path}/{depth['id']}/move", {"direction": "sideways"})).status_code == 303
        listed = await admin.get(path)
        assert [row["code"] for row in await stored_questions(town)] == [
            "details",
            "size",
            "depth",
        ]
        assert listed.text.count('value="up"') == 2 and listed.text.count('value="down"') == 2

        in_use = await admin.post(f"{path}/{size['id']}/delete")
        assert in_use.status_code == 409 and "change that question first" in in_use.text
        assert (await admin.post(f"{path}/{depth['id']}/delete")).status_code == 303
        deleted = await admin.post(f"{path}/{size['id']}/delete")
        assert deleted.status_code == 303 and deleted.headers["location"] == f"{path}?done=deleted"
        gone = await admin.get(f"{path}/{size['id']}")
        panel = await admin.get(f"/admin/requests/{(await _record(town, request_id)).reference}")
    assert gone.status_code == 404
    assert [row["code"] for row in await stored_questions(town)] == ["details"]
    # The request keeps the question as it was asked, and the answer given.
    assert "<h2>The citizen's answers</h2>" in panel.text
    assert "<dt>How big is it?</dt>" in panel.text and "Larger than a car tyre" in panel.text
    actions = await audit_actions(town)
    assert (
        actions
        == ["question.added"] * 3 + ["question.changed"] + ["question.moved"] * 2 + ["question.removed"] * 2
    )
    async with town.scope.transaction():
        changed = await town.scope.select(AuditEntry).where(AuditEntry.action == "question.changed").first()
        moved = await town.scope.select(AuditEntry).where(AuditEntry.action == "question.moved").first()
    assert changed["before"] == {
        "prompt_en": "How big is it?",
        "choices": [
            "smaller-than-a-hand: Smaller than a hand / Plus petit qu’une main",
            "larger-than-a-car-tyre: Larger than a car tyre / Plus grand qu’un pneu",
        ],
    }
    assert changed["after"]["prompt_en"] == "How large is it?"
    assert changed["after"]["choices"][1:] == [
        "larger-than-a-car-tyre: Bigger than a car tyre / Plus grand qu’un pneu",
        "as-big-as-a-car: As big as a car",
    ]
    assert (moved["before"], moved["after"]) == ({"position": 3}, {"position": 2})


async def test_another_towns_types_and_questions_are_not_found():
    town, other = await make_town(), await make_town("Shelbyville")
    await add_pothole_questions(town.scope)
    pothole = await type_row(town)
    question = (await stored_questions(town))[0]
    path = f"/admin/settings/types/{pothole['id']}/questions"
    async with await signed_in_admin(APP, other) as neighbour:
        for method, route in [
            ("GET", path),
            ("GET", f"{path}/new"),
            ("POST", f"{path}/new"),
            ("GET", f"{path}/{question['id']}"),
            ("POST", f"{path}/{question['id']}"),
            ("POST", f"{path}/{question['id']}/delete"),
            ("POST", f"{path}/{question['id']}/move"),
        ]:
            form = {**question_form("string"), "direction": "down"}
            answer = await (neighbour.get(route) if method == "GET" else neighbour.post(route, form))
            assert answer.status_code == 404, (method, route)
        own_type = await type_row(other)
        # Their own type, with this town's question: not theirs either.
        foreign = f"/admin/settings/types/{own_type['id']}/questions/{question['id']}"
        assert (await neighbour.get(foreign)).status_code == 404
    async with PortalClient(APP, other.host) as citizen:
        assert "q_size" not in (await citizen.get("/form/type-details?type=pothole")).text
    assert [row["code"] for row in await stored_questions(town)] == ["size", "where", "depth", "details"]
    assert await stored_questions(other) == []


async def _submitted(town, answers: tuple[dict, ...], language: str = "en") -> int:
    async with town.scope.transaction():
        result = await submissions.submit(
            town.scope,
            town.prefix,
            Submission(
                "pothole",
                "A deep pothole.",
                "Ned",
                "ned@example.com",
                uuid.uuid4().hex,
                address="1 Main",
                answers=answers,
            ),
            language,
        )
    return result.request_id


async def _record(town, request_id: int) -> request_service.RequestRecord:
    async with town.scope.transaction():
        record = await request_service.get_by_id(town.scope, request_id)
    assert record is not None
    return record


async def test_the_snapshot_is_stored_as_answered_and_shown_on_the_status_page_and_the_receipt():
    town = await make_town()
    await add_pothole_questions(town.scope)
    kind = await type_row(town)
    async with town.scope.transaction():
        asked = await questions.for_type(town.scope, kind["id"], "fr")
    answers, errors, _ = questions.read_answers(
        asked,
        {
            "q_size": "larger-than-a-tyre",
            "q_where": "road",
            "q_depth": "12,5",
            "q_details": "Profond.\nTrès.",
        },
    )
    assert errors == {}
    request_id = await _submitted(town, tuple(answers), "fr")
    async with town.scope.transaction():
        row = (
            await town.scope.select(ServiceRequest, ServiceRequest.answers)
            .where(ServiceRequest.id == request_id)
            .first()
        )
    assert (
        row["answers"]
        == answers
        == [
            {
                "code": "size",
                "question": "Quelle est sa taille?",
                "answer": "Plus grand qu’un pneu de voiture",
                "value": "larger-than-a-tyre",
            },
            {
                "code": "where",
                "question": "Est-il sur la chaussée, la piste cyclable ou le trottoir?",
                "answer": "Sur la chaussée",
                "value": "road",
            },
            {
                "code": "depth",
                "question": "Quelle profondeur environ, en cm?",
                "answer": "12,5",
                "value": "12.5",
            },
            {
                "code": "details",
                "question": "Autre chose que nous devrions savoir?",
                "answer": "Profond.\nTrès.",
                "value": "Profond.\nTrès.",
            },
        ]
    )
    # A later change to the questions does not rewrite what was answered.
    async with town.scope.transaction():
        await town.scope.update(RequestQuestion, {RequestQuestion.texts: {"en": {"prompt": "Size?"}}})
    record = await _record(town, request_id)
    assert record.answers == answers
    async with PortalClient(APP, town.host) as citizen:
        status = await citizen.get(f"/status/{record.public_token}", headers={"accept-language": "fr"})
    assert (
        "<dt>Quelle est sa taille?</dt><dd" in status.text
        and "Plus grand qu’un pneu de voiture</dd>" in status.text
    )
    assert "Size?" not in status.text

    activities = RequestActivities(OFFLINE, Mailer("127.0.0.1", 9, "portal@example.test"))
    async with town.scope.transaction():
        context = await activities._document_context(town.scope, request_id)
    with use_language("fr"):
        receipt = activities.templates.get_template("receipt.html").render(
            **context, kind="receipt", qr_code=""
        )
    assert "<th>Quelle profondeur environ, en cm?</th><td" in receipt and "12,5</td>" in receipt
    without = await _submitted(town, ())
    async with PortalClient(APP, town.host) as citizen:
        plain = await citizen.get(f"/status/{(await _record(town, without)).public_token}")
    assert '<dl class="facts answers">' not in plain.text


async def test_the_citizen_form_keeps_its_answers_on_the_request():
    """The form post reads the type's questions: required ones refused beside their field with what was
    typed kept, conditional ones ignored unless their condition is met, and the snapshot kept."""
    town = await make_town()
    await add_pothole_questions(town.scope)
    async with PortalClient(APP, town.host) as citizen:
        form = await citizen.get("/?type=pothole")
        assert 'name="q_size"' in form.text
        missing = await citizen.submit(valid_form(q_details="It is deep."))
        assert missing.status_code == 422
        assert error_of(missing.text, "q_size") == "Choose an answer."
        assert '<li><a href="#q_size">Choose an answer.</a></li>' in missing.text  # in the error summary
        assert error_of(missing.text, "q_where") == "Choose an answer."
        assert "It is deep.</textarea>" in missing.text
        bad = await citizen.submit(valid_form(q_size="larger-than-a-tyre", q_where="road", q_depth="very"))
        assert bad.status_code == 422 and error_of(bad.text, "q_depth") == "Enter a number, for example 12."
        assert 'value="larger-than-a-tyre" checked' in bad.text
        sent = await citizen.submit(
            valid_form(q_size="smaller-than-a-hand", q_where="sidewalk", q_depth="very")
        )
        token = status_path(sent).rsplit("/", 1)[-1]
        status = await citizen.get(f"/status/{token}")
    async with town.scope.transaction():
        record = await request_service.get_by_token(town.scope, token)
    assert record is not None and [answer["code"] for answer in record.answers] == ["size", "where"]
    assert "<dt>How big is it?</dt>" in status.text and "Smaller than a hand</dd>" in status.text


async def test_open311_lists_the_questions_as_attributes_and_a_post_answers_them():
    town = await make_town()
    await add_pothole_questions(town.scope)
    kind = await type_row(town)
    async with town.scope.transaction():
        await question_settings.add(
            town.scope,
            Actor(None, "test"),
            kind["id"],
            question_settings.parse(question_form("multivaluelist", code="sides"), ("en", "fr")),
        )
        # Required, but only asked for a large pothole: no program is told it must always answer it.
        await town.scope.update(RequestQuestion, {RequestQuestion.required: True}).where(
            RequestQuestion.code == "depth"
        )
    raw_key = await key_of(town)
    async with open311(town) as client:
        listed = (await client.get(f"{BASE}/services.json")).json()
        assert {service["service_code"]: service["metadata"] for service in listed} == {
            service["service_code"]: service["service_code"] == "pothole" for service in listed
        }
        for fmt in ("json", "xml"):
            definition = await client.get(f"{BASE}/services/pothole.{fmt}")
            assert definition.status_code == 200 and paths(definition, fmt) == spec_paths(
                "service_definition", fmt
            )
        xml = ElementTree.fromstring((await client.get(f"{BASE}/services/pothole.xml")).content)
        document = (await client.get(f"{BASE}/services/pothole.json")).json()
        french = (await client.get(f"{BASE}/services/pothole.json?locale=fr")).json()
        plain = (await client.get(f"{BASE}/services/records.json")).json()

        answered = {
            "attribute[size]": "larger-than-a-tyre",
            "attribute[where]": "cycle-lane",
            "attribute[depth]": "20",
            "attribute[sides][]": ["in-the-road", "on-the-sidewalk"],
        }
        fields = {
            "api_key": raw_key,
            "service_code": "pothole",
            "description": "A deep pothole in the right lane.",
            "address_string": "12 Main Street",
            "first_name": "Ned",
            "email": "ned@example.com",
        }
        posted = await client.post(f"{BASE}/requests.json", data=fields | answered)
        missing = await client.post(
            f"{BASE}/requests.json", data=fields | {"attribute[where]": "moon", "attribute[depth]": "x"}
        )
        missing_xml = await client.post(f"{BASE}/requests.xml", data=fields | {"description": ""})
        no_depth = await client.post(
            f"{BASE}/requests.json",
            data=fields | {"attribute[size]": "larger-than-a-tyre", "attribute[where]": "road"},
        )
    assert plain == {"service_code": "records", "attributes": []}
    assert document["service_code"] == "pothole"
    attributes = document["attributes"]
    assert [attribute["code"] for attribute in attributes] == ["size", "where", "depth", "details", "sides"]
    assert attributes[0] == {
        "variable": True,
        "code": "size",
        "datatype": "singlevaluelist",
        "required": True,
        "datatype_description": None,
        "order": 1,
        "description": "How big is it?",
        "values": [
            {"key": "smaller-than-a-hand", "name": "Smaller than a hand"},
            {"key": "smaller-than-a-tyre", "name": "Smaller than a car tyre"},
            {"key": "larger-than-a-tyre", "name": "Larger than a car tyre"},
        ],
    }
    assert attributes[2] == {
        "variable": True,
        "code": "depth",
        "datatype": "number",
        "required": False,
        "datatype_description": "A guess is fine, for example 10. "
        "Asked only when the answer to size is larger-than-a-tyre, and then required.",
        "order": 3,
        "description": "Roughly how deep, in cm?",
    }
    assert attributes[4]["datatype"] == "multivaluelist" and attributes[4]["required"] is False
    assert french["attributes"][0]["description"] == "Quelle est sa taille?"
    assert french["attributes"][0]["values"][0]["name"] == "Plus petit qu’une main"
    assert xml.findtext("service_code") == "pothole"
    first = xml.find("attributes/attribute")
    assert first is not None and first.findtext("variable") == "true" and first.findtext("required") == "true"
    assert [value.findtext("key") for value in first.findall("values/value")][0] == "smaller-than-a-hand"

    assert posted.status_code == 200, posted.text
    reference = posted.json()[0]["service_request_id"]
    async with town.scope.transaction():
        row = (
            await town.scope.select(ServiceRequest, ServiceRequest.answers)
            .where(ServiceRequest.reference == reference)
            .first()
        )
    assert [(answer["code"], answer["value"]) for answer in row["answers"]] == [
        ("size", "larger-than-a-tyre"),
        ("where", "cycle-lane"),
        ("depth", "20"),
        ("sides", ["in-the-road", "on-the-sidewalk"]),
    ]
    assert missing.status_code == 400
    assert sorted(descriptions(missing)) == [
        "attribute[size]: Choose an answer.",
        "attribute[where]: Choose one of the answers given.",
    ]
    assert no_depth.status_code == 400 and descriptions(no_depth) == [
        "attribute[depth]: Answer this question."
    ]
    assert missing_xml.status_code == 400 and "attribute[size]: Choose an answer." in descriptions(
        missing_xml
    )
    assert any(text.startswith("description: ") for text in descriptions(missing_xml))
    async with town.scope.transaction():
        assert await town.scope.count(ServiceRequest) == 1


async def test_a_starter_catalogue_brings_its_questions_in_the_towns_languages():
    slug = f"ogden-{uuid.uuid4().hex[:8]}"
    tenant_id = await create_tenant(slug, "Ogdenville", "OGD", languages="fr,en")
    scope = TenantScope(tenant_id)
    async with scope.transaction():
        await starters.seed(scope, "small-town", ("fr", "en"))
        kind = await scope.select(RequestType).where(RequestType.code == "pothole").first()
        french = await questions.for_type(scope, kind["id"], "fr")
        english = await questions.for_type(scope, kind["id"], "en")
        rows = await scope.select(RequestQuestion).order_by(RequestQuestion.position)
    assert [question.code for question in french] == ["size", "where", "depth", "details"]
    assert french[0].prompt == "Quelle est sa taille?" and english[0].prompt == "How big is it?"
    assert french[2].shown_when == ("size", "larger-than-a-tyre") and french[0].required
    assert list(rows[0]["texts"]) == ["fr", "en"]  # the town's first language first: its fallback
    assert {row["request_type"] for row in rows} == {kind["id"]}
