"""A town administrator's request types: names in each language, department, location, service level,
how requests are assigned, order, whether the type is offered, whether its requests are open data (Open311)
and whether their events go to the town's maintenance system (webhooks); and what the form says before a
request is sent: the open requests nearby, an emergency's message and number, an out-of-hours notice.

A type is never deleted (the requests made with it point at it): it is retired, which takes it off the
form and keeps it everywhere it is already shown. Every change is checked here first and written to the audit
log in the same transaction. A routed request keeps the service level it was routed under (the workflow
holds it), so a change applies to requests routed after it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from domain import audit
from domain.audit import Actor
from domain.catalog import NOTICES, unique_slug
from domain.lifecycle import OPEN_STATUSES
from domain.permissions import DEPARTMENT_ROLES, StaffAccess, assignee_refusal
from domain.routing import service_level
from domain.scope import TenantScope
from domain.sla import ServiceLevel
from domain.staff import members_of
from domain.tables import Department, RequestType, ServiceRequest, StaffUser
from infra.i18n import N_

ASSIGNMENT_MODES = {
    "manual": N_("A supervisor or agent of the department assigns each request"),
    "default": N_("Always to the same person"),
    "round_robin": N_("In turn among the department's agents and supervisors"),
}
# Service-level fields, all stored in seconds and edited in hours.
DURATIONS = (
    "target_seconds",
    "assign_within_seconds",
    "escalate_after_seconds",
    "remind_before_seconds",
    "overdue_escalate_seconds",
)
TEXTS = ("category", "name", "description")
TEXT_LIMITS = {
    "category": 100,
    "name": 200,
    "description": 2000,
    "emergency_message": 500,
    "after_hours_notice": 500,
}
MAX_NEARBY_METRES = 1000
NEARBY_METRES = 50  # the column's default, for a form that leaves the field empty
# A number to call, written as people write it: emergency numbers are as short as two digits (15, 112).
EMERGENCY_PHONE = re.compile(r"[0-9+*#().\-\s]{2,40}")
MAX_HOURS = 24 * 366  # a year: more is a typing mistake
NEEDS_NAME = N_("Enter the name citizens will pick.")
NEEDS_CATEGORY = N_("Enter the category the type is listed under, e.g. Roads.")
TOO_LONG = N_("This is too long.")
NEEDS_DEPARTMENT = N_("Choose the department that works these requests.")
BAD_HOURS = N_("Enter a number of hours between 0.25 and 8784, or leave it empty.")
BAD_ORDER = N_("Enter a whole number; types are listed from the smallest.")
BAD_MODE = N_("Choose how requests are assigned.")
NEEDS_ASSIGNEE = N_("Choose who receives every request of this type.")
ASSIGNEE_ELSEWHERE = N_("This person does not work for the chosen department. Choose someone who does.")
NOBODY_IN_TURN = N_(
    "Nobody works the chosen department as an agent or supervisor, so there is no one to take turns. "
    "Add someone to it first, or assign by hand."
)
TAKEN_NAME = N_("Another type in this category already has this name.")
BAD_NEARBY = N_("Enter a whole number of metres from 0 to 1000; 0 shows no nearby requests.")
NEEDS_EMERGENCY_PHONE = N_("Enter the number to call, for example 911.")
BAD_EMERGENCY_PHONE = N_("Enter a phone number using digits, spaces, + or -.")
NEEDS_EMERGENCY_MESSAGE = N_(
    "Write what to do now, for example: Leave the building and call 911 from outside."
)


@dataclass(frozen=True, kw_only=True)
class TypeSettings:
    """What an administrator sets on a type."""

    texts: dict[str, dict[str, str]]  # language -> {TEXTS and NOTICES}
    department_id: int | None
    needs_location: bool
    active: bool
    sort_order: int
    target_business: bool
    assignment_mode: str
    default_assignee: int | None
    durations: dict[str, int | None]  # DURATIONS, in seconds
    published: bool
    send_to_maintenance: bool
    nearby_metres: int
    emergency: bool
    emergency_phone: str

    def text(self, language: str, name: str, first: str) -> str:
        return self.texts.get(language, {}).get(name) or self.texts.get(first, {}).get(name, "")


@dataclass(frozen=True, kw_only=True)
class TypeEntry(TypeSettings):
    id: int
    code: str


@dataclass(frozen=True, kw_only=True)
class TypeForm(TypeSettings):
    """What the administrator typed, parsed; `errors` by field name."""

    errors: dict[str, str]


def _entry(row: dict[str, Any], first: str) -> TypeEntry:
    """The first language's names are columns; the other languages' names, and every language's notices,
    are in `translations`."""
    texts = {first: {name: row[name] for name in TEXTS}}
    for language, localised in (row["translations"] or {}).items():
        own = texts.setdefault(language, {name: localised.get(name, "") for name in TEXTS})
        own |= {name: localised.get(name, "") for name in NOTICES}
    for own in texts.values():
        own.update({name: own.get(name, "") for name in NOTICES})
    return TypeEntry(
        id=row["id"],
        code=row["code"],
        department_id=row["department"],
        needs_location=row["needs_location"],
        active=row["active"],
        sort_order=row["sort_order"],
        target_business=row["target_business"],
        assignment_mode=row["assignment_mode"],
        default_assignee=row["default_assignee"],
        texts=texts,
        durations={name: row[name] for name in DURATIONS},
        published=row["published"],
        send_to_maintenance=row["send_to_maintenance"],
        nearby_metres=row["nearby_metres"],
        emergency=row["emergency"],
        emergency_phone=row["emergency_phone"],
    )


async def all_types(scope: TenantScope, first_language: str) -> list[TypeEntry]:
    """Offered and retired alike, in the form's order."""
    rows = await scope.select(RequestType).order_by(RequestType.sort_order).order_by(RequestType.id)
    return [_entry(row, first_language) for row in rows]


