"""Mixed load at three times a city's peak, for ten minutes, on the production shape, all on 127.0.0.1.

The shape: PostgreSQL (a fresh database; the portal connects as its own role, under row-level security),
Redis (sessions and rate-limit counters shared by the web processes), a Temporal dev server, two web
processes (`uvicorn --workers 2`, as `citizen-portal web --workers 2`), two workers (`python -m
workflows.worker`, twice) and an SMTP server in this process that keeps every message's recipient and
subject. The demo's Springfield is the town, its reopen window set to 0 so that a closed request's workflow
ends with its closure mail.

The load is an open loop: arrivals keep their clock whatever the answers take.
- Citizens: --rate new requests a second (pothole or damaged sidewalk, both Public Works). Each opens the
  form, posts it, then reads its status page about 5 s, 60 s and 180 s later.
- Clerks: the agent and the supervisor of Public Works, each signed in with a session of their own, view
  the open queue every --queue-every seconds and work what it shows them (each the references whose number
  has its parity): the request's page, assign to themselves, close as fixed.
- Every closure finishes a lifecycle: routing, the acknowledgement mail, the receipt PDF, the closure mail.

A city of a million requests a year at its peak: 1,000,000 over 250 working days of 8 hours is 0.14 a
second; the busiest hours see twice that, 0.28; three times the peak is the default rate, 0.83 a second.

After --minutes arrivals stop, and the run waits (up to --drain seconds) for every accepted request to be
closed and mailed. Then it checks that nothing was lost: every accepted request is 'closed' in the database,
no workflow is left running, each citizen got exactly one acknowledgement and one closure mail, and no
message was sent twice. It prints p50/p99 per page, the RSS of each web and worker process (and of each
worker's PDF process) minute by minute and the CPU of each part per request, which docs/performance.md
turns into a capacity table.

    python bench/soak.py                          # ten minutes at 0.83 requests a second
    python bench/soak.py --minutes 2 --rate 0.5   # a shorter look
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import contextlib

import httpx
import psutil

from bench.common import (
    DEFAULT_POSTGRES,
    LOOPBACK,
    PROJECT_ROOT,
    Processes,
    compile_bytecode,
    cpu_seconds,
    free_port,
    log,
    machine_line,
    percentile,
    postgres_cpu_seconds,
    postgres_database,
    rss_mb,
    tail,
    tree_rss_mb,
)

CITY_PEAK = 1_000_000 / (250 * 8 * 3600) * 2  # requests a second in the busiest hours of a city of 1M a year
TOWN = "springfield"
CLERKS = ("roads@springfield.test", "works-lead@springfield.test")
REQUEST_TYPES = ("pothole", "sidewalk")
STATUS_READS = (5, 60, 180)  # seconds after the post
REFERENCE = re.compile(r"\bSPR-\d{4}-\d{6}\b")
CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')
PAGES = ("form", "submit", "status", "queue", "detail", "assign", "close")


def say(message: str) -> None:
    log("soak", message)


# ------------------------------------------------------------------------------------------------- mail


class Mailbox:
    """aiosmtpd handler: every message's recipients and subject (counted on the controller's thread)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str, str]] = []  # (recipient, subject, Message-ID)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        for recipient in envelope.rcpt_tos:
            self.messages.append((recipient, str(message["subject"]), str(message["message-id"])))
        return "250 OK"

    def about(self, reference: str, words: str) -> int:
        return sum(1 for _, subject, _ in self.messages if reference in subject and words in subject)


# ---------------------------------------------------------------------------------------------- browser


@dataclass
class Figures:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter = field(default_factory=Counter)
    samples: dict[str, str] = field(default_factory=dict)

    def error(self, page: str, detail: str) -> None:
        self.errors[page] += 1
        self.samples.setdefault(page, detail[:300])


