"""Every route, fed what hypothesis makes up (path parameters, query strings, form fields, headers), by a
visitor and by a signed-in member of staff: the portal may refuse, never fail (no 5xx).

Bounded in examples so that it runs in well under a minute; a failure prints the request that caused it."""

import asyncio
import dataclasses
import re
from urllib.parse import quote, urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.web import create_app
from domain import intake
from tests.support.factories import make_town, valid_form
from tests.support.portal import PortalClient, status_path
from tests.support.services import offline_settings

EXAMPLES = 400
PARAMETER = re.compile(r"\{(\w+):(\w+)\}")
# Every form field and query parameter the portal reads, so the made-up values land where they are used.
FIELDS = [
    *intake.FIELDS,
    *("body", "photo", "email", "password", "code", "reason", "duplicate_of", "assignee_id"),
    *("department_id", "public", "confirm", "name", "phone", "language", "notify", "audience", "label"),
    *("issuer", "client_id", "client_secret", "group_roles", "email_domains", "default_role", "required"),
    *("reference", "slug", "prefix", "timezone", "admin_name", "admin_email"),
]
QUERY = ["status", "department", "before", "new", "done", "next", "code", "state", "error", "iss"]
# Values that have broken parsers before, and plain made-up text (control characters included).
AWKWARD = [
    "",
    "0",
    "-1",
    "99999999999999999999",
    "1e309",
    "²",
    "\x00",
    "a\r\nb",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "root,x@evil.example",
    "http://127.0.0.1:1",
    "%00",
    "x" * 6000,
]
# Mostly printable text, so that most requests get past the edge's refusals into the handlers behind it.
printable = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=40)
values = st.one_of(st.sampled_from(AWKWARD), printable, printable, st.text(max_size=40))
# Signing out mid-run would only narrow what the rest of the run reaches.
STAFF_SKIPS = {"/admin/logout", "/account/sign-out", "/platform/logout"}


def routes(app) -> list[tuple[str, str]]:
    return sorted(
        (method, route.path)
        for route in app.routes
        for method in getattr(route, "methods", ())
        if method in ("GET", "POST")
    )


@st.composite
def requests(draw, app, known: dict[str, str], hosts: list[str]):
    method, path = draw(st.sampled_from(routes(app)))

    def parameter(match: re.Match) -> str:
        name = match.group(1)
        choices = [st.sampled_from(AWKWARD), printable.filter(bool)]
        if name in known:
            choices[:0] = [st.just(known[name])] * 2
        return quote(draw(st.one_of(*choices)), safe="/" if match.group(2) == "path" else "")

    url = PARAMETER.sub(parameter, path)
    query = draw(st.dictionaries(st.sampled_from(QUERY), values, max_size=3))
    if query:
        url += "?" + urlencode(query)
    form = draw(st.dictionaries(st.sampled_from(FIELDS), values, max_size=6)) if method == "POST" else {}
    headers = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "host": st.sampled_from(hosts),
                "accept": st.sampled_from(["application/json", "text/html", "*/*", "image/*"]),
                "hx-request": st.just("true"),
                "accept-language": st.text(max_size=20).map(lambda text: text.encode("latin-1", "ignore")),
                "cookie": st.sampled_from(["lang=\x7f", "lang=zz", "portal_session=x" * 40, "csrftoken="]),
            },
        )
    )
    staff = draw(st.booleans()) and path not in STAFF_SKIPS
    return method, url, form, headers, staff


async def test_no_route_answers_anything_with_a_server_error(inbox, tmp_path):
    town = await make_town()
    app = create_app(dataclasses.replace(offline_settings(), dev_inbox_dir=str(tmp_path)))
    visitor, clerk = PortalClient(app, town.host), PortalClient(app, town.host)
    status = status_path(await visitor.submit(valid_form()))
    await clerk.login(town.admin_email, town.password)
    queue = (await clerk.get("/admin/requests")).text
    reference = re.search(rf"{town.prefix}-\d{{4}}-\d+", queue).group(0)
    known = {"token": status.rsplit("/", 1)[1], "reference": reference, "file_path": "portal.css"}
    hosts = [town.host, town.host, f"{town.host}:8000", f"{town.host}:abc", f"{town.host}:70000"]
    hosts.append(f"{town.host}@evil.example")
    hosts.append("localhost")  # the platform's pages
    loop = asyncio.get_running_loop()
    failures: list[str] = []

    async def send(method, url, form, headers, staff) -> int:
        client = clerk if staff else visitor
        data = {"_csrf_token": client._csrf, **form} if method == "POST" else None
        answer = await client.http.request(method, url, data=data, headers=headers)
        return answer.status_code

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(requests(app, known, hosts))
    def no_server_error(request):
        status_code = asyncio.run_coroutine_threadsafe(send(*request), loop).result(timeout=60)
        if status_code >= 500:
            failures.append(f"{status_code} for {request!r}")
        assert status_code < 500, request

    try:
        await asyncio.to_thread(no_server_error)
    finally:
        await visitor.__aexit__()
        await clerk.__aexit__()
    assert not failures
