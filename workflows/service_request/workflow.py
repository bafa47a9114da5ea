"""One workflow per request: it decides what happens next and when; the database records what happened.

Every staff or citizen action is an Update. Its validator refuses moves the current state does not allow
(nothing reaches history); its handler persists through an activity and returns the new status. Between
actions the workflow sleeps until the next reminder or escalation on the tenant's business calendar.
"""

from __future__ import annotations

import asyncio
import copy
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

# Names from this package's modules, never `from workflows.service_request import contract`: the
# sandbox imports this package afresh for each run, and a submodule taken from it skips the pass-through.
with workflow.unsafe.imports_passed_through():
    from domain import lifecycle, permissions, sla
    from infra.i18n import N_
    from workflows.service_request.activities import STEP_FAILED, RequestActivities
    from workflows.service_request.contract import (
        EXPIRED,
        INTEGRATION_ACTOR,
        REFUSED,
        AssignCommand,
        CitizenCommand,
        CloseCommand,
        Command,
        CommentCommand,
        LevelCommand,
        NoteCommand,
        RequestParams,
        Schedule,
        StaffCommand,
        StartCommand,
        TransferCommand,
        WorkOrderCommand,
    )
    from workflows.service_request.models import (
        MoveInput,
        NoticeInput,
        ReceiptInput,
        RequestState,
        StaffNoticeInput,
    )

DB_TIMEOUT = timedelta(seconds=30)
RENDER_TIMEOUT = timedelta(minutes=2)
MAIL_RETRY = RetryPolicy(initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=5))
# Changes to running workflows: each new step is taken only by runs that reach it after the change.
ACKNOWLEDGEMENT_RECEIPT = "acknowledgement-receipt"
# The acknowledgement mail carries the reference and the status link; a PDF of it, which nobody asked for,
# was half the worker's CPU. Only the closure receipt is rendered now.
ACKNOWLEDGEMENT_WITHOUT_PDF = "acknowledgement-without-pdf"
SERVICE_LEVELS = "service-levels"
# Routing, moves and mails run as local activities, inside the workflow task that decided them: a third of
# the history and of the server's work per request. Only the PDF, which takes seconds, stays a scheduled
# activity. A run that takes this change takes every earlier one, so it records one marker instead of four.
LOCAL_STEPS = "local-steps"
# The database refused a step's data (the activity noted it on the internal timeline): said to whoever acted.
STEP_NOT_SAVED = N_("This could not be saved. The request is marked for the staff to look at.")
BAD_WORK_ORDER = N_("Give the work order's number, at most 64 characters.")
ONLY_ADMINS_RELEVEL = N_(
    "Only the municipality's administrators can change a running request's service level."
)

STAFF_AUDIENCE_NOTICES = {
    sla.ASSIGN_REMINDER: "assign_reminder",
    sla.ASSIGN_ESCALATION: "assign_escalation",
    sla.DUE_REMINDER: "due_reminder",
    sla.OVERDUE: "overdue",
    sla.OVERDUE_ESCALATION: "overdue_escalation",
}


