"""The bare lifecycles that bench/lifecycles.py measures the real one against, in the same run.

Two workflows, both started, assigned and closed through two Updates like a request:

- `BenchSameShape` takes the real lifecycle's steps in the same order and of the same kind, and its
  activities do nothing, except the receipt, one PDF rendered by the same renderer process the real worker
  uses: routing and the acknowledgement (local), a timer, an assignment that persists and tells the assignee
  (local), a closure that persists (local), the receipt (scheduled), the closure mail (local). Its worker
  CPU is what Temporal's SDK and one PDF cost for that shape: the real worker's CPU above it is the
  portal's own work (database, templates, mail).
- `BenchOneActivity` waits for the closure and runs one activity, the receipt: the Temporal server's CPU
  for it is the floor of any workflow that takes two Updates and renders a receipt.

    python bench/skeleton.py --task-queue Q --receipt FILE     # the worker (TEMPORAL_ADDRESS from the env)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

from temporalio import activity, workflow

ONE_ACTIVITY = "BenchOneActivity"
SAME_SHAPE = "BenchSameShape"
LOCAL_STEPS = ("route", "notify_citizen", "persist_move", "notify_staff")
STEP_TIMEOUT = timedelta(seconds=30)


@workflow.defn(name=ONE_ACTIVITY)
class OneActivityWorkflow:
    def __init__(self) -> None:
        self.status = "routed"

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.status == "closed")
        await workflow.execute_activity("render_receipt", start_to_close_timeout=timedelta(minutes=2))
        return self.status

    @workflow.update
    async def assign(self) -> str:
        self.status = "assigned"
        return self.status

    @workflow.update
    async def close(self) -> str:
        self.status = "closed"
        return self.status


async def _step(name: str) -> None:
    await workflow.execute_local_activity(name, start_to_close_timeout=STEP_TIMEOUT)


@workflow.defn(name=SAME_SHAPE)
class SameShapeWorkflow:
    def __init__(self) -> None:
        self.status = "submitted"
        self.moved = False

    @workflow.run
    async def run(self) -> str:
        await _step("route")
        await _step("notify_citizen")
        self.status = "routed"
        while self.status != "closed":
            # The next reminder's timer, restarted after each move as the real workflow's is.
            self.moved = False
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: self.moved, timeout=timedelta(days=1))
        await workflow.execute_activity("render_receipt", start_to_close_timeout=timedelta(minutes=2))
        await _step("notify_citizen")
        return self.status

    @workflow.update
    async def assign(self) -> str:
        await _step("persist_move")
        await _step("notify_staff")
        self.status, self.moved = "assigned", True
        return self.status

    @workflow.update
    async def close(self) -> str:
        await _step("persist_move")
        self.status, self.moved = "closed", True
        return self.status


def _no_op(name: str):
    @activity.defn(name=name)
    async def step() -> None:
        return None

    return step


async def run_worker(task_queue: str, html: str) -> None:
    # By its module's name: the workflow sandbox cannot re-import __main__.
    from skeleton import OneActivityWorkflow, SameShapeWorkflow
    from temporalio.client import Client
    from temporalio.worker import Worker

    from infra.pdf import PdfRenderer

    renderer = PdfRenderer(1)
    await renderer.start()

    @activity.defn(name="render_receipt")
    async def render_receipt() -> int:
        return len(await renderer.render(html))

    client = await Client.connect(os.environ["TEMPORAL_ADDRESS"])
    try:
        await Worker(
            client,
            task_queue=task_queue,
            workflows=[OneActivityWorkflow, SameShapeWorkflow],
            activities=[render_receipt, *(_no_op(name) for name in LOCAL_STEPS)],
        ).run()
    finally:
        await renderer.close()


async def one_lifecycle(client, task_queue: str, workflow_type: str) -> float:
    started = time.perf_counter()
    handle = await client.start_workflow(
        workflow_type, id=f"skeleton-{uuid.uuid4().hex}", task_queue=task_queue
    )
    await handle.execute_update("assign")
    await handle.execute_update("close")
    if await handle.result() != "closed":
        raise RuntimeError("the skeleton did not close")
    return time.perf_counter() - started


async def run_phase(client, task_queue: str, workflow_type: str, count: int, concurrency: int) -> list[float]:
    """`count` lifecycles of one of the two workflows, `concurrency` in flight; how long each took."""
    durations: list[float] = []
    remaining = count

    async def lane() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            durations.append(await one_lifecycle(client, task_queue, workflow_type))

    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return durations


async def history_events(client, task_queue: str, workflow_type: str) -> int:
    """Events in the history of one lifecycle, run alone."""
    handle = await client.start_workflow(
        workflow_type, id=f"skeleton-{uuid.uuid4().hex}", task_queue=task_queue
    )
    await handle.execute_update("assign")
    await handle.execute_update("close")
    await handle.result()
    return len((await handle.fetch_history()).events)


if __name__ == "__main__":
    # Here, not at import: the workflow sandbox re-imports this module and refuses filesystem calls.
    sys.path.append(str(Path(__file__).resolve().parents[1]))  # after PYTHONPATH: the checkout measured
    parser = argparse.ArgumentParser()
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--receipt", type=Path, required=True)
    arguments = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_worker(arguments.task_queue, arguments.receipt.read_text()))
