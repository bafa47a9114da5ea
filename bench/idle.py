"""What open requests cost while nothing happens to them: --requests workflows asleep on their timers.

Each workflow is the real ServiceRequestWorkflow, started the way a continued run starts (its state carried
in: assigned, its service-level clock running, its due time a month away), so that it goes straight to
sleep on the timer of its next deadline with no routing or mail. The real worker (`python -m
workflows.worker`) and a Temporal dev server (SQLite file) run on 127.0.0.1 with a fresh SQLite database.

It measures the worker's and the server's CPU over --idle seconds twice: before any workflow is started
(the floor: polling, the reconciler) and once all of them sleep. The target is that 10,000 sleeping
requests cost under 5% of one core.

    python bench/idle.py                      # 10,000 requests, 120 s windows
    python bench/idle.py --requests 1000 --idle 60
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    LOOPBACK,
    PROJECT_ROOT,
    Processes,
    compile_bytecode,
    cpu_seconds,
    free_port,
    log,
    machine_line,
    rss_mb,
    tail,
)

MONTH = 30 * 24 * 3600


def say(message: str) -> None:
    log("idle", message)


async def start_sleepers(address: str, task_queue: str, count: int, concurrency: int = 50) -> list[str]:
    from temporalio.client import Client

    from domain import sla
    from workflows.service_request.contract import WORKFLOW_TYPE, RequestParams
    from workflows.service_request.models import RequestState

    client = await Client.connect(address)
    now = datetime.now(UTC)
    level = sla.ServiceLevel(target_seconds=MONTH, remind_before=3600, overdue_escalate=MONTH)
    ids = [f"idle-{n}" for n in range(count)]
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)

    async def starter() -> None:
        while not queue.empty():
            n = queue.get_nowait()
            clock = sla.Clock(running_since=now)
            state = RequestState(status="assigned", department_id=1, assignee_id=1, clock=clock)
            state.due_at = sla.due_at(level, clock)
            await client.start_workflow(
                WORKFLOW_TYPE,
                RequestParams(
                    tenant_id=1, request_id=n + 1, reference=f"IDL-{n}", carried=state, level=level
                ),
                id=ids[n],
                task_queue=task_queue,
            )

    await asyncio.gather(*(starter() for _ in range(concurrency)))
    return ids


async def asleep(address: str, workflow_ids: list[str]) -> bool:
    """True when each of these workflows has started the timer it sleeps on."""
    from temporalio.api.enums.v1 import EventType
    from temporalio.client import Client

    client = await Client.connect(address)
    for workflow_id in workflow_ids:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        if not any(event.event_type == EventType.EVENT_TYPE_TIMER_STARTED for event in history.events):
            return False
    return True


def window(worker: subprocess.Popen, temporal: subprocess.Popen, seconds: float) -> dict[str, float]:
    """Share of one core each used over `seconds` of nothing but waiting, and the worker's own memory (its
    PDF process apart), which holds the workflows it keeps cached (WORKER_CACHED_WORKFLOWS)."""
    before = (cpu_seconds(worker.pid), cpu_seconds(temporal.pid))
    time.sleep(seconds)
    after = (cpu_seconds(worker.pid), cpu_seconds(temporal.pid))
    return {
        "worker_pct": round(100 * (after[0] - before[0]) / seconds, 2),
        "temporal_pct": round(100 * (after[1] - before[1]) / seconds, 2),
        "worker_rss_mb": round(rss_mb(worker.pid), 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--idle", type=float, default=120, help="seconds of each measured window")
    parser.add_argument(
        "--settle", type=float, default=30, help="seconds between the last start and measuring"
    )
    args = parser.parse_args(argv)
    from infra.temporal_dev import start_dev_server

    say(machine_line())
    compile_bytecode()
    temp = Path(tempfile.mkdtemp(prefix="portal-idle-"))
    processes = Processes(PROJECT_ROOT)
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{temp / 'portal.db'}",
        "DATABASE_OWNER_URL": "",
        "VAR_DIR": str(temp),
        "TEMPORAL_TASK_QUEUE": "idle-bench",
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    try:
        migrated = processes.spawn([sys.executable, "-m", "apps.cli", "migrate"], env, temp / "migrate.log")
        if migrated.wait() != 0:
            raise RuntimeError(f"migrate failed:\n{tail(temp / 'migrate.log')}")
        port = free_port()
        temporal = processes.adopt(
            start_dev_server(port, temp / "temporal.db", log_file=temp / "temporal.log")
        )
        address = f"{LOOPBACK}:{port}"
        env["TEMPORAL_ADDRESS"] = address
        worker = processes.spawn([sys.executable, "-m", "workflows.worker"], env, temp / "worker.log")
        time.sleep(5)  # the worker connects and starts polling before the floor is measured
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited:\n{tail(temp / 'worker.log')}")
        say(f"floor: {args.idle:.0f} s with no workflow")
        floor = window(worker, temporal, args.idle)
        started = time.perf_counter()
        ids = asyncio.run(start_sleepers(address, "idle-bench", args.requests))
        say(f"started {len(ids)} workflows in {time.perf_counter() - started:.0f} s; waiting till they sleep")
        deadline = time.monotonic() + 600
        while not asyncio.run(asleep(address, ids[-20:])):
            if time.monotonic() > deadline:
                raise RuntimeError("the last workflows did not reach their timer within 10 minutes")
            time.sleep(2)
        time.sleep(args.settle)
        say(f"measuring {args.idle:.0f} s with {len(ids)} workflows asleep")
        sleeping = window(worker, temporal, args.idle)
    finally:
        processes.stop_all()
    print(f"\n{machine_line()}")
    cached = os.environ.get("WORKER_CACHED_WORKFLOWS", "200 (default)")
    print(f"{'':<28}{'worker':>10}{'Temporal':>10}{'together':>10}   (% of one core)   worker RSS MB")
    for name, figures in (("no workflow", floor), (f"{args.requests:,} asleep", sleeping)):
        together = figures["worker_pct"] + figures["temporal_pct"]
        print(
            f"{name:<28}{figures['worker_pct']:>10.2f}{figures['temporal_pct']:>10.2f}{together:>10.2f}"
            f"{figures['worker_rss_mb']:>31.1f}"
        )
    print(f"worker keeps at most {cached} workflows cached")
    return 0


if __name__ == "__main__":
    sys.exit(main())
