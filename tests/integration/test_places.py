"""The town's gazetteer and map, on the real database: a town administrator imports address points and
street lines (CSV and GeoJSON) and a boundary; a citizen finds "12 Evergreen Terrace" by typing a part
of it, an abbreviation or a typo; a pin is named by the nearest address; a place outside the boundary is
refused; the map is served with the town's own streets. A file with a mistake changes nothing and says
where the mistake is; one town never sees another's places; a town's outside geocoder helps only when the
gazetteer has nothing, and a geocoder that does not answer costs the citizen nothing but a short wait."""

from __future__ import annotations

import json
import time

import pytest

from apps.web import create_app
from domain import places
from domain.audit import Actor
from domain.tables import AuditEntry
from infra import geocoder, outbound
from tests.integration.test_team_settings import signed_in_admin
from tests.support.factories import make_town
from tests.support.nominatim import FakeNominatim
from tests.support.places import load_demo_places
from tests.support.portal import PortalClient
from tests.support.services import offline_settings

OFFLINE = offline_settings()
APP = create_app(OFFLINE)
PAGE = "/admin/settings/places"
ACTOR = Actor(None, "Test")
# Springfield's demo files (tenants/demo/springfield): 12 and 742 Evergreen Terrace among 952 addresses.
EVERGREEN_12 = (45.503937, -73.57983)


def csv_file(*rows: str) -> bytes:
    return ("LON,LAT,NUMBER,STREET,UNIT,CITY,POSTCODE\n" + "\n".join(rows) + "\n").encode()


def feature(geometry: dict, **properties) -> dict:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def collection(*features: dict) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features)}).encode()


@pytest.fixture(scope="module")
async def springfield():
    town = await make_town("Springfield")
    await load_demo_places(town)
    return town


@pytest.fixture(scope="module")
async def otherton():
    town = await make_town("Otherton")
    other = "LON,LAT,NUMBER,STREET,CITY\n-71.2001,46.8001,12,EVERGREEN TERRACE,Otherton\n"
    other += "-71.2002,46.8002,14,Evergreen Terrace,Otherton\n-71.2100,46.8100,1,Main Street,Otherton\n"
    async with town.scope.transaction():
        count, problems = await places.import_files(town.scope, ACTOR, [(other.encode(), "other.csv")])
    assert (count, problems) == (5, [])  # three addresses, and the two streets they name
    return town


async def found(town, text: str) -> list[places.PlaceMatch]:
    async with town.scope.transaction():
        return await places.search(town.scope, text)


async def sizes(town) -> places.GazetteerSummary:
    async with town.scope.transaction():
        return await places.summary(town.scope)


async def test_the_demo_import_reads_street_lines_and_address_points_into_one_gazetteer(springfield):
    summary = await sizes(springfield)
    assert (summary.addresses, summary.streets, summary.has_boundary) == (952, 15, True)
    async with springfield.scope.transaction():
        view = await places.map_view(springfield.scope)
        features = (await places.map_features(springfield.scope))["features"]
    assert view.has_gazetteer and view.bounds and view.tile_url == ""
    kinds = [item["properties"]["kind"] for item in features]
    assert kinds == ["boundary"] + ["street"] * 15
    names = {item["properties"].get("name") for item in features}
    assert {"Evergreen Terrace", "Rue Principale", "Boulevard des Érables"} <= names


@pytest.mark.parametrize(
    "typed",
    [
        "12 evergreen",
        "12 Evergreen Terr",
        "12 Evergreen Ter",
        "12 evergreen terrace",
        "12 evergren",
        "12 evergreen st",
        "12 EVERGREEN TERRACE",
        "evergreen terrace 12",
    ],
)
async def test_a_citizen_finds_12_evergreen_terrace_by_a_part_an_abbreviation_or_a_typo(springfield, typed):
    matches = await found(springfield, typed)
    assert matches[0].label == "12 Evergreen Terrace", [match.label for match in matches]
    assert matches[0].kind == "address" and (matches[0].latitude, matches[0].longitude) == pytest.approx(
        EVERGREEN_12
    )
    assert "Evergreen Terrace" in [match.label for match in matches]  # the street too


