"""Benchmark of whole request lifecycles, ONE worker: submit -> route -> assign -> close -> receipt mailed.

Each lifecycle is driven the way production drives it, minus HTTP:

  1. domain.requests.submit() commits the request in this process (what POST /requests does, without the
     Litestar form handling; see bench/submit.py for that part);
  2. TemporalGateway.start_request() starts its workflow (the web's background task after the answer);
  3. the database is polled (--poll seconds) until the workflow's `route` activity made it 'routed' or
     'assigned';
  4. TemporalGateway.act() sends the staff Updates: a supervisor assigns it to an agent, the agent closes it
     with reason "fixed" (each call returns when the workflow has persisted the move). An Update refused
     "not routed yet" (the row says routed before the workflow knows it) is retried after --poll seconds,
     as a clerk would, and counted;
  5. the closure mail, with its PDF receipt attached, is awaited at the SMTP sink, then the workflow result.

After the run it fetches a few workflow histories (events, activities, Updates, timers) and times a few
receipt renders in this process (--pdf-probe), with and without the QR code.

--concurrency lifecycles are in flight at any moment (a closed loop); the measured phase stops starting new
ones after --lifecycles or --seconds. --warmup lifecycles run first, one at a time, and are not measured
(the worker's first PDF render loads fonts; the first workflow task imports the sandbox).

Everything is its own and on 127.0.0.1: a fresh database (a SQLite file in a temp dir, or the PostgreSQL
database portal_lifecycles_<pid>, created and dropped here) with the migrations applied, one tenant whose
reopen window is --reopen-window seconds (0 by default, so a workflow ends right after its closure mail),
a Temporal dev server on a free port (infra.temporal_dev.start_dev_server with its state in a SQLite file
in the temp dir; --temporal-memory starts the same binary without --db-filename, i.e. in memory), an
aiosmtpd server in this process that counts messages and PDF attachments, and ONE worker: by default the
real `python -m workflows.worker` in a subprocess (reconciler interval set to a day), or, with
--in-process-worker, build_worker() inside this process. Every process it started is stopped on exit,
Ctrl-C included, and the temp dir (and PostgreSQL database) removed.

CPU: /proc/<pid>/stat utime+stime of the worker and of the dev server (with their children), read before
and after the measured phase, divided by the lifecycles done. With --in-process-worker the worker's CPU
is in the bench process's and is reported as such.

  python bench/lifecycles.py                                       # 100 lifecycles, 10 in flight, SQLite
  python bench/lifecycles.py --lifecycles 200 --concurrency 20 --json out.json
  python bench/lifecycles.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
  python bench/lifecycles.py --project /tmp/portal-at-HEAD        # another checkout, e.g. a `git archive`
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
from dataclasses import asdict, dataclass, field
from email import message_from_bytes, policy
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psutil
from common import (  # bench/common.py
    LOOPBACK,
    Processes,
    compile_bytecode,
    cpu_seconds,
    free_port,
    machine_cpu,
    percentile,
    tail,
)
from common import log as common_log

PROJECT_ROOT = Path(__file__).resolve().parent.parent  # the default --project
CLOSED_SUBJECT = re.compile(r"Your request (\S+) is closed")
REFERENCE = re.compile(r"\b[A-Z]{2,5}-\d{4}-\d{6}\b")


def log(message: str) -> None:
    common_log("lifecycles", message)


# --------------------------------------------------------------------------------------------- processes


def start_memory_dev_server(port: int, log_file: Path, timeout: float = 30) -> subprocess.Popen:
    """infra.temporal_dev.start_dev_server's command line without --db-filename: the state lives in memory."""
    from infra.temporal_dev import port_open, temporal_binary

    command = [
        temporal_binary(),
        "server",
        "start-dev",
        "--ip",
        LOOPBACK,
        "--port",
        str(port),
        "--log-level",
        "error",
        "--headless",
        "--http-port",
        str(free_port()),
        "--metrics-port",
        str(free_port()),
    ]
    with log_file.open("ab") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout
    while not port_open(port):
        if process.poll() is not None:
            raise RuntimeError(f"temporal dev server exited with code {process.returncode}")
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"temporal dev server did not listen on port {port} within {timeout}s")
        time.sleep(0.1)
    return process


def spawn_worker(project: Path, log_file: Path) -> subprocess.Popen:
    """The production worker, `python -m workflows.worker`, with this process's environment."""
    with log_file.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "workflows.worker"],
            cwd=project,
            env=dict(os.environ),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def spawn_skeleton(project: Path, queue: str, receipt: Path, log_file: Path) -> subprocess.Popen:
    """The skeleton's worker (bench/skeleton.py), with the measured checkout's code."""
    with log_file.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("skeleton.py")), "--task-queue", queue]
            + ["--receipt", str(receipt)],
            cwd=project,
            env={**os.environ, "PYTHONPATH": str(project)},
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


# ---------------------------------------------------------------------------------------------- database


@dataclass
class Database:
    url: str
    admin_url: str | None = None  # PostgreSQL: where CREATE/DROP DATABASE run
    name: str | None = None

    @property
    def kind(self) -> str:
        return "postgresql" if self.admin_url else "sqlite"


