"""The open requests near a place (`domain.nearby.open_nearby`) at 10,000 and at 1,000,000 requests, on
PostgreSQL and on SQLite, with each database's plan for its query.

    python bench/nearby.py [--admin-url postgresql://postgres@127.0.0.1:5432/postgres]
                           [--sizes 10000,1000000] [--databases postgres,sqlite] [--points 3000]

Each database and size gets a throwaway database, migrated, in a process of its own (the portal reads its
database from DATABASE_URL at import). Four towns are made as onboarding makes them (the demo catalogue);
the big one holds 70% of the requests, the others 10% each, each town in its own box of 15 by 15 km (60% of
requests around its centre, the rest anywhere in it). 70% are closed and 2% cancelled, the rest open in
every open state; a tenth are of types without a place. Filled with COPY on PostgreSQL and executemany on
SQLite, then ANALYZEd. Then, as the portal's own role under row-level security, in the big town, for
potholes: `open_nearby` at --points random places, and at as many places within 20 m of an open pothole,
at 50 m (the default) and at 500 m: p50 and p99 wall ms and the rows found; and the query's plan
(PostgreSQL: EXPLAIN ANALYZE of the custom plan and EXPLAIN of the generic one; SQLite: EXPLAIN QUERY PLAN).
It exits non-zero if a plan does not use service_request_open_place. Figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import DEFAULT_POSTGRES, log, machine_line, percentile, run_in_fresh_database

BOX_METRES = 15_000
METRES_PER_DEGREE = math.pi * 6_371_008.8 / 180
TOWNS = (("Bigcity", 0.7, 45.50, -73.57), ("Northton", 0.1, 46.81, -71.21), ("Westford", 0.1, 43.65, -79.38),
         ("Eastham", 0.1, 44.65, -63.58))  # fmt: skip
# Of the requests with a place: what people report most.
PLACED_TYPES = (("pothole", 0.45), ("streetlight", 0.25), ("sidewalk", 0.2), ("missed-pickup", 0.1))
UNPLACED_TYPES = ("tax-question", "records", "tax-pap")
COLUMNS = (
    "tenant_id", "reference", "request_type", "department", "status", "description", "address", "latitude",
    "longitude", "contact_name", "contact_email", "language", "public_token", "idempotency_key",
    "workflow_started", "created_at", "updated_at",
)  # fmt: skip
INDEX = "service_request_open_place"


def say(message: str) -> None:
    log("nearby", message)


def spread(rng: random.Random, centre_latitude: float, centre_longitude: float) -> tuple[float, float]:
    """A place in the town's box: most near the centre, where people and streets are."""
    half = BOX_METRES / 2
    while True:
        if rng.random() < 0.6:
            north, east = rng.gauss(0, half / 3), rng.gauss(0, half / 3)
        else:
            north, east = rng.uniform(-half, half), rng.uniform(-half, half)
        if abs(north) <= half and abs(east) <= half:
            break
    scale = METRES_PER_DEGREE * math.cos(math.radians(centre_latitude))
    return centre_latitude + north / METRES_PER_DEGREE, centre_longitude + east / scale


def status_of(rng: random.Random, open_statuses: tuple[str, ...]) -> str:
    draw = rng.random()
    if draw < 0.70:
        return "closed"
    if draw < 0.72:
        return "cancelled"
    return rng.choice(open_statuses)


async def make_towns(total: int, seed: int) -> list[dict]:
    """The towns with their catalogues (the requests come from `rows_of`)."""
    from apps.demo import seed_catalog
    from domain.scope import TenantScope
    from domain.tables import RequestType
    from tenants.onboarding import create_tenant

    towns = []
    for number, (name, share, latitude, longitude) in enumerate(TOWNS):
        slug = f"{name.lower()}{seed}"
        tenant_id = await create_tenant(slug, name, name[:3].upper(), timezone="America/Toronto")
        scope = TenantScope(tenant_id)
        await seed_catalog(scope, ((f"admin@{slug}.test", "Ada Admin", "tenant_admin", None),))
        async with scope.transaction():
            types = await scope.select(RequestType, RequestType.id, RequestType.code, RequestType.department)
        towns.append(
            {
                "id": tenant_id,
                "name": name,
                "centre": (latitude, longitude),
                "count": round(total * share),
                "types": {row["code"]: (row["id"], row["department"]) for row in types},
                "seed": seed * 10 + number,
            }
        )
    return towns


