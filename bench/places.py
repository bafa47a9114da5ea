"""Address search (`domain.places.search`) and the nearest address to a pin (`domain.places.nearest`) in a
town of --sizes address points, beside three smaller towns, on PostgreSQL and on SQLite; with the time to
import each town's file and each database's plan for the search.

    python bench/places.py [--admin-url postgresql://postgres@127.0.0.1:5432/postgres]
                           [--sizes 10000,300000] [--databases postgres,sqlite] [--queries 300]

Each database and size gets a throwaway database, migrated, in a process of its own (the portal reads its
database from DATABASE_URL at import). The big town has --sizes address points on streets named from a
few hundred words (about 60 numbers a street, so a city of 300,000 has some 5,000 streets); three others
have a tenth as many each, on streets with the same names, so the search index is shared as it is in an
installation of many towns. Each town is imported as its administrator would: an OpenAddresses CSV read
by `parse_places` and written by `replace_places`, timed. Then, as the portal's own role under row-level
security, in the big town, --queries searches of each kind a citizen types (a number and part of a
street, a whole address, an abbreviation, a typo, a street alone), and as many pins: p50 and p99 wall ms.
Figures go to docs/performance.md.
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import DEFAULT_POSTGRES, log, machine_line, percentile, run_in_fresh_database

BOX_METRES = 15_000
METRES_PER_DEGREE = math.pi * 6_371_008.8 / 180
TOWNS = (("Bigcity", 1.0, 45.50, -73.57), ("Northton", 0.1, 46.81, -71.21), ("Westford", 0.1, 43.65, -79.38),
         ("Eastham", 0.1, 44.65, -63.58))  # fmt: skip
WORDS = (
    "oak maple pine cedar elm birch willow spruce walnut chestnut hickory poplar aspen alder cypress laurel "
    "magnolia juniper hawthorn linden sycamore beech hemlock larch rowan holly ivy rose lilac violet tulip "
    "daisy clover fern heather sage thistle meadow prairie orchard garden valley river brook lake pond "
    "creek spring hill ridge summit mountain canyon forest grove park field harbour bay beach shore island "
    "king queen prince duke earl church mill market station bridge college union victoria albert george "
    "william charles edward mary elizabeth james john peter paul thomas henry arthur frederick richard "
    "robert david michael joseph francis anne catherine margaret louise sophie marie jean pierre jacques "
    "laurent denis joseph antoine michel andre louis paul luc marc simon vincent dominique hubert gilles "
    "champlain cartier frontenac laval maisonneuve papineau montcalm wolfe lafontaine baldwin macdonald "
    "brock simcoe dundas yonge bloor queen front wellington sherbrooke dorchester rideau bank elgin "
    "evergreen sunset sunrise highland lowland riverside lakeside hillside parkside woodland greenwood "
    "oakwood elmwood pinewood cedarwood maplewood fairview bellevue grandview mountview clearview "
    "belmont beaumont clermont fremont vermont rosemont lamont piedmont dupont delorme desjardins "
    "principale commerce industrie eglise ecole gare moulin fleuve riviere plateau coteau rang montee"
)
NAMES = sorted(set(WORDS.split()))
TYPES = ("street", "avenue", "road", "boulevard", "drive", "lane", "court", "crescent", "place", "terrace",
         "rue", "chemin")  # fmt: skip
ABBREVIATED = {"street": "st", "avenue": "ave", "road": "rd", "boulevard": "blvd", "drive": "dr",
               "lane": "ln", "court": "ct", "crescent": "cres", "place": "pl", "terrace": "terr",
               "chemin": "ch"}  # fmt: skip
PER_STREET = 60


def say(message: str) -> None:
    log("places", message)


def street_names(rng: random.Random, count: int) -> list[str]:
    """`count` distinct names: "Maple Avenue", "Rue Laurent", "Cedar Hill Road"..."""
    names: set[str] = set()
    while len(names) < count:
        words = rng.sample(NAMES, 2 if rng.random() < 0.3 else 1)
        kind = rng.choice(TYPES)
        words = [kind, *words] if kind in ("rue", "chemin") else [*words, kind]
        names.add(" ".join(word.capitalize() for word in words))
    return sorted(names)


def town_csv(
    rng: random.Random, size: int, centre: tuple[float, float], names: list[str]
) -> tuple[bytes, list]:
    """An OpenAddresses file of `size` points, and the addresses in it as (number, street, lat, lon)."""
    latitude, longitude = centre
    scale = METRES_PER_DEGREE * math.cos(math.radians(latitude))
    lines, addresses = ["LON,LAT,NUMBER,STREET,UNIT,CITY,POSTCODE,ID,HASH"], []
    streets = names[: max(1, size // PER_STREET)]
    for index in range(size):
        street = streets[index % len(streets)]
        place = index // len(streets)
        street_rng = random.Random(street)
        north, east = street_rng.uniform(-1, 1) * BOX_METRES / 2, street_rng.uniform(-1, 1) * BOX_METRES / 2
        heading = street_rng.uniform(0, math.pi)
        along = place * 15.0
        lat = latitude + (north + along * math.sin(heading)) / METRES_PER_DEGREE
        lon = longitude + (east + along * math.cos(heading)) / scale
        number = 2 + 2 * place + (index % 2)
        lines.append(f"{lon:.6f},{lat:.6f},{number},{street},,,,{index},")
        addresses.append((number, street, lat, lon))
    return ("\n".join(lines) + "\n").encode(), addresses


def typo(word: str, rng: random.Random) -> str:
    """One letter dropped, doubled or two swapped, away from the word's ends."""
    if len(word) < 6:
        return word
    at = rng.randrange(2, len(word) - 2)
    change = rng.choice(("drop", "double", "swap"))
    if change == "drop":
        return word[:at] + word[at + 1 :]
    if change == "double":
        return word[:at] + word[at] + word[at:]
    return word[:at] + word[at + 1] + word[at] + word[at + 2 :]


