"""A request's timeline: the lines citizens and staff read, and internal notes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.scope import CompiledQuery, TenantScope
from domain.tables import RequestEvent
from domain.writes import short_key, utc_now


@dataclass(frozen=True)
class TimelineEvent:
    """One line of a request's timeline."""

    id: int
    kind: str
    from_status: str
    to_status: str
    # citizen | staff | system
    actor_kind: str
    actor_name: str | None
    body: str
    public: bool
    created_at: datetime


def _lines(public_only: bool) -> CompiledQuery:
    def build(scope: TenantScope, request_id: int):
        query = scope.select(
            RequestEvent,
            RequestEvent.id,
            RequestEvent.kind,
            RequestEvent.from_status,
            RequestEvent.to_status,
            RequestEvent.actor_kind,
            RequestEvent.actor.name.as_alias("actor_name"),
            RequestEvent.body,
            RequestEvent.public,
            RequestEvent.created_at,
        ).where(RequestEvent.request == request_id)
        if public_only:
            query = query.where(RequestEvent.public.eq(True))
        return query.order_by(RequestEvent.created_at).order_by(RequestEvent.id)

    return CompiledQuery(RequestEvent, build)


_PUBLIC_LINES, _EVERY_LINE = _lines(public_only=True), _lines(public_only=False)


async def timeline(scope: TenantScope, request_id: int, public_only: bool) -> list[TimelineEvent]:
    rows = await (_PUBLIC_LINES if public_only else _EVERY_LINE).rows(scope, request_id)
    return [TimelineEvent(**row) for row in rows]


_BY_KEY = CompiledQuery(
    RequestEvent,
    lambda scope, key: scope.select(RequestEvent, RequestEvent.created_at).where(
        RequestEvent.action_key == key
    ),
)


async def written_under(scope: TenantScope, action_key: str) -> dict | None:
    """The line a step wrote under its action key (already shortened), if it ran before: a retried
    activity finds it and does not write again."""
    return await _BY_KEY.first(scope, action_key)


async def note(scope: TenantScope, request_id: int, kind: str, key: str, body: str) -> None:
    """An internal timeline line that changes nothing (a reminder was sent); written once per key."""
    action_key = short_key(key)
    if await written_under(scope, action_key):
        return
    await scope.new(
        RequestEvent,
        request=request_id,
        kind=kind,
        actor_kind="system",
        body=body,
        public=False,
        action_key=action_key,
        created_at=utc_now(),
    ).save()
