"""Benchmark of the citizen submit path (POST /requests) over HTTP on loopback, beside a bare baseline.

Scenarios, each against its own uvicorn subprocess on a free 127.0.0.1 port, in this order:

  bare            bench/bare_app.py: a bare Litestar app whose POST /requests does one Piccolo insert of a
                  ServiceRequest row and answers 303 (no middleware, CSRF, session, form parsing, lookups,
                  reference counter, timeline event, template or Temporal). The floor for "one row".
  submit/closed   the portal (apps.web:create_app); TEMPORAL_ADDRESS points at a closed 127.0.0.1 port, so
                  each request's background task tries to connect, fails (connection refused) and logs.
  bare/dev        the bare app that also starts each request's workflow on the dev server after its INSERT
                  (BENCH_START_WORKFLOW=1): the floor for submit/dev, "one INSERT + start_workflow".
  submit/dev      the portal with a real Temporal dev server (infra.temporal_dev, no worker): the background
                  task really starts the workflow and then marks the row (one more UPDATE).

Every citizen is a virtual user (--concurrency of them, each with its own httpx.AsyncClient limited to
one connection, so --concurrency connections in all). Each opens the form once (GET /) to get the CSRF
cookie, the `_csrf_token` field and the session cookie, as a browser would, then posts complete, valid
forms, each with a fresh 32-hex idempotency key, and keeps the cookies the server sets. Each post plays a
different person (own e-mail, own X-Forwarded-For address) so the portal's per-address and per-e-mail rate
limits are paid for but never refuse (--rate-limits off turns them off). A 303 to
/status/... is a success; anything else is an error (counted and printed).
The first --warmup posts are not measured; the measured phase stops after --requests posts or --seconds.

It builds a fresh database (a SQLite file in a temp dir, or the PostgreSQL database portal_bench_<pid>,
created and dropped here), runs the migrations, seeds the demo tenants, and removes everything it started
or created on exit, Ctrl-C included. Everything listens on and talks to 127.0.0.1 only.

  python bench/submit.py                                   # SQLite, 1 worker, both Temporal variants
  python bench/submit.py --workers 1 2 --json out.json
  python bench/submit.py --database-url postgresql://postgres@127.0.0.1:5432/postgres --workers 1 2
  python bench/submit.py --project /tmp/portal-at-HEAD      # another checkout, e.g. a `git archive` export
  python bench/submit.py --database-url postgresql://... --temporal dev --rate 40   # both at one pace
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import asdict, dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import httpx
from common import (  # bench/common.py
    LOOPBACK,
    Processes,
    compile_bytecode,
    cpu_seconds,
    free_port,
    machine_cpu,
    percentile,
    postgres_cpu_seconds,
    tail,
)
from common import log as common_log

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent  # the default --project
CSRF_FIELD = re.compile(r'name="_csrf_token"\s+value="([^"]+)"')
TYPE_SELECT = re.compile(r'<select[^>]*name="request_type".*?</select>', re.DOTALL)
TYPE_OPTION = re.compile(r'<option value="([a-z0-9-]+)"')
FORM = {
    "description": "The streetlight in front of number 12 has been out for three nights.",
    "address": "12 Evergreen Terrace",
    "latitude": "45.50169",
    "longitude": "-73.56725",
    "contact_name": "Ned Flanders",
    "contact_email": "ned@example.test",
    "contact_phone": "+1 555 0100",
    # The demo pothole's questions, and "send mine" past the open requests nearby (every post is one place).
    "q_size": "smaller-than-a-tyre",
    "q_where": "road",
    "nearby_seen": "1",
}
BROWSER_HEADERS = {"Accept": "text/html,application/xhtml+xml", "Accept-Language": "en-CA,en;q=0.8"}


def log(message: str) -> None:
    common_log("bench", message)


def machine_busy_pct(seconds: float) -> float:
    """How busy the machine is over a short idle wait: what else runs there, before we start."""
    before = machine_cpu()
    time.sleep(seconds)
    after = machine_cpu()
    total = after[1] - before[1]
    return 100 * (os.cpu_count() or 1) * (after[0] - before[0]) / total if total else 0.0


@dataclass
class Database:
    url: str
    admin_url: str | None = None  # PostgreSQL: where CREATE/DROP DATABASE run
    name: str | None = None

    @property
    def is_postgres(self) -> bool:
        return self.admin_url is not None


async def count_workflows(address: str) -> int:
    """Workflows the dev server knows (the row is marked only once the workflow routes it, and no worker
    runs here)."""
    from temporalio.client import Client

    client = await Client.connect(address)
    return (await client.count_workflows()).count


async def _pg_fetchval(url: str, sql: str):
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        return await connection.fetchval(sql)
    finally:
        await connection.close()


async def _pg_execute(url: str, sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def prepare_database(database_url: str | None, temp: Path) -> Database:
    if not database_url:
        return Database(url=f"sqlite:///{temp / 'portal.db'}")
    parsed = urlparse(database_url)
    if parsed.scheme not in ("postgres", "postgresql"):
        raise SystemExit("--database-url must be postgresql://user@127.0.0.1:5432/db (SQLite is the default)")
    if parsed.hostname not in (LOOPBACK, "localhost"):
        raise SystemExit(f"refusing a database on {parsed.hostname!r}: this benchmark targets 127.0.0.1 only")
    name = f"portal_bench_{os.getpid()}"
    admin_url = urlunparse(parsed._replace(path=parsed.path if parsed.path not in ("", "/") else "/postgres"))
    database = Database(url=urlunparse(parsed._replace(path=f"/{name}")), admin_url=admin_url, name=name)
    asyncio.run(_pg_execute(admin_url, f'CREATE DATABASE "{name}"'))
    log(f"created PostgreSQL database {name}")
    return database


def drop_database(database: Database) -> None:
    if not database.is_postgres:
        return
    try:
        asyncio.run(
            _pg_execute(database.admin_url, f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)')
        )
        log(f"dropped PostgreSQL database {database.name}")
    except Exception as error:  # cleanup goes on; say what is left behind
        log(f"could not drop database {database.name}: {error}")


def base_env(
    project: Path, database: Database, var_dir: Path, temporal_address: str, rate_limits: str
) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database.url,
        VAR_DIR=str(var_dir),
        TEMPORAL_ADDRESS=temporal_address,
        SESSION_STORE_URL="",
        DEV_INBOX_DIR="",
        DEVELOPMENT="true",
        BASE_DOMAIN="localhost",  # tenants answer on <slug>.localhost
        RATE_LIMITS=rate_limits,
        SECRET_KEY="bench-secret-not-for-production",
        PYTHONPATH=os.pathsep.join(filter(None, [str(project), os.environ.get("PYTHONPATH")])),
    )
    return env


def migrate_and_seed(project: Path, env: dict[str, str]) -> None:
    for command in ("migrate", "seed-demo"):
        result = subprocess.run(
            [sys.executable, "-m", "apps.cli", command],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"`citizen-portal {command}` failed:\n{result.stdout}\n{result.stderr}")
    log("migrated and seeded the demo tenants")


# ------------------------------------------------------------------------------------------------ server


def start_server(
    processes: Processes, app: str, workers: int, env: dict[str, str], log_file: Path, access_log: bool
) -> tuple[subprocess.Popen, int]:
    """The same uvicorn command line as `citizen-portal web`, on a free loopback port."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--factory",
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-server-header",
        "--proxy-headers",
    ]
    if not access_log:
        command.append("--no-access-log")
    if app.startswith("bare_app:"):
        command += ["--app-dir", str(BENCH_DIR)]  # the baseline from this checkout, on --project's code
    child = processes.spawn(command, {**env, "PUBLIC_PORT": str(port)}, log_file)
    deadline = time.monotonic() + 60
    while True:
        if child.poll() is not None:
            raise RuntimeError(f"{app} exited with code {child.returncode}:\n{tail(log_file)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{app} did not start within 60 s:\n{tail(log_file)}")
        started = log_file.read_text(errors="replace").count("Application startup complete.")
        if started >= workers and healthy(port):
            return child, port
        time.sleep(0.2)


def healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://{LOOPBACK}:{port}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


# -------------------------------------------------------------------------------------------------- load


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    samples: dict[str, str] = field(default_factory=dict)
    issued: int = 0

    def error(self, kind: str, sample: str) -> None:
        self.errors[kind] += 1
        self.samples.setdefault(kind, sample[:300])


class Citizen:
    """One browser: its own connection, cookies and CSRF token; posts one form at a time."""

    def __init__(self, client: httpx.AsyncClient, portal: bool) -> None:
        self.client = client
        self.portal = portal
        self.cookies: dict[str, str] = {}
        self.csrf_token = ""
        self.request_types = ["pothole"]
        self.posts = 0

    def keep_cookies(self, response: httpx.Response) -> None:
        for raw in response.headers.get_list("set-cookie"):
            jar = SimpleCookie()
            jar.load(raw)
            for name, morsel in jar.items():
                if morsel.value in ("", "null"):
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def headers(self) -> dict[str, str]:
        headers = dict(BROWSER_HEADERS)
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        return headers

    async def open_form(self) -> None:
        response = await self.client.get("/", headers=self.headers())
        if response.status_code != 200:
            raise RuntimeError(f"GET / answered {response.status_code}: {response.text[:300]}")
        self.keep_cookies(response)
        token = CSRF_FIELD.search(response.text)
        if token is None or "csrftoken" not in self.cookies:
            raise RuntimeError("GET / gave no CSRF token field or no csrftoken cookie")
        self.csrf_token = token.group(1)
        select = TYPE_SELECT.search(response.text)
        self.request_types = TYPE_OPTION.findall(select.group(0) if select else "") or self.request_types

    def form(self, number: int) -> dict[str, str]:
        self.posts += 1
        return {
            "_csrf_token": self.csrf_token,
            "idempotency_key": uuid.uuid4().hex,
            "request_type": self.request_types[self.posts % len(self.request_types)],
            **FORM,
            "contact_email": f"citizen-{number}@example.test",
        }

    async def submit(self, tally: Tally, number: int) -> None:
        """Post number `number` of the run: its own citizen, so its own e-mail and client address (the
        portal limits posts per address and per e-mail; uvicorn takes X-Forwarded-For from 127.0.0.1)."""
        form = self.form(number)
        headers = self.headers()
        headers["X-Forwarded-For"] = f"10.{number >> 16 & 255}.{number >> 8 & 255}.{number & 255}"
        started = time.perf_counter()
        try:
            response = await self.client.post("/requests", data=form, headers=headers)
        except httpx.HTTPError as error:
            tally.error(type(error).__name__, repr(error))
            return
        elapsed = time.perf_counter() - started
        self.keep_cookies(response)
        location = response.headers.get("location", "")
        if response.status_code == 303 and (location.startswith("/status/") or not self.portal):
            tally.latencies.append(elapsed)
        else:
            tally.error(f"HTTP {response.status_code}", f"{location} {response.text}".strip())