async def one(scope: TenantScope, type_id: int, first_language: str) -> TypeEntry | None:
    return next((entry for entry in await all_types(scope, first_language) if entry.id == type_id), None)


def parse_hours(text: str) -> tuple[int | None, bool]:
    """Hours typed as `4`, `0.5` or `1,5` -> (seconds or None when empty, whether it was understood)."""
    text = text.strip().replace(",", ".")
    if not text:
        return None, True
    try:
        hours = float(text)
    except ValueError:
        return None, False
    if not 0.25 <= hours <= MAX_HOURS:
        return None, False
    return round(hours * 3600), True


def parse(form: dict[str, Any], languages: tuple[str, ...], row_id: Any) -> TypeForm:
    """`form`: the posted fields (`name_en`, `department`, `target_seconds` in hours...); `row_id` turns a
    typed id into an int or None. Checks what needs no database; `problems` checks the rest."""
    errors: dict[str, str] = {}
    texts = {
        language: {name: str(form.get(f"{name}_{language}", "")).strip() for name in (*TEXTS, *NOTICES)}
        for language in languages
    }
    first = languages[0]
    if not texts[first]["name"]:
        errors[f"name_{first}"] = NEEDS_NAME
    if not texts[first]["category"]:
        errors[f"category_{first}"] = NEEDS_CATEGORY
    emergency = form.get("emergency") == "on"
    if emergency and not texts[first]["emergency_message"]:
        errors[f"emergency_message_{first}"] = NEEDS_EMERGENCY_MESSAGE
    for language in languages:
        for name in (*TEXTS, *NOTICES):
            if len(texts[language][name]) > TEXT_LIMITS[name]:
                errors[f"{name}_{language}"] = TOO_LONG
    phone = " ".join(str(form.get("emergency_phone", "")).split())
    if phone and not (EMERGENCY_PHONE.fullmatch(phone) and sum(c.isdigit() for c in phone) >= 2):
        errors["emergency_phone"] = BAD_EMERGENCY_PHONE
    elif emergency and not phone:
        errors["emergency_phone"] = NEEDS_EMERGENCY_PHONE
    nearby_text = str(form.get("nearby_metres", "")).strip() or str(NEARBY_METRES)
    nearby_metres = int(nearby_text) if re.fullmatch(r"\d{1,4}", nearby_text) else -1
    if not 0 <= nearby_metres <= MAX_NEARBY_METRES:
        errors["nearby_metres"] = BAD_NEARBY
    durations = {}
    for name in DURATIONS:
        durations[name], understood = parse_hours(str(form.get(name, "")))
        if not understood:
            errors[name] = BAD_HOURS
    order_text = str(form.get("sort_order", "0")).strip() or "0"
    if not re.fullmatch(r"-?\d{1,6}", order_text):
        errors["sort_order"] = BAD_ORDER
    mode = str(form.get("assignment_mode", "manual"))
    if mode not in ASSIGNMENT_MODES:
        errors["assignment_mode"] = BAD_MODE
    return TypeForm(
        texts=texts,
        department_id=row_id(str(form.get("department", ""))),
        needs_location=form.get("needs_location") == "on",
        active=form.get("active") == "on",
        sort_order=int(order_text) if "sort_order" not in errors else 0,
        target_business=form.get("target_business") == "on",
        assignment_mode=mode,
        default_assignee=row_id(str(form.get("default_assignee", ""))),
        durations=durations,
        published=form.get("published") == "on",
        send_to_maintenance=form.get("send_to_maintenance") == "on",
        nearby_metres=max(nearby_metres, 0),
        emergency=emergency,
        emergency_phone=phone,
        errors=errors,
    )