@workflow.defn
class ServiceRequestWorkflow:
    @workflow.init
    def __init__(self, params: RequestParams) -> None:
        self.params = params
        self.state = params.carried or RequestState()
        self.level = params.level or sla.ServiceLevel()
        self._lock = asyncio.Lock()
        self._changed = False

    @workflow.run
    async def run(self, params: RequestParams) -> str:
        if params.carried is None:
            await self._route()
            if not _since(ACKNOWLEDGEMENT_WITHOUT_PDF) and _since(ACKNOWLEDGEMENT_RECEIPT):
                await self._render("acknowledgement")
                await self._notify("acknowledgement", key="acknowledgement", attach="acknowledgement")
            else:
                await self._notify("acknowledgement", key="acknowledgement")
        while True:
            await self._work_until_done()
            await workflow.wait_condition(workflow.all_handlers_finished)
            await self._send_closure_receipts()
            if self.state.status == lifecycle.CANCELLED:
                return self.state.status
            if self.state.status != lifecycle.CLOSED:
                continue  # reopened while its closure was being sent
            if not _since(SERVICE_LEVELS) or not await self._reopened_in_time():
                return self.state.status

    # Reading the live state ------------------------------------------------------------------------

    @workflow.query
    def current_state(self) -> RequestState:
        return self.state

    @workflow.query
    def schedule(self) -> Schedule:
        upcoming = sorted(self._deadlines().items(), key=lambda item: item[1])
        return Schedule(
            status=self.state.status,
            due_at=self.state.due_at,
            upcoming=[(key, when) for key, when in upcoming],
            paused=self.state.status in lifecycle.PAUSED,
        )

    # Staff actions ---------------------------------------------------------------------------------

    @workflow.update
    async def assign(self, command: AssignCommand) -> str:
        await self._settle(command)
        status = await self._apply(
            lifecycle.ASSIGN, actor_id=command.actor_id, assignee_id=command.assignee_id, public=False
        )
        if _since(SERVICE_LEVELS) and command.assignee_id != command.actor_id:
            await self._notify_staff("assigned", self._action_key("assigned"))
        return status

    @assign.validator
    def _check_assign(self, command: AssignCommand) -> None:
        self._check_fresh(command)
        self._check_actor(command)
        lifecycle.next_status(self._settled_status(), lifecycle.ASSIGN)

    @workflow.update
    async def start_work(self, command: StartCommand) -> str:
        await self._settle(command)
        return await self._apply(lifecycle.START, actor_id=command.actor_id)

    @start_work.validator
    def _check_start(self, command: StartCommand) -> None:
        self._check_fresh(command)
        self._check_actor(command)
        lifecycle.next_status(self._settled_status(), lifecycle.START)

    @workflow.update
    async def hold(self, command: NoteCommand) -> str:
        await self._settle(command)
        return await self._apply(lifecycle.HOLD, actor_id=command.actor_id, body=command.body, public=False)

    @hold.validator
    def _check_hold(self, command: NoteCommand) -> None:
        self._check_fresh(command)
        self._check_actor(command)
        lifecycle.next_status(self._settled_status(), lifecycle.HOLD)

    @workflow.update
    async def wait_on_citizen(self, command: NoteCommand) -> str:
        await self._settle(command)
        status = await self._apply(lifecycle.WAIT, actor_id=command.actor_id, body=command.body)
        await self._notify("question", key=self._action_key("question"), body=command.body)
        return status

    @wait_on_citizen.validator
    def _check_wait(self, command: NoteCommand) -> None:
        self._check_fresh(command)
        self._check_actor(command)
        lifecycle.next_status(self._settled_status(), lifecycle.WAIT)
        if not command.body.strip():
            raise lifecycle.TransitionRefused(lifecycle.EMPTY_UPDATE)

    @workflow.update
    async def resolve(self, command: NoteCommand) -> str:
        await self._settle(command)
        status = await self._apply(lifecycle.RESOLVE, actor_id=command.actor_id, body=command.body)
        await self._notify("resolved", key=self._action_key("resolved"), body=command.body)
        return status

    @resolve.validator
    def _check_resolve(self, command: NoteCommand) -> None:
        self._check_fresh(command)
        self._check_actor(command)
        lifecycle.next_status(self._settled_status(), lifecycle.RESOLVE)

    @workflow.update
    async def transfer(self, command: TransferCommand) -> str:
        await self._settle(command)
        return await self._apply(
            lifecycle.TRANSFER,
            actor_id=command.actor_id,
            department_id=command.department_id,
            body=command.body,
            public=False,
        )

    @transfer.validator
    def _check_transfer(self, command: TransferCommand) -> None:
        self._check_fresh(command)
        self._check_actor(command)
        lifecycle.next_status(self._settled_status(), lifecycle.TRANSFER)

    @workflow.update
    async def comment(self, command: CommentCommand) -> str:
        await self._settle(command)
        key = str(workflow.uuid4())
        status = await self._apply(
            lifecycle.COMMENT, actor_id=command.actor_id, body=command.body, public=command.public, key=key
        )
        if command.public:
            await self._notify("update", key=f"update:{key}", body=command.body)
        return status

    @comment.validator
    def _check_comment(self, command: CommentCommand) -> None:
        self._check_fresh(command)
        self._check_actor(command)
        lifecycle.next_status(self._settled_status(), lifecycle.COMMENT)
        if not command.body.strip():
            raise lifecycle.TransitionRefused(lifecycle.EMPTY_UPDATE)

    @workflow.update
    async def close(self, command: CloseCommand) -> str:
        await self._settle(command)
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
        self._check_fresh(command)
        self._check_actor(command)
        lifecycle.next_status(self._settled_status(), lifecycle.CLOSE)
        problem = lifecycle.CloseDetails(command.reason, command.duplicate_of).problem()
        if problem:
            raise lifecycle.TransitionRefused(problem)

    @workflow.update
    async def link_work_order(self, command: WorkOrderCommand) -> str:
        await self._settle(command)
        return await self._apply(
            lifecycle.COMMENT,
            actor_id=command.actor_id,
            body=command.body,
            public=False,
            work_order=command.number.strip(),
        )

    @link_work_order.validator
    def _check_link_work_order(self, command: WorkOrderCommand) -> None:
        self._check_fresh(command)
        self._check_actor(command)
        lifecycle.next_status(self._settled_status(), lifecycle.COMMENT)
        if not command.number.strip() or len(command.number.strip()) > 64:
            raise lifecycle.TransitionRefused(BAD_WORK_ORDER)

    # The citizen's actions ---------------------------------------------------------------------------

    @workflow.update
    async def cancel(self, command: CitizenCommand) -> str:
        await self._settle()
        status = await self._apply(lifecycle.CANCEL, body=command.body, actor_kind="citizen")
        await self._notify("cancelled", key="cancelled")
        return status

    @cancel.validator
    def _check_cancel(self, command: CitizenCommand) -> None:
        self._check_fresh(command)
        lifecycle.next_status(self._settled_status(), lifecycle.CANCEL)

    @workflow.update
    async def reopen(self, command: CitizenCommand) -> str:
        await self._settle()
        key = f"reopened:{self.state.closures}"
        status = await self._apply(lifecycle.REOPEN, body=command.body, actor_kind="citizen")
        await self._notify_staff("reopened", key, body=command.body)
        return status

    @reopen.validator
    def _check_reopen(self, command: CitizenCommand) -> None:
        self._check_fresh(command)
        lifecycle.next_status(self._settled_status(), lifecycle.REOPEN)
        if self.state.reopen_until is None or workflow.now() > self.state.reopen_until:
            raise lifecycle.TransitionRefused(lifecycle.REOPEN_WINDOW_PASSED)

    @workflow.update
    async def reply(self, command: CitizenCommand) -> str:
        await self._settle()
        status = await self._apply(lifecycle.REPLY, body=command.body, actor_kind="citizen")
        await self._notify_staff("citizen_replied", self._action_key("replied"), body=command.body)
        return status

    @reply.validator
    def _check_reply(self, command: CitizenCommand) -> None:
        self._check_fresh(command)
        lifecycle.next_status(self._settled_status(), lifecycle.REPLY)
        if not command.body.strip():
            raise lifecycle.TransitionRefused(lifecycle.EMPTY_UPDATE)

    def _check_fresh(self, command: Command) -> None:
        """The web stops waiting at `expires_at` and says nothing was done: a late command must not apply."""
        if command.expires_at is not None and workflow.now() > command.expires_at:
            raise ApplicationError("arrived after its sender stopped waiting", type=EXPIRED)

    def _check_actor(self, command: StaffCommand) -> None:
        access = permissions.StaffAccess(command.actor_role, frozenset(command.actor_departments))
        if self.state.status == lifecycle.SUBMITTED:
            # Routing is under way and the department not known yet: the handler checks again after it.
            if access.role not in permissions.ACTING_ROLES or access.role == permissions.VIEWER:
                raise lifecycle.TransitionRefused(access.refusal(None) or permissions.READ_ONLY)
            return
        if refusal := access.refusal(self.state.department_id):
            raise lifecycle.TransitionRefused(refusal)
        if isinstance(command, AssignCommand):
            assignee = permissions.StaffAccess(command.assignee_role, frozenset(command.assignee_departments))
            if refusal := permissions.assignee_refusal(assignee, self.state.department_id):
                raise lifecycle.TransitionRefused(refusal)

    def _settled_status(self) -> str:
        """A request being routed is judged as routed: the staff page already shows it in the queue."""
        return lifecycle.ROUTED if self.state.status == lifecycle.SUBMITTED else self.state.status

    async def _settle(self, command=None) -> None:
        """Waits for routing to finish, then checks the actor against the department it chose (the
        validator could not). Without a wait there is no await: an extra one would reorder commands and
        break the replay of older histories."""
        if self.state.status != lifecycle.SUBMITTED:
            return
        await workflow.wait_condition(lambda: self.state.status != lifecycle.SUBMITTED)
        if command is not None:
            try:
                self._check_actor(command)
            except lifecycle.TransitionRefused as refused:
                raise ApplicationError(str(refused), type=REFUSED, non_retryable=True) from None

    @workflow.update
    async def citizen_comment(self, command: CitizenCommand) -> str:
        await self._settle()
        status = await self._apply(lifecycle.COMMENT, body=command.body, actor_kind="citizen")
        await self._notify_staff("citizen_commented", self._action_key("commented"), body=command.body)
        return status

    @citizen_comment.validator
    def _check_citizen_comment(self, command: CitizenCommand) -> None:
        self._check_fresh(command)
        lifecycle.next_status(self._settled_status(), lifecycle.COMMENT)
        if not command.body.strip():
            raise lifecycle.TransitionRefused(lifecycle.EMPTY_UPDATE)

    @workflow.update
    async def apply_service_level(self, command: LevelCommand) -> str:
        """The request takes the level its type has now: every due date and reminder is recomputed from
        the time its clock has already run, and an internal note says who changed it."""
        await self._settle()
        async with self._lock:
            kept = self.level
            self.level = command.level
            try:
                return await self._apply_locked(
                    lifecycle.COMMENT, actor_id=command.actor_id, body=command.body, public=False
                )
            except BaseException:
                self.level = kept
                raise

    @apply_service_level.validator
    def _check_apply_service_level(self, command: LevelCommand) -> None:
        self._check_fresh(command)
        if command.actor_role != permissions.TENANT_ADMIN:
            raise lifecycle.TransitionRefused(ONLY_ADMINS_RELEVEL)
        lifecycle.next_status(self._settled_status(), lifecycle.COMMENT)

    # The life between actions ------------------------------------------------------------------------

    async def _route(self) -> None:
        routed = await _step(
            RequestActivities.route, self._move(lifecycle.ROUTE), start_to_close_timeout=DB_TIMEOUT
        )
        self.state.status, self.state.department_id = routed.status, routed.department_id
        self.state.assignee_id = routed.assignee_id
        if routed.level is not None and routed.routed_at is not None:
            self.level = routed.level
            self.state.clock = sla.Clock(running_since=routed.routed_at)
            if routed.assignee_id is None:
                self.state.clock.unassigned_since = routed.routed_at
            self.state.due_at = sla.due_at(self.level, self.state.clock)

    async def _work_until_done(self) -> None:
        """Sleeps until an action arrives or the next reminder is due, until the request is closed."""
        while self.state.status not in lifecycle.TERMINAL and not self._closure_pending():
            if self._history_is_long():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    RequestParams(
                        tenant_id=self.params.tenant_id,
                        request_id=self.params.request_id,
                        reference=self.params.reference,
                        carried=self.state,
                        level=self.level,
                        history_limit=self.params.history_limit,
                    )
                )
            upcoming = self._deadlines()
            timeout = None
            if upcoming:
                seconds = (min(upcoming.values()) - workflow.now()).total_seconds()
                timeout = timedelta(seconds=max(seconds, 0.001))
            self._changed = False
            try:
                await workflow.wait_condition(
                    lambda: (
                        self._changed or self.state.status in lifecycle.TERMINAL or self._closure_pending()
                    ),
                    timeout=timeout,
                )
            except TimeoutError:
                await self._fire_due()

    async def _fire_due(self) -> None:
        async with self._lock:
            now = workflow.now()
            due = sorted((when, key) for key, when in self._deadlines().items() if when <= now)
            for _, key in due:
                if self.state.status in lifecycle.TERMINAL:
                    return
                self.state.clock.fired.append(key)
                if key == sla.CITIZEN_AUTO_CLOSE:
                    await self._apply_locked(
                        lifecycle.CLOSE, close_reason="no_action_needed", body=lifecycle.AUTO_CLOSED
                    )
                    self.state.close_reason = "no_action_needed"
                elif key == sla.CITIZEN_REMINDER:
                    await self._notify("waiting_reminder", key=self._action_key(key))
                else:
                    await self._notify_staff(STAFF_AUDIENCE_NOTICES[key], self._action_key(key))

    async def _send_closure_receipts(self) -> None:
        """Every closure gets its receipt and mail, even one reopened before the main loop saw it."""
        while self.state.closures_handled < self.state.closures:
            number = self.state.closures_handled + 1
            await self._render("receipt")
            await self._notify(
                "closed", key="closed" if number == 1 else f"closed:{number}", attach="receipt"
            )
            self.state.closures_handled = number

    async def _reopened_in_time(self) -> bool:
        remaining = (
            (self.state.reopen_until - workflow.now()).total_seconds() if self.state.reopen_until else 0
        )
        if remaining <= 0:
            return False
        try:
            await workflow.wait_condition(
                lambda: self.state.status == lifecycle.REOPENED, timeout=timedelta(seconds=remaining)
            )
        except TimeoutError:
            return False
        return True

    def _closure_pending(self) -> bool:
        return self.state.closures > self.state.closures_handled

    def _deadlines(self) -> dict[str, datetime]:
        if self.state.status in lifecycle.TERMINAL:
            return {}
        return sla.deadlines(
            self.level,
            self.state.clock,
            assigned=self.state.assignee_id is not None,
            waiting=self.state.status == lifecycle.WAITING_ON_CITIZEN,
        )

    def _history_is_long(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() > self.params.history_limit
        )

    # Moves -------------------------------------------------------------------------------------------

    async def _apply(self, action: str, key: str = "", **details) -> str:
        """Serialises moves: a second Update waits for the first, then is checked against the new state."""
        async with self._lock:
            return await self._apply_locked(action, key=key, **details)

    async def _apply_locked(self, action: str, key: str = "", **details) -> str:
        try:
            status = lifecycle.next_status(self.state.status, action)
        except lifecycle.TransitionRefused as refused:
            raise ApplicationError(str(refused), type=REFUSED, non_retryable=True) from None
        now = workflow.now()
        clock = copy.deepcopy(self.state.clock)
        if action == lifecycle.REOPEN:
            sla.restart(clock, now)
        elif status in lifecycle.PAUSED or status in lifecycle.TERMINAL:
            sla.pause(self.level, clock, now)
        else:
            sla.resume(clock, now)
        assignee_id = self.state.assignee_id
        if action == lifecycle.ASSIGN:
            assignee_id, clock.unassigned_since = details["assignee_id"], None
        if action in lifecycle.UNASSIGNING:
            assignee_id, clock.unassigned_since = None, now
            clock.fired = [k for k in clock.fired if k not in (sla.ASSIGN_REMINDER, sla.ASSIGN_ESCALATION)]
        if action == lifecycle.WAIT:
            clock.waiting_since = now
            clock.fired = [k for k in clock.fired if k not in (sla.CITIZEN_REMINDER, sla.CITIZEN_AUTO_CLOSE)]
        due = sla.due_at(self.level, clock) or self.state.due_at
        upcoming: dict[str, datetime] = {}
        if status not in lifecycle.TERMINAL:  # stored for the staff page, which does not ask the workflow
            waiting = status == lifecycle.WAITING_ON_CITIZEN
            upcoming = sla.deadlines(self.level, clock, assigned=assignee_id is not None, waiting=waiting)
        reopen_until = None
        if status == lifecycle.CLOSED:
            reopen_until = now + timedelta(seconds=self.level.reopen_window)
        try:
            self.state.status = await _step(
                RequestActivities.persist_move,
                self._move(
                    action, key=key, due_at=due, reopen_until=reopen_until, upcoming=upcoming, **details
                ),
                start_to_close_timeout=DB_TIMEOUT,
            )
        except (ActivityError, ApplicationError) as failed:
            if _refused_data(failed):
                raise ApplicationError(STEP_NOT_SAVED, type=STEP_FAILED, non_retryable=True) from None
            raise
        self.state.clock, self.state.assignee_id, self.state.due_at = clock, assignee_id, due
        if action == lifecycle.TRANSFER:
            self.state.department_id = details["department_id"]
        if status == lifecycle.CLOSED:
            self.state.closed_at, self.state.reopen_until = now, reopen_until
            self.state.closures += 1
        self._changed = True
        return self.state.status

    def _move(self, action: str, key: str = "", **details) -> MoveInput:
        if "actor_id" in details and details["actor_id"] == INTEGRATION_ACTOR:
            details |= {"actor_id": None, "actor_kind": "integration"}
        return MoveInput(
            tenant_id=self.params.tenant_id,
            request_id=self.params.request_id,
            action=action,
            action_key=key or str(workflow.uuid4()),
            **details,
        )

    def _action_key(self, name: str) -> str:
        return f"{name}:{workflow.uuid4()}"

    # Side effects ------------------------------------------------------------------------------------

    async def _render(self, kind: str) -> None:
        await self._side_effect(
            RequestActivities.render_receipt,
            ReceiptInput(self.params.tenant_id, self.params.request_id, kind=kind),
            scheduled=True,
            start_to_close_timeout=RENDER_TIMEOUT,
        )

    async def _notify(self, kind: str, key: str, body: str = "", attach: str = "") -> None:
        await self._side_effect(
            RequestActivities.notify_citizen,
            NoticeInput(
                tenant_id=self.params.tenant_id,
                request_id=self.params.request_id,
                kind=kind,
                key=f"{workflow.info().workflow_id}:{key}",
                body=body,
                attach=attach,
            ),
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=MAIL_RETRY,
        )

    async def _notify_staff(self, kind: str, key: str, body: str = "") -> None:
        await self._side_effect(
            RequestActivities.notify_staff,
            StaffNoticeInput(
                tenant_id=self.params.tenant_id,
                request_id=self.params.request_id,
                kind=kind,
                key=f"{workflow.info().workflow_id}:{key}",
                body=body,
            ),
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=MAIL_RETRY,
        )

    @staticmethod
    async def _side_effect(activity, argument, scheduled: bool = False, **options) -> None:
        """A receipt or mail whose data the database refused is noted for staff; the request goes on."""
        try:
            if scheduled:
                await workflow.execute_activity_method(activity, argument, **options)
            else:
                await _step(activity, argument, **options)
        except (ActivityError, ApplicationError) as failed:
            if not _refused_data(failed):
                raise


def _since(change: str) -> bool:
    """Whether this run takes `change`: taking LOCAL_STEPS implies every change that came before it."""
    return workflow.patched(LOCAL_STEPS) or workflow.patched(change)


async def _step(activity, argument, **options):
    """A quick database or mail step: a local activity for runs that took LOCAL_STEPS, as before otherwise."""
    if workflow.patched(LOCAL_STEPS):
        return await workflow.execute_local_activity_method(activity, argument, **options)
    return await workflow.execute_activity_method(activity, argument, **options)


def _refused_data(failed: ActivityError | ApplicationError) -> bool:
    """A scheduled activity's failure arrives wrapped in an ActivityError, a local one's as it was raised."""
    cause = failed.cause if isinstance(failed, ActivityError) else failed
    return isinstance(cause, ApplicationError) and cause.type == STEP_FAILED
