"""The worker process: runs request workflows and their activities, and the reconciler beside them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from temporalio.client import Client
from temporalio.worker import Worker

from infra.database import close_pool, start_pool
from infra.mail import Mailer
from infra.settings import Settings, get_settings
from workflows.client import TemporalGateway
from workflows.reconciler import reconcile_forever
from workflows.service_request.activities import RequestActivities
from workflows.service_request.workflow import ServiceRequestWorkflow
from workflows.webhooks.activities import WebhookActivities
from workflows.webhooks.workflow import WebhookDispatchWorkflow


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
    try:
        await activities.pdf.start()  # warm before the first receipt, not during it
        await build_worker(client, settings, activities).run()
    finally:
        reconciler.cancel()
        await activities.pdf.close()
        await close_pool(DB)


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
