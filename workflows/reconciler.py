"""Starts every workflow that intake could not start (Temporal was down, the web process died).

Runs in the worker on a timer and on demand (`citizen-portal reconcile`). It works tenant by tenant:
the list of towns is its one cross-tenant (audited) read; each town's requests are read in its own scope.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from domain.scope import TenantScope
from domain.submissions import awaiting_workflow
from tenants.resolve import all_tenant_ids, tenant_by_id
from workflows.client import TemporalGateway

log = logging.getLogger(__name__)


# Workflows are started this many at a time: one by one, a backlog held back by an outage drained at about
# one a second (each start waited behind the database writes of the workflows started before it).
BATCH = 16


async def reconcile_once(
    gateway: TemporalGateway, grace_seconds: float, tenant_ids: list[int] | None = None
) -> int:
    """Returns how many workflows it started; stops at the first failure (the server is still down)."""
    started = 0
    cutoff = datetime.now(UTC) - timedelta(seconds=grace_seconds)
    try:
        for tenant_id in tenant_ids or await all_tenant_ids(
            "reconciler: towns to check for missing workflows"
        ):
            scope = TenantScope(tenant_id)
            async with scope.transaction():
                tenant = await tenant_by_id(tenant_id)
                rows = await awaiting_workflow(scope, cutoff)
            if tenant is None:
                continue  # removed since the list was read
            for first in range(0, len(rows), BATCH):
                results = await asyncio.gather(
                    *(
                        gateway.start_request(
                            tenant_id, tenant.slug, row["id"], row["reference"], ignore_backoff=True
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


async def reconcile_forever(gateway: TemporalGateway, interval: float, grace_seconds: float) -> None:
    while True:
        try:
            await reconcile_once(gateway, grace_seconds)
        except Exception:  # the loop must outlive any one bad pass
            log.exception("reconciler pass failed")
        await asyncio.sleep(interval)