class Browser:
    """One person's browser on the town's host: a connection, cookies, the CSRF token of its session."""

    def __init__(self, port: int, figures: Figures, address: str = LOOPBACK) -> None:
        self.http = httpx.AsyncClient(
            base_url=f"http://{LOOPBACK}:{port}",
            headers={
                "Host": f"{TOWN}.localhost:{port}",
                "X-Forwarded-For": address,
                "Accept-Language": "en-CA,en;q=0.8",
            },
            timeout=60,
            follow_redirects=False,
        )
        self.figures = figures
        self.csrf = ""

    async def close(self) -> None:
        await self.http.aclose()

    async def call(self, page: str, method: str, path: str, expect: int, data: dict | None = None):
        """The response when it has the expected status; otherwise the error is counted and None returned."""
        if data is not None:
            data = {"_csrf_token": self.csrf, **data}
        started = time.perf_counter()
        try:
            response = await self.http.request(method, path, data=data)
        except httpx.HTTPError as error:
            self.figures.error(page, repr(error))
            return None
        if response.status_code != expect:
            self.figures.error(page, f"{response.status_code}: {response.text[:200]}")
            return None
        self.figures.latencies[page].append(time.perf_counter() - started)
        if token := CSRF_FIELD.search(response.text):
            self.csrf = token.group(1)
        return response


# ------------------------------------------------------------------------------------------------ load


@dataclass
class Run:
    port: int
    figures: Figures
    accepted: dict[str, str] = field(default_factory=dict)  # status path -> reference
    handled: set[str] = field(default_factory=set)
    closed: set[str] = field(default_factory=set)
    posted: int = 0
    tasks: set[asyncio.Task] = field(default_factory=set)


async def citizen(run: Run, number: int) -> None:
    browser = Browser(
        run.port, run.figures, address=f"10.{number >> 16 & 255}.{number >> 8 & 255}.{number & 255}"
    )
    try:
        if await browser.call("form", "GET", "/", 200) is None:
            return
        form = {
            "idempotency_key": os.urandom(16).hex(),
            "request_type": REQUEST_TYPES[number % len(REQUEST_TYPES)],
            "description": "A hole in the road in front of number 12, deep enough to hurt a tyre.",
            "address": "12 Evergreen Terrace",
            "latitude": "45.50169",
            "longitude": "-73.56725",
            "contact_name": f"Citizen {number}",
            "contact_email": f"citizen-{number}@example.test",
            "contact_phone": "",
            # The pothole's questions, and "send mine" past the open ones nearby (every post is one place).
            "q_size": "smaller-than-a-tyre",
            "q_where": "road",
            "nearby_seen": "1",
        }
        run.posted += 1
        posted = await browser.call("submit", "POST", "/requests", 303, form)
        if posted is None:
            return
        path = posted.headers["location"].split("?")[0]
        run.accepted[path] = ""
        started = time.monotonic()
        for after in STATUS_READS:
            await asyncio.sleep(max(0.0, started + after - time.monotonic()))
            page = await browser.call("status", "GET", path, 200)
            if page is not None and not run.accepted[path] and (found := REFERENCE.search(page.text)):
                run.accepted[path] = found.group(0)
    finally:
        await browser.close()


async def citizens(run: Run, rate: float, seconds: float) -> None:
    """Arrivals on a Poisson clock (seeded, so two runs see the same sequence)."""
    clock = random.Random(2026)
    started, next_at, number = time.monotonic(), 0.0, 0
    while next_at < seconds:
        await asyncio.sleep(max(0.0, started + next_at - time.monotonic()))
        number += 1
        task = asyncio.create_task(citizen(run, number))
        run.tasks.add(task)
        task.add_done_callback(run.tasks.discard)
        next_at += clock.expovariate(rate)


async def clerk(run: Run, email: str, parity: int, every: float, stop: asyncio.Event) -> None:
    browser = Browser(run.port, run.figures)
    try:
        await browser.call("login form", "GET", "/admin/login", 200)
        signed_in = await browser.call(
            "login", "POST", "/admin/login", 303, {"email": email, "password": "demo-password-2026"}
        )
        if signed_in is None:
            raise RuntimeError(f"{email} could not sign in: {run.figures.samples.get('login')}")
        while not stop.is_set():
            queue = await browser.call("queue", "GET", "/admin/requests?status=open", 200)
            for reference in dict.fromkeys(REFERENCE.findall(queue.text if queue else "")):
                if int(reference[-6:]) % 2 != parity or reference in run.handled:
                    continue
                if await browser.call("detail", "GET", f"/admin/requests/{reference}", 200) is None:
                    continue
                if await browser.call("assign", "POST", f"/admin/requests/{reference}/assign", 303, {}):
                    run.handled.add(reference)
                    if await browser.call(
                        "close", "POST", f"/admin/requests/{reference}/close", 303, {"reason": "fixed"}
                    ):
                        run.closed.add(reference)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
    finally:
        await browser.close()


