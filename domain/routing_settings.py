"""The town administrator's routing rules, and the preview that answers "a pothole reported on Main St
would go to … and be due …" with the very rules `domain.routing` applies to a new request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from domain import audit, routing, team
from domain.audit import Actor
from domain.scope import TenantScope
from domain.sla import Clock, due_at
from domain.staff import assignees
from domain.tables import Department, RequestType, RoutingRule
from infra.i18n import N_

BOX = ("min_latitude", "max_latitude", "min_longitude", "max_longitude")
LIMITS = {"min_latitude": 90.0, "max_latitude": 90.0, "min_longitude": 180.0, "max_longitude": 180.0}
MAX_RULES = 200

CHOOSE_DEPARTMENT = N_("Choose the department that receives the requests this rule matches.")
UNKNOWN_TYPE = N_("Choose a request type from the list, or any type.")
BAD_ASSIGNEE = N_("Choose someone who works in that department, or nobody (the department's queue).")
BAD_BOUND = N_("Enter a latitude between -90 and 90 or a longitude between -180 and 180, such as 45.5017.")
EMPTY_BOX = N_("The area's minimum must be below its maximum.")
BAD_POSITION = N_("Enter a whole number: rules are tried from the lowest position up.")
TOO_BROAD = N_(
    "Give the rule a request type, a keyword or an area: a rule for everything replaces the types' own "
    "departments."
)
TOO_MANY_RULES = N_("A municipality has at most 200 rules.")


@dataclass(frozen=True)
class RuleEntry:
    id: int
    position: int
    type_name: str  # "" for any type
    keyword: str
    box: tuple[float | None, ...]
    department_name: str
    assignee_name: str  # "" for the department's queue


@dataclass(frozen=True)
class RuleForm:
    values: dict[str, str]  # as typed, for the form
    columns: dict[str, Any]  # parsed, for the table


@dataclass(frozen=True)
class Preview:
    department_name: str
    rule_position: int | None  # None: the type's own department
    assignment: str  # "person", "rotation", "queue"
    people: tuple[str, ...]  # the person, or those the rotation takes turns among
    due: datetime | None


async def _names(scope: TenantScope, language: str) -> tuple[dict[int, str], dict[int, str], dict[int, str]]:
    types = {
        row["id"]: ((row["translations"] or {}).get(language, {}).get("name") or row["name"])
        for row in await scope.select(RequestType, RequestType.id, RequestType.name, RequestType.translations)
    }
    departments = {entry.id: entry.display_name for entry in await team.departments(scope, language)}
    people = {person.id: person.name for person in await team.members(scope)}
    return types, departments, people


async def entries(scope: TenantScope, language: str) -> list[RuleEntry]:
    types, departments, people = await _names(scope, language)
    rows = await scope.select(RoutingRule).order_by(RoutingRule.position).order_by(RoutingRule.id)
    return [
        RuleEntry(
            id=row["id"],
            position=row["position"],
            type_name=types.get(row["request_type"], "") if row["request_type"] else "",
            keyword=row["keyword"],
            box=tuple(row[name] for name in BOX),
            department_name=departments.get(row["department"], ""),
            assignee_name=people.get(row["assignee"], "") if row["assignee"] else "",
        )
        for row in rows
    ]


def parse_number(text: str) -> float | None:
    try:
        return float(text.replace(",", "."))
    except ValueError:
        return None


async def parse(scope: TenantScope, typed: dict[str, str]) -> tuple[RuleForm, dict[str, str]]:
    """The rule as typed, and the messages by field; the same rules as routing reads."""
    errors: dict[str, str] = {}
    columns: dict[str, Any] = {"keyword": typed.get("keyword", "").strip()[:100]}
    type_ids = {row["id"] for row in await scope.select(RequestType, RequestType.id)}
    department_ids = {row["id"] for row in await scope.select(Department, Department.id)}
    chosen_type = typed.get("request_type", "")
    columns["request_type"] = int(chosen_type) if chosen_type.isdigit() else None
    if chosen_type and columns["request_type"] not in type_ids:
        errors["request_type"] = UNKNOWN_TYPE
    department = typed.get("department", "")
    columns["department"] = int(department) if department.isdigit() else None
    if columns["department"] not in department_ids:
        errors["department"] = CHOOSE_DEPARTMENT
    assignee = typed.get("assignee", "")
    columns["assignee"] = int(assignee) if assignee.isdigit() else None
    if assignee and "department" not in errors:
        allowed = {person.id for person in await assignees(scope, columns["department"])}
        if columns["assignee"] not in allowed:
            errors["assignee"] = BAD_ASSIGNEE
    for name in BOX:
        text = typed.get(name, "").strip()
        value = parse_number(text) if text else None
        if text and (value is None or abs(value) > LIMITS[name]):
            errors[name] = BAD_BOUND
        columns[name] = value
    for low, high in (("min_latitude", "max_latitude"), ("min_longitude", "max_longitude")):
        bounds = (columns[low], columns[high])
        if not errors.keys() & {low, high} and None not in bounds and bounds[0] >= bounds[1]:
            errors[high] = EMPTY_BOX
    position = typed.get("position", "").strip() or "0"
    if not position.lstrip("-").isdigit() or abs(int(position)) > 10_000:
        errors["position"] = BAD_POSITION
    columns["position"] = int(position) if "position" not in errors else 0
    if not (columns["request_type"] or columns["keyword"] or any(columns[name] is not None for name in BOX)):
        errors.setdefault("request_type", TOO_BROAD)
    if await scope.count(RoutingRule) >= MAX_RULES:
        errors["form"] = TOO_MANY_RULES
    return RuleForm(values=typed, columns=columns), errors


def _described(columns: dict[str, Any], names: tuple[dict, dict, dict]) -> dict[str, Any]:
    types, departments, people = names
    return {
        "request_type": types.get(columns["request_type"], "") if columns["request_type"] else "",
        "keyword": columns["keyword"],
        "area": [columns[name] for name in BOX] if any(columns[name] is not None for name in BOX) else "",
        "department": departments.get(columns["department"], ""),
        "assignee": people.get(columns["assignee"], "") if columns["assignee"] else "",
        "position": columns["position"],
    }


async def add(scope: TenantScope, actor: Actor, form: RuleForm) -> None:
    await scope.new(RoutingRule, **form.columns).save()
    described = _described(form.columns, await _names(scope, "en"))
    await audit.record(scope, actor, "routing.added", described["department"], after=described)


async def remove(scope: TenantScope, actor: Actor, rule_id: int) -> bool:
    row = await scope.select(RoutingRule).where(RoutingRule.id == rule_id).first()
    if row is None:
        return False
    await scope.delete(RoutingRule).where(RoutingRule.id == rule_id)
    described = _described(row, await _names(scope, "en"))
    await audit.record(scope, actor, "routing.removed", described["department"], before=described)
    return True


async def preview(
    scope: TenantScope,
    language: str,
    request_type_id: int,
    text: str,
    latitude: float | None = None,
    longitude: float | None = None,
    now: datetime | None = None,
) -> Preview | None:
    """Where a request of that type, with that text and place, would go now; None for an unknown type.
    It claims nobody's turn: the rotation says whom it takes turns among."""
    request_type = await scope.select(RequestType).where(RequestType.id == request_type_id).first()
    if request_type is None:
        return None
    now = now or datetime.now(UTC)
    all_rules = await routing.rules(scope)
    request = {
        "request_type": request_type_id,
        "description": text,
        "address": "",
        "latitude": latitude,
        "longitude": longitude,
    }
    rule = routing.matching_rule(all_rules, request)
    department_id, person = routing.destination(rule, request_type)
    _, departments, _ = await _names(scope, language)
    candidates = await assignees(scope, department_id)
    allowed = {candidate.id: candidate.name for candidate in candidates}
    names: tuple[str, ...]
    if person is not None and person in allowed:
        assignment, names = "person", (allowed[person],)
    elif person is None and request_type["assignment_mode"] == "round_robin":
        rotation = tuple(c.name for c in candidates if c.role in routing.AGENT_ROLES)
        assignment, names = ("rotation", rotation) if rotation else ("queue", ())
    else:
        assignment, names = "queue", ()
    level = await routing.service_level(scope, request_type)
    position = None
    if rule is not None:
        position = next(index for index, candidate in enumerate(all_rules, start=1) if candidate is rule)
    return Preview(
        department_name=departments.get(department_id, "") if department_id else "",
        rule_position=position,
        assignment=assignment,
        people=names,
        due=due_at(level, Clock(running_since=now)),
    )