@pytest.mark.parametrize(
    ("typed", "first"),
    [
        ("evergren", "Evergreen Terrace"),
        ("rue principale", "Rue Principale"),
        ("st laurent", "Rue Saint-Laurent"),
        ("Boul. des Erables", "Boulevard des Érables"),
        ("chemin du lac", "Chemin du Lac"),
        ("742 evergreen", "742 Evergreen Terrace"),
        ("13 evergreen", "Evergreen Terrace"),  # no such number: the street is still there
    ],
)
async def test_streets_are_found_by_name_accents_and_saints_aside(springfield, typed, first):
    assert (await found(springfield, typed))[0].label == first


async def test_blank_short_and_unknown_queries_find_nothing(springfield):
    for typed in ("", "  ", "ma", "12", "zzzzqqq", "!!!"):
        assert await found(springfield, typed) == [], typed


async def test_one_town_never_sees_another_towns_places(springfield, otherton):
    theirs = await found(otherton, "12 evergreen")
    ours = await found(springfield, "12 evergreen")
    assert theirs[0].label == "12 Evergreen Terrace" and theirs[0].latitude == pytest.approx(46.8001)
    assert not {match.id for match in ours} & {match.id for match in theirs}
    assert all(match.latitude < 46 for match in ours)
    async with springfield.scope.transaction():
        assert await places.get(springfield.scope, theirs[0].id) is None
        assert await places.nearest(springfield.scope, 46.8001, -71.2001) is None
        assert await places.get(springfield.scope, ours[0].id) == ours[0]
    async with otherton.scope.transaction():
        assert (await places.summary(otherton.scope)).addresses == 3
        assert [
            item["properties"]["name"] for item in (await places.map_features(otherton.scope))["features"]
        ] == []


async def test_a_pin_is_named_by_the_nearest_address_or_else_the_nearest_street(springfield):
    async with springfield.scope.transaction():
        near = await places.nearest(springfield.scope, EVERGREEN_12[0] + 0.00003, EVERGREEN_12[1])
        # Where Railroad Avenue begins, its first address is 20 m away, and its line right there.
        on_street = await places.nearest(springfield.scope, 45.491915, -73.581533, within_metres=12)
        nowhere = await places.nearest(springfield.scope, 45.60, -73.57)
    assert (
        near and near.label == "12 Evergreen Terrace" and near.distance_metres == pytest.approx(3.3, abs=0.5)
    )
    assert nowhere is None
    assert on_street and (on_street.label, on_street.distance_metres) == ("Railroad Avenue", 0.0), on_street


async def test_resolving_a_typed_address_without_the_search_box(springfield):
    async with springfield.scope.transaction():
        exact = await places.resolve_typed(springfield.scope, "742 Evergreen Terr.")
        typo = await places.resolve_typed(springfield.scope, "742 evergren terrace")
        unsure = await places.resolve_typed(springfield.scope, "evergren")
        landmark = await places.resolve_typed(springfield.scope, "behind the skate park")
    assert isinstance(exact, places.PlaceMatch) and exact.label == "742 Evergreen Terrace"
    assert isinstance(typo, places.PlaceMatch) and typo.label == "742 Evergreen Terrace"
    assert isinstance(unsure, list) and unsure[0].label == "Evergreen Terrace" and len(unsure) == 5
    assert landmark == []


async def test_a_boundary_with_a_hole_and_a_second_part_keeps_out_what_is_outside():
    town = await make_town("Holeville")
    square = [[-73.0, 45.0], [-72.9, 45.0], [-72.9, 45.1], [-73.0, 45.1]]  # not closed: the import closes it
    hole = [[-72.96, 45.04], [-72.94, 45.04], [-72.94, 45.06], [-72.96, 45.06], [-72.96, 45.04]]
    island = [[-72.5, 45.5], [-72.4, 45.5], [-72.4, 45.6], [-72.5, 45.5]]
    boundary = {"type": "MultiPolygon", "coordinates": [[square, hole], [island]]}
    async with town.scope.transaction():
        assert not await places.outside_town(town.scope, 10.0, 10.0)  # no boundary: anywhere goes
        problems = await places.import_boundary(
            town.scope, ACTOR, json.dumps(feature(boundary)).encode(), "b.json"
        )
        assert problems == []
        inside = await places.outside_town(town.scope, 45.02, -72.98)
        in_hole = await places.outside_town(town.scope, 45.05, -72.95)
        beyond = await places.outside_town(town.scope, 45.2, -72.98)
        on_island = await places.outside_town(town.scope, 45.52, -72.45)
        view = await places.map_view(town.scope)
    assert (inside, in_hole, beyond, on_island) == (False, True, True, False)
    assert view.bounds == pytest.approx((45.0, -73.0, 45.6, -72.4)) and view.has_boundary
    assert not view.has_gazetteer


