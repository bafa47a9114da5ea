"""Starts every workflow that intake could not start (Temporal was down, the web process died).

One process of the installation runs it on a timer (whichever worker holds the reconciler's lock; the
others only try for the lock), and anyone on demand (`citizen-portal reconcile`). Each pass is one indexed
query across towns on the audited cross-tenant path; each start then marks its request in the town's own
scope.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from domain.submissions import awaiting_workflow
from domain.webhooks import towns_with_pending
from infra.database import Leadership
from workflows.client import TemporalGateway

log = logging.getLogger(__name__)


# Workflows are started this many at a time: one by one, a backlog held back by an outage drained at about
# one a second (each start waited behind the database writes of the workflows started before it).
BATCH = 16
ROLE = "citizen-portal reconciler"


async def reconcile_once(
    gateway: TemporalGateway, grace_seconds: float, tenant_ids: list[int] | None = None
) -> int:
    """Returns how many workflows it started; stops at the first failure (the server is still down).
    `tenant_ids` narrows it to those towns (the tests' own)."""
    started = 0
    cutoff = datetime.now(UTC) - timedelta(seconds=grace_seconds)
    try:
        rows = await awaiting_workflow(cutoff, tenant_ids)
        for first in range(0, len(rows), BATCH):
            results = await asyncio.gather(
                *(
                    gateway.start_request(
                        row["tenant_id"], row["tenant_slug"], row["id"], row["reference"], ignore_backoff=True
                    )
                    for row in rows[first : first + BATCH]
                )
            )
            started += sum(results)
            if not all(results):
                return started
        return started
    finally:
        if started:
            log.info("reconciler started %d missing workflow(s)", started)


async def wake_dispatchers(gateway: TemporalGateway, tenant_ids: list[int] | None = None) -> int:
    """Wakes the webhook dispatcher of every town with deliveries waiting: a wake lost when Temporal was
    briefly down is made good within one pass. Returns how many towns it woke."""
    woken = 0
    for tenant_id in await towns_with_pending(tenant_ids):
        woken += await gateway.wake_webhooks(tenant_id)
    return woken


async def reconcile_forever(gateway: TemporalGateway, interval: float, grace_seconds: float) -> None:
    leadership = Leadership(ROLE)
    try:
        while True:
            try:
                if await leadership.held():
                    await reconcile_once(gateway, grace_seconds)
                    await wake_dispatchers(gateway)
            except Exception:  # the loop must outlive any one bad pass
                log.exception("reconciler pass failed")
            await asyncio.sleep(interval)
    finally:
        await leadership.release()