def queries(rng: random.Random, addresses: list, count: int) -> dict[str, list[tuple[str, str]]]:
    """Kinds of what citizens type, each with the label it should find first."""
    kinds: dict[str, list[tuple[str, str]]] = {}
    for _ in range(count):
        number, street, _, _ = rng.choice(addresses)
        label = f"{number} {street}"
        words = street.lower().split()
        name = next(word for word in words if word not in TYPES)
        short = [ABBREVIATED.get(word, word) for word in words]
        kinds.setdefault("number and a part of the street: '12 map'", []).append(
            (f"{number} {name[: max(3, len(name) * 2 // 3)]}", label)
        )
        kinds.setdefault("a whole address: '12 maple avenue'", []).append((label.lower(), label))
        kinds.setdefault("abbreviated: '12 maple ave'", []).append((f"{number} {' '.join(short)}", label))
        typed = [typo(word, rng) if word == name else word for word in words]
        kinds.setdefault("a typo: '12 mapel avenue'", []).append((f"{number} {' '.join(typed)}", label))
        kinds.setdefault("a street alone: 'maple avenue'", []).append((street.lower(), street))
    return kinds


async def make_towns(seed: int, size: int) -> tuple[list[dict], dict]:
    """The towns, each with its gazetteer imported as an administrator would; the import's timings."""
    from domain import places
    from domain.audit import Actor
    from domain.scope import TenantScope
    from tenants.onboarding import create_tenant

    rng = random.Random(seed)
    names = street_names(rng, max(50, size // PER_STREET + 1))
    towns, timings = [], {}
    for number, (name, share, latitude, longitude) in enumerate(TOWNS):
        slug = f"{name.lower()}{seed}"
        tenant_id = await create_tenant(slug, name, name[:3].upper(), timezone="America/Toronto")
        scope = TenantScope(tenant_id)
        count = max(100, round(size * share))
        content, addresses = town_csv(random.Random(seed * 10 + number), count, (latitude, longitude), names)
        started = time.perf_counter()
        found, problems = places.parse_places(content, f"{slug}.csv")
        parsed = time.perf_counter()
        assert not problems, problems[:3]
        async with scope.transaction():
            written = await places.replace_places(scope, Actor(None, "bench"), found, "bench")
        stored = time.perf_counter()
        if number == 0:
            timings = {
                "file": f"{len(content) / 1e6:.1f} MB, {count:,} address points, {written - count:,} streets",
                "parse_places": f"{parsed - started:.1f} s",
                "replace_places": f"{stored - parsed:.1f} s ({written / (stored - parsed):,.0f} rows/s)",
            }
        towns.append(
            {
                "id": tenant_id,
                "name": name,
                "count": count,
                "addresses": addresses,
                "centre": (latitude, longitude),
            }
        )
        say(f"{name}: {count:,} addresses in {stored - started:.1f} s")
    return towns, timings


async def measure(town: dict, count: int, seed: int) -> dict[str, str]:
    from domain import places
    from domain.scope import TenantScope

    scope = TenantScope(town["id"])
    rng = random.Random(seed)
    results = {}
    for _ in range(30):  # warm: the pool, the page cache
        async with scope.transaction():
            await places.search(scope, "12 oak street")
    for kind, typed in queries(rng, town["addresses"], count).items():
        walls, first = [], 0
        for text, label in typed:
            async with scope.transaction():
                started = time.perf_counter()
                found = await places.search(scope, text)
                walls.append((time.perf_counter() - started) * 1000)
            first += bool(found) and found[0].label == label
        results[f"search, {kind}"] = (
            f"p50 {percentile(walls, 0.5):.1f} / p99 {percentile(walls, 0.99):.1f} ms; "
            f"the address meant first {first} of {len(typed)}"
        )
    walls, named = [], 0
    for _ in range(count):
        _, _, latitude, longitude = rng.choice(town["addresses"])
        north, east = rng.uniform(-40, 40), rng.uniform(-40, 40)
        scale = METRES_PER_DEGREE * math.cos(math.radians(latitude))
        async with scope.transaction():
            started = time.perf_counter()
            found = await places.nearest(
                scope, latitude + north / METRES_PER_DEGREE, longitude + east / scale
            )
            walls.append((time.perf_counter() - started) * 1000)
        named += found is not None
    results["nearest, a pin within 40 m of an address"] = (
        f"p50 {percentile(walls, 0.5):.1f} / p99 {percentile(walls, 0.99):.1f} ms; named {named} of {count}"
    )
    return results


async def plans_postgres(town: dict) -> dict[str, str]:
    """The search's plans in the big town: a substring with the typed number; for a typo, the streets
    ordered by pg_trgm's word similarity, then the typed number on the few kept."""
    from domain import places
    from domain.scope import TenantScope
    from domain.tables import Place

    number, street, _, _ = town["addresses"][len(town["addresses"]) // 2]
    name = next(word for word in street.lower().split() if word not in TYPES)
    scope = TenantScope(town["id"])
    explain = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT " + places.ROW_COLUMNS + " FROM place WHERE "
    plans = {}
    async with scope.transaction():
        rows = await Place.raw(
            explain
            + "tenant_id = {} AND (search_text LIKE {}) AND (place.number = {} OR place.kind = 'street') "
            "LIMIT {}",
            scope.tenant_id,
            f"%{places.normalised(street)}%",
            str(number),
            places.CANDIDATES,
        )
        plans[f"substring, '{number} {street}'"] = "\n".join(row["QUERY PLAN"] for row in rows)
        mistyped = typo(name, random.Random(1))
        rows = await Place.raw(
            explain
            + "tenant_id = {} AND kind = 'street' ORDER BY word_similarity({}, search_text) DESC LIMIT {}",
            scope.tenant_id,
            mistyped,
            places.STREETS_COMPARED,
        )
        plans[f"a typo, the streets alike '{mistyped}'"] = "\n".join(row["QUERY PLAN"] for row in rows)
    import asyncpg

    # The same substring search where row-level security does not apply (the database's superuser): LIKE
    # is not leakproof, so under the policies the trigram index may not be used for it.
    connection = await asyncpg.connect(os.environ["DATABASE_OWNER_URL"])
    try:
        rows = await connection.fetch(
            explain
            + "tenant_id = $1 AND (search_text LIKE $2) AND (place.number = $3 OR place.kind = 'street') "
            "LIMIT $4",
            scope.tenant_id,
            f"%{places.normalised(street)}%",
            str(number),
            places.CANDIDATES,
        )
    finally:
        await connection.close()
    plans[f"substring, '{number} {street}', without row-level security"] = "\n".join(row[0] for row in rows)
    return plans


def plans_sqlite(town: dict, path: str) -> dict[str, str]:
    import sqlite3

    number, street, _, _ = town["addresses"][len(town["addresses"]) // 2]
    connection = sqlite3.connect(path)
    try:
        rows = connection.execute(
            "EXPLAIN QUERY PLAN SELECT place.id FROM place_search CROSS JOIN place ON place.id = "
            "place_search.rowid WHERE place_search MATCH ? AND place.tenant_id = ? AND (place.number = ? OR "
            "place.kind = 'street') LIMIT 200",
            (f'"{street.lower()}"', town["id"], str(number)),
        ).fetchall()
    finally:
        connection.close()
    return {"EXPLAIN QUERY PLAN (substring)": "\n".join(row[-1] for row in rows)}


async def child(database: str, size: int, count: int, seed: int) -> dict:
    from infra.database import close_pool, sqlite_path, start_pool
    from piccolo_conf import DB

    await start_pool(DB)
    try:
        towns, timings = await make_towns(seed, size)
        if database == "postgres":
            import asyncpg

            connection = await asyncpg.connect(os.environ["DATABASE_OWNER_URL"])
            await connection.execute("VACUUM ANALYZE place")
            await connection.close()
            plans = await plans_postgres(towns[0])
        else:
            plans = plans_sqlite(towns[0], str(sqlite_path(os.environ["DATABASE_URL"])))
        figures = await measure(towns[0], count, seed)
    finally:
        await close_pool(DB)
    return {"database": database, "size": size, "import": timings, "figures": figures, "plans": plans}


def measured(database: str, size: int, arguments: argparse.Namespace) -> dict:
    child_arguments = [
        "--sizes",
        str(size),
        "--queries",
        str(arguments.queries),
        "--seed",
        str(arguments.seed),
    ]
    return run_in_fresh_database(
        Path(__file__).resolve(), database, arguments.admin_url, "portal_places", child_arguments
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--admin-url", default=DEFAULT_POSTGRES)
    parser.add_argument("--sizes", default="10000,300000")
    parser.add_argument("--databases", default="postgres,sqlite")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=311)
    parser.add_argument("--child", choices=("postgres", "sqlite"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    sizes = [int(size) for size in arguments.sizes.split(",")]
    if arguments.child:
        print(json.dumps(asyncio.run(child(arguments.child, sizes[0], arguments.queries, arguments.seed))))
        return
    results = [
        measured(database, size, arguments) for database in arguments.databases.split(",") for size in sizes
    ]
    print(f"\nmachine: {machine_line()}")
    for result in results:
        print(f"\n{result['database']}, a town of {result['size']:,} address points beside three of a tenth")
        for label, text in result["import"].items():
            print(f"- import, {label}: {text}")
        for label, text in result["figures"].items():
            print(f"- {label}: {text}")
        for label, plan in result["plans"].items():
            print(f"\n{label}:\n{plan}")
    say("done")


if __name__ == "__main__":
    main()