@pytest.mark.parametrize(
    ("files", "where"),
    [
        (
            [
                (
                    csv_file(
                        "-73.5,45.5,1,Main St",
                        "-73.5,north,2,Main St",
                        "-73.5,45.5,3,",
                        "-200,45.5,4,Main St",
                    ),
                    "a.csv",
                )
            ],
            ["Line 3: LAT must be a latitude", "Line 4: STREET is empty.", "Line 5: LON must be a longitude"],
        ),
        (
            [(b"X,Y,STREET\n1,2,Main\n", "a.csv")],
            ["The first line must name the columns LON, LAT and STREET"],
        ),
        (
            [("LON,LAT,STREET\n-73.5,45.5,Caf\xe9\n".encode("latin-1"), "a.csv")],
            ["The file is not UTF-8 text"],
        ),
        ([(b'{"type": "FeatureCollection", "features": [', "a.geojson")], ["not valid JSON near line 1"]),
        (
            [
                (
                    collection(
                        feature({"type": "Point", "coordinates": [-73.5, 45.5]}, number=1, street="Main"),
                        feature({"type": "Point", "coordinates": [-73.5, 95]}, number=2, street="Main"),
                        feature({"type": "LineString", "coordinates": [[-73.5, 45.5]]}, name="Elm"),
                        feature({"type": "LineString", "coordinates": [[-73.5, 45.5], [-73.4, 45.5]]}),
                        feature({"type": "Polygon", "coordinates": []}),
                    ),
                    "streets.geojson",
                )
            ],
            [
                "Feature 2: The point's coordinates",
                "Feature 3: A street line needs at least two",
                "Feature 4: A street line needs a “name”",
                "Feature 5: A Polygon is neither",
            ],
        ),
        (
            [(csv_file("-73.5,45.5,1,Main St"), "good.csv"), (b'{"type": "Feature"}', "bad.geojson")],
            ["bad.geojson: Feature 1: A feature is neither an address point nor a street line"],
        ),
        ([(b"LON,LAT,STREET\n", "empty.csv")], ["The file holds no address points or street lines."]),
        ([(b"x" * 50_000_001, "huge.csv")], ["The file is larger than 50 MB"]),
    ],
    ids=["csv-rows", "columns", "encoding", "json", "features", "two-files", "empty", "too-big"],
)
async def test_a_file_with_a_mistake_changes_nothing_and_says_where(springfield, files, where):
    before = await sizes(springfield)
    async with springfield.scope.transaction():
        count, problems = await places.import_files(springfield.scope, ACTOR, files)
    assert count == 0 and len(problems) == len(where), problems
    for problem, expected in zip(problems, where, strict=True):
        assert expected in problem
    assert await sizes(springfield) == before


async def test_many_mistakes_are_counted_beyond_the_first_twenty():
    rows = [f"-73.5,45.5,{number}," for number in range(1, 31)]
    parsed_places, problems = places.parse_places(csv_file(*rows), "a.csv")
    assert parsed_places == [] and len(problems) == 21
    assert problems[0] == "Line 2: STREET is empty." and problems[-1] == "…and 10 more problems."


async def test_a_french_spreadsheet_and_capitals_and_duplicates_read_as_meant():
    found_places, problems = places.parse_places(
        "\ufeffLON;LAT;NUMBER;STREET;UNIT;CITY\n"
        "-73,5;45,5;12;RUE DE LA GARE;;Ville-A\n"
        "-73,5;45,5;12;RUE DE LA GARE;;Ville-A\n"
        "-73,6;45,6;3;Rue de la Gare;2;Ville-B\n"
        "-73,6;45,6;;Chemin Sans Numéro;;Ville-B\n".encode(),
        "adresses.csv",
    )
    assert problems == []
    labels = sorted(place.label for place in found_places)
    assert labels == [
        "12 Rue de la Gare, Ville-A",  # two towns in one file: each label says which
        "3 Rue de la Gare, 2, Ville-B",
        "Chemin Sans Numéro, Ville-B",  # a point without a number only places its street
        "Rue de la Gare, Ville-A",
        "Rue de la Gare, Ville-B",
    ]
    assert [place.kind for place in found_places][:3] == ["street"] * 3  # streets first


