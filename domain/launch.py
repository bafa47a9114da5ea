"""Going live: what a new town still lacks before the public may use its portal, the switch itself, and
the origins of the town's own website that may embed the portal in a frame."""

from __future__ import annotations

import re
from dataclasses import dataclass

from domain import audit, request_types, team
from domain.audit import Actor
from domain.scope import TenantScope
from domain.tables import AuditEntry
from infra.i18n import N_
from tenants.tables import Tenant

ORIGIN = re.compile(r"^https?://[a-z0-9.-]+(?::[0-9]{1,5})?$")
MAX_ORIGINS = 10
BAD_ORIGINS = N_(
    "Write each address of your website as https://www.town.example, without a path, one per line; at "
    "most ten."
)
NOT_READY = N_("The portal cannot go live yet: finish the steps marked as needed first.")


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    link: str
    done: bool
    needed: bool  # going live waits for it
    problems: tuple[str, ...] = ()  # names of what is missing, e.g. the departments nobody works


async def _touched(scope: TenantScope, *actions: str) -> bool:
    return await scope.exists(AuditEntry).where(AuditEntry.action.is_in(list(actions)))


async def checklist(scope: TenantScope, language: str, first_language: str) -> list[Step]:
    types = [entry for entry in await request_types.all_types(scope, first_language) if entry.active]
    receiving = {entry.department_id for entry in types}
    unstaffed = tuple(
        department.display_name
        for department in await team.departments(scope, language)
        if department.id in receiving and not department.members
    )
    people = [person for person in await team.members(scope) if person.active]
    joined = [person for person in people if not person.invited]
    origins = await embed_origins(scope)
    return [
        Step(
            "branding",
            N_("Name, colours and logo"),
            "/admin/settings/branding",
            await _touched(scope, "branding.changed", "branding.logo"),
            needed=False,
        ),
        Step("types", N_("Request types citizens can choose"), "/admin/settings/types", bool(types), True),
        Step(
            "departments",
            N_("Someone works each department that receives requests"),
            "/admin/settings/departments",
            bool(types) and not unstaffed,
            needed=True,
            problems=unstaffed,
        ),
        Step("staff", N_("Staff have joined"), "/admin/settings/staff", len(joined) > 1, needed=False),
        Step(
            "calendar",
            N_("Opening hours and holidays"),
            "/admin/settings/calendar",
            await _touched(scope, "calendar.hours", "calendar.holidays_added"),
            needed=False,
        ),
        Step("embed", N_("Your website embeds the portal"), "/admin/settings/embed", bool(origins), False),
    ]


def ready(steps: list[Step]) -> bool:
    return all(step.done for step in steps if step.needed)


async def is_live(scope: TenantScope) -> bool:
    row = await Tenant.select(Tenant.live).where(Tenant.id == scope.tenant_id).first()
    return bool(row and row["live"])


async def set_live(scope: TenantScope, actor: Actor, live: bool) -> None:
    await Tenant.update({Tenant.live: live}).where(Tenant.id == scope.tenant_id)
    await audit.record(scope, actor, "launch.live" if live else "launch.paused", "")


async def embed_origins(scope: TenantScope) -> list[str]:
    row = await Tenant.select(Tenant.embed_origins).where(Tenant.id == scope.tenant_id).first()
    return (row["embed_origins"] if row else "").split()


def parse_origins(text: str) -> list[str] | None:
    origins = [origin.lower().rstrip("/") for origin in text.split()]
    if len(origins) > MAX_ORIGINS or not all(ORIGIN.match(origin) for origin in origins):
        return None
    return list(dict.fromkeys(origins))


async def save_origins(scope: TenantScope, actor: Actor, origins: list[str]) -> None:
    before = await embed_origins(scope)
    await Tenant.update({Tenant.embed_origins: " ".join(origins)}).where(Tenant.id == scope.tenant_id)
    if before != origins:
        await audit.record(scope, actor, "embed.origins", "", {"origins": before}, {"origins": origins})