def rows_of(town: dict) -> Iterator[tuple]:
    """The town's requests as service_request rows, made as they are written (a million fit in no list)."""
    from domain import lifecycle

    rng = random.Random(town["seed"])
    now = datetime.now(UTC)
    prefix = town["name"][:3].upper()
    placed_codes = [code for code, _ in PLACED_TYPES]
    weights = [weight for _, weight in PLACED_TYPES]
    for n in range(town["count"]):
        placed = rng.random() < 0.9
        code = rng.choices(placed_codes, weights)[0] if placed else rng.choice(UNPLACED_TYPES)
        latitude, longitude = spread(rng, *town["centre"]) if placed else (None, None)
        type_id, department = town["types"][code]
        created = now - timedelta(minutes=n)
        yield (
            town["id"],
            f"{prefix}-{n:08d}",
            type_id,
            department,
            status_of(rng, lifecycle.OPEN_STATUSES),
            f"Request number {n}: something to see to at this place, since last week.",
            f"{n % 2000} Main Street" if placed else "",
            latitude,
            longitude,
            "Ned Flanders",
            f"citizen{n % 40000}@example.com",
            "en",
            f"{town['id']}-{n}-{rng.getrandbits(64):016x}",
            f"{n:032x}",
            True,
            created,
            created,
        )