async def test_boundary_files_are_checked():
    good = collection(feature({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}))
    assert places.parse_boundary(good) == (
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]},
        [],
    )
    for content in (
        b"",
        b"[1, 2",
        collection(),
        json.dumps(feature({"type": "Point", "coordinates": [0, 0]})).encode(),
        json.dumps({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}).encode(),
        json.dumps({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 99], [0, 0]]]}).encode(),
        json.dumps({"type": "MultiPolygon", "coordinates": 3}).encode(),
    ):
        boundary, problems = places.parse_boundary(content)
        assert boundary is None and len(problems) == 1, content


async def test_the_citizens_search_nearest_and_map_over_http(springfield):
    async with PortalClient(APP, springfield.host, address="10.0.0.1") as citizen:
        answer = await citizen.get("/places/search", params={"q": "12 evergreen"})
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/json")
        first = answer.json()["places"][0]
        assert first["label"] == "12 Evergreen Terrace" and first["kind"] == "address" and first["id"] > 0
        assert set(first) == {"id", "kind", "label", "latitude", "longitude"}
        assert (await citizen.get("/places/search", params={"q": "ma"})).json() == {"places": []}
        too_long = await citizen.get("/places/search", params={"q": "x" * 201})
        assert too_long.status_code == 400 and "at most 200" in too_long.json()["message"]

        near = await citizen.get(
            "/places/nearest", params={"latitude": "45.503937", "longitude": "-73.57983"}
        )
        assert near.json()["outside"] is False and near.json()["place"]["label"] == "12 Evergreen Terrace"
        assert near.json()["place"]["distance_metres"] < 1
        outside = (
            await citizen.get("/places/nearest", params={"latitude": "45.6", "longitude": "-73.57"})
        ).json()
        assert (
            outside["outside"] is True
            and outside["place"] is None
            and "outside Springfield" in outside["message"]
        )
        for latitude, longitude in (
            ("north", "-73.5"),
            ("91", "-73.5"),
            ("45.5", "-181"),
            ("nan", "0"),
            ("", ""),
        ):
            bad = await citizen.get("/places/nearest", params={"latitude": latitude, "longitude": longitude})
            assert bad.status_code == 400 and "latitude from -90 to 90" in bad.json()["message"], latitude

        town_map = await citizen.get("/places/map.json")
        document = town_map.json()
        assert document["type"] == "FeatureCollection" and len(document["features"]) == 16
        assert document["tiles"] is None and document["bounds"]["min_latitude"] == pytest.approx(45.491017)
        assert town_map.headers["cache-control"] == "public, max-age=300"
        again = await citizen.get("/places/map.json", headers={"if-none-match": town_map.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
    async with PortalClient(APP, springfield.host, address="10.0.0.2") as other:
        other.http.cookies.set("portal_session", "someone", domain=springfield.host)
        assert (await other.get("/places/map.json")).headers["cache-control"] == "private, max-age=300"


async def test_a_new_map_setting_changes_the_maps_etag_and_tiles(springfield):
    async with PortalClient(APP, springfield.host, address="10.0.0.3") as citizen:
        before = (await citizen.get("/places/map.json")).headers["etag"]
        async with springfield.scope.transaction():
            await places.set_map(
                springfield.scope,
                ACTOR,
                tile_url="https://tiles.example.org/{z}/{x}/{y}.png",
                tile_attribution="© Example",
            )
        try:
            answer = await citizen.get("/places/map.json", headers={"if-none-match": before})
            assert answer.status_code == 200 and answer.headers["etag"] != before
            assert answer.json()["tiles"] == {
                "url": "https://tiles.example.org/{z}/{x}/{y}.png",
                "attribution": "© Example",
            }
        finally:
            async with springfield.scope.transaction():
                await places.set_map(springfield.scope, ACTOR, tile_url="", tile_attribution="")


async def test_searching_is_limited_per_client_address(springfield):
    async with PortalClient(APP, springfield.host, address="10.9.9.9") as script:
        answers = [(await script.get("/places/search", params={"q": "main"})).status_code for _ in range(121)]
        nearest = await script.get("/places/nearest", params={"latitude": "45.5", "longitude": "-73.57"})
    assert answers[:120] == [200] * 120 and answers[120] == 429 and nearest.status_code == 429
    async with PortalClient(APP, springfield.host, address="10.9.9.10") as someone_else:
        assert (await someone_else.get("/places/search", params={"q": "main"})).status_code == 200


async def test_the_administrator_imports_files_and_a_boundary_and_sets_the_map_beside_each_field():
    town = await make_town("Importville")
    streets = collection(
        feature({"type": "LineString", "coordinates": [[-73.5, 45.5], [-73.49, 45.5]]}, name="Elm Street"),
        feature({"type": "LineString", "coordinates": [[-73.49, 45.5], [-73.48, 45.5]]}, name="Elm Street"),
        feature({"type": "Point", "coordinates": [-73.495, 45.5001]}, NUMBER="5", STREET="Elm Street"),
    )
    addresses = csv_file("-73.4951,45.5002,7,Elm St,,,", "-73.47,45.51,1,Oak Road,,,")
    boundary = json.dumps(
        feature({"type": "Polygon", "coordinates": [[[-74, 45], [-73, 45], [-73, 46], [-74, 45]]]})
    )
    async with await signed_in_admin(APP, town) as admin:
        empty = await admin.get(PAGE)
        assert empty.status_code == 200 and "No address or street yet" in empty.text
        imported = await admin.post(
            f"{PAGE}/import",
            files=[
                ("places", ("streets.geojson", streets, "application/geo+json")),
                ("places", ("addresses.csv", addresses, "text/csv")),
            ],
        )
        assert imported.status_code == 303 and imported.headers["location"] == f"{PAGE}?imported=5"
        shown = await admin.get(imported.headers["location"])
        assert "Addresses and streets in the list now: 5." in shown.text
        assert (
            "<dt>Address points</dt><dd>3</dd>" in shown.text and "<dt>Streets</dt><dd>2</dd>" in shown.text
        )

        refused = await admin.post(
            f"{PAGE}/import",
            files={"places": ("bad.csv", csv_file("-73.5,45.5,1,", "-73.5,45.5,2,Elm"), "text/csv")},
        )
        assert refused.status_code == 422 and 'aria-invalid="true"' in refused.text
        assert "Nothing was imported" in refused.text and "Line 2: STREET is empty." in refused.text
        assert 'href="#places"' in refused.text  # the summary links to the field
        nothing = await admin.post(f"{PAGE}/import", data={})
        assert nothing.status_code == 422 and "Choose a CSV or GeoJSON file" in nothing.text

        bad_boundary = await admin.post(
            f"{PAGE}/boundary", files={"boundary": ("b.geojson", b"[]", "application/json")}
        )
        assert bad_boundary.status_code == 422 and "one Polygon or MultiPolygon" in bad_boundary.text
        saved = await admin.post(
            f"{PAGE}/boundary", files={"boundary": ("town.geojson", boundary.encode(), "application/json")}
        )
        assert saved.headers["location"] == f"{PAGE}?done=boundary"
        assert "A boundary is set" in (await admin.get(PAGE)).text

        typed = {
            "tile_url": "http://tiles.example.org/{z}/{x}.png",
            "tile_attribution": "<b>me</b>",
            "geocoder_url": "ftp://x",
        }
        bad_map = await admin.post(f"{PAGE}/map", typed)
        assert bad_map.status_code == 422 and bad_map.text.count('aria-invalid="true"') == 3
        assert 'value="http://tiles.example.org/{z}/{x}.png"' in bad_map.text  # what was typed is kept
        unreachable = await admin.post(f"{PAGE}/map", {"geocoder_url": "https://geocoder.invalid"})
        assert (
            unreachable.status_code == 422 and "only calls a geocoder at an https address" in unreachable.text
        )
        no_credit = await admin.post(f"{PAGE}/map", {"tile_url": "https://tiles.example.org/{z}/{x}/{y}.png"})
        assert no_credit.status_code == 422 and "Give the credit" in no_credit.text
        good = {
            "tile_url": "https://tiles.example.org/{z}/{x}/{y}.png",
            "tile_attribution": "© Example",
            "geocoder_url": "",
        }
        assert (await admin.post(f"{PAGE}/map", good)).headers["location"] == f"{PAGE}?done=map"
        removed = await admin.post(f"{PAGE}/boundary/remove")
        assert removed.headers["location"] == f"{PAGE}?done=boundary_removed"
    async with town.scope.transaction():
        summary = await places.summary(town.scope)
        elm = await places.search(town.scope, "elm street")
        entries = await town.scope.select(AuditEntry).order_by(AuditEntry.id)
    assert (summary.addresses, summary.streets, summary.has_boundary) == (3, 2, False)
    assert summary.tile_attribution == "© Example"
    assert elm[0].kind == "street" and elm[0].label == "Elm Street"  # two lines of one street, one place
    assert [entry["action"] for entry in entries] == [
        "places.imported",
        "map.boundary",
        "map.changed",
        "map.boundary",
    ]
    assert entries[0]["subject"] == "streets.geojson, addresses.csv" and entries[0]["before"] == {}
    assert entries[0]["after"] == {"addresses": 3, "streets": 2}
    assert entries[1]["after"] == {"boundary_points": 4} and entries[1]["subject"] == "town.geojson"
    assert entries[2]["after"] == {"tile_url": good["tile_url"], "tile_attribution": "© Example"}
    assert entries[3]["before"] == {"boundary_points": 4} and entries[3]["after"] == {}


async def test_only_the_administrator_reaches_the_map_settings():
    town = await make_town()
    async with PortalClient(APP, town.host) as agent:
        await agent.login(town.roads_email, town.password)
        assert (await agent.get(PAGE)).status_code == 403
        assert (await agent.post(f"{PAGE}/map", {"tile_url": ""})).status_code == 403
        assert (await agent.post(f"{PAGE}/boundary/remove")).status_code == 403


@pytest.fixture
def nominatim():
    server = FakeNominatim()
    yield server
    server.close()


async def test_the_towns_geocoder_helps_only_when_the_gazetteer_has_nothing(springfield, nominatim):
    nominatim.places = [
        {"display_name": "Springfield Town Hall, 1 Civic Square", "lat": "45.5001", "lon": "-73.5701"},
        {"display_name": "Springfield Town Hall annex (elsewhere)", "lat": "47.0", "lon": "-70.0"},
    ]
    async with springfield.scope.transaction():
        assert await places.map_problems("", "", nominatim.url) == {}
        await places.set_map(springfield.scope, ACTOR, geocoder_url=nominatim.url)
    try:
        helped = await found(springfield, "town hall")
        ours = await found(springfield, "12 evergreen")
        async with springfield.scope.transaction():
            typed = await places.resolve_typed(springfield.scope, "town hall")
    finally:
        async with springfield.scope.transaction():
            await places.set_map(springfield.scope, ACTOR, geocoder_url="")
    assert [(match.id, match.kind, match.label) for match in helped] == [
        (0, "geocoder", "Springfield Town Hall, 1 Civic Square")  # the one outside the boundary is left out
    ]
    assert typed == helped  # a choice, never taken on its own
    assert ours[0].label == "12 Evergreen Terrace"
    asked = [query for query in nominatim.queries if query["q"] == "town hall"]
    assert len(asked) == 2 and len(nominatim.queries) == 2  # the gazetteer's own answer asked nobody
    assert asked[0]["format"] == "jsonv2" and asked[0]["bounded"] == "1" and asked[0]["path"] == "/search"
    viewbox = [float(corner) for corner in asked[0]["viewbox"].split(",")]  # west, north, east, south
    assert viewbox == pytest.approx([-73.583457, 45.508983, -73.556543, 45.491017], abs=1e-5)
    assert asked[0]["user-agent"].startswith("citizen-portal")


async def test_a_geocoder_that_fails_gives_nothing_quickly(nominatim):
    started = time.monotonic()
    assert (
        await geocoder.nominatim_search("http://127.0.0.1:9", "town hall", None, 5, "en", _loopback()) == []
    )
    assert await geocoder.nominatim_search("https://geocoder.invalid", "town hall", None, 5) == []
    assert await geocoder.nominatim_search(nominatim.url, "town hall", None, 5) == []  # loopback not allowed
    nominatim.status = 500
    assert await geocoder.nominatim_search(nominatim.url, "town hall", None, 5, "en", _loopback()) == []
    nominatim.status, nominatim.body = 200, b"<html>not json</html>"
    assert await geocoder.nominatim_search(nominatim.url, "town hall", None, 5, "en", _loopback()) == []
    nominatim.body = (
        b'[{"lat": "x", "lon": "1", "display_name": "bad"}, {"lat": "1", "lon": "2", "display_name": "ok"}]'
    )
    answer = await geocoder.nominatim_search(nominatim.url, "town hall", None, 5, "en", _loopback())
    assert answer == [geocoder.GeocodedPlace("ok", 1.0, 2.0)]
    assert time.monotonic() - started < 10


def _loopback():
    return outbound.networks("127.0.0.0/8")
