"""The bare lifecycle that bench/lifecycles.py measures the real one against, in the same run.

Same shape from the outside: a workflow is started, a clerk's assign and close arrive as Updates, and the
workflow ends with one receipt PDF rendered by the same renderer process the real worker uses. Nothing
else: no routing, no database, no mail, one activity. So its worker CPU is what Temporal's SDK and one
PDF cost, and its Temporal server CPU what a one-activity workflow with two Updates costs.

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

WORKFLOW = "BenchSkeleton"


@workflow.defn(name=WORKFLOW)
class SkeletonWorkflow:
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


async def run_worker(task_queue: str, html: str) -> None:
    # By its module's name: the workflow sandbox cannot re-import __main__.
    from skeleton import SkeletonWorkflow as Sandboxed
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
        await Worker(client, task_queue=task_queue, workflows=[Sandboxed], activities=[render_receipt]).run()
    finally:
        await renderer.close()


async def one_lifecycle(client, task_queue: str) -> float:
    started = time.perf_counter()
    handle = await client.start_workflow(WORKFLOW, id=f"skeleton-{uuid.uuid4().hex}", task_queue=task_queue)
    await handle.execute_update("assign")
    await handle.execute_update("close")
    if await handle.result() != "closed":
        raise RuntimeError("the skeleton did not close")
    return time.perf_counter() - started


async def run_phase(client, task_queue: str, count: int, concurrency: int) -> list[float]:
    """`count` skeleton lifecycles, `concurrency` in flight; how long each took."""
    durations: list[float] = []
    remaining = count

    async def lane() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            durations.append(await one_lifecycle(client, task_queue))

    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return durations


async def history_events(client, task_queue: str) -> int:
    """Events in the history of one skeleton lifecycle, run alone."""
    handle = await client.start_workflow(WORKFLOW, id=f"skeleton-{uuid.uuid4().hex}", task_queue=task_queue)
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