# ---------------------------------------------------------------------------------------------- shape


@dataclass
class Shape:
    web: object
    workers: list
    temporal: object
    port: int
    temporal_address: str


def start_shape(processes: Processes, temp: Path, env: dict[str, str]) -> Shape:
    from infra.temporal_dev import port_open, start_dev_server

    temporal_port = free_port()
    temporal = processes.adopt(
        start_dev_server(temporal_port, temp / "temporal.db", log_file=temp / "temporal.log")
    )
    env["TEMPORAL_ADDRESS"] = f"{LOOPBACK}:{temporal_port}"
    port = free_port()
    env["PUBLIC_PORT"] = str(port)
    web = processes.spawn(
        [sys.executable, "-m", "uvicorn", "apps.web:create_app", "--factory", "--host", LOOPBACK]
        + ["--port", str(port), "--workers", "2", "--no-server-header", "--proxy-headers"],
        env,
        temp / "web.log",
    )
    workers = [
        processes.spawn([sys.executable, "-m", "workflows.worker"], env, temp / f"worker-{n}.log")
        for n in (1, 2)
    ]
    deadline = time.monotonic() + 90
    while not port_open(port) or (temp / "web.log").read_text(errors="replace").count("startup complete") < 2:
        for child, name in ((web, "web"), *((w, f"worker-{n}") for n, w in enumerate(workers, 1))):
            if child.poll() is not None:
                raise RuntimeError(f"{name} exited:\n{tail(temp / f'{name}.log')}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the web did not start within 90 s:\n{tail(temp / 'web.log')}")
        time.sleep(0.2)
    return Shape(web, workers, temporal, port, env["TEMPORAL_ADDRESS"])


def redis_pid() -> int | None:
    for process in psutil.process_iter(["name"]):
        if process.info["name"] and process.info["name"].startswith("redis-server"):
            return process.pid
    return None


def cpu_now(shape: Shape) -> dict[str, float]:
    redis = redis_pid()
    return {
        "web": cpu_seconds(shape.web.pid),
        "workers": sum(cpu_seconds(worker.pid) for worker in shape.workers),
        "temporal": cpu_seconds(shape.temporal.pid),
        "postgres": postgres_cpu_seconds(),
        "redis": cpu_seconds(redis, children=False) if redis else 0.0,
        "load generator": time.process_time(),
    }


def web_processes(shape: Shape) -> list[int]:
    """uvicorn's supervisor spawns the two serving processes: their pids, for memory per process."""
    return [
        child.pid
        for child in psutil.Process(shape.web.pid).children(recursive=False)
        if "resource_tracker" not in " ".join(child.cmdline())  # multiprocessing's helper, serves nothing
    ]


async def sample_memory(shape: Shape, samples: list[dict], stop: asyncio.Event, every: float = 10) -> None:
    started = time.monotonic()
    while not stop.is_set():
        sample = {"minute": round((time.monotonic() - started) / 60, 2)}
        for n, pid in enumerate(web_processes(shape), 1):
            sample[f"web-{n}"] = round(tree_rss_mb(pid), 1)
        for n, worker in enumerate(shape.workers, 1):
            # The worker apart from its PDF process: that one grows with its first renders (fonts, caches)
            # and is replaced every few hundred, which says nothing of the worker's own memory.
            own = rss_mb(worker.pid)
            sample[f"worker-{n}"] = round(own, 1)
            sample[f"pdf-{n}"] = round(tree_rss_mb(worker.pid) - own, 1)
        samples.append(sample)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)


# ----------------------------------------------------------------------------------------------- checks


async def database_states(owner_url: str, references: list[str]) -> Counter:
    import asyncpg

    connection = await asyncpg.connect(owner_url)
    try:
        rows = await connection.fetch(
            "SELECT status, count(*) AS n FROM service_request WHERE reference = ANY($1::text[]) "
            "GROUP BY status",
            references,
        )
    finally:
        await connection.close()
    return Counter({row["status"]: row["n"] for row in rows})


async def running_workflows(address: str) -> int:
    from temporalio.client import Client

    client = await Client.connect(address)
    return (await client.count_workflows("ExecutionStatus = 'Running'")).count


