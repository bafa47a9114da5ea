"""A town administrator's departments and staff: who works where, invitations, roles, deactivation.

Every change is checked here (a message per field, nothing saved when one is wrong) and written to the
audit log in the same transaction. A member is invited with no password: the single-use link mailed to
them sets it, so nobody else ever knows it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from domain import audit
from domain.audit import Actor
from domain.catalog import unique_slug
from domain.intake import BAD_EMAIL, valid_email
from domain.permissions import DEPARTMENT_ROLES, ROLES
from domain.scope import TenantScope
from domain.staff import hash_password
from domain.tables import Department, StaffDepartment, StaffUser
from infra.i18n import N_
from infra.security import token_digest

INVITATION_LIFETIME = timedelta(days=7)
NAME_LIMIT, EMAIL_LIMIT = 200, 254
NEEDS_NAME = N_("Enter the person's name.")
TAKEN_EMAIL = N_("Someone on this town's staff already has this address.")
NEEDS_ROLE = N_("Choose a role.")
NEEDS_DEPARTMENT = N_("Agents and supervisors work for at least one department: choose one or more.")
UNKNOWN_DEPARTMENT = N_("Choose departments from the list.")
NOT_YOURSELF = N_("You cannot change your own role or deactivate yourself; ask another administrator.")
NEEDS_DEPARTMENT_NAME = N_("Enter the department's name.")
TAKEN_DEPARTMENT_NAME = N_("Another department already has this name.")
BAD_DEPARTMENT_EMAIL = N_("Enter an email address like name@example.com, or leave it empty.")


@dataclass(frozen=True)
class TeamMember:
    id: int
    name: str
    email: str
    role: str
    active: bool
    invited: bool  # invited and not joined yet
    department_ids: tuple[int, ...]


@dataclass(frozen=True)
class DepartmentEntry:
    id: int
    slug: str
    name: str  # in the town's first language; `translations` holds the others
    display_name: str  # in the reader's language
    email: str
    translations: dict[str, str]
    members: tuple[str, ...]  # names of the active staff who work it


def _now() -> datetime:
    return datetime.now(UTC)


async def members(scope: TenantScope) -> list[TeamMember]:
    rows = await scope.select(
        StaffUser,
        StaffUser.id,
        StaffUser.name,
        StaffUser.email,
        StaffUser.role,
        StaffUser.active,
        StaffUser.invitation_hash,
    ).order_by(StaffUser.name)
    links = await scope.select(StaffDepartment, StaffDepartment.staff, StaffDepartment.department)
    works: dict[int, list[int]] = {}
    for link in links:
        works.setdefault(link["staff"], []).append(link["department"])
    return [
        TeamMember(
            id=row["id"],
            name=row["name"],
            email=row["email"],
            role=row["role"],
            active=row["active"],
            invited=bool(row["invitation_hash"]),
            department_ids=tuple(sorted(works.get(row["id"], ()))),
        )
        for row in rows
    ]


async def member(scope: TenantScope, staff_id: int) -> TeamMember | None:
    return next((person for person in await members(scope) if person.id == staff_id), None)


async def departments(scope: TenantScope, language: str) -> list[DepartmentEntry]:
    """Each department with who works it: one nobody works is one whose requests nobody sees."""
    rows = await scope.select(Department).order_by(Department.name)
    people = [person for person in await members(scope) if person.active]
    return [
        DepartmentEntry(
            id=row["id"],
            slug=row["slug"],
            name=row["name"],
            display_name=(row["translations"] or {}).get(language) or row["name"],
            email=row["email"],
            translations=row["translations"] or {},
            members=tuple(person.name for person in people if row["id"] in person.department_ids),
        )
        for row in rows
    ]


async def _department_ids(scope: TenantScope) -> set[int]:
    return {row["id"] for row in await scope.select(Department, Department.id)}


async def _department_names(scope: TenantScope, ids: list[int] | tuple[int, ...]) -> list[str]:
    rows = await scope.select(Department, Department.id, Department.name)
    names = {row["id"]: row["name"] for row in rows}
    return sorted(names[number] for number in ids if number in names)


async def _role_problems(scope: TenantScope, role: str, department_ids: list[int]) -> dict[str, str]:
    if role not in ROLES:
        return {"role": NEEDS_ROLE}
    if set(department_ids) - await _department_ids(scope):
        return {"departments": UNKNOWN_DEPARTMENT}
    if role in DEPARTMENT_ROLES and not department_ids:
        return {"departments": NEEDS_DEPARTMENT}
    return {}


async def invitation_problems(
    scope: TenantScope, email: str, name: str, role: str, department_ids: list[int]
) -> dict[str, str]:
    errors = {}
    if not name.strip() or len(name) > NAME_LIMIT:
        errors["name"] = NEEDS_NAME
    if not valid_email(email):
        errors["email"] = BAD_EMAIL
    elif await scope.exists(StaffUser).where(StaffUser.email == email):
        errors["email"] = TAKEN_EMAIL
    return errors | await _role_problems(scope, role, department_ids)


async def invite(
    scope: TenantScope, actor: Actor, email: str, name: str, role: str, department_ids: list[int]
) -> str:
    """A member without a password, and the token of the link that sets it (only its hash is kept).
    The caller has checked `invitation_problems` first."""
    token = secrets.token_urlsafe(32)
    person = scope.new(
        StaffUser,
        email=email,
        name=name.strip(),
        role=role,
        invitation_hash=token_digest(token),
        invited_until=_now() + INVITATION_LIFETIME,
    )
    await person.save()
    for department_id in department_ids:
        await scope.new(StaffDepartment, staff=person.id, department=department_id).save()
    after = {"email": email, "role": role, "departments": await _department_names(scope, department_ids)}
    await audit.record(scope, actor, "staff.invited", name.strip(), after=after)
    return token


async def invite_again(scope: TenantScope, actor: Actor, staff_id: int) -> str | None:
    """A new link for someone who has not joined yet (the old one stops working); None if they have."""
    token = secrets.token_urlsafe(32)
    renewed = (
        await scope.update(
            StaffUser,
            {
                StaffUser.invitation_hash: token_digest(token),
                StaffUser.invited_until: _now() + INVITATION_LIFETIME,
            },
        )
        .where((StaffUser.id == staff_id) & (StaffUser.invitation_hash != "") & StaffUser.active.eq(True))
        .returning(StaffUser.name)
    )
    if not renewed:
        return None
    await audit.record(scope, actor, "staff.invitation_sent_again", renewed[0]["name"])
    return token


@dataclass(frozen=True)
class Invitation:
    staff_id: int
    name: str
    email: str


async def invitation(scope: TenantScope, token: str) -> Invitation | None:
    """The pending invitation this link is for, if it is still good."""
    row = (
        await scope.select(StaffUser, StaffUser.id, StaffUser.name, StaffUser.email)
        .where(
            (StaffUser.invitation_hash == token_digest(token))
            & (StaffUser.invited_until > _now())
            & StaffUser.active.eq(True)
        )
        .first()
    )
    return Invitation(row["id"], row["name"], row["email"]) if row else None


async def accept(scope: TenantScope, token: str, password: str) -> int | None:
    """Sets the password and uses the link up, in one statement (two posts of one link cannot both
    pass); the member's id, or None if the link is no longer good."""
    taken = (
        await scope.update(
            StaffUser,
            {
                StaffUser.password_hash: hash_password(password),
                StaffUser.invitation_hash: "",
                StaffUser.invited_until: None,
                StaffUser.must_change_password: False,
            },
        )
        .where(
            (StaffUser.invitation_hash == token_digest(token))
            & (StaffUser.invited_until > _now())
            & StaffUser.active.eq(True)
        )
        .returning(StaffUser.id, StaffUser.name)
    )
    if not taken:
        return None
    joined = taken[0]
    await audit.record(scope, Actor(joined["id"], joined["name"]), "staff.joined", joined["name"])
    return joined["id"]


