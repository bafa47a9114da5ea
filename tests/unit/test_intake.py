from domain.intake import clean_form, validate_submission

TYPES = {"pothole": True, "records": False}


def form(**overrides):
    values = {
        "request_type": "pothole",
        "description": "Deep hole in the lane",
        "address": "12 Main St",
        "contact_name": "Ned",
        "contact_email": "Ned@Example.com",
        "idempotency_key": "a" * 32,
    }
    values.update(overrides)
    return clean_form(values)


def test_a_complete_submission_is_accepted_and_normalised():
    submission, errors = validate_submission(form(), TYPES)
    assert errors == {}
    assert submission.contact_email == "ned@example.com"
    assert submission.idempotency_key == "a" * 32
    assert submission.latitude is None


def test_every_problem_is_reported_at_once_by_field():
    _, errors = validate_submission(
        form(request_type="", description="", contact_name="", contact_email="not-an-email"), TYPES
    )
    assert set(errors) == {"request_type", "description", "contact_name", "contact_email"}


def test_location_is_required_only_for_types_that_need_it():
    _, errors = validate_submission(form(address=""), TYPES)
    assert "address" in errors
    _, errors = validate_submission(form(request_type="records", address=""), TYPES)
    assert errors == {}


def test_coordinates_are_optional_but_checked_when_given():
    submission, errors = validate_submission(form(latitude="45,5", longitude="-73.6"), TYPES)
    assert errors == {} and submission.latitude == 45.5 and submission.longitude == -73.6
    _, errors = validate_submission(form(latitude="north", longitude="200"), TYPES)
    assert set(errors) == {"latitude", "longitude"}


def test_phone_and_lengths_are_checked():
    _, errors = validate_submission(form(contact_phone="call me maybe", contact_name="x" * 201), TYPES)
    assert set(errors) == {"contact_phone", "contact_name"}


def test_an_odd_idempotency_key_is_replaced_rather_than_trusted():
    submission, _ = validate_submission(form(idempotency_key="'; drop table"), TYPES)
    assert len(submission.idempotency_key) == 32 and submission.idempotency_key.isalnum()


def test_clean_form_keeps_only_known_fields_and_strips_them():
    values = clean_form({"description": "  hole  ", "is_admin": "yes"})
    assert values["description"] == "hole"
    assert "is_admin" not in values
