"""Staff accounts of one tenant: local passwords hashed with argon2."""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from typing import Any

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from domain.permissions import StaffAccess, assignee_refusal
from domain.scope import TenantScope
from domain.tables import StaffDepartment, StaffUser
from infra.i18n import N_

_hasher = PasswordHasher()
# Verified against when the email is unknown, so a wrong email takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def members_of(scope: TenantScope, department_id: int | None):
    """A sub-select of the ids of the department's staff, for `StaffUser.id.is_in(...)`."""
    return scope.select(StaffDepartment, StaffDepartment.staff).where(
        StaffDepartment.department == department_id
    )


async def departments_of(scope: TenantScope, staff_id: int) -> list[int]:
    rows = await scope.select(StaffDepartment, StaffDepartment.department).where(
        StaffDepartment.staff == staff_id
    )
    return [row["department"] for row in rows]


async def add_member(
    scope: TenantScope,
    email: str,
    name: str,
    role: str,
    password_hash: str = "",
    department_ids: tuple[int, ...] = (),
    must_change_password: bool = False,
) -> int:
    """A new member of staff, working for `department_ids`; returns their id. One given a one-time
    password must choose their own at their first sign-in."""
    member = scope.new(
        StaffUser,
        email=email.strip().lower(),
        name=name,
        role=role,
        password_hash=password_hash,
        must_change_password=must_change_password,
    )
    await member.save()
    for department_id in department_ids:
        await scope.new(StaffDepartment, staff=member.id, department=department_id).save()
    return member.id


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    """Always does the work of one check, so an unknown account answers as slowly as a wrong password. An
    account without a password (one that signs in through its town's provider, or is yet to accept its
    invitation) matches no password, the dummy's included."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class StaffMember:
    """An active member of staff and what they may see and do."""

    id: int
    email: str
    name: str
    role: str
    language: str
    totp_secret: str
    totp_enabled: bool
    must_change_password: bool
    access: StaffAccess


@dataclass(frozen=True)
class Assignee:
    """Someone a request may be given to."""

    id: int
    name: str
    role: str


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str
    language: str


MEMBER_COLUMNS = (
    StaffUser.id,
    StaffUser.email,
    StaffUser.name,
    StaffUser.role,
    StaffUser.language,
    StaffUser.totp_secret,
    StaffUser.totp_enabled,
    StaffUser.must_change_password,
)


async def _member(scope: TenantScope, row: dict[str, Any] | None) -> StaffMember | None:
    if row is None:
        return None
    access = StaffAccess(row["role"], frozenset(await departments_of(scope, row["id"])))
    return StaffMember(
        id=row["id"],
        email=row["email"],
        name=row["name"],
        role=row["role"],
        language=row["language"],
        totp_secret=row["totp_secret"],
        totp_enabled=row["totp_enabled"],
        must_change_password=row["must_change_password"],
        access=access,
    )


async def authenticate(scope: TenantScope, email: str, password: str) -> StaffMember | None:
    row = (
        await scope.select(StaffUser, *MEMBER_COLUMNS, StaffUser.password_hash)
        .where((StaffUser.email == email.strip().lower()) & StaffUser.active.eq(True))
        .first()
    )
    return (
        await _member(scope, row)
        if password_matches(row["password_hash"] if row else None, password)
        else None
    )


async def get_active(scope: TenantScope, staff_id: int) -> StaffMember | None:
    """With their access: deactivating someone ends their sessions at the next page."""
    return await _member(
        scope,
        await scope.select(StaffUser, *MEMBER_COLUMNS)
        .where((StaffUser.id == staff_id) & StaffUser.active.eq(True))
        .first(),
    )


async def access_of(scope: TenantScope, staff: Assignee) -> StaffAccess:
    return StaffAccess(staff.role, frozenset(await departments_of(scope, staff.id)))


async def assignees(scope: TenantScope, department_id: int | None) -> list[Assignee]:
    """The active staff who may be given a request of that department, by name."""
    people = (
        await scope.select(StaffUser, StaffUser.id, StaffUser.name, StaffUser.role)
        .where(StaffUser.active.eq(True))
        .order_by(StaffUser.name)
    )
    working_there = {row["staff"] for row in await members_of(scope, department_id)}
    return [
        Assignee(**person)
        for person in people
        if assignee_refusal(
            StaffAccess(
                person["role"],
                frozenset({department_id} if department_id and person["id"] in working_there else ()),
            ),
            department_id,
        )
        is None
    ]


# Who hears of what: the assignee about their own work, the department while nobody has the request,
# the supervisors when it escalates.
ASSIGNEE_NOTICES = frozenset(
    {"assigned", "due_reminder", "overdue", "reopened", "citizen_replied", "citizen_commented"}
)
SUPERVISOR_NOTICES = frozenset({"assign_escalation", "overdue_escalation"})


async def notice_recipients(
    scope: TenantScope, kind: str, department_id: int | None, assignee_id: int | None
) -> list[Recipient]:
    active = StaffUser.active.eq(True)
    if kind in ASSIGNEE_NOTICES and assignee_id is not None:
        return await _recipients(scope, active & (StaffUser.id == assignee_id))
    if kind in SUPERVISOR_NOTICES:
        supervisors = await _recipients(
            scope,
            active & (StaffUser.role == "supervisor") & StaffUser.id.is_in(members_of(scope, department_id)),
        )
        return supervisors or await _recipients(scope, active & (StaffUser.role == "tenant_admin"))
    return await _recipients(
        scope,
        active
        & StaffUser.id.is_in(members_of(scope, department_id))
        & StaffUser.role.is_in(["agent", "supervisor"]),
    )


async def _recipients(scope: TenantScope, where: Any) -> list[Recipient]:
    rows = await scope.select(StaffUser, StaffUser.email, StaffUser.name, StaffUser.language).where(where)
    return [Recipient(**row) for row in rows]


WRONG_CODE = N_("This code is not right. Enter the six digits your authenticator app shows now.")
USED_CODE = N_("This code was already used. Wait for the next one your authenticator app shows.")


def new_totp_secret() -> str:
    return pyotp.random_base32()


def code_step(secret: str, code: str, at: float | None = None) -> int | None:
    """The time step whose code this is, one step of clock drift either way allowed; None if it is none."""
    code = code.replace(" ", "")
    if not secret or not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    now = totp.timecode(time.time() if at is None else at)
    for step in (now - 1, now, now + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


async def accept_code(scope: TenantScope, member: StaffMember, code: str) -> str | None:
    """None when the code is right and new; else why not. A code is good once: its time step must come
    after the last one accepted, recorded in the same statement that checks it (two simultaneous posts of
    one code cannot both pass)."""
    step = code_step(member.totp_secret, code)
    if step is None:
        return WRONG_CODE
    taken = (
        await scope.update(StaffUser, {StaffUser.totp_last_step: step})
        .where((StaffUser.id == member.id) & (StaffUser.totp_last_step < step))
        .returning(StaffUser.id)
    )
    return None if taken else USED_CODE


def enrolment_uri(secret: str, email: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


async def secret_for_enrolment(scope: TenantScope, staff_id: int) -> str:
    """The member's pending secret, made on first visit, so reloading the page shows the same QR code."""
    row = await scope.select(StaffUser, StaffUser.totp_secret).where(StaffUser.id == staff_id).first()
    if row["totp_secret"]:
        return row["totp_secret"]
    secret = new_totp_secret()
    await scope.update(StaffUser, {StaffUser.totp_secret: secret}).where(StaffUser.id == staff_id)
    return secret


