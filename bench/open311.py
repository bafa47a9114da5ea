"""Open311 `GET requests` for a town of --big requests, paged to the end, against one of --small.

    python bench/open311.py [--admin-url postgresql://postgres@127.0.0.1:5432/postgres] [--big 100000]

A throwaway PostgreSQL database, migrated; two towns made as onboarding makes them, every type published
as open data, filled with one INSERT ... SELECT each (requests spread over the last 69 days, each with a
public timeline line, so `status_notes` has something to read) and ANALYZEd. Then, through the whole app
in this process (ASGI, no network, the portal's own role under row-level security), a reader without a
key walks `GET /open311/v2/requests.json?page_size=N` from the first page to the last by its `Link`
header, and the same in XML: wall ms per page (p50, p99, first, last) and the web's CPU per page. It also
times `servicerequestupdates` over a week. Figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import DEFAULT_POSTGRES, log, machine_line, percentile, postgres_database
from bench.pages import make_town


async def publish_and_annotate(town: dict, owner_url: str) -> None:
    """Every type open data, and a public line with words on each request (what status_notes reads)."""
    import asyncpg

    connection = await asyncpg.connect(owner_url)
    try:
        await connection.execute("UPDATE request_type SET published = true WHERE tenant_id = $1", town["id"])
        await connection.execute(
            """
            INSERT INTO request_event (tenant_id, request, kind, from_status, to_status, actor_kind, body,
                public, created_at)
            SELECT tenant_id, id, 'comment', status, status, 'staff', 'A crew is booked for ' || reference,
                true, created_at + interval '10 minutes'
            FROM service_request WHERE tenant_id = $1
            """,
            town["id"],
        )
        # As autovacuum leaves them, before the clock starts rather than in the middle of the walk.
        await connection.execute("VACUUM ANALYZE request_event")
        await connection.execute("VACUUM ANALYZE service_request")
    finally:
        await connection.close()


async def walk(http, path: str, pages_wanted: int | None) -> tuple[list[float], list[float], int]:
    """Wall and CPU ms of each page, following `Link: rel=next` to the end (or `pages_wanted` pages)."""
    walls, cpus, rows = [], [], 0
    url: str | None = path
    while url and (pages_wanted is None or len(walls) < pages_wanted):
        started, cpu = time.perf_counter(), time.process_time()
        answer = await http.get(url)
        walls.append((time.perf_counter() - started) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
        assert answer.status_code == 200, answer.text[:300]
        rows += answer.text.count("<service_request_id>") or answer.text.count('"service_request_id"')
        found = re.search(r"<([^>]+)>;\s*rel=\"next\"", answer.headers.get("link", ""))
        url = re.sub(r"^https?://[^/]+", "", found.group(1)) if found else None
    return walls, cpus, rows


async def figures(town: dict, page_size: int) -> dict[str, str]:
    import dataclasses

    import httpx

    from apps.web import create_app
    from infra.settings import get_settings

    app = create_app(dataclasses.replace(get_settings(), temporal_address="127.0.0.1:9", rate_limits="off"))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    results = {}
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{town['host']}") as http:
        for _ in range(5):  # warm: templates, compiled queries, the pool
            await http.get(f"/open311/v2/requests.json?page_size={page_size}")
        for form in ("json", "xml"):
            walls, cpus, rows = await walk(http, f"/open311/v2/requests.{form}?page_size={page_size}", None)
            results[f"requests.{form}, {page_size} a page, every page"] = (
                f"{len(walls)} pages, {rows:,} rows: p50 {percentile(walls, 0.5):.1f} / "
                f"p99 {percentile(walls, 0.99):.1f} ms; first {walls[0]:.1f}, last {walls[-1]:.1f} ms; "
                f"web CPU p50 {percentile(cpus, 0.5):.1f} ms"
            )
        walls, cpus, rows = await walk(http, "/open311/v2/requests.json", 1)
        results["requests.json, the specification's default (1,000 at most)"] = (
            f"{rows:,} rows: {walls[0]:.0f} ms, web CPU {cpus[0]:.0f} ms"
        )
        week = "start_date=" + time.strftime("%Y-%m-%dT00:00:00Z", time.gmtime(time.time() - 7 * 86400))
        walls, cpus, rows = await walk(
            http, f"/open311/v2/servicerequestupdates.json?{week}&page_size={page_size}", 20
        )
        results[f"servicerequestupdates.json, a week, first {len(walls)} pages"] = (
            f"p50 {percentile(walls, 0.5):.1f} / p99 {percentile(walls, 0.99):.1f} ms"
        )
    return results


async def run(arguments: argparse.Namespace, owner_url: str) -> None:
    import logging

    from infra.database import close_pool, start_pool
    from piccolo_conf import DB

    logging.getLogger("httpx").setLevel(logging.WARNING)
    await start_pool(DB)
    try:
        towns = [
            await make_town("Smallville", arguments.small, 1_000, owner_url),
            await make_town("Bigcity", arguments.big, 1_000, owner_url),
        ]
        for town in towns:
            await publish_and_annotate(town, owner_url)
        measured = [await figures(town, arguments.page_size) for town in towns]
    finally:
        await close_pool(DB)
    print(f"\nmachine: {machine_line()}")
    for town, results in zip(towns, measured, strict=True):
        print(f"\n{town['name']}: {town['count']:,} requests")
        for label, text in results.items():
            print(f"- {label}: {text}")
    log("open311", "done")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--admin-url", default=DEFAULT_POSTGRES)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=100)
    arguments = parser.parse_args()
    with postgres_database(arguments.admin_url, prefix="portal_open311") as database:
        asyncio.run(run(arguments, database.owner_url))


if __name__ == "__main__":
    main()
