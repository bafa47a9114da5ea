"""Checks a citizen's submission. Returns every problem at once, keyed by field, so the form can show each
message beside its field and keep everything that was typed."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from infra.i18n import N_

# One address as people type it, and nothing a mail header could read as more: a dot-atom local part
# (no comma, quote, angle bracket, space or control character) and a host name with a dot. Plain ASCII:
# an internationalised domain is typed in its xn-- form.
_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9-]{2,63}"
)
PHONE_PATTERN = re.compile(r"^[0-9+().\-\s]{6,40}$")
FIELDS = (
    "request_type",
    "description",
    "address",
    "latitude",
    "longitude",
    "contact_name",
    "contact_email",
    "contact_phone",
    "idempotency_key",
    "place_id",  # the gazetteer entry the address was chosen from, if it was
    "nearby_seen",  # "1" once the citizen was shown the open requests nearby
)
LIMITS = {"description": 5000, "address": 300, "contact_name": 200, "contact_email": 254, "contact_phone": 40}


@dataclass(frozen=True)
class Submission:
    request_type_code: str
    description: str
    contact_name: str
    contact_email: str
    idempotency_key: str
    contact_phone: str = ""
    address: str = ""
    latitude: float | None = None
    longitude: float | None = None
    # The type's questions as asked and answered (domain/questions.py read_answers), kept as they were.
    answers: tuple[dict, ...] = ()


BAD_EMAIL = N_("Enter an email address like name@example.com.")


def valid_email(text: str) -> bool:
    """The check for every e-mail address the portal is given: citizens, staff, towns."""
    return len(text) <= LIMITS["contact_email"] and _EMAIL.fullmatch(text) is not None


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


def clean_form(form: Mapping[str, str]) -> dict[str, str]:
    """The fields we know, stripped, so a re-rendered form shows exactly what was typed."""
    return {name: str(form.get(name, "") or "").strip() for name in FIELDS}


def validate_submission(
    values: Mapping[str, str], location_required: Mapping[str, bool], answers: tuple[dict, ...] = ()
) -> tuple[Submission | None, dict[str, str]]:
    """`location_required` maps each offered request-type code to whether it needs a location; `answers`,
    already checked (domain/questions.py), are kept with the submission."""
    errors: dict[str, str] = {}
    code = values["request_type"]
    if code not in location_required:
        errors["request_type"] = N_("Choose the type of request.")
    if len(values["description"]) < 5:
        errors["description"] = N_("Describe the problem in a few words.")
    if location_required.get(code) and not values["address"] and not values["latitude"]:
        errors["address"] = N_("Give the address or a nearby landmark for this type of request.")
    if not values["contact_name"]:
        errors["contact_name"] = N_("Enter your name.")
    if not values["contact_email"]:
        errors["contact_email"] = N_("Enter your email address so we can keep you informed.")
    elif not valid_email(values["contact_email"]):
        errors["contact_email"] = BAD_EMAIL
    if values["contact_phone"] and not PHONE_PATTERN.match(values["contact_phone"]):
        errors["contact_phone"] = N_("Enter a phone number using digits, spaces, + or -.")
    for name, limit in LIMITS.items():
        if len(values[name]) > limit and name not in errors:
            errors[name] = N_("This is too long; shorten it, please.")
    latitude, longitude = _coordinates(values, errors)
    if errors:
        return None, errors
    return (
        Submission(
            request_type_code=code,
            description=values["description"],
            contact_name=values["contact_name"],
            contact_email=values["contact_email"].lower(),
            contact_phone=values["contact_phone"],
            address=values["address"],
            latitude=latitude,
            longitude=longitude,
            idempotency_key=_idempotency_key(values["idempotency_key"]),
            answers=tuple(answers),
        ),
        {},
    )


def _coordinates(values: Mapping[str, str], errors: dict[str, str]) -> tuple[float | None, float | None]:
    if not values["latitude"] and not values["longitude"]:
        return None, None
    result: list[float | None] = []
    for name, bound in (("latitude", 90.0), ("longitude", 180.0)):
        try:
            number = float(values[name].replace(",", "."))
        except ValueError:
            errors[name] = N_("Enter a number in decimal degrees, or leave both coordinates empty.")
            result.append(None)
            continue
        if not -bound <= number <= bound:
            errors[name] = N_("This coordinate is out of range.")
        result.append(number)
    return result[0], result[1]


def coordinates(values: Mapping[str, str]) -> tuple[float, float] | None:
    """The form's position when both coordinates are valid numbers in range, else None."""
    errors: dict[str, str] = {}
    latitude, longitude = _coordinates(values, errors)
    if errors or latitude is None or longitude is None:
        return None
    return latitude, longitude


def _idempotency_key(raw: str) -> str:
    """A key we did not issue (empty, odd characters) is replaced: the post still makes a request."""
    return raw if re.fullmatch(r"[0-9a-f]{32}", raw) else new_idempotency_key()