async def _pg_execute(url: str, sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def prepare_database(database_url: str, temp: Path) -> Database:
    if not database_url:
        return Database(url=f"sqlite:///{temp / 'portal.db'}")
    parsed = urlparse(database_url)
    if parsed.scheme not in ("postgres", "postgresql"):
        raise SystemExit("--database-url must be postgresql://user@127.0.0.1:5432/db (SQLite is the default)")
    if parsed.hostname not in (LOOPBACK, "localhost"):
        raise SystemExit(f"refusing a database on {parsed.hostname!r}: this benchmark targets 127.0.0.1 only")
    name = f"portal_lifecycles_{os.getpid()}"
    admin_url = urlunparse(parsed._replace(path=parsed.path if parsed.path not in ("", "/") else "/postgres"))
    database = Database(url=urlunparse(parsed._replace(path=f"/{name}")), admin_url=admin_url, name=name)
    asyncio.run(_pg_execute(admin_url, f'CREATE DATABASE "{name}"'))
    log(f"created PostgreSQL database {name}")
    return database


def drop_database(database: Database) -> None:
    if database.admin_url is None:
        return
    try:
        asyncio.run(
            _pg_execute(database.admin_url, f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)')
        )
        log(f"dropped PostgreSQL database {database.name}")
    except Exception as error:  # cleanup goes on; say what is left behind
        log(f"could not drop database {database.name}: {error}")


# ------------------------------------------------------------------------------------------------- mail


class MailSink:
    """aiosmtpd handler (runs on the controller's thread): counts messages and PDFs, wakes closure waiters."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.messages = 0
        self.pdfs = 0
        self.pdf_bytes = 0
        self.not_pdf = 0  # attachments that say application/pdf but do not start with %PDF
        self.kinds: Counter = Counter()
        self._closures: dict[str, asyncio.Future] = {}

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        subject = str(message["subject"])
        pdfs = []
        for part in message.iter_attachments():
            if part.get_content_type() == "application/pdf":
                content = part.get_content()
                pdfs.append((len(content), content.startswith(b"%PDF")))
        self.loop.call_soon_threadsafe(self._arrived, subject, pdfs)
        return "250 OK"

    def _arrived(self, subject: str, pdfs: list[tuple[int, bool]]) -> None:
        self.messages += 1
        self.pdfs += sum(1 for _, ok in pdfs if ok)
        self.not_pdf += sum(1 for _, ok in pdfs if not ok)
        self.pdf_bytes += sum(size for size, _ in pdfs)
        self.kinds[REFERENCE.sub("REF", subject)] += 1
        if closed := CLOSED_SUBJECT.search(subject):
            waiter = self._waiter(closed.group(1))
            if not waiter.done():
                waiter.set_result(sum(1 for _, ok in pdfs if ok))

    def _waiter(self, reference: str) -> asyncio.Future:
        if reference not in self._closures:
            self._closures[reference] = self.loop.create_future()
        return self._closures[reference]

    async def closure(self, reference: str) -> int:
        """Waits for the request's closure mail; returns how many valid PDFs it carried."""
        return await self._waiter(reference)


# -------------------------------------------------------------------------------------------- lifecycles


class LifecycleFailed(RuntimeError):
    def __init__(self, stage: str, detail: str) -> None:
        super().__init__(f"{stage}: {detail}")
        self.stage = stage


@dataclass
class Sample:
    reference: str
    request_id: int
    submit: float  # domain.requests.submit
    start: float  # TemporalGateway.start_request
    to_routed: float  # submit call -> 'routed' seen in the database (polling)
    assign: float  # the assign Update, round trip
    close: float  # the close Update, round trip
    to_mail: float  # close answered -> closure mail with PDF at the sink
    to_result: float  # closure mail -> workflow result
    total: float  # submit call -> workflow result
    receipt_pdfs: int
    not_routed_refusals: int  # Updates refused "not routed yet" although the row said routed, then retried


@dataclass
class Context:
    args: argparse.Namespace
    tenant_id: int
    slug: str
    prefix: str
    supervisor_id: int
    agent_id: int
    department_id: int
    gateway: object
    client: object
    sink: MailSink
    worker: subprocess.Popen | None
    counter: int = 0


async def one_lifecycle(ctx: Context) -> Sample:
    from domain import lifecycle, submissions
    from domain.intake import Submission
    from domain.scope import TenantScope
    from domain.tables import ServiceRequest
    from workflows.service_request import contract
    from workflows.service_request.contract import AssignCommand, CloseCommand, workflow_id

    args = ctx.args
    ctx.counter += 1
    scope = TenantScope(ctx.tenant_id)
    submission = Submission(
        request_type_code=args.request_type,
        description="A deep pothole in the right lane, in front of number 12; cars swerve around it.",
        contact_name="Ned Flanders",
        contact_email=f"citizen{ctx.counter}@bench.test",
        idempotency_key=uuid.uuid4().hex,
        address="12 Evergreen Terrace",
        latitude=45.50169,
        longitude=-73.56725,
    )
    t0 = time.perf_counter()
    submitted = await submissions.submit(scope, ctx.prefix, submission, "en")
    t_submitted = time.perf_counter()
    if not await ctx.gateway.start_request(
        ctx.tenant_id, ctx.slug, submitted.request_id, submitted.reference
    ):
        raise LifecycleFailed("start", "start_request returned False (see the log above)")
    t_started = time.perf_counter()
    deadline = t0 + args.lifecycle_timeout
    while True:
        row = (
            await scope.select(ServiceRequest, ServiceRequest.status)
            .where(ServiceRequest.id == submitted.request_id)
            .first()
        )
        if row["status"] in (lifecycle.ROUTED, lifecycle.ASSIGNED):
            break
        if ctx.worker is not None and ctx.worker.poll() is not None:
            raise LifecycleFailed("route", f"the worker exited with code {ctx.worker.returncode}")
        if time.perf_counter() > deadline:
            raise LifecycleFailed("route", f"still {row['status']!r} after {args.lifecycle_timeout}s")
        await asyncio.sleep(args.poll)
    t_routed = time.perf_counter()
    reference = submitted.reference
    not_yet = lifecycle.REFUSALS[lifecycle.SUBMITTED]
    refusals = 0

    async def act(update, command) -> None:
        """As a clerk would: 'not routed yet, try again in a moment' is retried after --poll seconds.

        The row says 'routed' as soon as the route activity commits, but the workflow (whose validator
        decides) only learns it when the activity's completion reaches it in its next workflow task.
        """
        nonlocal refusals
        while True:
            try:
                await ctx.gateway.act(ctx.slug, reference, update, command)
                return
            except lifecycle.TransitionRefused as refused:
                if str(refused) != not_yet or time.perf_counter() > deadline:
                    raise LifecycleFailed("update", f"refused: {refused}") from None
                refusals += 1
                await asyncio.sleep(args.poll)

    await act(
        contract.ASSIGN,
        AssignCommand(
            actor_id=ctx.supervisor_id,
            assignee_id=ctx.agent_id,
            actor_role="supervisor",
            actor_departments=[ctx.department_id],
            assignee_role="agent",
            assignee_departments=[ctx.department_id],
        ),
    )
    t_assigned = time.perf_counter()
    await act(
        contract.CLOSE,
        CloseCommand(
            actor_id=ctx.agent_id,
            reason="fixed",
            body="Filled and compacted.",
            actor_role="agent",
            actor_departments=[ctx.department_id],
        ),
    )
    t_closed = time.perf_counter()
    remaining = max(0.1, deadline - time.perf_counter())
    try:
        async with asyncio.timeout(remaining):
            pdfs = await ctx.sink.closure(reference)
    except TimeoutError:
        raise LifecycleFailed("mail", f"no closure mail within {args.lifecycle_timeout}s") from None
    t_mailed = time.perf_counter()
    handle = ctx.client.get_workflow_handle(workflow_id(ctx.slug, reference))
    async with asyncio.timeout(max(0.1, deadline - time.perf_counter())):
        result = await handle.result()
    t_done = time.perf_counter()
    if result != lifecycle.CLOSED:
        raise LifecycleFailed("result", f"workflow ended {result!r}")
    if pdfs < 1:
        raise LifecycleFailed("mail", "the closure mail had no PDF attachment")
    return Sample(
        reference=reference,
        request_id=submitted.request_id,
        submit=t_submitted - t0,
        start=t_started - t_submitted,
        to_routed=t_routed - t0,
        assign=t_assigned - t_routed,
        close=t_closed - t_assigned,
        to_mail=t_mailed - t_closed,
        to_result=t_done - t_mailed,
        total=t_done - t0,
        receipt_pdfs=pdfs,
        not_routed_refusals=refusals,
    )


async def run_phase(ctx: Context, count: int, concurrency: int, seconds: float):
    samples: list[Sample] = []
    failures: Counter = Counter()
    failure_samples: dict[str, str] = {}
    issued = 0
    cap = time.perf_counter() + seconds

    async def lane() -> None:
        nonlocal issued
        while issued < count and time.perf_counter() < cap:
            issued += 1
            try:
                async with asyncio.timeout(ctx.args.lifecycle_timeout + 5):
                    samples.append(await one_lifecycle(ctx))
            except Exception as error:
                if asyncio.current_task().cancelling():
                    # Ctrl-C: the Temporal client turns the cancellation into its own error; stop here.
                    raise asyncio.CancelledError from error
                kind = error.stage if isinstance(error, LifecycleFailed) else type(error).__name__
                failures[kind] += 1
                failure_samples.setdefault(kind, str(error)[:300])
                if ctx.worker is not None and ctx.worker.poll() is not None:
                    return

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return samples, failures, failure_samples, time.perf_counter() - started


# ---------------------------------------------------------------------------------------------- history


async def history_profile(client, workflow_ids: list[str]) -> dict:
    """Event counts of a few finished workflows: all events, activities by type (scheduled and local),
    updates, timers, workflow tasks."""
    from temporalio.api.enums.v1 import EventType

    from workflows.history import steps

    profiles = []
    for wid in workflow_ids:
        history = await client.get_workflow_handle(wid).fetch_history()
        kinds = Counter(
            EventType.Name(event.event_type).removeprefix("EVENT_TYPE_") for event in history.events
        )
        ran = steps(history.events)
        activities = Counter(step.name for step in ran if not step.local)
        local = Counter(step.name for step in ran if step.local)
        profiles.append(
            {
                "workflow_id": wid,
                "events": len(history.events),
                "activities": sum(activities.values()),
                "activity_types": dict(activities),
                "local_activities": sum(local.values()),
                "local_activity_types": dict(local),
                "workflow_tasks": kinds["WORKFLOW_TASK_COMPLETED"],
                "updates": kinds["WORKFLOW_EXECUTION_UPDATE_ACCEPTED"],
                "timers_started": kinds["TIMER_STARTED"],
                "event_types": dict(kinds),
            }
        )
    events = [p["events"] for p in profiles]
    return {
        "sampled": len(profiles),
        "events_min": min(events),
        "events_max": max(events),
        "first": profiles[0],
    }


# ------------------------------------------------------------------------------------------------ setup


async def make_tenant(reopen_window: int) -> dict:
    from apps.demo import seed_catalog
    from domain.scope import TenantScope
    from domain.tables import Department, StaffUser
    from tenants.onboarding import create_tenant

    slug = f"bench-{uuid.uuid4().hex[:8]}"
    tenant_id = await create_tenant(
        slug,
        "Benchville",
        "BEN",
        logo_svg='<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"></svg>',
        timezone="America/Toronto",
        contact_email=f"311@{slug}.test",
        reopen_window_seconds=reopen_window,
    )
    staff = (
        (f"lead@{slug}.test", "Lee Lead", "supervisor", "public-works"),
        (f"roads@{slug}.test", "Rory Roads", "agent", "public-works"),
    )
    await seed_catalog(TenantScope(tenant_id), staff)  # the demo's request types and SERVICE_LEVELS
    rows = await StaffUser.select(StaffUser.id, StaffUser.email).where(StaffUser.tenant == tenant_id)
    ids = {row["email"]: row["id"] for row in rows}
    works = (
        await Department.select(Department.id)
        .where((Department.tenant == tenant_id) & (Department.slug == "public-works"))
        .first()
    )
    return {
        "department_id": works["id"],
        "id": tenant_id,
        "slug": slug,
        "prefix": "BEN",
        "supervisor_id": ids[staff[0][0]],
        "agent_id": ids[staff[1][0]],
    }


async def connect(gateway, attempts: int = 100):
    for attempt in range(attempts):
        try:
            client = await gateway.client()
            await client.count_workflows()
            return client
        except Exception:
            await gateway.close()
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(0.2)
    raise AssertionError("unreachable")


async def db_route_latencies(tenant_id: int, request_ids: set[int]) -> list[float]:
    """created_at of the request -> created_at of its 'route' timeline line, as the database recorded them."""
    from domain.scope import TenantScope
    from domain.tables import RequestEvent

    rows = (
        await TenantScope(tenant_id)
        .select(
            RequestEvent,
            RequestEvent.request.as_alias("request_id"),
            RequestEvent.created_at,
            RequestEvent.request.created_at.as_alias("submitted_at"),
        )
        .where(RequestEvent.kind == "route")
    )
    return [
        (row["created_at"] - row["submitted_at"]).total_seconds()
        for row in rows
        if row["request_id"] in request_ids
    ]


async def receipt_html(tenant_id: int, request_id: int) -> str:
    """The closure receipt's page exactly as render_receipt builds it (its private _document_context
    included), for the in-process timing and for the skeleton's one PDF."""
    from domain.scope import TenantScope
    from infra import i18n
    from infra.mail import Mailer
    from infra.pdf import qr_png_data_uri
    from infra.settings import get_settings
    from workflows.service_request.activities import RequestActivities

    settings = get_settings()
    activities = RequestActivities(
        settings, Mailer(settings.smtp_host, settings.smtp_port, settings.mail_from)
    )
    scope = TenantScope(tenant_id)
    async with scope.transaction():
        context = await activities._document_context(scope, request_id)
    with i18n.use_language(context["request"].language):
        return activities.templates.get_template("receipt.html").render(
            **context, kind="receipt", qr_code=qr_png_data_uri(context["status_url"])
        )


def pdf_probe(html: str, renders: int) -> dict:
    """CPU of one receipt render in this (now idle) process, warm: the first render is not counted."""
    from infra.pdf import render_pdf

    render_pdf(html)
    cpu = []
    for _ in range(renders):
        started = time.thread_time()
        render_pdf(html)
        cpu.append(time.thread_time() - started)
    return {"receipt": round(1000 * percentile(cpu, 0.5), 1)}


async def skeleton_phase(
    ctx: Context, processes: Processes, temp: Path, html: str, count: int, probe
) -> dict:
    """The two bare workflows (bench/skeleton.py) in one worker process of their own, each for as many
    lifecycles as the measured phase completed and as many in flight: worker and Temporal server CPU per
    lifecycle, and history events, for the same-shape one and for the one-activity one."""
    import skeleton

    receipt = temp / "receipt.html"
    receipt.write_text(html)
    queue = f"skeleton-{uuid.uuid4().hex[:8]}"
    worker = processes.adopt(
        await asyncio.to_thread(spawn_skeleton, ctx.args.project, queue, receipt, temp / "skeleton.log")
    )
    figures = {}
    try:
        for name, workflow_type in (
            ("same_shape", skeleton.SAME_SHAPE),
            ("one_activity", skeleton.ONE_ACTIVITY),
        ):
            await skeleton.run_phase(ctx.client, queue, workflow_type, ctx.args.warmup, 1)
            start = probe(worker.pid)
            durations = await skeleton.run_phase(
                ctx.client, queue, workflow_type, count, ctx.args.concurrency
            )
            end = probe(worker.pid)
            figures[name] = {
                "lifecycles": len(durations),
                "worker_cpu_s_per_lifecycle": round((end["worker"] - start["worker"]) / len(durations), 4),
                "temporal_cpu_s_per_lifecycle": round(
                    (end["temporal"] - start["temporal"]) / len(durations), 4
                ),
                "lifecycle_p50_ms": round(1000 * percentile(durations, 0.5), 1),
                "history_events": await skeleton.history_events(ctx.client, queue, workflow_type),
            }
    finally:
        processes.stop(worker)
    return figures


async def count_documents(tenant_id: int) -> dict[str, int]:
    from domain.scope import TenantScope
    from domain.tables import Document

    rows = await TenantScope(tenant_id).select(Document, Document.kind)
    return dict(Counter(row["kind"] for row in rows))


@dataclass
class Report:
    database: str
    temporal_store: str
    worker: str
    lifecycles: int
    failures: int
    concurrency: int
    wall_seconds: float
    lifecycles_per_s: float
    submit_to_routed_p50_ms: float
    submit_to_routed_p99_ms: float
    db_submit_to_routed_p50_ms: float
    db_submit_to_routed_p99_ms: float
    lifecycle_p50_ms: float
    lifecycle_p99_ms: float
    not_routed_refusals: int
    stage_means_ms: dict[str, float]
    worker_cpu_s_per_lifecycle: float | None
    temporal_cpu_s_per_lifecycle: float
    bench_cpu_s_per_lifecycle: float
    machine_cpu_pct: float
    load_average_1min: tuple[float, float]  # before and after the measured phase: other tenants of the box
    temporal_idle_cpu_pct: float
    history: dict
    mails: int
    mail_kinds: dict[str, int]
    pdf_attachments: int
    pdf_kb_mean: float
    pdf_render_cpu_ms: dict[str, float]  # median thread CPU of --pdf-probe renders in the bench process
    documents: dict[str, int]
    skeleton: dict
    worker_memory_mb: dict = field(default_factory=dict)
    failure_kinds: dict[str, int] = field(default_factory=dict)
    failure_samples: dict[str, str] = field(default_factory=dict)


def worker_memory(worker: subprocess.Popen | None) -> dict[str, float]:
    """RSS of the worker process and of its children (the PDF process), apart: which one grows."""
    if worker is None:
        return {}
    main = psutil.Process(worker.pid)
    children = main.children(recursive=True)
    return {
        "worker": round(main.memory_info().rss / 2**20, 1),
        "pdf": round(sum(child.memory_info().rss for child in children) / 2**20, 1),
    }


async def bench(args: argparse.Namespace, processes: Processes, temp: Path, database: Database) -> Report:
    from aiosmtpd.controller import Controller

    from infra.database import close_pool, start_pool
    from infra.settings import get_settings
    from piccolo_conf import DB
    from workflows.client import TemporalGateway
    from workflows.service_request.contract import workflow_id

    settings = get_settings()
    loop = asyncio.get_running_loop()
    sink = MailSink(loop)
    smtp = Controller(sink, hostname=LOOPBACK, port=settings.smtp_port)
    smtp.start()
    worker_task = None
    running = None
    await start_pool(DB)
    try:
        tenant = await make_tenant(args.reopen_window)
        gateway = TemporalGateway(settings)
        client = await connect(gateway)
        worker = None
        if args.in_process_worker:
            from workflows.worker import build_worker

            running = build_worker(client, settings)
            worker_task = asyncio.create_task(running.run())
        else:
            worker = processes.adopt(await asyncio.to_thread(spawn_worker, args.project, temp / "worker.log"))
        ctx = Context(
            args=args,
            tenant_id=tenant["id"],
            slug=tenant["slug"],
            prefix=tenant["prefix"],
            supervisor_id=tenant["supervisor_id"],
            agent_id=tenant["agent_id"],
            department_id=tenant["department_id"],
            gateway=gateway,
            client=client,
            sink=sink,
            worker=worker,
        )
        log(f"warm-up: {args.warmup} lifecycle(s), one at a time")
        warm, warm_failures, warm_samples, _ = await run_phase(ctx, args.warmup, 1, args.seconds)
        if warm_failures:
            raise RuntimeError(
                f"warm-up failed: {dict(warm_failures)} {warm_samples}\n{tail(temp / 'worker.log')}"
            )

        temporal_pid = processes.children[0].pid

        def probe() -> dict:
            return {
                "worker": cpu_seconds(worker.pid) if worker else None,
                "temporal": cpu_seconds(temporal_pid),
                "bench": time.process_time(),
                "machine": machine_cpu(),
                "load": os.getloadavg()[0],
                "at": time.perf_counter(),
            }

        idle_start = probe()
        await asyncio.sleep(args.idle_sample)
        idle_end = probe()
        mails_before, pdfs_before, bytes_before = sink.messages, sink.pdfs, sink.pdf_bytes
        kinds_before = Counter(sink.kinds)
        log(f"measuring: {args.lifecycles} lifecycles, {args.concurrency} in flight, cap {args.seconds}s")
        start = probe()
        memory_before = worker_memory(worker)
        samples, failures, failure_samples, wall = await run_phase(
            ctx, args.lifecycles, args.concurrency, args.seconds
        )
        await asyncio.sleep(0.2)  # the last SMTP session's QUIT and outbox stamp
        end = probe()
        memory_after = worker_memory(worker)
        done = len(samples)
        if not done:
            raise RuntimeError(f"no lifecycle completed: {dict(failures)} {failure_samples}")
        history = await history_profile(
            client, [workflow_id(ctx.slug, sample.reference) for sample in samples[: args.history_sample]]
        )
        db_routed = await db_route_latencies(ctx.tenant_id, {sample.request_id for sample in samples})
        documents = await count_documents(ctx.tenant_id)
        html = await receipt_html(ctx.tenant_id, samples[0].request_id)
        pdf_cpu = pdf_probe(html, args.pdf_probe) if args.pdf_probe else {}
        log(f"skeleton: {done} lifecycles, {args.concurrency} in flight")

        def skeleton_probe(pid: int) -> dict:
            return {"worker": cpu_seconds(pid), "temporal": cpu_seconds(temporal_pid)}

        bare = await skeleton_phase(ctx, processes, temp, html, done, skeleton_probe)
    finally:
        if running is not None:
            await running.shutdown()
            await asyncio.gather(worker_task, return_exceptions=True)
        await close_pool(DB)
        smtp.stop()

    def ms(values: list[float], fraction: float) -> float:
        return round(percentile(values, fraction) * 1000, 1)

    def per_lifecycle(key: str) -> float:
        return round((end[key] - start[key]) / done, 4)

    busy = end["machine"][0] - start["machine"][0]
    total = end["machine"][1] - start["machine"][1]
    idle_busy = idle_end["temporal"] - idle_start["temporal"]
    stages = ("submit", "start", "to_routed", "assign", "close", "to_mail", "to_result", "total")
    pdfs = sink.pdfs - pdfs_before
    return Report(
        database=database.kind,
        temporal_store="memory" if args.temporal_memory else "sqlite file (start_dev_server --db-filename)",
        worker="in-process (build_worker)"
        if args.in_process_worker
        else "subprocess (python -m workflows.worker)",
        lifecycles=done,
        failures=sum(failures.values()),
        concurrency=args.concurrency,
        wall_seconds=round(wall, 2),
        lifecycles_per_s=round(done / wall, 2),
        submit_to_routed_p50_ms=ms([s.to_routed for s in samples], 0.50),
        submit_to_routed_p99_ms=ms([s.to_routed for s in samples], 0.99),
        db_submit_to_routed_p50_ms=ms(db_routed, 0.50),
        db_submit_to_routed_p99_ms=ms(db_routed, 0.99),
        lifecycle_p50_ms=ms([s.total for s in samples], 0.50),
        lifecycle_p99_ms=ms([s.total for s in samples], 0.99),
        not_routed_refusals=sum(s.not_routed_refusals for s in samples),
        stage_means_ms={
            stage: round(1000 * sum(getattr(s, stage) for s in samples) / done, 1) for stage in stages
        },
        worker_cpu_s_per_lifecycle=per_lifecycle("worker") if start["worker"] is not None else None,
        temporal_cpu_s_per_lifecycle=per_lifecycle("temporal"),
        bench_cpu_s_per_lifecycle=per_lifecycle("bench"),
        machine_cpu_pct=round(100 * (os.cpu_count() or 1) * busy / total, 1) if total else 0.0,
        load_average_1min=(round(start["load"], 2), round(end["load"], 2)),
        temporal_idle_cpu_pct=round(100 * idle_busy / (idle_end["at"] - idle_start["at"]), 1),
        history=history,
        mails=sink.messages - mails_before,
        mail_kinds=dict(Counter(sink.kinds) - kinds_before),
        pdf_attachments=pdfs,
        pdf_kb_mean=round((sink.pdf_bytes - bytes_before) / pdfs / 1024, 1) if pdfs else 0.0,
        pdf_render_cpu_ms=pdf_cpu,
        documents=documents,
        skeleton=bare,
        worker_memory_mb={"before": memory_before, "after": memory_after},
        failure_kinds=dict(failures),
        failure_samples=failure_samples,
    )


# ----------------------------------------------------------------------------------------------- output


def print_report(report: Report) -> None:
    first = report.history["first"]
    activity_types = ", ".join(f"{name} {count}" for name, count in sorted(first["activity_types"].items()))
    worker_cpu = (
        f"{report.worker_cpu_s_per_lifecycle * 1000:.1f} ms"
        if report.worker_cpu_s_per_lifecycle is not None
        else "in the bench process (see below)"
    )
    lines = [
        f"database {report.database}; Temporal dev server state: {report.temporal_store}; "
        f"worker: {report.worker}",
        f"lifecycles            {report.lifecycles} done, {report.failures} failed, "
        f"{report.concurrency} in flight",
        f"wall time             {report.wall_seconds:.2f} s",
        f"throughput            {report.lifecycles_per_s:.2f} lifecycles/s",
        f"submit -> routed      p50 {report.submit_to_routed_p50_ms:.0f} ms, "
        f"p99 {report.submit_to_routed_p99_ms:.0f} ms (polled); from DB timestamps "
        f"p50 {report.db_submit_to_routed_p50_ms:.0f} ms, p99 {report.db_submit_to_routed_p99_ms:.0f} ms",
        f"whole lifecycle       p50 {report.lifecycle_p50_ms:.0f} ms, p99 {report.lifecycle_p99_ms:.0f} ms",
        f"Updates refused       {report.not_routed_refusals} x 'not routed yet' after the row said routed"
        " (retried)",
        "stage means (ms)      " + ", ".join(f"{k} {v:.0f}" for k, v in report.stage_means_ms.items()),
        f"history per lifecycle {first['events']} events ({report.history['events_min']}-"
        f"{report.history['events_max']} over {report.history['sampled']} sampled), {first['activities']}"
        f" activities ({activity_types}), {first['workflow_tasks']} workflow tasks, {first['updates']}"
        f" updates, {first['timers_started']} timers",
        f"worker CPU            {worker_cpu} per lifecycle",
        f"Temporal server CPU   {report.temporal_cpu_s_per_lifecycle * 1000:.1f} ms per lifecycle "
        f"(idle beforehand: {report.temporal_idle_cpu_pct:.1f}% of a core)",
        f"bench process CPU     {report.bench_cpu_s_per_lifecycle * 1000:.1f} ms per lifecycle "
        "(submit, client, polling, SMTP sink"
        + (")" if report.worker_cpu_s_per_lifecycle is not None else ", and the in-process worker)"),
        f"machine CPU           {report.machine_cpu_pct:.0f}% "
        f"(all cores together, max 100% x {os.cpu_count()}); 1-min load average "
        f"{report.load_average_1min[0]} before, {report.load_average_1min[1]} after",
        f"mail                  {report.mails} messages, {report.pdf_attachments} PDF attachments "
        f"(mean {report.pdf_kb_mean} KiB); documents stored: {report.documents}",
    ]
    lines += [f"  {count:>5} x {kind}" for kind, count in sorted(report.mail_kinds.items())]
    if memory := report.worker_memory_mb:
        before, after = memory["before"], memory["after"]
        lines.append(
            f"worker RSS            {before.get('worker')} MB before, {after.get('worker')} MB after; "
            f"its PDF process {before.get('pdf')} MB before, {after.get('pdf')} MB after"
        )
    if report.pdf_render_cpu_ms:
        lines.append(
            f"receipt render CPU    {report.pdf_render_cpu_ms['receipt']:.0f} ms per PDF, warm "
            "(median, in the bench process after the run)"
        )
    for name, label in (("same_shape", "same shape"), ("one_activity", "one activity")):
        bare = report.skeleton[name]
        lines.append(
            f"skeleton, {label:<13}{bare['lifecycles']} lifecycles: worker CPU "
            f"{bare['worker_cpu_s_per_lifecycle'] * 1000:.1f} ms, Temporal server CPU "
            f"{bare['temporal_cpu_s_per_lifecycle'] * 1000:.1f} ms per lifecycle, "
            f"{bare['history_events']} events"
        )
    same, one = report.skeleton["same_shape"], report.skeleton["one_activity"]
    if report.worker_cpu_s_per_lifecycle is not None:
        ratio = report.worker_cpu_s_per_lifecycle / same["worker_cpu_s_per_lifecycle"]
        lines.append(f"ratio worker CPU lifecycle/skeleton: {ratio:.2f}")
        ratio = report.worker_cpu_s_per_lifecycle / one["worker_cpu_s_per_lifecycle"]
        lines.append(f"ratio worker CPU lifecycle/one-activity workflow: {ratio:.2f}")
    ratio = report.temporal_cpu_s_per_lifecycle / one["temporal_cpu_s_per_lifecycle"]
    lines.append(f"ratio Temporal server CPU lifecycle/one-activity workflow: {ratio:.2f}")
    lines.append(f"history events per lifecycle: {first['events']}")
    for kind, count in report.failure_kinds.items():
        lines.append(f"FAILED {count} x {kind}: {report.failure_samples.get(kind, '')!r}")
    print("\n".join(lines))


def git_head(project: Path) -> str:
    """The commit measured (a work tree may hold uncommitted changes on top; an export has no .git)."""
    result = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True, check=False
    )
    return result.stdout.strip() or "unknown (not a git work tree)"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lifecycles", type=int, default=100, help="measured lifecycles")
    parser.add_argument("--concurrency", type=int, default=10, help="lifecycles in flight")
    parser.add_argument("--seconds", type=float, default=600, help="stop starting lifecycles after this")
    parser.add_argument("--warmup", type=int, default=2, help="lifecycles before measuring, one at a time")
    parser.add_argument(
        "--database-url",
        default="",
        help="postgresql://user@127.0.0.1:5432/<admin db>: run on PostgreSQL (a database "
        "portal_lifecycles_<pid> is created and dropped there); default: SQLite in a temp dir",
    )
    parser.add_argument(
        "--temporal-memory", action="store_true", help="dev server state in memory instead of a temp file"
    )
    parser.add_argument(
        "--in-process-worker",
        action="store_true",
        help="run build_worker() in this process instead of a `python -m workflows.worker` subprocess",
    )
    parser.add_argument("--reopen-window", type=int, default=0, help="the tenant's reopen window, seconds")
    parser.add_argument("--request-type", default="pothole", help="demo request-type code to submit")
    parser.add_argument("--poll", type=float, default=0.025, help="database poll interval for 'routed', s")
    parser.add_argument("--lifecycle-timeout", type=float, default=120, help="give up on one lifecycle, s")
    parser.add_argument("--idle-sample", type=float, default=2, help="seconds of idle Temporal CPU to sample")
    parser.add_argument("--history-sample", type=int, default=5, help="workflow histories to fetch")
    parser.add_argument(
        "--pdf-probe",
        type=int,
        default=5,
        help="receipt renders timed in this process after the run (0: none)",
    )
    parser.add_argument(
        "--project",
        type=Path,
        default=PROJECT_ROOT,
        help="the checkout to run (default: the one holding this script), e.g. a `git archive` export, so "
        "that edits made to the work tree during a run cannot mix two versions of the code",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs, SQLite files)")
    args = parser.parse_args(argv)
    if args.lifecycles < 1 or args.concurrency < 1 or args.warmup < 1:
        parser.error("--lifecycles, --concurrency and --warmup must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.project = args.project.resolve()
    if not (args.project / "workflows" / "worker.py").is_file():
        raise SystemExit(f"{args.project} is not a Citizen Portal checkout (no workflows/worker.py)")
    sys.path.insert(0, str(args.project))  # before the editable install's finder: this checkout's code
    compile_bytecode(args.project)
    from infra.temporal_dev import start_dev_server

    def terminate(*_) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    temp = Path(tempfile.mkdtemp(prefix="portal-lifecycles-"))
    processes = Processes()
    database: Database | None = None
    report: Report | None = None
    try:
        database = prepare_database(args.database_url, temp)
        (temp / "var").mkdir()
        temporal_port = free_port()
        # Before anything reads the settings (they are read once): this process and the worker share them.
        os.environ.update(
            DATABASE_URL=database.url,
            VAR_DIR=str(temp / "var"),
            TEMPORAL_ADDRESS=f"{LOOPBACK}:{temporal_port}",
            TEMPORAL_NAMESPACE="default",
            TEMPORAL_TASK_QUEUE=f"bench-lifecycles-{os.getpid()}",
            SMTP_HOST=LOOPBACK,
            SMTP_PORT=str(free_port()),
            BASE_DOMAIN="localhost",
            PUBLIC_PORT="8000",
            DEVELOPMENT="true",
            DEV_INBOX_DIR="",
            SESSION_STORE_URL="",
            RECONCILE_INTERVAL="86400",
            RECONCILE_GRACE="86400",
            PYTHONPATH=os.pathsep.join(filter(None, [str(args.project), os.environ.get("PYTHONPATH")])),
        )
        from infra.migrate import run_migrations

        run_migrations()
        log(f"migrated a fresh {database.kind} database")
        if args.temporal_memory:
            temporal = start_memory_dev_server(temporal_port, temp / "temporal.log")
        else:
            temporal = start_dev_server(temporal_port, temp / "temporal.db", log_file=temp / "temporal.log")
        processes.adopt(temporal)
        store = "memory" if args.temporal_memory else "file"
        log(f"Temporal dev server on {LOOPBACK}:{temporal_port} ({store})")
        report = asyncio.run(bench(args, processes, temp, database))
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
    print_report(report)
    print(f"code                  {args.project} at commit {git_head(args.project)}")
    if args.json:
        settings = {
            key: str(value) if isinstance(value, Path) else value for key, value in vars(args).items()
        }
        args.json.write_text(
            json.dumps(
                {
                    "code": {"project": str(args.project), "commit": git_head(args.project)},
                    "machine": {
                        "cpus": os.cpu_count(),
                        "platform": platform.platform(),
                        "python": platform.python_version(),
                    },
                    "settings": settings,
                    "report": asdict(report),
                },
                indent=2,
            )
        )
        log(f"wrote {args.json}")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
