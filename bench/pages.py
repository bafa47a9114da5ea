"""Lists at a city's size: each page of the staff queue and of "My requests", 10,000 rows against 1,000,000.

    python bench/pages.py [--admin-url postgresql://postgres@127.0.0.1:5432/postgres] [--big 1000000]

A throwaway PostgreSQL database, migrated; two towns made as onboarding makes them (the demo catalogue):
one with --small requests, one with --big, each with a heavy reporter who made --heavy of them (1,195 by
default, the figure of a real heavy reporter), filled with one INSERT ... SELECT each and ANALYZEd. Then,
for each town, as the portal's own role under row-level security:

- the queue's query (`domain.queue.queue`) at page 1, 2, 10, 100, ... as deep as the town goes, unfiltered,
  "open" and by department, with the row-value cursor the portal uses and, beside it, the OR-of-columns
  cursor it used before (written out here): median and p99 wall ms of --repeat runs;
- "My requests" (`domain.citizens.their_requests`) at the heavy reporter's first, second and last page;
- the rendered pages, through the whole app in this process (ASGI, no network): the staff queue at a deep
  page and a citizen's status page, CPU ms of this process per render (the web's CPU, database driver
  included; PostgreSQL's own is not in it).

It prints the ratio 1M/10k for each and exits non-zero on nothing: the figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import DEFAULT_POSTGRES, Stopwatch, log, machine_line, percentile, postgres_database

PAGE = 50
HEAVY = "heavy@example.com"


async def make_town(name: str, count: int, heavy: int, owner_url: str) -> dict:
    import asyncpg

    from apps.demo import seed_catalog
    from domain.scope import TenantScope
    from tenants.onboarding import create_tenant

    slug = name.lower()
    tenant_id = await create_tenant(slug, name, name[:3].upper(), timezone="America/Toronto")
    await seed_catalog(TenantScope(tenant_id), ((f"admin@{slug}.test", "Ada Admin", "tenant_admin", None),))
    connection = await asyncpg.connect(owner_url)  # the owner fills it in one statement, past the policies
    try:
        types = await connection.fetch(
            "SELECT id, department FROM request_type WHERE tenant_id = $1 ORDER BY id", tenant_id
        )
        started = time.perf_counter()
        await connection.execute(
            """
            INSERT INTO service_request (tenant_id, reference, request_type, department, status, description,
                address, contact_name, contact_email, contact_phone, language, close_reason, duplicate_of,
                public_token, idempotency_key, workflow_started, created_at, updated_at)
            SELECT $1::int, $2 || lpad(g::text, 9, '0'), ($3::int[])[1 + g % cardinality($3::int[])],
                ($4::int[])[1 + g % cardinality($4::int[])],
                (ARRAY['closed', 'closed', 'closed', 'closed', 'assigned', 'in_progress', 'routed'])
                    [1 + g % 7],
                'A deep pothole in the right lane, number ' || g, g || ' Main Street', 'Ned Flanders',
                CASE WHEN g % $5 = 0 THEN $6 ELSE 'citizen' || (g % 40000) || '@example.com' END, '', 'en',
                '', '', left(md5($1::text || ':' || g) || md5(g || ':' || $1::text), 43), md5('key' || g),
                true,
                now() - g * interval '1 minute', now() - g * interval '1 minute'
            FROM generate_series(1, $7) AS g
            """,
            tenant_id,
            f"{name[:3].upper()}-",
            [row["id"] for row in types],
            [row["department"] for row in types],
            max(1, count // heavy),
            HEAVY,
            count,
        )
        await connection.execute("ANALYZE service_request")
        log("pages", f"{name}: {count:,} requests in {time.perf_counter() - started:.0f} s")
        departments = await connection.fetch(
            "SELECT department, count(*) AS n FROM service_request WHERE tenant_id = $1 GROUP BY department "
            "ORDER BY n DESC LIMIT 1",
            tenant_id,
        )
        token = await connection.fetchval(
            "SELECT public_token FROM service_request WHERE tenant_id = $1 ORDER BY id DESC LIMIT 1",
            tenant_id,
        )
    finally:
        await connection.close()
    return {
        "id": tenant_id,
        "name": name,
        "host": f"{slug}.localhost",
        "count": count,
        "department": departments[0]["department"],
        "admin": f"admin@{slug}.test",
        "token": token,
    }


async def cursor_at(owner_url: str, tenant_id: int, page: int, where: str = "", *args) -> int | None:
    """The id of the last row of the page before `page`, in the queue's order (None for page 1)."""
    import asyncpg

    if page <= 1:
        return None
    connection = await asyncpg.connect(owner_url)
    try:
        return await connection.fetchval(
            f"SELECT id FROM service_request WHERE tenant_id = $1 {where} "
            f"ORDER BY created_at DESC, id DESC OFFSET {(page - 1) * PAGE - 1} LIMIT 1",
            tenant_id,
            *args,
        )
    finally:
        await connection.close()


