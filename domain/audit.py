"""The town's audit log: every change to its configuration, who made it, when, and the values before and
after. Written in the transaction of the change itself, so a change and its entry stand or fall together."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.scope import TenantScope
from domain.tables import AuditEntry
from infra.i18n import N_, gettext

ACTION_LABELS = {
    "department.added": N_("Department added"),
    "department.changed": N_("Department changed"),
    "type.added": N_("Request type added"),
    "type.changed": N_("Request type changed"),
    "type.retired": N_("Request type retired"),
    "question.added": N_("Question added"),
    "question.changed": N_("Question changed"),
    "question.moved": N_("Question moved"),
    "question.removed": N_("Question deleted"),
    "staff.invited": N_("Staff member invited"),
    "staff.invitation_sent_again": N_("Invitation sent again"),
    "staff.joined": N_("Invitation accepted"),
    "staff.changed": N_("Role or departments changed"),
    "staff.deactivated": N_("Staff member deactivated"),
    "staff.reactivated": N_("Staff member reactivated"),
    "calendar.hours": N_("Time zone or opening hours changed"),
    "calendar.holidays_added": N_("Holidays added"),
    "calendar.holiday_removed": N_("Holiday removed"),
    "sign_in.two_factor": N_("Two-step sign-in changed"),
    "sign_in.provider_added": N_("Sign-in service added"),
    "sign_in.provider_removed": N_("Sign-in service removed"),
    "branding.changed": N_("Name, colours or contact changed"),
    "branding.logo": N_("Logo changed"),
    "embed.origins": N_("Websites allowed to embed the portal changed"),
    "launch.live": N_("Portal switched live"),
    "launch.paused": N_("Portal switched back to “coming soon”"),
    "town.created": N_("Municipality created"),
    "routing.added": N_("Routing rule added"),
    "routing.removed": N_("Routing rule removed"),
    "domain.added": N_("Own address added"),
    "domain.verified": N_("Own address verified"),
    "domain.removed": N_("Own address removed"),
    "mail.changed": N_("Mail text changed"),
    "api_key.created": N_("API key created"),
    "api_key.revoked": N_("API key revoked"),
    "webhook.created": N_("Webhook subscription added"),
    "webhook.changed": N_("Webhook subscription changed"),
    "webhook.deleted": N_("Webhook subscription deleted"),
    "webhook.secret_rotated": N_("Webhook signing secret replaced"),
    "webhook.redelivered": N_("Webhook delivery sent again"),
    "places.imported": N_("Addresses and streets imported"),
    "map.boundary": N_("Municipal boundary changed"),
    "map.changed": N_("Map settings changed"),
}
# The week's days by domain.calendar's names: the calendar's fields, on its page and in its entries.
DAY_LABELS = {
    "mon": N_("Monday"),
    "tue": N_("Tuesday"),
    "wed": N_("Wednesday"),
    "thu": N_("Thursday"),
    "fri": N_("Friday"),
    "sat": N_("Saturday"),
    "sun": N_("Sunday"),
}
# The fields an entry records, as its reader reads them; `name_fr` is "Name (fr)".
FIELD_LABELS = {
    **DAY_LABELS,
    "name": N_("Name"),
    "category": N_("Category"),
    "description": N_("Description"),
    "email": N_("Email address"),
    "role": N_("Role"),
    "departments": N_("Departments"),
    "department": N_("Department"),
    "active": N_("Active"),
    "needs_location": N_("Location needed"),
    "sort_order": N_("Position on the form"),
    "target_business": N_("Business hours only"),
    "assignment_mode": N_("Who receives a new request"),
    "target_seconds": N_("Resolve within (hours)"),
    "assign_within_seconds": N_("Remind if not assigned within (hours)"),
    "escalate_after_seconds": N_("Then escalate after (hours)"),
    "remind_before_seconds": N_("Remind before due (hours)"),
    "overdue_escalate_seconds": N_("Escalate when overdue by (hours)"),
    "required": N_("Two-step sign-in required"),
    "timezone": N_("Time zone"),
    "holidays": N_("Holidays"),
    "audience": N_("For"),
    "label": N_("Button name"),
    "issuer": N_("Issuer address"),
    "email_domains": N_("E-mail domains"),
    "default_role": N_("Role for those people"),
    "group_roles": N_("Groups and roles"),
    "brand_color": N_("Header colour"),
    "brand_text_color": N_("Header text colour"),
    "contact_email": N_("Public contact e-mail"),
    "contact_phone": N_("Public phone number"),
    "footer_links": N_("Links at the foot of every page"),
    "logo": N_("Logo"),
    "origins": N_("Your website's addresses"),
    "starter": N_("Starter catalogue"),
    "request_type": N_("Type of request"),
    "keyword": N_("Keyword"),
    "area": N_("Area"),
    "assignee": N_("Person"),
    "position": N_("Position"),
    "host": N_("Host name"),
    "subject": N_("Subject"),
    "lead": N_("Opening sentence"),
    "published": N_("Open data"),
    "send_to_maintenance": N_("Sent to the maintenance system"),
    "scopes": N_("What the key may do"),
    "url": N_("Address"),
    "events": N_("Events"),
    "event": N_("Event"),
    "message_id": N_("Message id"),
    "addresses": N_("Address points"),
    "streets": N_("Streets"),
    "boundary_points": N_("Points of the boundary"),
    "tile_url": N_("Map tiles address"),
    "tile_attribution": N_("Map credit"),
    "geocoder_url": N_("Geocoder address"),
    "code": N_("Code"),
    "kind": N_("Kind of answer"),
    "must_answer": N_("Must be answered"),
    "prompt": N_("Question"),
    "hint": N_("Hint"),
    "choices": N_("Answers to choose from"),
    "shown_when": N_("Asked only when"),
}
PAGE_SIZE = 50


def field_label(key: str) -> str:
    """Translated when the page is drawn, in the reader's language."""
    field, _, language = key.rpartition("_")
    if key not in FIELD_LABELS and field in FIELD_LABELS and len(language) == 2:
        return f"{gettext(FIELD_LABELS[field])} ({language})"
    return gettext(FIELD_LABELS[key]) if key in FIELD_LABELS else key


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
    added: bool  # no value before
    removed: bool  # no value after


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
                Change(
                    name,
                    row["before"].get(name),
                    row["after"].get(name),
                    added=name not in row["before"],
                    removed=name not in row["after"],
                )
                for name in dict.fromkeys([*row["before"], *row["after"]])
            ],
        )
        for row in await query
    ]
