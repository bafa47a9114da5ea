"""People told of a request's public steps besides its author."""

from __future__ import annotations

from domain.scope import TenantScope
from domain.tables import RequestFollower


async def follow(scope: TenantScope, request_id: int, email: str, language: str) -> None:
    if not await is_following(scope, request_id, email):
        await scope.new(RequestFollower, request=request_id, email=email, language=language).save()


async def unfollow(scope: TenantScope, request_id: int, email: str) -> None:
    await scope.delete(RequestFollower).where(
        (RequestFollower.request == request_id) & (RequestFollower.email == email)
    )


async def is_following(scope: TenantScope, request_id: int, email: str) -> bool:
    return await scope.exists(RequestFollower).where(
        (RequestFollower.request == request_id) & (RequestFollower.email == email)
    )


async def followers(scope: TenantScope, request_id: int) -> list[dict]:
    return await scope.select(RequestFollower, RequestFollower.email, RequestFollower.language).where(
        RequestFollower.request == request_id
    )