async def or_form_queue(scope, wanted, limit: int):
    """The cursor as the portal wrote it before: an OR of the two columns, applied after the index scan."""
    from domain import lifecycle
    from domain.requests import records, select_requests
    from domain.tables import ServiceRequest

    query = select_requests(scope)
    if wanted.status == "open":
        query = query.where(ServiceRequest.status.is_in(list(lifecycle.OPEN_STATUSES)))
    if wanted.department_id:
        query = query.where(ServiceRequest.department == wanted.department_id)
    if wanted.before_id:
        anchor = (
            await scope.select(ServiceRequest, ServiceRequest.created_at)
            .where(ServiceRequest.id == wanted.before_id)
            .first()
        )
        query = query.where(
            (ServiceRequest.created_at < anchor["created_at"])
            | ((ServiceRequest.created_at == anchor["created_at"]) & (ServiceRequest.id < wanted.before_id))
        )
    return records(
        await query.order_by(ServiceRequest.created_at, ascending=False)
        .order_by(ServiceRequest.id, ascending=False)
        .limit(limit)
    )


async def timed(call, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    return percentile(times, 0.5), percentile(times, 0.99)


async def query_figures(town: dict, owner_url: str, repeat: int) -> dict[str, tuple[float, float]]:
    from domain import citizens, lifecycle
    from domain import queue as request_queue
    from domain.scope import TenantScope

    scope = TenantScope(town["id"])
    figures: dict[str, tuple[float, float]] = {}
    pages = [p for p in (1, 2, 10, 100, 1000, 10000) if (p - 1) * PAGE < town["count"] * 0.95]
    filters = {
        "all": ("", None, "", ()),
        "open": ("open", None, "AND status = ANY($2)", (list(lifecycle.OPEN_STATUSES),)),
        "department": ("", town["department"], "AND department = $2", (town["department"],)),
    }
    for label, (status, department, where, args) in filters.items():
        for page in pages:
            before = await cursor_at(owner_url, town["id"], page, where, *args)
            wanted = request_queue.QueueFilter(status=status, department_id=department, before_id=before)
            for form, run in (("row value", request_queue.queue), ("OR form", or_form_queue)):
                if form == "OR form" and page == 1:
                    continue  # the same query: no cursor

                async def call(run=run, wanted=wanted):
                    async with scope.transaction():
                        rows = await run(scope, wanted, limit=PAGE + 1)
                    assert len(rows) >= 1

                slow = form == "OR form" and page >= 1000  # seconds a run: fewer of them
                figures[f"queue {label}, page {page}, {form}"] = await timed(
                    call, max(3, repeat // 10) if slow else repeat
                )
    async with scope.transaction():
        heavy = await citizens.their_requests(scope, HEAVY, limit=None)
    size = citizens.MY_REQUESTS_PAGE_SIZE
    last_page = (len(heavy) - 1) // size + 1
    for page in (1, 2, last_page):
        before = heavy[(page - 1) * size - 1].id if page > 1 else None

        async def mine(before=before):
            async with scope.transaction():
                rows = await citizens.their_requests(scope, HEAVY, before, limit=size + 1)
            assert rows

        figures[f"my requests ({len(heavy)}), page {'last' if page == last_page else page}"] = await timed(
            mine, repeat
        )
    return figures


async def render_figures(town: dict, owner_url: str, renders: int) -> dict[str, float]:
    """CPU ms of this process per rendered page, through the whole app."""
    import dataclasses

    import httpx

    from apps.demo import DEMO_PASSWORD
    from apps.web import create_app
    from infra.settings import get_settings

    app = create_app(dataclasses.replace(get_settings(), temporal_address="127.0.0.1:9", rate_limits="off"))
    transport = httpx.ASGITransport(app=app)
    deep = await cursor_at(owner_url, town["id"], min(1000, town["count"] // PAGE // 2))
    figures = {}
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{town['host']}") as http:
        form = await http.get("/admin/login")
        token = re.search(r'name="_csrf_token" value="([^"]+)"', form.text).group(1)
        signed_in = await http.post(
            "/admin/login", data={"_csrf_token": token, "email": town["admin"], "password": DEMO_PASSWORD}
        )
        assert signed_in.status_code == 303, signed_in.text[:300]
        pages = {
            "queue page (deep), web CPU": f"/admin/requests?status=&before={deep}",
            "queue page 1 (open), web CPU": "/admin/requests?status=open",
            "status page, web CPU": f"/status/{town['token']}",
        }
        for label, path in pages.items():
            for _ in range(5):  # templates compiled, caches warm
                assert (await http.get(path)).status_code == 200
            cpu = []
            for _ in range(renders):
                with Stopwatch() as watch:
                    answer = await http.get(path)
                assert answer.status_code == 200
                cpu.append(watch.cpu * 1000)
            figures[label] = percentile(cpu, 0.5)
    return figures


async def run(arguments: argparse.Namespace, owner_url: str) -> None:
    import logging

    from infra.database import close_pool, start_pool
    from piccolo_conf import DB

    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request otherwise

    await start_pool(DB)
    try:
        towns = [
            await make_town("Smallville", arguments.small, arguments.heavy, owner_url),
            await make_town("Bigcity", arguments.big, arguments.heavy, owner_url),
        ]
        queries = [await query_figures(town, owner_url, arguments.repeat) for town in towns]
        renders = [await render_figures(town, owner_url, arguments.renders) for town in towns]
    finally:
        await close_pool(DB)
    small, big = towns
    print(f"\nmachine: {machine_line()}")
    print(f"\n| Query (wall ms, p50 / p99) | {small['count']:,} rows | {big['count']:,} rows | ratio p50 |")
    print("| --- | ---: | ---: | ---: |")
    for label in queries[1]:
        at_big = queries[1][label]
        at_small = queries[0].get(label)
        shown_small = f"{at_small[0]:.2f} / {at_small[1]:.2f}" if at_small else "—"
        ratio = f"{at_big[0] / at_small[0]:.2f}" if at_small else "—"
        print(f"| {label} | {shown_small} | {at_big[0]:.2f} / {at_big[1]:.2f} | {ratio} |")
    print(f"\n| Page (CPU ms per render, p50) | {small['count']:,} rows | {big['count']:,} rows | ratio |")
    print("| --- | ---: | ---: | ---: |")
    for label in renders[1]:
        small_cpu, big_cpu = renders[0][label], renders[1][label]
        print(f"| {label} | {small_cpu:.1f} | {big_cpu:.1f} | {big_cpu / small_cpu:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--admin-url", default=DEFAULT_POSTGRES)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--heavy", type=int, default=1_195)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--renders", type=int, default=50)
    arguments = parser.parse_args()
    with postgres_database(arguments.admin_url, prefix="portal_pages") as database:
        asyncio.run(run(arguments, database.owner_url))


if __name__ == "__main__":
    main()
