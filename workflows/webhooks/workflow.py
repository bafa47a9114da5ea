"""One dispatcher per town with webhook subscriptions: it delivers what the moves wrote to the outbox.

A lane (one subscription, one request) has one delivery under way at a time, so a receiver hears of a
request's events in the order they happened; lanes go out side by side, at most CONCURRENT at once. A
failing delivery retries with exponential backoff without holding up the other lanes. With nothing left
to send the dispatcher ends; the next event (or the reconciler, for one whose wake was lost) starts it.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from workflows.webhooks.activities import MAX_ATTEMPTS, WebhookActivities
    from workflows.webhooks.contract import DeliveryJob, DispatchParams, NextInput

CONCURRENT = 50
IDLE = timedelta(minutes=5)
HISTORY_LIMIT = 4000
# 5 s, 10 s, 20 s ... up to an hour between attempts: about a day before a delivery is given up.
DELIVERY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(hours=1),
    maximum_attempts=MAX_ATTEMPTS,
)


@workflow.defn
class WebhookDispatchWorkflow:
    def __init__(self) -> None:
        self.woken = False
        self.busy: set[str] = set()
        self.finished = False  # a delivery ended since the dispatcher last looked

    @workflow.signal
    def wake(self) -> None:
        self.woken = True

    @workflow.run
    async def run(self, params: DispatchParams) -> None:
        while True:
            found: list[DeliveryJob] = []
            if not self._history_is_long() and len(self.busy) < CONCURRENT:
                self.woken = self.finished = False
                found = await workflow.execute_local_activity_method(
                    WebhookActivities.next_deliveries,
                    NextInput(params.tenant_id, sorted(self.busy), CONCURRENT - len(self.busy)),
                    start_to_close_timeout=timedelta(seconds=30),
                )
                for job in found:
                    self.busy.add(job.lane)
                    asyncio.create_task(self._deliver(job))
            if not self.busy:
                if self._history_is_long():
                    workflow.continue_as_new(params)
                if not found:
                    try:
                        await workflow.wait_condition(lambda: self.woken, timeout=IDLE)
                    except TimeoutError:
                        return
                continue
            await workflow.wait_condition(lambda: self.finished or self.woken)

    async def _deliver(self, job: DeliveryJob) -> None:
        try:
            await workflow.execute_activity_method(
                WebhookActivities.deliver,
                job,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=DELIVERY_RETRY,
            )
        except ActivityError:
            pass  # the delivery is marked failed; the lane goes on with its next event
        finally:
            self.busy.discard(job.lane)
            self.finished = True

    def _history_is_long(self) -> bool:
        info = workflow.info()
        return info.is_continue_as_new_suggested() or info.get_current_history_length() > HISTORY_LIMIT