async def enable_two_factor(scope: TenantScope, staff_id: int) -> None:
    await scope.update(StaffUser, {StaffUser.totp_enabled: True}).where(StaffUser.id == staff_id)


NEW_PASSWORD_MIN_LENGTH = 12
PASSWORD_TOO_SHORT = N_("Choose a password of at least 12 characters.")
PASSWORDS_DIFFER = N_("The two passwords are not the same.")
PASSWORD_NOT_NEW = N_("Choose a password other than the one you were given.")


def password_problem(password: str, confirmation: str) -> str | None:
    """Why this cannot be anyone's password (too short, or not typed the same twice); None when it can."""
    if len(password) < NEW_PASSWORD_MIN_LENGTH:
        return PASSWORD_TOO_SHORT
    if password != confirmation:
        return PASSWORDS_DIFFER
    return None


async def new_password_problem(
    scope: TenantScope, staff_id: int, password: str, confirmation: str
) -> str | None:
    """Why this cannot be the member's new password; None when it can."""
    if problem := password_problem(password, confirmation):
        return problem
    row = await scope.select(StaffUser, StaffUser.password_hash).where(StaffUser.id == staff_id).first()
    if password_matches(row["password_hash"] if row else None, password):
        return PASSWORD_NOT_NEW
    return None


async def change_password(scope: TenantScope, staff_id: int, password: str) -> None:
    await scope.update(
        StaffUser, {StaffUser.password_hash: hash_password(password), StaffUser.must_change_password: False}
    ).where(StaffUser.id == staff_id)
