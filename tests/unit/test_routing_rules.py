from domain.routing import Rule, matching_rule


def rule(department: int, **fields) -> Rule:
    values = {
        "request_type_id": None,
        "keyword": "",
        "min_latitude": None,
        "max_latitude": None,
        "min_longitude": None,
        "max_longitude": None,
        "assignee_id": None,
    }
    values.update(fields)
    return Rule(department_id=department, **values)


REQUEST = {
    "request_type": 1,
    "description": "Crack near the BRIDGE",
    "address": "12 Main",
    "latitude": 45.5,
    "longitude": -73.6,
}


def test_the_first_matching_rule_wins_and_keywords_ignore_case():
    rules = [rule(7, keyword="school"), rule(8, keyword="bridge"), rule(9)]
    assert matching_rule(rules, REQUEST).department_id == 8


def test_a_rule_for_another_type_does_not_match():
    assert matching_rule([rule(7, request_type_id=2)], REQUEST) is None
    assert matching_rule([rule(7, request_type_id=1)], REQUEST).department_id == 7


def test_an_area_rule_needs_coordinates_inside_its_box():
    box = rule(7, min_latitude=45.0, max_latitude=46.0, min_longitude=-74.0, max_longitude=-73.0)
    assert matching_rule([box], REQUEST) is box
    assert matching_rule([box], {**REQUEST, "latitude": 44.9}) is None
    assert matching_rule([box], {**REQUEST, "latitude": None, "longitude": None}) is None


def test_no_rule_means_the_types_department():
    assert matching_rule([], REQUEST) is None


def test_a_move_crosses_temporal_with_every_field_of_the_domains_move():
    import dataclasses

    from domain.moves import Move
    from workflows.service_request.models import MoveInput

    carried = {field.name for field in dataclasses.fields(MoveInput)} - {"tenant_id"}
    assert carried == {field.name for field in dataclasses.fields(Move)}
