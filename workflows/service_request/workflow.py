"""One workflow per request: it decides what happens next and when; the database records what happened.

Every staff action is an Update. Its validator refuses moves the current state does not allow (nothing
reaches history); its handler persists through an activity and returns the new status.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain import lifecycle
    from workflows.service_request.activities import RequestActivities
    from workflows.service_request.models import (
        AssignCommand,
        CloseCommand,
        CommentCommand,
        MoveInput,
        NoticeInput,
        ReceiptInput,
        RequestParams,
        RequestState,
        StartCommand,
    )

DB_TIMEOUT = timedelta(seconds=30)
RENDER_TIMEOUT = timedelta(minutes=2)
MAIL_RETRY = RetryPolicy(initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=5))


@workflow.defn
class ServiceRequestWorkflow:
    @workflow.init
    def __init__(self, params: RequestParams) -> None:
        self.params = params
        self.state = RequestState()
        self._lock = asyncio.Lock()

    @workflow.run
    async def run(self, params: RequestParams) -> str:
        routed = await workflow.execute_activity_method(
            RequestActivities.route, self._move(lifecycle.ROUTE), start_to_close_timeout=DB_TIMEOUT
        )
        self.state.status, self.state.department_id = routed.status, routed.department_id
        await self._notify("acknowledgement", key="acknowledgement")
        await workflow.wait_condition(lambda: self.state.status in lifecycle.TERMINAL)
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self.state.status == lifecycle.CLOSED:
            await workflow.execute_activity_method(
                RequestActivities.render_receipt,
                ReceiptInput(params.tenant_id, params.request_id),
                start_to_close_timeout=RENDER_TIMEOUT,
            )
            await self._notify("closed", key="closed", attach_receipt=True)
        return self.state.status

    @workflow.query
    def current_state(self) -> RequestState:
        return self.state

    @workflow.update
    async def assign(self, command: AssignCommand) -> str:
        status = await self._apply(
            lifecycle.ASSIGN, actor_id=command.actor_id, assignee_id=command.assignee_id, public=False
        )
        self.state.assignee_id = command.assignee_id
        return status

    @assign.validator
    def _check_assign(self, command: AssignCommand) -> None:
        lifecycle.next_status(self.state.status, lifecycle.ASSIGN)

    @workflow.update
    async def start_work(self, command: StartCommand) -> str:
        return await self._apply(lifecycle.START, actor_id=command.actor_id)

    @start_work.validator
    def _check_start(self, command: StartCommand) -> None:
        lifecycle.next_status(self.state.status, lifecycle.START)

    @workflow.update
    async def comment(self, command: CommentCommand) -> str:
        key = str(workflow.uuid4())
        status = await self._apply(
            lifecycle.COMMENT, actor_id=command.actor_id, body=command.body, public=command.public, key=key
        )
        if command.public:
            await self._notify("update", key=f"update:{key}", body=command.body)
        return status

    @comment.validator
    def _check_comment(self, command: CommentCommand) -> None:
        lifecycle.next_status(self.state.status, lifecycle.COMMENT)
        if not command.body.strip():
            raise lifecycle.TransitionRefused(lifecycle.EMPTY_UPDATE)

    @workflow.update
    async def close(self, command: CloseCommand) -> str:
        status = await self._apply(
            lifecycle.CLOSE,
            actor_id=command.actor_id,
            body=command.body,
            close_reason=command.reason,
            duplicate_of=command.duplicate_of,
        )
        self.state.close_reason = command.reason
        return status

    @close.validator
    def _check_close(self, command: CloseCommand) -> None:
        lifecycle.next_status(self.state.status, lifecycle.CLOSE)
        problem = lifecycle.CloseDetails(command.reason, command.duplicate_of).problem()
        if problem:
            raise lifecycle.TransitionRefused(problem)

    async def _apply(self, action: str, key: str = "", **details) -> str:
        """Serialises moves: a second Update waits for the first, then is checked against the new state."""
        async with self._lock:
            try:
                lifecycle.next_status(self.state.status, action)
            except lifecycle.TransitionRefused as refused:
                raise ApplicationError(str(refused), type="TransitionRefused", non_retryable=True) from None
            self.state.status = await workflow.execute_activity_method(
                RequestActivities.persist_move,
                self._move(action, key=key, **details),
                start_to_close_timeout=DB_TIMEOUT,
            )
            return self.state.status

    def _move(self, action: str, key: str = "", **details) -> MoveInput:
        return MoveInput(
            tenant_id=self.params.tenant_id,
            request_id=self.params.request_id,
            action=action,
            action_key=key or str(workflow.uuid4()),
            **details,
        )

    async def _notify(self, kind: str, key: str, body: str = "", attach_receipt: bool = False) -> None:
        await workflow.execute_activity_method(
            RequestActivities.notify_citizen,
            NoticeInput(
                tenant_id=self.params.tenant_id,
                request_id=self.params.request_id,
                kind=kind,
                key=f"{workflow.info().workflow_id}:{key}",
                body=body,
                attach_receipt=attach_receipt,
            ),
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=MAIL_RETRY,
        )
