"""How the web talks to Temporal: start a request's workflow, send staff actions as Updates.

The connection is made lazily and re-made after a failure, so the web keeps taking requests while the
Temporal server is down; the reconciler starts what was missed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from domain import lifecycle
from domain.requests import mark_workflow_started
from domain.scope import TenantScope
from infra.database import released
from infra.settings import Settings
from workflows.service_request.models import RequestParams, Schedule
from workflows.service_request.workflow import ServiceRequestWorkflow

log = logging.getLogger(__name__)
CONNECT_TIMEOUT = 3.0
# After a failed connection, requests do not try again for this long (seconds).
RETRY_AFTER = 5.0


def workflow_id(tenant_slug: str, reference: str) -> str:
    return f"{tenant_slug}-{reference}"


class TemporalUnavailable(RuntimeError):
    """The Temporal server cannot be reached; the caller says so and keeps the data it has."""


class TemporalGateway:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: Client | None = None
        self._lock = asyncio.Lock()
        self._down_until = 0.0

    async def client(self, ignore_backoff: bool = False) -> Client:
        if self._client is not None:
            return self._client
        if not ignore_backoff and time.monotonic() < self._down_until:
            # Just failed: do not queue every request behind another slow attempt; the reconciler catches up.
            raise TemporalUnavailable("the Temporal server did not answer a moment ago")
        async with self._lock:
            if self._client is None:
                try:
                    self._client = await asyncio.wait_for(
                        Client.connect(
                            self.settings.temporal_address, namespace=self.settings.temporal_namespace
                        ),
                        CONNECT_TIMEOUT,
                    )
                except (RPCError, RuntimeError, OSError, TimeoutError) as error:
                    self._down_until = time.monotonic() + RETRY_AFTER
                    raise TemporalUnavailable(repr(error)) from error
        return self._client

    async def start_request(
        self, tenant_id: int, tenant_slug: str, request_id: int, reference: str, ignore_backoff: bool = False
    ) -> bool:
        """Starts the request's workflow once; True when it runs (now or already). Never raises."""
        try:
            client = await self.client(ignore_backoff)
            await client.start_workflow(
                ServiceRequestWorkflow.run,
                RequestParams(tenant_id=tenant_id, request_id=request_id, reference=reference),
                id=workflow_id(tenant_slug, reference),
                task_queue=self.settings.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                rpc_timeout=timedelta(seconds=5),
            )
        except WorkflowAlreadyStartedError:
            pass
        except (TemporalUnavailable, RPCError) as error:
            log.warning("workflow for %s not started yet (%s); the reconciler will retry", reference, error)
            return False
        scope = TenantScope(tenant_id)
        async with scope.transaction():
            await mark_workflow_started(scope, request_id)
        return True

    async def act(self, tenant_slug: str, reference: str, update, command) -> str:
        """Sends a staff action as an Update; a refused move raises TransitionRefused with its msgid."""
        client = await self.client()
        handle = client.get_workflow_handle(workflow_id(tenant_slug, reference))
        try:
            # The activity behind the Update writes the rows this request may hold: let go of them first.
            async with released():
                return await handle.execute_update(update, command, rpc_timeout=timedelta(seconds=30))
        except WorkflowUpdateFailedError as failure:
            cause = failure.cause
            raise lifecycle.TransitionRefused(getattr(cause, "message", None) or str(cause)) from None
        except RPCError as error:
            if "already completed" in str(error).lower() or "not found" in str(error).lower():
                raise lifecycle.TransitionRefused(lifecycle.REFUSALS[lifecycle.CLOSED]) from None
            raise TemporalUnavailable(str(error)) from error

    async def schedule(self, tenant_slug: str, reference: str) -> Schedule | None:
        """The live timers for the admin; None when the workflow or the server cannot answer now."""
        try:
            client = await self.client()
            handle = client.get_workflow_handle(workflow_id(tenant_slug, reference))
            async with released():
                return await handle.query(ServiceRequestWorkflow.schedule, rpc_timeout=timedelta(seconds=3))
        except Exception as error:  # a page must render without its schedule
            log.info("no schedule for %s: %s", reference, error)
            return None

    async def close(self) -> None:
        self._client = None
