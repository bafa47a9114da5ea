"""How the web talks to Temporal: start a request's workflow, send staff actions as Updates.

The connection is made lazily and re-made after a failure, so the web keeps taking requests while the
Temporal server is down; the reconciler starts what was missed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
    WorkflowUpdateStage,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain import lifecycle
from domain.scope import TenantScope
from domain.submissions import mark_workflow_started
from infra.database import released
from infra.i18n import N_
from infra.settings import Settings
from workflows.service_request import contract
from workflows.webhooks import contract as webhooks_contract

log = logging.getLogger(__name__)
CONNECT_TIMEOUT = 3.0
# After a failed connection, requests do not try again for this long (seconds).
RETRY_AFTER = 5.0
# A person waits this long (seconds) for the workflow to take an action; a command that reaches it later is
# refused by the workflow, so "nothing was changed" stays true. The grace covers the trip back.
ACCEPT_WITHIN = 8.0
ACCEPT_GRACE = 4.0
# Once taken, how long the page waits for the action's result before saying it is under way.
RESULT_WITHIN = 20.0
NOT_STARTED = N_("This request is still being registered; try again in a moment.")
STILL_APPLYING = N_("Your action was accepted and is still being carried out; reload the page in a moment.")


class TemporalUnavailable(RuntimeError):
    """The Temporal server or its workers did not answer in time; nothing was changed."""


class ActionPending(RuntimeError):
    """The workflow took the action but has not finished it yet; its message is a msgid."""


class TemporalGateway:
    def __init__(self, settings: Settings, accept_within: float = ACCEPT_WITHIN) -> None:
        self.settings = settings
        self.accept_within = accept_within
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
        self,
        tenant_id: int,
        tenant_slug: str,
        request_id: int,
        reference: str,
        ignore_backoff: bool = False,
        mark: bool = True,
    ) -> bool:
        """Starts the request's workflow once; True when it runs (now or already). Never raises.
        The row is marked started (so the reconciler leaves it) by its routing, or here when `mark`: the
        web does not, which spares every post a transaction; the reconciler does, so a row it started is
        not started again while the workflow waits for a worker."""
        try:
            client = await self.client(ignore_backoff)
            await client.start_workflow(
                contract.WORKFLOW_TYPE,
                contract.RequestParams(tenant_id=tenant_id, request_id=request_id, reference=reference),
                id=contract.workflow_id(tenant_slug, reference),
                task_queue=self.settings.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                rpc_timeout=timedelta(seconds=5),
            )
        except WorkflowAlreadyStartedError:
            pass
        except (TemporalUnavailable, RPCError) as error:
            log.warning("workflow for %s not started yet (%s); the reconciler will retry", reference, error)
            return False
        if mark:
            scope = TenantScope(tenant_id)
            async with scope.transaction():
                await mark_workflow_started(scope, request_id)
        return True

    async def act(self, tenant_slug: str, reference: str, update: str, command: contract.Command) -> str:
        """Sends an action as an Update and returns the new status. A refused move raises TransitionRefused
        with its msgid; no answer within seconds raises TemporalUnavailable, and the action never applies."""
        client = await self.client()
        handle = client.get_workflow_handle(contract.workflow_id(tenant_slug, reference), result_type=str)
        command = dataclasses.replace(
            command, expires_at=datetime.now(UTC) + timedelta(seconds=self.accept_within)
        )
        # The activity behind the Update writes the rows this request may hold: let go of them first.
        async with released():
            try:
                taken = await asyncio.wait_for(
                    handle.start_update(
                        update, command, wait_for_stage=WorkflowUpdateStage.ACCEPTED, result_type=str
                    ),
                    self.accept_within + ACCEPT_GRACE,
                )
            except RPCError as error:
                if error.status == RPCStatusCode.NOT_FOUND:
                    raise await _not_running(handle) from None
                raise TemporalUnavailable(str(error)) from error
            except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError) as error:
                raise TemporalUnavailable(f"{update} on {reference} was not taken in time") from error
            try:
                return await asyncio.wait_for(taken.result(), RESULT_WITHIN)
            except WorkflowUpdateFailedError as failure:
                raise _refusal(failure) from None
            except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError) as error:
                raise ActionPending(STILL_APPLYING) from error

    async def wake_webhooks(self, tenant_id: int) -> bool:
        """Tells the town's webhook dispatcher that deliveries wait (starting it if need be); False when
        Temporal did not answer, in which case the reconciler wakes it on its next pass. Never raises.
        It commits the open transaction first: woken, the dispatcher reads what is pending at once."""
        try:
            async with released():
                await webhooks_contract.wake(await self.client(), tenant_id, self.settings.task_queue)
        except (TemporalUnavailable, RPCError) as error:
            log.warning("webhook dispatcher of town %s not woken (%s)", tenant_id, error)
            return False
        return True

    async def close(self) -> None:
        self._client = None


def _refusal(failure: WorkflowUpdateFailedError) -> Exception:
    """What a failed Update means to the person, by the type of its ApplicationError."""
    cause: BaseException | None = failure.cause
    while cause is not None and not isinstance(cause, ApplicationError):
        cause = cause.__cause__  # an activity's failure arrives wrapped in an ActivityError
    if cause is not None and cause.type in (contract.REFUSED, contract.STEP_FAILED):
        return lifecycle.TransitionRefused(cause.message)
    if cause is not None and cause.type == contract.EXPIRED:
        return TemporalUnavailable("the workflow took the action after the page stopped waiting")
    return TemporalUnavailable(f"the action failed: {failure.cause!r}")


async def _not_running(handle: WorkflowHandle[Any, str]) -> Exception:
    """The workflow is not there: not started yet (intake's start is pending), or finished."""
    try:
        described = await handle.describe(rpc_timeout=timedelta(seconds=3))
        if described.status == WorkflowExecutionStatus.RUNNING:
            return TemporalUnavailable("the workflow runs but did not take the action")
        if described.status == WorkflowExecutionStatus.COMPLETED:
            status = await asyncio.wait_for(handle.result(), 3)
        else:  # failed or terminated: it takes no more actions either
            status = lifecycle.CLOSED
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return lifecycle.TransitionRefused(NOT_STARTED)
        return TemporalUnavailable(str(error))
    except TimeoutError as error:
        return TemporalUnavailable(repr(error))
    return lifecycle.TransitionRefused(lifecycle.REFUSALS.get(status, lifecycle.REFUSALS[lifecycle.CLOSED]))