async def drain(run: Run, mailbox: Mailbox, owner_url: str, address: str, seconds: float) -> dict:
    """Waits for the last status reads and for every accepted request to be closed and mailed."""
    deadline = time.monotonic() + seconds
    if run.tasks:
        await asyncio.wait(list(run.tasks), timeout=max(0.0, deadline - time.monotonic()))
    references = [reference for reference in run.accepted.values() if reference]
    while time.monotonic() < deadline:
        states = await database_states(owner_url, references)
        mailed = sum(1 for reference in references if mailbox.about(reference, "is closed"))
        done = states.get("closed", 0) == len(references) and mailed == len(references)
        if done and await running_workflows(address) == 0:
            break
        await asyncio.sleep(2)
    states = await database_states(owner_url, references)
    received = Counter(mailbox.about(reference, "We received") for reference in references)
    closed_mails = Counter(mailbox.about(reference, "is closed") for reference in references)
    sent = Counter((recipient, subject) for recipient, subject, _ in mailbox.messages)
    return {
        "accepted": len(run.accepted),
        "accepted_without_reference": sum(1 for reference in run.accepted.values() if not reference),
        "closed_by_clerks": len(run.closed),
        "states": dict(states),
        "running_workflows": await running_workflows(address),
        "acknowledgements_per_request": dict(received),
        "closure_mails_per_request": dict(closed_mails),
        "messages": len(mailbox.messages),
        "messages_sent_twice": sum(1 for count in sent.values() if count > 1),
        "lost": len(run.accepted) - states.get("closed", 0),
    }


# ------------------------------------------------------------------------------------------------- main


async def load(args: argparse.Namespace, shape: Shape, mailbox: Mailbox, owner_url: str) -> dict:
    figures = Figures()
    run = Run(shape.port, figures)
    stop, memory_stop = asyncio.Event(), asyncio.Event()
    memory: list[dict] = []
    seconds = args.minutes * 60
    memory_task = asyncio.create_task(sample_memory(shape, memory, memory_stop))
    before, wall = cpu_now(shape), time.perf_counter()
    clerks = [
        asyncio.create_task(clerk(run, email, parity, args.queue_every, stop))
        for parity, email in enumerate(CLERKS)
    ]
    await citizens(run, args.rate, seconds)
    say(f"arrivals stopped after {args.minutes} min; draining")
    outcome_task = asyncio.create_task(drain(run, mailbox, owner_url, shape.temporal_address, args.drain))
    while not outcome_task.done():
        await asyncio.sleep(1)
        if all(reference in run.closed for reference in run.accepted.values() if reference) and not run.tasks:
            stop.set()
    stop.set()
    outcome = await outcome_task
    await asyncio.gather(*clerks)
    after, elapsed = cpu_now(shape), time.perf_counter() - wall
    memory_stop.set()
    await memory_task
    requests = max(1, len(run.accepted))
    return {
        "rate_per_s": args.rate,
        "city_peak_per_s": round(CITY_PEAK, 3),
        "minutes": args.minutes,
        "elapsed_s": round(elapsed, 1),
        "outcome": outcome,
        "pages": {
            page: {
                "count": len(values),
                "p50_ms": round(percentile(values, 0.5) * 1000, 1),
                "p99_ms": round(percentile(values, 0.99) * 1000, 1),
            }
            for page, values in sorted(
                figures.latencies.items(), key=lambda item: PAGES.index(item[0]) if item[0] in PAGES else 99
            )
        },
        "errors": dict(figures.errors),
        "error_samples": figures.samples,
        "cpu_ms_per_request": {
            part: round((after[part] - before[part]) * 1000 / requests, 1) for part in before
        },
        "cpu_pct_of_a_core": {
            part: round((after[part] - before[part]) * 100 / elapsed, 1) for part in before
        },
        "memory_mb": memory,
    }


