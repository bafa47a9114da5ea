"""Staff accounts of one tenant: local passwords hashed with argon2."""

from __future__ import annotations

import hmac
import time

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


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    """Always does the work of one check, so an unknown account answers as slowly as a wrong password."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def authenticate(scope: TenantScope, email: str, password: str) -> dict | None:
    row = (
        await scope.select(StaffUser)
        .where((StaffUser.email == email.strip().lower()) & StaffUser.active.eq(True))
        .first()
    )
    return row if password_matches(row["password_hash"] if row else None, password) else None


async def get_active(scope: TenantScope, staff_id: int) -> dict | None:
    return await scope.select(StaffUser).where((StaffUser.id == staff_id) & StaffUser.active.eq(True)).first()


async def access_of(scope: TenantScope, staff: dict) -> StaffAccess:
    return StaffAccess(staff["role"], frozenset(await departments_of(scope, staff["id"])))


async def assignees(scope: TenantScope, department_id: int | None) -> list[dict]:
    """The active staff who may be given a request of that department, by name."""
    people = (
        await scope.select(StaffUser, StaffUser.id, StaffUser.name, StaffUser.role)
        .where(StaffUser.active.eq(True))
        .order_by(StaffUser.name)
    )
    working_there = {row["staff"] for row in await members_of(scope, department_id)}
    return [
        person
        for person in people
        if assignee_refusal(
            StaffAccess(person["role"], frozenset({department_id} if person["id"] in working_there else ())),
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
):
    columns = (StaffUser.email, StaffUser.name, StaffUser.language)
    active = StaffUser.active.eq(True)
    if kind in ASSIGNEE_NOTICES and assignee_id is not None:
        return await scope.select(StaffUser, *columns).where(active & (StaffUser.id == assignee_id))
    if kind in SUPERVISOR_NOTICES:
        supervisors = await scope.select(StaffUser, *columns).where(
            active & (StaffUser.role == "supervisor") & StaffUser.id.is_in(members_of(scope, department_id))
        )
        return supervisors or await scope.select(StaffUser, *columns).where(
            active & (StaffUser.role == "tenant_admin")
        )
    return await scope.select(StaffUser, *columns).where(
        active
        & StaffUser.id.is_in(members_of(scope, department_id))
        & StaffUser.role.is_in(["agent", "supervisor"])
    )


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


async def accept_code(scope: TenantScope, member: dict, code: str) -> str | None:
    """None when the code is right and new; else why not. A code is good once: its time step must come
    after the last one accepted, recorded in the same statement that checks it (two simultaneous posts of
    one code cannot both pass)."""
    step = code_step(member["totp_secret"], code)
    if step is None:
        return WRONG_CODE
    taken = (
        await scope.update(StaffUser, {StaffUser.totp_last_step: step})
        .where((StaffUser.id == member["id"]) & (StaffUser.totp_last_step < step))
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


def new_password_problem(member: dict, password: str, confirmation: str) -> str | None:
    """Why this cannot be the member's new password; None when it can."""
    if len(password) < NEW_PASSWORD_MIN_LENGTH:
        return PASSWORD_TOO_SHORT
    if password != confirmation:
        return PASSWORDS_DIFFER
    if password_matches(member["password_hash"], password):
        return PASSWORD_NOT_NEW
    return None


async def change_password(scope: TenantScope, staff_id: int, password: str) -> None:
    await scope.update(
        StaffUser, {StaffUser.password_hash: hash_password(password), StaffUser.must_change_password: False}
    ).where(StaffUser.id == staff_id)