async def problems(scope: TenantScope, typed: TypeForm, editing: int | None = None) -> dict[str, str]:
    """The form's own errors, and those the town's data shows: a department of the town, someone to
    assign to when the mode needs one, a name not taken in its category."""
    errors = dict(typed.errors)
    department = typed.department_id
    if department is None or not await scope.exists(Department).where(Department.id == department):
        errors["department"] = NEEDS_DEPARTMENT
        return errors
    if typed.assignment_mode == "default":
        person = (
            typed.default_assignee
            and await scope.select(StaffUser, StaffUser.id, StaffUser.role)
            .where((StaffUser.id == typed.default_assignee) & StaffUser.active.eq(True))
            .first()
        )
        if not person:
            errors["default_assignee"] = NEEDS_ASSIGNEE
        else:
            works = {row["staff"] for row in await members_of(scope, department)}
            access = StaffAccess(person["role"], frozenset({department} if person["id"] in works else ()))
            if assignee_refusal(access, department):
                errors["default_assignee"] = ASSIGNEE_ELSEWHERE
    if typed.assignment_mode == "round_robin":
        in_turn = await scope.exists(StaffUser).where(
            StaffUser.id.is_in(members_of(scope, department))
            & StaffUser.active.eq(True)
            & StaffUser.role.is_in(sorted(DEPARTMENT_ROLES))
        )
        if not in_turn:
            errors["assignment_mode"] = NOBODY_IN_TURN
    first = next(iter(typed.texts))
    same = await scope.select(RequestType, RequestType.id).where(
        (RequestType.name == typed.texts[first]["name"])
        & (RequestType.category == typed.texts[first]["category"])
    )
    if any(row["id"] != editing for row in same):
        errors[f"name_{first}"] = TAKEN_NAME
    return errors