def print_report(report: dict) -> None:
    outcome = report["outcome"]
    print(
        f"\nload        {report['rate_per_s']} requests/s for {report['minutes']} min "
        f"({report['rate_per_s'] / report['city_peak_per_s']:.1f}x the peak of a city of 1M a year)"
    )
    print(
        f"outcome     {outcome['accepted']} accepted, {outcome['states']}, lost {outcome['lost']}, "
        f"workflows still running {outcome['running_workflows']}"
    )
    print(
        f"mail        {outcome['messages']} messages; acknowledgements per request "
        f"{outcome['acknowledgements_per_request']}, closure mails per request "
        f"{outcome['closure_mails_per_request']}, sent twice {outcome['messages_sent_twice']}"
    )
    print(f"\n{'page':<10}{'count':>7}{'p50 ms':>9}{'p99 ms':>9}")
    for page, figures in report["pages"].items():
        print(f"{page:<10}{figures['count']:>7}{figures['p50_ms']:>9.1f}{figures['p99_ms']:>9.1f}")
    if report["errors"]:
        print(f"errors      {report['errors']}")
        for page, sample in report["error_samples"].items():
            print(f"  {page}: {sample!r}")
    print("\nCPU per accepted request (its pages and its lifecycle), ms; and share of one core over the run:")
    for part, value in report["cpu_ms_per_request"].items():
        print(f"  {part:<16}{value:>8.1f} ms   {report['cpu_pct_of_a_core'][part]:>6.1f} %")
    memory = report["memory_mb"]
    if memory:
        names = [key for key in memory[0] if key != "minute"]
        print("\nRSS MB by minute: " + "  ".join(names))
        shown = {}
        for sample in memory:
            shown[int(sample["minute"])] = sample
        for minute, sample in sorted(shown.items()):
            print(f"  {minute:>3}  " + "  ".join(f"{sample.get(name, 0):>8.1f}" for name in names))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rate", type=float, default=round(3 * CITY_PEAK, 2), help="new requests a second")
    parser.add_argument("--queue-every", type=float, default=5, help="seconds between a clerk's queue views")
    parser.add_argument("--drain", type=float, default=300, help="seconds to wait for the last closures")
    parser.add_argument("--admin-url", default=DEFAULT_POSTGRES, help="PostgreSQL where the database is made")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13", help="emptied at the start")
    parser.add_argument("--json", type=Path)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import redis
    from aiosmtpd.controller import Controller

    try:
        redis.Redis.from_url(args.redis_url).flushdb()
    except redis.RedisError as error:
        raise SystemExit(
            f"Redis at {args.redis_url} is needed (the production shape shares state there): {error}"
        ) from None
    say(machine_line())
    compile_bytecode()
    temp = Path(tempfile.mkdtemp(prefix="portal-soak-"))
    processes = Processes(PROJECT_ROOT)
    mailbox = Mailbox()
    smtp_port = free_port()
    smtp = Controller(mailbox, hostname=LOOPBACK, port=smtp_port)
    smtp.start()
    try:
        with postgres_database(args.admin_url, prefix="portal_soak") as database:
            env = {
                **os.environ,
                "DATABASE_URL": database.app_url,
                "DATABASE_OWNER_URL": database.owner_url,
                "SESSION_STORE_URL": args.redis_url,
                "SMTP_HOST": LOOPBACK,
                "SMTP_PORT": str(smtp_port),
                "VAR_DIR": str(temp / "var"),
                "BASE_DOMAIN": "localhost",
                "DEV_INBOX_DIR": "",
                "RECONCILE_INTERVAL": "15",
                "PYTHONPATH": str(PROJECT_ROOT),
            }
            (temp / "var").mkdir()
            seeded = processes.spawn([sys.executable, "-m", "apps.cli", "seed-demo"], env, temp / "seed.log")
            if seeded.wait() != 0:
                raise RuntimeError(f"seed-demo failed:\n{tail(temp / 'seed.log')}")
            asyncio.run(_no_reopen_window(database.owner_url))
            shape = start_shape(processes, temp, env)
            say(f"web on {LOOPBACK}:{shape.port} (2 processes), 2 workers, Temporal {shape.temporal_address}")
            report = asyncio.run(load(args, shape, mailbox, database.owner_url))
            processes.stop_all()
    finally:
        processes.stop_all()
        smtp.stop()
    report["machine"] = machine_line()
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
        say(f"wrote {args.json}")
    lost = report["outcome"]["lost"] or report["outcome"]["messages_sent_twice"]
    return 1 if lost else 0


async def _no_reopen_window(owner_url: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(owner_url)
    try:
        await connection.execute("UPDATE tenant SET reopen_window_seconds = 0 WHERE slug = $1", TOWN)
    finally:
        await connection.close()


if __name__ == "__main__":
    sys.exit(main())