async def run_phase(
    citizens: list[Citizen], count: int, seconds: float, first: int = 0, rate: float = 0
) -> tuple[Tally, float]:
    """Posts as fast as the citizens get answers, or, with `rate`, post n no earlier than n / rate seconds
    in (an open schedule: a late answer does not push the next posts back)."""
    tally = Tally()
    started = time.perf_counter()
    deadline = started + seconds

    async def citizen_loop(citizen: Citizen) -> None:
        while tally.issued < count and time.perf_counter() < deadline:
            tally.issued += 1
            number = tally.issued
            if rate:
                await asyncio.sleep(max(0.0, started + (number - 1) / rate - time.perf_counter()))
            await citizen.submit(tally, first + number)

    await asyncio.gather(*(citizen_loop(citizen) for citizen in citizens))
    return tally, time.perf_counter() - started


@dataclass
class Result:
    scenario: str
    workers: int
    database: str
    requests: int
    errors: int
    seconds: float
    req_per_s: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    server_cpu_ms_per_req: float
    client_cpu_pct: float
    machine_cpu_pct: float
    other_cpu_pct: float
    temporal_cpu_ms_per_req: float | None = None
    postgres_cpu_ms_per_req: float | None = None
    workflows_started: int | None = None
    background_lag_s: float | None = None
    workflow_start_failures: int | None = None
    error_kinds: dict[str, int] = field(default_factory=dict)
    error_samples: dict[str, str] = field(default_factory=dict)
    warmup_errors: dict[str, int] = field(default_factory=dict)


