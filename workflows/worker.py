"""The worker process: runs request workflows and their activities, and the reconciler beside them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from temporalio.client import Client
from temporalio.worker import Worker

from domain import attachments
from infra.database import close_pool, start_pool
from infra.mail import Mailer
from infra.settings import Settings, get_settings
from infra.storage import Storage
from workflows.client import TemporalGateway
from workflows.reconciler import reconcile_forever
from workflows.service_request.activities import RequestActivities
from workflows.service_request.workflow import ServiceRequestWorkflow
from workflows.webhooks.activities import WebhookActivities
from workflows.webhooks.workflow import WebhookDispatchWorkflow

log = logging.getLogger(__name__)
# How often the worker removes the photos held for request forms that were never sent (seconds).
SWEEP_INTERVAL = 3600.0


def build_worker(client: Client, settings: Settings, activities: RequestActivities | None = None) -> Worker:
    activities = activities or RequestActivities(
        settings, Mailer(settings.smtp_host, settings.smtp_port, settings.mail_from)
    )
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[ServiceRequestWorkflow, WebhookDispatchWorkflow],
        activities=[*activities.all(), *WebhookActivities(settings).all()],
        max_cached_workflows=settings.worker_cached_workflows,
    )


async def run_worker(settings: Settings) -> None:
    """Runs until cancelled. SIGTERM (a supervisor's stop) cancels it like Ctrl-C does, so the process exits
    through its clean path, which also ends its PDF process (which would end anyway once its pipe closed)."""
    from piccolo_conf import DB

    this = asyncio.current_task()
    assert this is not None  # a coroutine run by asyncio
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, this.cancel)
    await start_pool(DB)
    gateway = TemporalGateway(settings)
    client = await wait_for_temporal(gateway)
    reconciler = asyncio.create_task(
        reconcile_forever(gateway, settings.reconcile_interval, settings.reconcile_grace)
    )
    activities = RequestActivities(
        settings, Mailer(settings.smtp_host, settings.smtp_port, settings.mail_from)
    )
    sweeper = asyncio.create_task(sweep_held_photos_forever(activities.storage))
    try:
        await activities.pdf.start()  # warm before the first receipt, not during it
        await build_worker(client, settings, activities).run()
    finally:
        reconciler.cancel()
        sweeper.cancel()
        await activities.pdf.close()
        await close_pool(DB)


async def sweep_held_photos_forever(storage: Storage, interval: float = SWEEP_INTERVAL) -> None:
    """Every worker sweeps; a file two of them remove at once is simply gone for the second."""
    while True:
        try:
            await attachments.sweep_held(storage)
        except Exception:  # the store is unreachable for now: the next pass tries again
            log.exception("sweeping held photos failed")
        await asyncio.sleep(interval)


async def wait_for_temporal(gateway: TemporalGateway, attempts: int = 120) -> Client:
    """A worker started before the server (compose, the dev runner) waits for it instead of exiting."""
    for attempt in range(attempts):
        try:
            return await gateway.client()
        except Exception:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(1)
    raise AssertionError("unreachable")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
        asyncio.run(run_worker(get_settings()))


if __name__ == "__main__":
    main()