async def change_problems(
    scope: TenantScope, actor: Actor, person: TeamMember, role: str, department_ids: list[int]
) -> dict[str, str]:
    if person.id == actor.id and role != person.role:
        return {"role": NOT_YOURSELF}
    return await _role_problems(scope, role, department_ids)


async def change(
    scope: TenantScope, actor: Actor, person: TeamMember, role: str, department_ids: list[int]
) -> None:
    """New role and departments (checked with `change_problems` first); the member's next page sees them."""
    await scope.update(StaffUser, {StaffUser.role: role}).where(StaffUser.id == person.id)
    await scope.delete(StaffDepartment).where(StaffDepartment.staff == person.id)
    for department_id in department_ids:
        await scope.new(StaffDepartment, staff=person.id, department=department_id).save()
    before, after = audit.changed(
        {"role": person.role, "departments": await _department_names(scope, person.department_ids)},
        {"role": role, "departments": await _department_names(scope, department_ids)},
    )
    if before or after:
        await audit.record(scope, actor, "staff.changed", person.name, before, after)


async def set_active(scope: TenantScope, actor: Actor, person: TeamMember, active: bool) -> str | None:
    """Deactivates (their sessions end at their next page; their history stays) or reactivates a member;
    returns why not, or None. Only an active administrator acts here and never on themselves, so the town
    always keeps one."""
    if person.id == actor.id:
        return NOT_YOURSELF
    if person.active == active:
        return None
    await scope.update(StaffUser, {StaffUser.active: active}).where(StaffUser.id == person.id)
    action = "staff.reactivated" if active else "staff.deactivated"
    await audit.record(scope, actor, action, person.name, {"active": person.active}, {"active": active})
    return None


