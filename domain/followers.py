"""People told of a request's public steps besides its author."""

from __future__ import annotations

from domain.scope import TenantScope
from domain.tables import RequestFollower


async def follow(scope: TenantScope, request_id: int, email: str, language: str) -> None:
    if not await is_following(scope, request_id, email):
        await scope.new(RequestFollower, request=request_id, email=email, language=language).save()


async def support(scope: TenantScope, request_id: int, email: str, language: str) -> bool:
    """Follows the request as one of its supporters ("me too"); True only the first time this address
    supports it, a follower from before included. One statement on the (request, email) unique index, so
    two posts at once by the same address cannot both count."""
    supporter = scope.new(RequestFollower, request=request_id, email=email, language=language, supporter=True)
    marked = (
        await RequestFollower.insert(supporter)
        .on_conflict(
            target=(RequestFollower.request, RequestFollower.email),
            action="DO UPDATE",
            values=[(RequestFollower.supporter, True)],
            where=RequestFollower.supporter.eq(False),
        )
        .returning(RequestFollower.id)
    )
    return bool(marked)


async def unfollow(scope: TenantScope, request_id: int, email: str) -> None:
    await scope.delete(RequestFollower).where(
        (RequestFollower.request == request_id) & (RequestFollower.email == email)
    )


async def is_following(scope: TenantScope, request_id: int, email: str) -> bool:
    return await scope.exists(RequestFollower).where(
        (RequestFollower.request == request_id) & (RequestFollower.email == email)
    )


async def followers(scope: TenantScope, request_id: int) -> list[dict]:
    return await scope.select(
        RequestFollower, RequestFollower.email, RequestFollower.language, RequestFollower.supporter
    ).where(RequestFollower.request == request_id)
