"""Address text made comparable, and the order of the gazetteer's candidates, without a database: what a
town imports and what a citizen types meet in one normal form, a typo costs a little, the typed house
number decides, and a town's boundary (holes and several parts included) keeps out what is outside."""

from __future__ import annotations

import pytest

from domain import place_geometry
from domain.place_text import Matcher, normalised, parsed


@pytest.mark.parametrize(
    ("typed", "normal"),
    [
        ("12 Evergreen Terr.", "12 evergreen terrace"),
        ("12 evergreen ter", "12 evergreen terrace"),
        ("12 EVERGREEN TERRACE", "12 evergreen terrace"),
        ("12  Evergreen,Terrace", "12 evergreen terrace"),
        ("742 Évergreen Tce", "742 evergreen terrace"),
        ("1 Main St", "1 main street"),
        ("1 Main St. N", "1 main street n"),
        ("1 Main Str", "1 main street"),
        ("5 Elm Ave", "5 elm avenue"),
        ("5 Elm Av.", "5 elm avenue"),
        ("9 Church Rd", "9 church road"),
        ("9 Cedar Dr", "9 cedar drive"),
        ("9 Spruce Ln", "9 spruce lane"),
        ("2 Willow Ct", "2 willow court"),
        ("2 Pine Pl", "2 pine place"),
        ("Hwy 7", "highway 7"),
        ("12 St-Laurent Blvd", "12 saint laurent boulevard"),
        ("12 boul. Saint-Laurent", "12 boulevard saint laurent"),
        ("rue St-Denis", "rue saint denis"),
        ("Ste-Catherine", "sainte catherine"),
        ("10 Main St Ste 200", "10 main street ste 200"),
        ("Bd des Érables", "boulevard des erables"),
        ("Ch. du Lac", "chemin du lac"),
        ("Rte 132", "route 132"),
        ("Rue de l'Église", "rue de l eglise"),
        ("#12A Main_St", "12a main street"),
        ("  ", ""),
    ],
)
def test_what_towns_import_and_citizens_type_meet_in_one_form(typed, normal):
    assert normalised(typed) == normal


def test_an_address_comes_apart_into_number_name_and_the_words_every_street_shares():
    address = parsed(normalised("12a Boulevard des Érables Est"))
    assert (address.number, address.street) == ("12a", "boulevard des erables est")
    assert address.name == ("des", "erables") and address.generic == ("boulevard", "est")
    assert parsed("1st avenue").number == "" and parsed("evergreen terrace 742").number == "742"


def _order(typed: str, candidates: list[str], streets: frozenset[str] = frozenset()) -> list[str]:
    matcher = Matcher(parsed(normalised(typed)))
    return sorted(candidates, key=lambda text: -matcher.score(parsed(text), text in streets))


CANDIDATES = [
    "14 evergreen terrace",
    "12 green street",
    "12 evergreen terrace",
    "evergreen terrace",
    "12 everglade road",
    "112 evergreen terrace",
]


@pytest.mark.parametrize("typed", ["12 evergreen", "12 Evergreen Terr", "12 evergren", "12 evergreen st"])
def test_the_typed_number_on_a_street_named_alike_comes_first(typed):
    ordered = _order(typed, CANDIDATES, frozenset({"evergreen terrace"}))
    assert ordered[0] == "12 evergreen terrace"
    assert ordered.index("evergreen terrace") < ordered.index("14 evergreen terrace")  # the street, then
    assert ordered.index("14 evergreen terrace") < ordered.index("12 green street")


def test_without_a_number_the_street_leads_and_a_typo_costs_less_than_another_name():
    ordered = _order("evergren", CANDIDATES, frozenset({"evergreen terrace"}))
    assert ordered[0] == "evergreen terrace" and ordered[-1] == "12 green street"


def test_letters_swapped_or_missing_still_look_alike_and_other_names_do_not():
    def alike(typed: str, name: str) -> float:
        return Matcher(parsed(normalised(typed))).name_similarity(parsed(normalised(name)))

    for typed, name in [
        ("pirere", "pierre"),
        ("valely", "valley"),
        ("evergren", "evergreen"),
        ("macodnald", "macdonald"),
    ]:
        assert alike(typed, name) > 0.5 > alike(typed, "maple"), typed
    assert alike("everg", "evergreen terrace") > alike("everg", "green terrace")  # typed halfway
    matcher = Matcher(parsed(normalised("12 valely road")))
    assert matcher.could_name("rue de la vallee") and not matcher.could_name("maple road")  # by first letters


SQUARE = [[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0], [0.0, 0.0]]
HOLE = [[4.0, 4.0], [6.0, 4.0], [6.0, 6.0], [4.0, 6.0], [4.0, 4.0]]
ISLAND = [[20.0, 20.0], [22.0, 20.0], [22.0, 22.0], [20.0, 22.0], [20.0, 20.0]]


def test_a_boundary_holds_what_is_inside_its_rings_and_not_in_its_holes():
    polygon = {"type": "Polygon", "coordinates": [SQUARE, HOLE]}
    several = {"type": "MultiPolygon", "coordinates": [[SQUARE, HOLE], [ISLAND]]}
    # contains(boundary, latitude, longitude); positions are [longitude, latitude]
    assert place_geometry.contains(polygon, 2, 2) and not place_geometry.contains(polygon, 5, 5)
    assert not place_geometry.contains(polygon, 11, 5) and not place_geometry.contains(polygon, 21, 21)
    assert place_geometry.contains(several, 21, 21) and not place_geometry.contains(several, 5, 5)
    assert place_geometry.bounds_of(several) == (0.0, 0.0, 22.0, 22.0)
    assert not place_geometry.contains({}, 1, 1)


def test_distances_on_the_ground():
    # One thousandth of a degree of latitude is about 111 m; of longitude at 45 degrees, about 79 m.
    assert place_geometry.haversine_metres(45.0, -73.0, 45.001, -73.0) == pytest.approx(111.2, abs=0.5)
    assert place_geometry.haversine_metres(45.0, -73.0, 45.0, -72.999) == pytest.approx(78.6, abs=0.5)
    line = [[-73.0, 45.0], [-72.99, 45.0]]  # an east-west street
    assert place_geometry.metres_to_line(45.0005, -72.995, line) == pytest.approx(55.6, abs=0.5)
    assert place_geometry.metres_to_line(45.0, -73.001, line) == pytest.approx(78.6, abs=0.5)  # past its end
    south, west, north, east = place_geometry.box_around(45.0, -73.0, 100)
    assert place_geometry.haversine_metres(45.0, -73.0, north, -73.0) == pytest.approx(100, abs=0.5)
    assert place_geometry.haversine_metres(45.0, -73.0, 45.0, east) == pytest.approx(100, abs=0.5)


def test_a_street_is_placed_halfway_along_its_longest_line():
    bent = [[0.0, 0.0], [2.0, 0.0], [2.0, 2.0]]
    assert place_geometry.middle_of([[[5.0, 5.0], [5.0, 5.1]], bent]) == (0.0, 2.0)
