"""The dispatcher's steps: find the next delivery of each lane, and make one attempt at one delivery.

An attempt that fails raises, and Temporal retries it with exponential backoff (workflow.DELIVERY_RETRY);
each attempt is recorded on the delivery, which the workspace shows. Signed per Standard Webhooks.
"""

from __future__ import annotations

from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook
from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain import webhooks
from domain.scope import TenantScope
from infra import outbound
from infra.settings import Settings
from workflows.webhooks.contract import DeliveryJob, NextInput

# After this many attempts (about a day with the backoff the dispatcher asks for) a delivery has failed.
MAX_ATTEMPTS = 18
USER_AGENT = "CitizenPortal-Webhooks/1"


class WebhookActivities:
    def __init__(self, settings: Settings) -> None:
        self.allowed = outbound.networks(settings.outbound_allowed_networks)
        self.poster = outbound.Poster()

    @activity.defn
    async def next_deliveries(self, wanted: NextInput) -> list[DeliveryJob]:
        scope = TenantScope(wanted.tenant_id)
        async with scope.transaction():
            found = await webhooks.next_in_lanes(scope, set(wanted.busy), wanted.limit)
        return [DeliveryJob(wanted.tenant_id, delivery_id, lane) for delivery_id, lane in found]

    @activity.defn
    async def deliver(self, job: DeliveryJob) -> str:
        """One attempt; the delivery's state after it. Raises to be retried while attempts remain."""
        scope = TenantScope(job.tenant_id)
        async with scope.transaction():
            item = await webhooks.outgoing(scope, job.delivery_id)
        if item is None or item.state != webhooks.PENDING:
            return item.state if item else "gone"  # redelivered and sent meanwhile, or deleted
        final = activity.info().attempt >= MAX_ATTEMPTS
        status: int | None = None
        excerpt = error = ""
        try:
            if not item.active:
                raise _Refused("the subscription is paused")
            await self._check(item.url)
            status, excerpt = await self.poster.post(item.url, item.payload.encode(), self._headers(item))
            if not 200 <= status < 300:
                error = f"the receiver answered {status}"
        except _Refused as refused:
            error, final = str(refused), True
        except outbound.Unreachable:
            error = "no answer from the receiver"
        state = webhooks.DELIVERED if not error else webhooks.FAILED if final else webhooks.PENDING
        async with scope.transaction():
            await webhooks.record_attempt(scope, job.delivery_id, state, status, excerpt, error)
        if error:
            raise ApplicationError(error, type="DeliveryFailed", non_retryable=final)
        return state

    async def _check(self, url: str) -> None:
        """Checked at each attempt, not only when the subscription was made: a name can change address."""
        try:
            await webhooks.check_url(url, self.allowed)
        except webhooks.SubscriptionRefused as refused:
            raise _Refused(f"address refused: {refused}") from None

    @staticmethod
    def _headers(item: webhooks.Outgoing) -> dict[str, str]:
        now = datetime.now(UTC)
        return {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": item.message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(item.secret).sign(item.message_id, now, item.payload),
        }

    def all(self) -> list:
        return [self.next_deliveries, self.deliver]


class _Refused(Exception):
    """Nothing a retry could change: the delivery has failed."""
