"""The town's audit log: every change to its configuration, who made it, when, and the values before and
after. Written in the transaction of the change itself, so a change and its entry stand or fall together."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.scope import TenantScope
from domain.tables import AuditEntry
from infra.i18n import N_

ACTION_LABELS = {
    "department.added": N_("Department added"),
    "department.changed": N_("Department changed"),
    "type.added": N_("Request type added"),
    "type.changed": N_("Request type changed"),
    "type.retired": N_("Request type retired"),
    "staff.invited": N_("Staff member invited"),
    "staff.invitation_sent_again": N_("Invitation sent again"),
    "staff.joined": N_("Invitation accepted"),
    "staff.changed": N_("Role or departments changed"),
    "staff.deactivated": N_("Staff member deactivated"),
    "staff.reactivated": N_("Staff member reactivated"),
    "sign_in.two_factor": N_("Two-step sign-in changed"),
    "sign_in.provider_added": N_("Sign-in service added"),
    "sign_in.provider_removed": N_("Sign-in service removed"),
}
PAGE_SIZE = 50


@dataclass(frozen=True)
class Actor:
    """Who made a change, as the entry will always show them."""

    id: int | None
    name: str


@dataclass(frozen=True)
class Change:
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class Entry:
    id: int
    at: datetime
    actor_name: str
    action: str
    subject: str
    changes: list[Change]


async def record(
    scope: TenantScope,
    actor: Actor,
    action: str,
    subject: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """`before`/`after`: the values that changed, by field (an addition has no `before`, a removal no
    `after`). Values must be JSON: names, flags, lists of names, never secrets."""
    if action not in ACTION_LABELS:
        raise ValueError(f"unknown audit action {action!r}")
    await scope.new(
        AuditEntry,
        actor_id=actor.id,
        actor_name=actor.name,
        action=action,
        subject=subject,
        before=before or {},
        after=after or {},
    ).save()


def changed(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields whose value differs, from both sides."""
    fields = [name for name in dict.fromkeys([*before, *after]) if before.get(name) != after.get(name)]
    return (
        {name: before[name] for name in fields if name in before},
        {name: after[name] for name in fields if name in after},
    )


async def entries(scope: TenantScope, older_than: int | None = None) -> list[Entry]:
    """A page of the log, newest first; `older_than` is the last id of the page before."""
    query = scope.select(AuditEntry).order_by(AuditEntry.id, ascending=False).limit(PAGE_SIZE)
    if older_than is not None:
        query = query.where(AuditEntry.id < older_than)
    return [
        Entry(
            id=row["id"],
            at=row["created_at"],
            actor_name=row["actor_name"],
            action=row["action"],
            subject=row["subject"],
            changes=[
                Change(name, row["before"].get(name), row["after"].get(name))
                for name in dict.fromkeys([*row["before"], *row["after"]])
            ],
        )
        for row in await query
    ]
