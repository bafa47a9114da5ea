"""Where a new request goes: routing rules by keyword or area, then the type's department; and who gets it:
the rule's assignee, the type's default assignee, or the department's agent who has waited longest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from domain import lifecycle, timeline
from domain.moves import Move, apply_move
from domain.scope import CompiledQuery, TenantScope
from domain.sla import Clock, ServiceLevel, deadlines, due_at
from domain.staff import assignees, members_of
from domain.tables import RequestType, RoutingRule, ServiceRequest, StaffUser
from domain.writes import short_key
from tenants.resolve import tenant_by_id

AGENT_ROLES = ("agent", "supervisor")


@dataclass(frozen=True)
class Rule:
    request_type_id: int | None
    keyword: str
    min_latitude: float | None
    max_latitude: float | None
    min_longitude: float | None
    max_longitude: float | None
    department_id: int
    assignee_id: int | None


@dataclass(frozen=True)
class Routed:
    status: str
    department_id: int | None
    assignee_id: int | None
    level: ServiceLevel
    routed_at: datetime


def matching_rule(rules: list[Rule], request: dict) -> Rule | None:
    """The first rule (in position order) whose type, keyword and area all match the request."""
    text = f"{request['description']} {request['address']}".casefold()
    for rule in rules:
        if rule.request_type_id is not None and rule.request_type_id != request["request_type"]:
            continue
        if rule.keyword and rule.keyword.casefold() not in text:
            continue
        box = (rule.min_latitude, rule.max_latitude, rule.min_longitude, rule.max_longitude)
        if any(bound is not None for bound in box):
            latitude, longitude = request["latitude"], request["longitude"]
            if latitude is None or longitude is None:
                continue
            if not _inside(latitude, rule.min_latitude, rule.max_latitude) or not _inside(
                longitude, rule.min_longitude, rule.max_longitude
            ):
                continue
        return rule
    return None


def destination(rule: Rule | None, request_type: dict) -> tuple[int | None, int | None]:
    """The department and the person a request goes to before any rotation: the matching rule's, else
    the type's department and, in "default" mode, its default assignee. Routing and its preview share it."""
    department_id = rule.department_id if rule else request_type["department"]
    person = rule.assignee_id if rule else None
    if person is None and request_type["assignment_mode"] == "default":
        person = request_type["default_assignee"]
    return department_id, person