async def drive(
    port: int, host: str, portal: bool, args: argparse.Namespace, probe: Callable[[], dict]
) -> tuple[Tally, dict]:
    """One httpx.AsyncClient per citizen, limited to one connection: --concurrency connections in all.

    (One shared client with a pool of 32 connections spends ~5x more CPU per request in httpcore's pool
    bookkeeping, enough to make the load generator the bottleneck on a small machine.)
    """
    async with AsyncExitStack() as stack:
        citizens = []
        for _ in range(args.concurrency):
            client = await stack.enter_async_context(
                httpx.AsyncClient(
                    base_url=f"http://{LOOPBACK}:{port}",
                    headers={"Host": host},
                    limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
                    timeout=30,
                    cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),  # Citizen keeps them
                    follow_redirects=False,
                )
            )
            citizens.append(Citizen(client, portal))
        if portal:
            await asyncio.gather(*(citizen.open_form() for citizen in citizens))
        warm, _ = await run_phase(citizens, args.warmup, args.seconds, rate=args.rate)
        start = probe()
        tally, elapsed = await run_phase(
            citizens, args.requests, args.seconds, first=warm.issued, rate=args.rate
        )
        end = probe()
        return tally, {
            "elapsed": elapsed,
            "start": start,
            "end": end,
            "warm_ok": len(warm.latencies),
            "warm_errors": dict(warm.errors),
        }


# ------------------------------------------------------------------------------------------------- runs


