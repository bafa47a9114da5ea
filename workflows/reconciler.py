"""Starts every workflow that intake could not start (Temporal was down, the web process died).

Runs in the worker on a timer and on demand (`citizen-portal reconcile`). It works tenant by tenant:
there is no query over all tenants' requests.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from domain.requests import awaiting_workflow
from domain.scope import TenantScope
from tenants.resolve import all_tenant_ids, tenant_by_id
from workflows.client import TemporalGateway

log = logging.getLogger(__name__)


async def reconcile_once(
    gateway: TemporalGateway, grace_seconds: float, tenant_ids: list[int] | None = None
) -> int:
    """Returns how many workflows it started; stops at the first failure (the server is still down)."""
    started = 0
    cutoff = datetime.now(UTC) - timedelta(seconds=grace_seconds)
    for tenant_id in tenant_ids or await all_tenant_ids():
        tenant = await tenant_by_id(tenant_id)
        if tenant is None:
            continue  # removed since the list was read
        for row in await awaiting_workflow(TenantScope(tenant_id), cutoff):
            if not await gateway.start_request(
                tenant_id, tenant.slug, row["id"], row["reference"], ignore_backoff=True
            ):
                return started
            started += 1
    if started:
        log.info("reconciler started %d missing workflow(s)", started)
    return started


async def reconcile_forever(gateway: TemporalGateway, interval: float, grace_seconds: float) -> None:
    while True:
        try:
            await reconcile_once(gateway, grace_seconds)
        except Exception:  # the loop must outlive any one bad pass
            log.exception("reconciler pass failed")
        await asyncio.sleep(interval)