def _columns(typed: TypeForm) -> dict[str, Any]:
    """The first language's names go in their columns; the rest in `translations`, the first language
    first (catalog's notices fall back on the first text stored)."""
    first = next(iter(typed.texts))
    translations = {
        language: {
            name: text
            for name, text in texts.items()
            if text and (name in NOTICES or (name in TEXTS and language != first))
        }
        for language, texts in typed.texts.items()
    }
    return {
        **{name: typed.texts[first][name] for name in TEXTS},
        "translations": {language: texts for language, texts in translations.items() if texts},
        "department": typed.department_id,
        "needs_location": typed.needs_location,
        "active": typed.active,
        "sort_order": typed.sort_order,
        "target_business": typed.target_business,
        "assignment_mode": typed.assignment_mode,
        "default_assignee": typed.default_assignee if typed.assignment_mode == "default" else None,
        "published": typed.published,
        "send_to_maintenance": typed.send_to_maintenance,
        "nearby_metres": typed.nearby_metres,
        "emergency": typed.emergency,
        "emergency_phone": typed.emergency_phone,
        **typed.durations,
    }


async def _department_name(scope: TenantScope, department_id: int | None) -> str | None:
    row = await scope.select(Department, Department.name).where(Department.id == department_id).first()
    return row["name"] if row else None


async def _audited(scope: TenantScope, columns: dict[str, Any]) -> dict[str, Any]:
    """The columns as the log shows them: the department by name, durations in hours."""
    hidden = ("department", "default_assignee", "translations")
    shown = {name: value for name, value in columns.items() if name not in hidden}
    for language, texts in (columns["translations"] or {}).items():
        shown |= {f"{name}_{language}": text for name, text in texts.items()}
    shown["department"] = await _department_name(scope, columns["department"])
    for name in DURATIONS:
        seconds = columns[name]
        shown[name] = None if seconds is None else round(seconds / 3600, 2)
    return shown


async def add(scope: TenantScope, actor: Actor, typed: TypeForm) -> int:
    """A new type (checked with `problems` first); its code, which the form posts, comes from
    its first name and never changes."""
    columns = _columns(typed)
    taken = {row["code"] for row in await scope.select(RequestType, RequestType.code)}
    row = scope.new(RequestType, code=unique_slug(columns["name"], taken, "type"), **columns)
    await row.save()
    await audit.record(scope, actor, "type.added", columns["name"], after=await _audited(scope, columns))
    return row.id


async def change(scope: TenantScope, actor: Actor, entry: TypeEntry, typed: TypeForm) -> None:
    before_row = await scope.select(RequestType).where(RequestType.id == entry.id).first()
    columns = _columns(typed)
    await scope.update(RequestType, columns).where(RequestType.id == entry.id)
    before = await _audited(scope, {name: before_row[name] for name in columns})
    before_shown, after_shown = audit.changed(before, await _audited(scope, columns))
    if before_shown or after_shown:
        action = "type.retired" if entry.active and not typed.active else "type.changed"
        await audit.record(scope, actor, action, columns["name"], before_shown, after_shown)


# How many running requests one "apply" sends the new level to: each is an Update the page waits on.
APPLY_BATCH = 50


def _open_of_type(scope: TenantScope, type_id: int):
    return (ServiceRequest.request_type == type_id) & ServiceRequest.status.is_in(list(OPEN_STATUSES))


async def open_count(scope: TenantScope, type_id: int) -> int:
    return await scope.count(ServiceRequest).where(_open_of_type(scope, type_id))


async def open_references(scope: TenantScope, type_id: int, after: str = "") -> list[str]:
    """A batch of the type's open requests, by reference, after the last reference of the batch before."""
    query = scope.select(ServiceRequest, ServiceRequest.reference).where(_open_of_type(scope, type_id))
    if after:
        query = query.where(ServiceRequest.reference > after)
    rows = await query.order_by(ServiceRequest.reference).limit(APPLY_BATCH)
    return [row["reference"] for row in rows]


async def current_level(scope: TenantScope, type_id: int) -> ServiceLevel | None:
    """The level a request of this type routed now would get: the type's and the town's calendar."""
    row = await scope.select(RequestType).where(RequestType.id == type_id).first()
    return await service_level(scope, row) if row else None