async def department_problems(
    scope: TenantScope, name: str, email: str, editing: int | None = None
) -> dict[str, str]:
    errors = {}
    if not name.strip() or len(name) > NAME_LIMIT:
        errors["name"] = NEEDS_DEPARTMENT_NAME
    else:
        same = await scope.select(Department, Department.id).where(Department.name == name.strip())
        if any(row["id"] != editing for row in same):
            errors["name"] = TAKEN_DEPARTMENT_NAME
    if email and not valid_email(email):
        errors["email"] = BAD_DEPARTMENT_EMAIL
    return errors


async def add_department(
    scope: TenantScope, actor: Actor, name: str, email: str, translations: dict[str, str]
) -> int:
    taken = {row["slug"] for row in await scope.select(Department, Department.slug)}
    department = scope.new(
        Department,
        slug=unique_slug(name, taken, "department"),
        name=name.strip(),
        email=email,
        translations=_clean(translations),
    )
    await department.save()
    after = {"name": name.strip(), "email": email, **_named(_clean(translations))}
    await audit.record(scope, actor, "department.added", name.strip(), after=after)
    return department.id


async def change_department(
    scope: TenantScope, actor: Actor, entry: DepartmentEntry, name: str, email: str, translations: dict
) -> None:
    """A new name keeps the department's address (its slug) and everything that points at it."""
    values: dict[Any, Any] = {
        Department.name: name.strip(),
        Department.email: email,
        Department.translations: _clean(translations),
    }
    await scope.update(Department, values).where(Department.id == entry.id)
    before, after = audit.changed(
        {"name": entry.name, "email": entry.email, **_named(entry.translations)},
        {"name": name.strip(), "email": email, **_named(_clean(translations))},
    )
    if before or after:
        await audit.record(scope, actor, "department.changed", name.strip(), before, after)


def _named(translations: dict[str, str]) -> dict[str, str]:
    """A department's names in other languages as the audit log records them: `name_fr`."""
    return {f"name_{language}": text for language, text in translations.items()}


def _clean(translations: dict[str, str]) -> dict[str, str]:
    return {language: text.strip() for language, text in translations.items() if text.strip()}
