"""Citizens' accounts: sign-in by e-mail link, their requests, their data.

An account is an e-mail address that proved itself; "my requests" are every request made with that address,
including those made anonymously before the first sign-in.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from domain import requests as request_service
from domain import timeline as request_timeline
from domain.scope import CompiledQuery, TenantScope
from domain.tables import Citizen, RequestFollower, ServiceRequest, SignInLink
from infra.security import token_digest

LINK_LIFETIME = timedelta(minutes=15)
DELETED = "(deleted)"


def _now() -> datetime:
    return datetime.now(UTC)


async def new_sign_in_link(scope: TenantScope, email: str) -> str:
    """Returns the secret token to mail; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    await scope.new(
        SignInLink,
        email=email.strip().lower(),
        token_hash=token_digest(token),
        expires_at=_now() + LINK_LIFETIME,
    ).save()
    return token


async def link_is_usable(scope: TenantScope, token: str) -> bool:
    row = (
        await scope.select(SignInLink, SignInLink.expires_at, SignInLink.used_at)
        .where(SignInLink.token_hash == token_digest(token))
        .first()
    )
    return bool(row) and row["used_at"] is None and row["expires_at"] > _now()


async def redeem(scope: TenantScope, token: str) -> dict | None:
    """Uses the link once: the citizen's account (made on first use), or None when the link is no good."""
    claimed = (
        await scope.update(SignInLink, {SignInLink.used_at: _now()})
        .where(
            (SignInLink.token_hash == token_digest(token))
            & SignInLink.used_at.is_null()
            & (SignInLink.expires_at > _now())
        )
        .returning(SignInLink.email)
    )
    if not claimed:
        return None
    email = claimed[0]["email"]
    citizen = await scope.select(Citizen).where(Citizen.email == email).first()
    if citizen is None:
        last = (
            await scope.select(
                ServiceRequest,
                ServiceRequest.contact_name,
                ServiceRequest.contact_phone,
                ServiceRequest.language,
            )
            .where(ServiceRequest.contact_email == email)
            .order_by(ServiceRequest.id, ascending=False)
            .first()
        )
        await scope.new(
            Citizen,
            email=email,
            name=(last or {}).get("contact_name", ""),
            phone=(last or {}).get("contact_phone", ""),
            language=(last or {}).get("language", "en"),
            verified_at=_now(),
        ).save()
        citizen = await scope.select(Citizen).where(Citizen.email == email).first()
    return citizen


async def get(scope: TenantScope, citizen_id: int) -> dict | None:
    return await scope.select(Citizen).where(Citizen.id == citizen_id).first()


async def update_profile(
    scope: TenantScope, citizen_id: int, name: str, phone: str, language: str, notify_each_step: bool
) -> None:
    await scope.update(
        Citizen,
        {
            Citizen.name: name,
            Citizen.phone: phone,
            Citizen.language: language,
            Citizen.notify_each_step: notify_each_step,
        },
    ).where(Citizen.id == citizen_id)


MY_REQUESTS_PAGE_SIZE = 25


async def their_requests(
    scope: TenantScope, email: str, before_id: int | None = None, limit: int | None = MY_REQUESTS_PAGE_SIZE
) -> list[request_service.RequestRecord]:
    """A page of the requests made with this address, newest first; `limit=None` for all of them."""
    query = request_service.select_requests(scope).where(ServiceRequest.contact_email == email)
    return await request_service.newest_first(scope, query, before_id, limit)


_PREFERENCES = CompiledQuery(
    Citizen,
    lambda scope, email: scope.select(Citizen, Citizen.language, Citizen.notify_each_step).where(
        Citizen.email == email
    ),
)


async def preferences(scope: TenantScope, email: str) -> dict | None:
    """How someone with an account wants to be written to; None without an account."""
    return await _PREFERENCES.first(scope, email)


async def export(scope: TenantScope, citizen: dict) -> dict:
    """Everything the town holds about this citizen, as they can download it."""
    requests = []
    for row in await their_requests(scope, citizen["email"], limit=None):
        requests.append(
            {
                "reference": row.reference,
                "type": row.type_name,
                "status": row.status,
                "description": row.description,
                "address": row.address,
                "latitude": row.latitude,
                "longitude": row.longitude,
                "contact": {
                    "name": row.contact_name,
                    "email": row.contact_email,
                    "phone": row.contact_phone,
                },
                "submitted_at": row.created_at.isoformat(),
                "closed_at": row.closed_at.isoformat() if row.closed_at else None,
                "outcome": row.close_reason or None,
                "timeline": [
                    {
                        "at": event.created_at.isoformat(),
                        "status": event.to_status,
                        "text": event.body,
                    }
                    for event in await request_timeline.timeline(scope, row.id, public_only=True)
                ],
            }
        )
    return {
        "account": {
            "email": citizen["email"],
            "name": citizen["name"],
            "phone": citizen["phone"],
            "language": citizen["language"],
            "notify_each_step": citizen["notify_each_step"],
            "created_at": citizen["created_at"].isoformat(),
        },
        "requests": requests,
    }


async def delete_account(scope: TenantScope, citizen: dict) -> None:
    """Removes the account and the personal data on its requests; the requests stay for the town's records."""
    email = citizen["email"]
    await scope.update(
        ServiceRequest,
        {
            ServiceRequest.contact_name: DELETED,
            ServiceRequest.contact_email: "",
            ServiceRequest.contact_phone: "",
        },
    ).where(ServiceRequest.contact_email == email)
    await scope.delete(RequestFollower).where(RequestFollower.email == email)
    await scope.delete(SignInLink).where(SignInLink.email == email)
    await scope.delete(Citizen).where(Citizen.id == citizen["id"])