def _inside(value: float, low: float | None, high: float | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


_RULES = CompiledQuery(
    RoutingRule,
    lambda scope: scope.select(RoutingRule).order_by(RoutingRule.position).order_by(RoutingRule.id),
)
_PLACE = CompiledQuery(
    ServiceRequest,
    lambda scope, request_id: scope.select(
        ServiceRequest, ServiceRequest.status, ServiceRequest.department, ServiceRequest.assignee
    ).where(ServiceRequest.id == request_id),
)
_TO_ROUTE = CompiledQuery(
    ServiceRequest,
    lambda scope, request_id: scope.select(
        ServiceRequest,
        ServiceRequest.request_type,
        ServiceRequest.description,
        ServiceRequest.address,
        ServiceRequest.latitude,
        ServiceRequest.longitude,
        ServiceRequest.created_at,
    ).where(ServiceRequest.id == request_id),
)
_TYPE = CompiledQuery(
    RequestType, lambda scope, type_id: scope.select(RequestType).where(RequestType.id == type_id)
)


async def rules(scope: TenantScope) -> list[Rule]:
    rows = await _RULES.rows(scope)
    return [
        Rule(
            request_type_id=row["request_type"],
            keyword=row["keyword"],
            min_latitude=row["min_latitude"],
            max_latitude=row["max_latitude"],
            min_longitude=row["min_longitude"],
            max_longitude=row["max_longitude"],
            department_id=row["department"],
            assignee_id=row["assignee"],
        )
        for row in rows
    ]


async def next_in_rotation(scope: TenantScope, department_id: int, now: datetime) -> int | None:
    """Round robin: the active agent of the department who was assigned longest ago (or never).

    Claims the agent with a compare-and-set on last_assigned_at, so two requests routed at the same
    moment go to two different people.
    """
    never = datetime.min.replace(tzinfo=UTC)
    for _ in range(10):
        agents = await scope.select(StaffUser, StaffUser.id, StaffUser.last_assigned_at).where(
            StaffUser.id.is_in(members_of(scope, department_id))
            & StaffUser.active.eq(True)
            & StaffUser.role.is_in(list(AGENT_ROLES))
        )
        if not agents:
            return None
        chosen = min(agents, key=lambda agent: (agent["last_assigned_at"] or never, agent["id"]))
        previous = chosen["last_assigned_at"]
        unchanged = (
            StaffUser.last_assigned_at.is_null()
            if previous is None
            else StaffUser.last_assigned_at == previous
        )
        claimed = (
            await scope.update(StaffUser, {StaffUser.last_assigned_at: now})
            .where((StaffUser.id == chosen["id"]) & unchanged)
            .returning(StaffUser.id)
        )
        if claimed:
            return chosen["id"]
    return None


async def service_level(scope: TenantScope, request_type: dict) -> ServiceLevel:
    tenant = await tenant_by_id(scope.tenant_id)
    if tenant is None:
        raise LookupError(f"tenant {scope.tenant_id} no longer exists")
    calendar = tenant.business_calendar
    return ServiceLevel(
        timezone=tenant.timezone,
        hours=calendar.get("hours"),
        holidays=list(calendar.get("holidays", [])),
        target_seconds=request_type["target_seconds"],
        target_business=request_type["target_business"],
        assign_within=request_type["assign_within_seconds"],
        escalate_after=request_type["escalate_after_seconds"],
        remind_before=request_type["remind_before_seconds"],
        overdue_escalate=request_type["overdue_escalate_seconds"],
        citizen_remind=request_type["citizen_remind_seconds"],
        citizen_close=request_type["citizen_close_seconds"],
        reopen_window=tenant.reopen_window_seconds,
    )


async def already_routed(scope: TenantScope, request_id: int, action_key: str) -> dict | None:
    event = await timeline.written_under(scope, short_key(action_key))
    if event is None:
        return None
    row = await _PLACE.first(scope, request_id)
    if row is None:
        raise LookupError(f"request {request_id} is not in this tenant")
    return {**row, "routed_at": event["created_at"]}


async def route(scope: TenantScope, request_id: int, action_key: str) -> Routed:
    """Routes once: a retried activity finds its moves already made and answers the same."""
    request = await _TO_ROUTE.first(scope, request_id)
    request_type = request and await _TYPE.first(scope, request["request_type"])
    if request is None or request_type is None:
        raise LookupError(f"request {request_id} is not in this tenant")
    level = await service_level(scope, request_type)
    if done := await already_routed(scope, request_id, action_key):
        return Routed(done["status"], done["department"], done["assignee"], level, done["routed_at"])
    routed_at = datetime.now(UTC)
    department_id, assignee_id = destination(matching_rule(await rules(scope), request), request_type)
    if assignee_id is None and request_type["assignment_mode"] == "round_robin" and department_id:
        assignee_id = await next_in_rotation(scope, department_id, routed_at)
    if assignee_id is not None and assignee_id not in {p.id for p in await assignees(scope, department_id)}:
        assignee_id = None  # a rule or type names someone who could not open it: the queue has it instead
    due = due_at(level, Clock(running_since=routed_at))
    # What the workflow will sleep on once it has this answer (the clock it starts, as it starts it).
    clock = Clock(running_since=routed_at, unassigned_since=None if assignee_id else routed_at)
    upcoming = deadlines(level, clock, assigned=assignee_id is not None, waiting=False)
    status = await apply_move(
        scope,
        Move(
            request_id,
            lifecycle.ROUTE,
            action_key,
            department_id=department_id,
            due_at=due,
            upcoming=upcoming,
        ),
    )
    if assignee_id is not None:
        status = await apply_move(
            scope,
            Move(request_id, lifecycle.ASSIGN, f"{action_key}:assign", assignee_id=assignee_id, public=False),
        )
    return Routed(status, department_id, assignee_id, level, routed_at)
