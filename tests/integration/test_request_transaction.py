"""The `tenant_scope` dependency owns the request's transaction: what a handler wrote is committed before
the response leaves (and so before a background task starts the workflow); a handler that raises leaves
nothing behind; queries run on that transaction even when Litestar resolves the dependency in a task of
its own; and while the handler waits on Temporal it holds no lock and no connection."""

from __future__ import annotations

import asyncio
import contextvars

import httpx
import pytest
from litestar import Litestar, get, post
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency, Provide
from litestar.middleware import DefineMiddleware
from litestar.params import FromPath
from litestar.response import Response
from piccolo.table import Table

from apps.pages import provide_scope
from domain.scope import TenantScope
from domain.tables import Department, ServiceRequest
from infra.database import released
from infra.settings import get_settings
from tenants.middleware import TenantMiddleware
from tenants.resolve import TenantResolver
from tests.support.factories import make_town, valid_form
from tests.support.portal import PortalClient, status_path

postgres_only = pytest.mark.skipif(
    not get_settings().is_postgres, reason="SQLite has no request-wide transaction (docs/tenancy.md)"
)
seen: list[bool] = []


class _Raw(Table):
    pass


async def _department_exists(tenant_id: int, slug: str) -> bool:
    scope = TenantScope(tenant_id)
    async with scope.transaction():
        return await scope.exists(Department).where(Department.slug == slug)


@post("/write/{slug:str}")
async def write(slug: FromPath[str], tenant_scope: NamedDependency[TenantScope]) -> Response:
    await tenant_scope.new(Department, slug=slug, name=slug).save()

    async def look() -> None:
        seen.append(await _department_exists(tenant_scope.tenant_id, slug))

    return Response("", status_code=201, background=BackgroundTask(look))


@post("/fail/{slug:str}")
async def fail(slug: FromPath[str], tenant_scope: NamedDependency[TenantScope]) -> None:
    await tenant_scope.new(Department, slug=slug, name=slug).save()
    raise RuntimeError("the handler failed after writing")


@get("/setting")
async def setting(
    tenant_scope: NamedDependency[TenantScope], one: NamedDependency[int], two: NamedDependency[int]
) -> dict:
    answer = {"departments": await tenant_scope.count(Department)}
    if get_settings().is_postgres:
        answer |= (await _Raw.raw("SELECT current_setting('app.tenant_id', true) AS tenant"))[0]
    return answer


@post("/wait/{slug:str}")
async def wait(slug: FromPath[str], tenant_scope: NamedDependency[TenantScope]) -> dict:
    """Locks a row, then waits on a second writer of it, as a staff action waits on the worker's activity."""
    await tenant_scope.update(Department, {Department.name: "by the request"}).where(Department.slug == slug)

    async def worker_writes() -> None:
        async with tenant_scope.transaction():
            await tenant_scope.update(Department, {Department.name: "by the worker"}).where(
                Department.slug == slug
            )

    async with released():
        # A task with a context of its own, like the worker's activity in its own process.
        await asyncio.wait_for(asyncio.create_task(worker_writes(), context=contextvars.Context()), 10)
    name = await tenant_scope.select(Department, Department.name).where(Department.slug == slug).first()
    return {"name": name["name"]}


def _app() -> Litestar:
    return Litestar(
        route_handlers=[write, fail, setting, wait],
        dependencies={
            "tenant_scope": Provide(provide_scope),
            "one": Provide(lambda: 1, sync_to_thread=False),
            "two": Provide(lambda: 2, sync_to_thread=False),
        },
        middleware=[
            DefineMiddleware(TenantMiddleware, resolver=TenantResolver("localhost"), exempt_prefixes=())
        ],
    )


def _client(town) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url=f"http://{town.host}")


async def test_the_write_is_committed_before_the_background_task_runs():
    town = await make_town()
    seen.clear()
    async with _client(town) as client:
        assert (await client.post("/write/committed")).status_code == 201
    assert seen == [True]


@postgres_only
async def test_a_handler_that_raises_leaves_nothing_behind():
    town = await make_town()
    async with _client(town) as client:
        assert (await client.post("/fail/rolled-back")).status_code == 500
    assert not await _department_exists(town.id, "rolled-back")


async def test_queries_run_on_the_request_transaction_beside_other_dependencies():
    town = await make_town()
    async with _client(town) as client:
        answer = (await client.get("/setting")).json()
    assert answer["departments"] == 5
    if get_settings().is_postgres:
        assert answer["tenant"] == str(town.id)


@postgres_only
async def test_waiting_on_the_worker_holds_no_lock_it_needs():
    town = await make_town()
    async with _client(town) as client:
        response = await client.post("/wait/public-works")
    assert response.status_code == 201, response.text
    assert response.json() == {"name": "by the worker"}


async def test_two_posts_of_one_form_at_once_make_one_request(app):
    """The loser of the race on the idempotency key fails on the winner's key: only its savepoint rolls back
    (its counter number with it), and its transaction goes on to read the winner's request."""
    town = await make_town()
    form = valid_form()
    async with PortalClient(app, town.host) as citizen:
        await citizen.get("/")
        answers = await asyncio.gather(*(citizen.submit(form) for _ in range(4)))
    assert len({status_path(answer) for answer in answers}) == 1
    async with town.scope.transaction():
        assert await town.scope.count(ServiceRequest) == 1