def run_scenario(
    name: str,
    runner: asyncio.Runner,
    processes: Processes,
    database: Database,
    env: dict[str, str],
    workers: int,
    args: argparse.Namespace,
    temp: Path,
    temporal: subprocess.Popen | None = None,
) -> Result:
    portal = not name.startswith("bare")
    app = "apps.web:create_app" if portal else "bare_app:create_app"
    log_file = temp / f"{name.replace('/', '-')}-w{workers}.log"
    log(f"{name}, {workers} worker(s): starting {app}")
    server, port = start_server(processes, app, workers, env, log_file, args.access_log)

    def probe() -> dict:
        return {
            "server": cpu_seconds(server.pid),
            "temporal": cpu_seconds(temporal.pid) if temporal else 0.0,
            "postgres": postgres_cpu_seconds() if database.is_postgres else 0.0,
            "machine": machine_cpu(),
            "client": time.process_time(),
        }

    def start_failures() -> int:
        return log_file.read_text(errors="replace").count("not started yet")

    try:
        address = env["TEMPORAL_ADDRESS"]
        started_before = runner.run(count_workflows(address)) if temporal else 0
        tally, measures = runner.run(drive(port, f"{args.tenant}.localhost:{port}", portal, args, probe))
        ok = len(tally.latencies)
        lag = workflows = None
        if temporal and portal:
            # Workflow starts run after each response: wait until each row we made is started or given up on
            # (logged for the reconciler), so their CPU is counted and we can say how far behind they were.
            expected = measures["warm_ok"] + ok
            finished = time.perf_counter()
            while time.perf_counter() - finished < 120:
                workflows = runner.run(count_workflows(address)) - started_before
                if workflows + start_failures() >= expected:
                    break
                time.sleep(0.5)
            lag = time.perf_counter() - finished
        else:
            time.sleep(0.3)  # let the last background tasks finish before reading the CPU counters
        final = probe()
        failures = start_failures() if portal else None
    finally:
        processes.stop(server)
    start, end = measures["start"], measures["end"]
    elapsed = measures["elapsed"]
    busy = end["machine"][0] - start["machine"][0]
    total = end["machine"][1] - start["machine"][1]
    latencies = sorted(tally.latencies)
    per_request = 1000 / ok if ok else float("nan")
    temporal_cpu = final["temporal"] - start["temporal"] if temporal else None
    machine_pct = 100 * (os.cpu_count() or 1) * busy / total if total else 0.0
    ours = sum(end[key] - start[key] for key in ("server", "temporal", "client"))
    return Result(
        scenario=name,
        workers=workers,
        database="postgresql" if database.is_postgres else "sqlite",
        requests=ok + sum(tally.errors.values()),
        errors=sum(tally.errors.values()),
        seconds=round(elapsed, 3),
        req_per_s=round(ok / elapsed, 1) if elapsed else 0.0,
        p50_ms=round(percentile(latencies, 0.50) * 1000, 2),
        p99_ms=round(percentile(latencies, 0.99) * 1000, 2),
        mean_ms=round(sum(latencies) / ok * 1000, 2) if ok else float("nan"),
        server_cpu_ms_per_req=round((final["server"] - start["server"]) * per_request, 3),
        client_cpu_pct=round(100 * (end["client"] - start["client"]) / elapsed, 1),
        machine_cpu_pct=round(machine_pct, 1),
        other_cpu_pct=round(machine_pct - 100 * ours / elapsed, 1),
        temporal_cpu_ms_per_req=round(temporal_cpu * per_request, 3) if temporal_cpu is not None else None,
        postgres_cpu_ms_per_req=(
            round((final["postgres"] - start["postgres"]) * per_request, 3) if database.is_postgres else None
        ),
        workflows_started=workflows,
        background_lag_s=round(lag, 2) if lag is not None else None,
        workflow_start_failures=failures,
        error_kinds=dict(tally.errors),
        error_samples=tally.samples,
        warmup_errors=measures["warm_errors"],
    )


def print_table(results: list[Result], ratios: list[dict]) -> None:
    header = (
        f"{'scenario':<15}{'db':<11}{'workers':>7}{'requests':>10}{'errors':>8}{'req/s':>9}{'p50 ms':>9}"
        f"{'p99 ms':>9}{'srv CPU ms/req':>16}{'client CPU':>12}{'machine CPU':>13}{'other CPU':>11}"
    )
    print()
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.scenario:<15}{r.database:<11}{r.workers:>7}{r.requests:>10}{r.errors:>8}{r.req_per_s:>9.1f}"
            f"{r.p50_ms:>9.1f}{r.p99_ms:>9.1f}{r.server_cpu_ms_per_req:>16.2f}{r.client_cpu_pct:>11.0f}%"
            f"{r.machine_cpu_pct:>12.0f}%{r.other_cpu_pct:>10.0f}%"
        )
    print()
    for ratio in ratios:
        print(
            f"ratio {ratio['scenario']}/{ratio['baseline']}, {ratio['workers']} worker(s): "
            f"throughput {ratio['ratio']:.2f}, server CPU per request (bare/submit) {ratio['cpu_ratio']:.2f}"
        )
        print(f"ratio web CPU per post {ratio['scenario']}/{ratio['baseline']}: {ratio['web_cpu_times']:.2f}")
        if ratio["postgres_cpu_times"] is not None:
            print(
                f"ratio PostgreSQL CPU per post {ratio['scenario']}/{ratio['baseline']}: "
                f"{ratio['postgres_cpu_times']:.2f}"
            )
    for r in results:
        if r.workflows_started is not None:
            print(
                f"{r.scenario} w{r.workers}: background: {r.workflows_started} workflows started, "
                f"{r.workflow_start_failures} not started (left to the reconciler), "
                f"done {r.background_lag_s} s after the last response; "
                f"Temporal server CPU {r.temporal_cpu_ms_per_req:.2f} ms/req"
            )
        elif r.workflow_start_failures is not None:
            print(
                f"{r.scenario} w{r.workers}: background: {r.workflow_start_failures} workflow starts "
                "failed and were logged (expected: Temporal's port is closed)"
            )
        if r.warmup_errors:
            print(f"ERRORS during warm-up {r.scenario} w{r.workers}: {r.warmup_errors}")
        for kind, count in r.error_kinds.items():
            print(f"ERRORS {r.scenario} w{r.workers}: {count} x {kind}: {r.error_samples.get(kind, '')!r}")
    print(
        "srv CPU: the uvicorn process tree, background tasks included. client CPU: the load generator (max"
        " 100%).\nmachine CPU: all cores (max 100% x cores); other CPU: machine minus server, Temporal and"
        " client, i.e.\nPostgreSQL on PostgreSQL runs plus whatever else the machine runs. Percentages over"
        " the measured phase."
    )


