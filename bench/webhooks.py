"""A webhook fan-out: --events deliveries written at once, delivered by the real worker to a receiver.

    python bench/webhooks.py [--admin-url postgresql://postgres@127.0.0.1:5432/postgres] [--events 1000]

A throwaway PostgreSQL database, migrated; one town with a subscription to every event, pointing at a
receiver in this process (a threaded HTTP server on loopback that verifies each signature and answers
200); a Temporal dev server and ONE worker process (`python -m workflows.worker`) on free ports. --requests
requests are committed, then --events deliveries are written to the outbox in one transaction, spread
over them (so each request's lane carries events/requests of them, in order), and the town's dispatcher
is woken once. It prints the wall time until the receiver has every delivery, deliveries per second, the
worker's and the Temporal server's CPU per delivery, the dispatcher's history events per delivery, and
checks that each lane arrived in order and no id twice.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    DEFAULT_POSTGRES,
    LOOPBACK,
    Processes,
    cpu_seconds,
    free_port,
    log,
    machine_line,
    postgres_database,
)

LOOPBACK_ALLOWED = (ipaddress.ip_network("127.0.0.0/8"),)


class Receiver:
    """Verifies and records every delivery; `done` is set when `expected` distinct ids arrived."""

    def __init__(self, secret: str, expected: int) -> None:
        from standardwebhooks.webhooks import Webhook

        verifier, receiver = Webhook(secret), self
        self.arrivals: list[tuple[str, str, str]] = []  # (message id, request, event)
        self.lock, self.done, self.expected = threading.Lock(), threading.Event(), expected

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the standard library's name
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                payload = verifier.verify(body, dict(self.headers.items()))
                with receiver.lock:
                    receiver.arrivals.append(
                        (self.headers["webhook-id"], payload["data"]["service_request_id"], payload["type"])
                    )
                    if len({arrival[0] for arrival in receiver.arrivals}) >= receiver.expected:
                        receiver.done.set()
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.url = f"http://{LOOPBACK}:{self.server.server_port}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


async def fill_outbox(events: int, requests: int) -> tuple[int, str, list[str]]:
    """A town, its subscription, `requests` requests and `events` deliveries spread over them."""
    import uuid

    from apps.demo import seed_catalog
    from domain import submissions, webhooks
    from domain.intake import Submission
    from domain.scope import TenantScope
    from tenants.onboarding import create_tenant

    tenant_id = await create_tenant("fanout", "Fanout", "FAN", timezone="America/Toronto")
    scope = TenantScope(tenant_id)
    await seed_catalog(scope)
    async with scope.transaction():
        _, secret = await webhooks.create_subscription(
            scope, "Works", "http://127.0.0.1:9/", list(webhooks.EVENTS), LOOPBACK_ALLOWED
        )
        ids = []
        for n in range(requests):
            made = await submissions.submit(
                scope,
                "FAN",
                Submission(
                    "pothole", f"Pothole {n}", "Ned", "ned@example.com", uuid.uuid4().hex, address="1 Main"
                ),
                "en",
            )
            await submissions.mark_workflow_started(scope, made.request_id)  # no lifecycle: outbox only
            ids.append(made.request_id)
    return tenant_id, secret, [str(request_id) for request_id in ids]


async def write_deliveries(tenant_id: int, request_ids: list[str], events: int) -> None:
    from domain import webhooks
    from domain.scope import TenantScope

    scope = TenantScope(tenant_id)
    sequence = list(webhooks.EVENTS)
    async with scope.transaction():
        for n in range(events):
            request_id = int(request_ids[n % len(request_ids)])
            event = sequence[(n // len(request_ids)) % len(sequence)]
            await webhooks.record(scope, request_id, [event], "routed", "")


async def wait_for_worker(client, task_queue: str, within: float = 60) -> None:
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        described = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=client.namespace,
                task_queue=TaskQueue(name=task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
            )
        )
        if described.pollers:
            await asyncio.sleep(2)  # and its reconciler's first pass is over
            return
        await asyncio.sleep(0.5)
    raise SystemExit("the worker did not start polling")


async def run(arguments: argparse.Namespace, temp: Path, processes: Processes) -> None:
    import os

    from temporalio.client import Client

    from domain import webhooks
    from domain.scope import TenantScope
    from infra.database import close_pool, start_pool
    from infra.temporal_dev import start_dev_server
    from piccolo_conf import DB
    from workflows.webhooks import contract

    port = free_port()
    temporal = processes.adopt(start_dev_server(port, temp / "temporal.db", log_file=temp / "temporal.log"))
    environment = {
        **os.environ,
        "TEMPORAL_ADDRESS": f"{LOOPBACK}:{port}",
        "TEMPORAL_TASK_QUEUE": "bench-webhooks",
        "OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8",
        "RECONCILE_INTERVAL": "86400",
    }
    worker = processes.spawn([sys.executable, "-m", "workflows.worker"], environment, temp / "worker.log")
    await start_pool(DB)
    try:
        tenant_id, secret, request_ids = await fill_outbox(arguments.events, arguments.requests)
        receiver = Receiver(secret, arguments.events)
        scope = TenantScope(tenant_id)
        async with scope.transaction():
            subscription = (await webhooks.subscriptions(scope))[0]
            await webhooks.change_subscription(
                scope, subscription.id, receiver.url, list(webhooks.EVENTS), True, LOOPBACK_ALLOWED
            )
        client = await Client.connect(f"{LOOPBACK}:{port}")
        # The worker's reconciler wakes dispatchers on its first pass, at start: deliveries written before
        # it would go out before the clock starts. So they are written once the worker polls.
        await wait_for_worker(client, "bench-webhooks")
        await write_deliveries(tenant_id, request_ids, arguments.events)
        before = {"worker": cpu_seconds(worker.pid), "temporal": cpu_seconds(temporal.pid)}
        started = time.perf_counter()
        await contract.wake(client, tenant_id, "bench-webhooks")
        delivered = await asyncio.to_thread(receiver.done.wait, arguments.timeout)
        wall = time.perf_counter() - started
        after = {"worker": cpu_seconds(worker.pid), "temporal": cpu_seconds(temporal.pid)}
        if not delivered:
            raise SystemExit(f"only {len(receiver.arrivals)} of {arguments.events} arrived in {wall:.0f} s")
        events = 0
        async for run_ in client.list_workflows(f"WorkflowId = '{contract.workflow_id(tenant_id)}'"):
            history = await client.get_workflow_handle(run_.id, run_id=run_.run_id).fetch_history()
            events += len(history.events)
    finally:
        await close_pool(DB)
    lanes: dict[str, list[str]] = {}
    for _, reference, event in receiver.arrivals:
        lanes.setdefault(reference, []).append(event)
    expected_order = list(webhooks.EVENTS)
    in_order = all(
        kinds == [expected_order[n % len(expected_order)] for n in range(len(kinds))]
        for kinds in lanes.values()
    )
    ids = [arrival[0] for arrival in receiver.arrivals]
    count = arguments.events
    print(f"\nmachine: {machine_line()}")
    print(f"\n| Webhook fan-out: {count:,} deliveries over {len(lanes):,} requests | Figure |")
    print("| --- | ---: |")
    print(f"| wall, wake to last delivery | {wall:.1f} s |")
    print(f"| deliveries per second | {count / wall:.0f} |")
    print(f"| worker CPU per delivery | {(after['worker'] - before['worker']) / count * 1000:.1f} ms |")
    temporal_ms = (after["temporal"] - before["temporal"]) / count * 1000
    print(f"| Temporal server CPU per delivery | {temporal_ms:.1f} ms |")
    print(f"| dispatcher history events per delivery | {events / count:.1f} |")
    print(f"| each request's events in order | {'yes' if in_order else 'NO'} |")
    print(f"| an id delivered twice | {'yes' if len(ids) != len(set(ids)) else 'no'} |")
    print(json.dumps({"wall_s": round(wall, 2), "per_s": round(count / wall, 1)}), file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--admin-url", default=DEFAULT_POSTGRES)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=600)
    arguments = parser.parse_args()
    processes = Processes()
    with tempfile.TemporaryDirectory() as temp, postgres_database(arguments.admin_url, "portal_webhooks"):
        try:
            asyncio.run(run(arguments, Path(temp), processes))
        finally:
            processes.stop_all()
    log("webhooks", "done")


if __name__ == "__main__":
    main()