async def fill_postgres(towns: list[dict], owner_url: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(owner_url)  # the owner writes past the policies, in one COPY a town
    try:
        for town in towns:
            await connection.copy_records_to_table("service_request", records=rows_of(town), columns=COLUMNS)
        await connection.execute("VACUUM ANALYZE service_request")
    finally:
        await connection.close()


def fill_sqlite(towns: list[dict], path: str) -> None:
    import sqlite3

    import piccolo.engine.sqlite  # noqa: F401 - registers the datetime adapters the portal reads back

    connection = sqlite3.connect(path)
    try:
        placeholders = ", ".join("?" for _ in COLUMNS)
        with connection:
            for town in towns:
                connection.executemany(
                    f"INSERT INTO service_request ({', '.join(COLUMNS)}) VALUES ({placeholders})",
                    rows_of(town),
                )
        connection.execute("ANALYZE")
    finally:
        connection.close()


def points_near(
    rng: random.Random, places: list[tuple[float, float]], count: int
) -> list[tuple[float, float]]:
    """Places within 20 m of open requests: where a second person reports the same thing."""
    chosen = []
    for _ in range(count):
        latitude, longitude = rng.choice(places)
        north, east = rng.uniform(-20, 20), rng.uniform(-20, 20)
        scale = METRES_PER_DEGREE * math.cos(math.radians(latitude))
        chosen.append((latitude + north / METRES_PER_DEGREE, longitude + east / scale))
    return chosen


async def measure(town: dict, points: dict[str, list[tuple[float, float]]]) -> dict[str, str]:
    from domain import nearby
    from domain.scope import TenantScope

    scope = TenantScope(town["id"])
    results = {}
    centre = town["centre"]
    for _ in range(50):  # warm: the compiled query, the pool, the page cache
        async with scope.transaction():
            await nearby.open_nearby(scope, town["pothole"], centre[0], centre[1], 50, "en")
    for metres in (50, 500):
        for label, places in points.items():
            walls, found = [], []
            for latitude, longitude in places:
                async with scope.transaction():
                    started = time.perf_counter()
                    rows = await nearby.open_nearby(scope, town["pothole"], latitude, longitude, metres, "en")
                    walls.append((time.perf_counter() - started) * 1000)
                found.append(len(rows))
            results[f"{metres} m, {label}"] = (
                f"p50 {percentile(walls, 0.5):.2f} / p99 {percentile(walls, 0.99):.2f} ms, "
                f"found {sum(found) / len(found):.2f} on average "
                f"({sum(1 for n in found if n)} of {len(found)} places found some)"
            )
    return results


def _query(town: dict, metres: int):
    """The search's select at the big town's centre, as open_nearby sends it: the query (its text has the
    values written in), and the SQL with placeholders the portal prepares, with the values it binds."""
    from domain import nearby
    from domain.scope import TenantScope

    latitude, longitude = town["centre"]
    box = nearby.box_around(latitude, longitude, metres)
    scope = TenantScope(town["id"])
    squeeze = math.cos(math.radians(latitude)) ** 2
    values = (town["pothole"], box.south, box.north, box.west, box.east, latitude, longitude, squeeze)
    compiled = nearby._OPEN_IN_BOX._shape(len(values))
    given = (scope.tenant_id, *values)
    pairs = zip(compiled.slots, compiled.arguments, strict=True)
    bound = [argument if slot is None else given[slot] for slot, argument in pairs]
    return scope, nearby._open_in_box(scope, *values), compiled.sql, bound


async def plans_postgres(town: dict) -> dict[str, str]:
    from domain.tables import ServiceRequest

    scope, query, sql, bound = _query(town, 500)
    async with scope.transaction():
        custom = await ServiceRequest.raw(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {query}")
        await ServiceRequest.raw("SET LOCAL plan_cache_mode = force_generic_plan")
        await ServiceRequest.raw(f"PREPARE nearby_bench AS {sql}")
        listed = ", ".join(str(value) for value in bound)  # numbers only
        generic = await ServiceRequest.raw(f"EXPLAIN (COSTS OFF) EXECUTE nearby_bench({listed})")
        await ServiceRequest.raw("DEALLOCATE nearby_bench")
    return {
        "custom plan (EXPLAIN ANALYZE, 500 m)": "\n".join(row["QUERY PLAN"] for row in custom),
        "generic plan (as a prepared statement)": "\n".join(row["QUERY PLAN"] for row in generic),
    }


def plans_sqlite(town: dict, path: str) -> dict[str, str]:
    import sqlite3

    _, _, sql, bound = _query(town, 500)
    connection = sqlite3.connect(path)
    try:
        rows = connection.execute(f"EXPLAIN QUERY PLAN {sql}", bound).fetchall()
    finally:
        connection.close()
    return {"EXPLAIN QUERY PLAN": "\n".join(row[-1] for row in rows)}


def query_alone(town: dict, points: dict[str, list[tuple[float, float]]], path: str) -> dict[str, str]:
    """The box's query on one open connection: what SQLite itself takes, without the connection Piccolo
    opens for each query (FIELD-NOTES: SQLite opens a connection per query)."""
    import sqlite3

    from domain import nearby

    _, _, sql, bound = _query(town, 50)
    connection = sqlite3.connect(path)
    results = {}
    try:
        for metres in (50, 500):
            walls = []
            for latitude, longitude in points["beside an open pothole"]:
                box = nearby.box_around(latitude, longitude, metres)
                squeeze = math.cos(math.radians(latitude)) ** 2
                where = (box.south, box.north, box.west, box.east, latitude, latitude, longitude, longitude)
                values = [*bound[:2], *where, squeeze]
                started = time.perf_counter()
                connection.execute(sql, values).fetchall()
                walls.append((time.perf_counter() - started) * 1000)
            results[f"{metres} m, beside an open pothole, the query alone on an open connection"] = (
                f"p50 {percentile(walls, 0.5):.3f} / p99 {percentile(walls, 0.99):.3f} ms"
            )
    finally:
        connection.close()
    return results


async def child(database: str, size: int, points_wanted: int, seed: int) -> dict:
    """One database and size, in this process: fill, plans, figures."""
    from domain.scope import TenantScope
    from domain.tables import ServiceRequest
    from infra.database import close_pool, sqlite_path, start_pool
    from piccolo_conf import DB

    await start_pool(DB)
    try:
        started = time.perf_counter()
        towns = await make_towns(size, seed)
        if database == "postgres":
            await fill_postgres(towns, os.environ["DATABASE_OWNER_URL"])
        else:
            fill_sqlite(towns, str(sqlite_path(os.environ["DATABASE_URL"])))
        fill_seconds = time.perf_counter() - started
        say(f"{database}: {size:,} requests in {fill_seconds:.0f} s")
        big = towns[0]
        big["pothole"] = big["types"]["pothole"][0]
        scope = TenantScope(big["id"])
        async with scope.transaction():
            open_places = await scope.select(
                ServiceRequest, ServiceRequest.latitude, ServiceRequest.longitude
            ).where(
                (ServiceRequest.request_type == big["pothole"])
                & ServiceRequest.status.not_in(["closed", "cancelled"])
                & ServiceRequest.latitude.is_not_null()
            )
        rng = random.Random(seed + 1)
        places = [(row["latitude"], row["longitude"]) for row in open_places]
        latitude, longitude = big["centre"]
        anywhere = [spread(rng, latitude, longitude) for _ in range(points_wanted)]
        points = {
            "random places": anywhere,
            "beside an open pothole": points_near(rng, places, points_wanted),
        }
        plans = (
            await plans_postgres(big)
            if database == "postgres"
            else plans_sqlite(big, str(sqlite_path(os.environ["DATABASE_URL"])))
        )
        figures = await measure(big, points)
        if database == "sqlite":
            figures |= query_alone(big, points, str(sqlite_path(os.environ["DATABASE_URL"])))
    finally:
        await close_pool(DB)
    return {
        "database": database,
        "rows": size,
        "big_town": big["count"],
        "open_potholes_in_big_town": len(places),
        "fill_seconds": round(fill_seconds),
        "figures": figures,
        "plans": plans,
    }


def measured(database: str, size: int, arguments: argparse.Namespace) -> dict:
    child_arguments = ["--sizes", str(size), "--points", str(arguments.points), "--seed", str(arguments.seed)]
    return run_in_fresh_database(
        Path(__file__).resolve(), database, arguments.admin_url, "portal_nearby", child_arguments
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--admin-url", default=DEFAULT_POSTGRES)
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--databases", default="postgres,sqlite")
    parser.add_argument("--points", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=311)
    parser.add_argument("--child", choices=("postgres", "sqlite"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    sizes = [int(size) for size in arguments.sizes.split(",")]
    if arguments.child:
        result = asyncio.run(child(arguments.child, sizes[0], arguments.points, arguments.seed))
        print(json.dumps(result))
        return
    results = [
        measured(database, size, arguments) for database in arguments.databases.split(",") for size in sizes
    ]
    print(f"\nmachine: {machine_line()}")
    wrong = []
    for result in results:
        print(
            f"\n{result['database']}, {result['rows']:,} requests (big town {result['big_town']:,}, "
            f"{result['open_potholes_in_big_town']:,} open potholes), filled in {result['fill_seconds']} s"
        )
        for label, text in result["figures"].items():
            print(f"- {label}: {text}")
        for label, plan in result["plans"].items():
            print(f"\n{label}:\n{plan}")
            if INDEX not in plan:
                wrong.append(f"{result['database']} {result['rows']:,}: {label}")
    if wrong:
        raise SystemExit(f"not on {INDEX}: {', '.join(wrong)}")
    say("done")


if __name__ == "__main__":
    main()
