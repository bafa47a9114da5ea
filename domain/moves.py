"""Each change of a request's state, persisted as the workflow asks for it, once per action key."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from domain import lifecycle, timeline, webhooks
from domain.scope import CompiledQuery, TenantScope
from domain.tables import RequestEvent, RequestFollower, ServiceRequest
from domain.writes import short_key, utc_now, write_transaction


@dataclass(frozen=True)
class Move:
    """One persisted change, as the workflow asks for it. `action_key` makes a retried write land once."""

    request_id: int
    action: str
    action_key: str
    actor_id: int | None = None
    body: str = ""
    public: bool = True
    assignee_id: int | None = None
    close_reason: str = ""
    duplicate_of: str = ""
    department_id: int | None = None
    # The maintenance system's number for its work order (sent with a note through the integration API).
    work_order: str = ""
    # citizen | staff | integration | system; empty means staff when there is an actor, else system.
    actor_kind: str = ""
    due_at: datetime | None = None
    reopen_until: datetime | None = None
    # What fires next after this move (deadline name -> when); None leaves what is stored.
    upcoming: dict[str, datetime] | None = None


_STATUS = CompiledQuery(
    ServiceRequest,
    lambda scope, request_id: scope.select(
        ServiceRequest,
        ServiceRequest.status,
        ServiceRequest.request_type.send_to_maintenance.as_alias("to_maintenance"),
    ).where(ServiceRequest.id == request_id),
)


async def apply_move(scope: TenantScope, move: Move) -> str:
    """Persists the move and its timeline line in one transaction; returns the new status."""
    async with write_transaction():
        action_key = short_key(move.action_key)
        row = await _STATUS.first(scope, move.request_id)
        if row is None:
            raise LookupError(f"request {move.request_id} is not in this tenant")
        if await timeline.written_under(scope, action_key):
            return row["status"]
        status = lifecycle.next_status(row["status"], move.action)
        now = utc_now()
        values = _changes(move, status, now)
        if move.action == lifecycle.CLOSE and move.close_reason == "duplicate":
            await _follow_original(scope, move.request_id, move.duplicate_of)
        await scope.update(ServiceRequest, values).where(ServiceRequest.id == move.request_id)
        await scope.new(
            RequestEvent,
            request=move.request_id,
            kind=move.action,
            from_status=row["status"],
            to_status=status,
            actor_kind=move.actor_kind or ("staff" if move.actor_id else "system"),
            actor=move.actor_id,
            body=move.body,
            public=move.public,
            action_key=action_key,
            created_at=now,
        ).save()
        if row["to_maintenance"]:
            note = move.body if move.public else ""
            events = webhooks.events_of(move.action, row["status"], status, bool(note.strip()))
            await webhooks.record(scope, move.request_id, events, row["status"], note)
        return status


def _changes(move: Move, status: str, now: datetime) -> dict:
    values: dict = {ServiceRequest.status: status, ServiceRequest.updated_at: now}
    if move.due_at is not None:
        values[ServiceRequest.due_at] = move.due_at
    if move.upcoming is not None:
        values[ServiceRequest.upcoming] = json.dumps(
            {key: when.isoformat() for key, when in move.upcoming.items()}
        )
    if move.work_order:
        values[ServiceRequest.work_order] = move.work_order
    if move.action in (lifecycle.ROUTE, lifecycle.TRANSFER):
        values[ServiceRequest.department] = move.department_id
    if move.action == lifecycle.ROUTE:
        values[ServiceRequest.workflow_started] = True  # its workflow is what routes it
    if move.action == lifecycle.TRANSFER:
        values[ServiceRequest.assignee] = None
    if move.action == lifecycle.ASSIGN:
        values[ServiceRequest.assignee] = move.assignee_id
    if move.action == lifecycle.CLOSE:
        values |= {
            ServiceRequest.close_reason: move.close_reason,
            ServiceRequest.duplicate_of: move.duplicate_of.strip().upper(),
            ServiceRequest.closed_at: now,
            ServiceRequest.reopen_until: move.reopen_until,
        }
    if move.action == lifecycle.REOPEN:
        values |= {
            ServiceRequest.close_reason: "",
            ServiceRequest.duplicate_of: "",
            ServiceRequest.reopen_until: None,
            ServiceRequest.closed_at: None,
        }
    return values


async def _follow_original(scope: TenantScope, duplicate_id: int, original_reference: str) -> None:
    """The duplicate's author is told of the original's progress from now on."""
    duplicate = (
        await scope.select(ServiceRequest, ServiceRequest.contact_email, ServiceRequest.language)
        .where(ServiceRequest.id == duplicate_id)
        .first()
    )
    original = (
        await scope.select(ServiceRequest, ServiceRequest.id, ServiceRequest.contact_email)
        .where(ServiceRequest.reference == original_reference.strip().upper())
        .first()
    )
    if original is None or original["contact_email"] == duplicate["contact_email"]:
        return
    already = await scope.exists(RequestFollower).where(
        (RequestFollower.request == original["id"]) & (RequestFollower.email == duplicate["contact_email"])
    )
    if not already:
        await scope.new(
            RequestFollower,
            request=original["id"],
            email=duplicate["contact_email"],
            language=duplicate["language"],
        ).save()