def git_head(project: Path) -> str:
    """The commit measured (the work tree may hold uncommitted changes on top of it)."""
    result = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True, check=False
    )
    return result.stdout.strip() or "unknown"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url",
        default="",
        help="postgresql://user@127.0.0.1:5432/<admin db> to run on PostgreSQL (a database "
        "portal_bench_<pid> is created and dropped there); default: SQLite in a temp dir",
    )
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1], help="uvicorn workers; several = several runs"
    )
    parser.add_argument("--concurrency", type=int, default=32, help="virtual citizens = max connections")
    parser.add_argument("--requests", type=int, default=2000, help="measured posts per scenario")
    parser.add_argument(
        "--seconds", type=float, default=30, help="cap of the measured phase (and of warm-up)"
    )
    parser.add_argument("--warmup", type=int, default=200, help="posts before measuring (not counted)")
    parser.add_argument(
        "--rate",
        type=float,
        default=0,
        help="posts a second (0: as fast as answers come). The portal starts each workflow after its answer, "
        "so unpaced it outruns a dev server that the bare app waits on, and starts pile up and time out; "
        "a rate both keep up with compares the same work",
    )
    parser.add_argument(
        "--temporal",
        choices=("closed", "dev", "both"),
        default="both",
        help="closed: TEMPORAL_ADDRESS on a closed port; dev: a Temporal dev server, no worker",
    )
    parser.add_argument(
        "--rate-limits",
        choices=("on", "off"),
        default="on",
        help="the portal's RATE_LIMITS (on by default, as in production): every post comes from its own "
        "address and e-mail, so the limits cost their store reads and writes but never refuse",
    )
    parser.add_argument("--tenant", default="springfield", help="demo tenant to post to")
    parser.add_argument(
        "--no-access-log",
        dest="access_log",
        action="store_false",
        help="run uvicorn without its access log (on by default, as in `citizen-portal web`)",
    )
    parser.add_argument(
        "--project",
        type=Path,
        default=PROJECT_ROOT,
        help="the checkout to benchmark (default: the one holding this script), e.g. a `git archive` export",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (server logs, SQLite file)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    project = args.project.resolve()
    if not (project / "apps" / "web.py").is_file():
        raise SystemExit(f"{project} is not a Citizen Portal checkout (no apps/web.py)")
    if sys.path[0] != str(PROJECT_ROOT):
        sys.path.insert(0, str(PROJECT_ROOT))  # for infra.temporal_dev, from this checkout
    from infra.temporal_dev import start_dev_server

    compile_bytecode(project)

    def terminate(*_) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    temp = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    processes = Processes(project)
    database: Database | None = None
    busy_before = 0.0
    results: list[Result] = []
    try:
        busy_before = machine_busy_pct(3.0)
        log(f"machine busy before the run: {busy_before:.0f}% of {(os.cpu_count() or 1) * 100}% (other load)")
        database = prepare_database(args.database_url, temp)
        closed_address = f"{LOOPBACK}:{free_port()}"
        (temp / "var").mkdir()  # the portal does not create VAR_DIR; its session FileStore needs it
        env = base_env(project, database, temp / "var", closed_address, args.rate_limits)
        migrate_and_seed(project, env)
        try:
            import uvloop

            loop_factory = uvloop.new_event_loop
        except ImportError:
            loop_factory = None
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            for workers in args.workers:
                results.append(run_scenario("bare", runner, processes, database, env, workers, args, temp))
                if args.temporal in ("closed", "both"):
                    results.append(
                        run_scenario("submit/closed", runner, processes, database, env, workers, args, temp)
                    )
                if args.temporal in ("dev", "both"):  # each with a dev server of its own
                    for name, extra in (("bare/dev", {"BENCH_START_WORKFLOW": "1"}), ("submit/dev", {})):
                        temporal_port = free_port()
                        log(f"starting a Temporal dev server on {LOOPBACK}:{temporal_port} (no worker)")
                        temporal = processes.adopt(
                            start_dev_server(
                                temporal_port,
                                temp / f"temporal-{name.replace('/', '-')}-w{workers}.db",
                                log_file=temp / "temporal.log",
                            )
                        )
                        try:
                            dev_env = {**env, **extra, "TEMPORAL_ADDRESS": f"{LOOPBACK}:{temporal_port}"}
                            results.append(
                                run_scenario(
                                    name, runner, processes, database, dev_env, workers, args, temp, temporal
                                )
                            )
                        finally:
                            processes.stop(temporal)
    except KeyboardInterrupt:
        log("interrupted; cleaning up")
        return 130
    finally:
        processes.stop_all()
        if database is not None:
            drop_database(database)
        if args.keep:
            log(f"kept {temp}")
        else:
            shutil.rmtree(temp, ignore_errors=True)
    ratios = []
    for workers in args.workers:
        mine = [r for r in results if r.workers == workers]
        plain = next((r for r in mine if r.scenario == "bare"), None)
        with_start = next((r for r in mine if r.scenario == "bare/dev"), None)
        for r in mine:
            bare = with_start if r.scenario == "submit/dev" and with_start else plain
            if r.scenario.startswith("bare") or not bare or not bare.req_per_s:
                continue
            ratios.append(
                {
                    "scenario": r.scenario,
                    "baseline": bare.scenario,
                    "workers": workers,
                    "ratio": round(r.req_per_s / bare.req_per_s, 3),
                    # Less sensitive to other load on the machine than throughput is.
                    "cpu_ratio": round(bare.server_cpu_ms_per_req / r.server_cpu_ms_per_req, 3),
                    "web_cpu_times": round(r.server_cpu_ms_per_req / bare.server_cpu_ms_per_req, 3),
                    "postgres_cpu_times": (
                        round(r.postgres_cpu_ms_per_req / bare.postgres_cpu_ms_per_req, 3)
                        if r.postgres_cpu_ms_per_req and bare.postgres_cpu_ms_per_req
                        else None
                    ),
                }
            )
    print_table(results, ratios)
    print(f"Machine busy before the run (other load, idle wait of 3 s): {busy_before:.0f}%.")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "code": {"project": str(project), "commit": git_head(project)},
                    "machine_busy_pct_before": round(busy_before, 1),
                    "machine": {
                        "cpus": os.cpu_count(),
                        "platform": platform.platform(),
                        "python": platform.python_version(),
                    },
                    "settings": {
                        key: (str(value) if isinstance(value, Path) else value)
                        for key, value in vars(args).items()
                    },
                    "results": [asdict(r) for r in results],
                    "ratios": ratios,
                },
                indent=2,
            )
        )
        log(f"wrote {args.json}")
    return 1 if any(r.errors for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
