"""What a failed Update means to the person is read from its ApplicationError's type, whatever wraps it:
a refusal or a stuck step is said as it is; a late action or anything unforeseen is not a refusal."""

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ActivityError, ApplicationError, RetryState

from domain import lifecycle
from workflows.client import TemporalUnavailable, _refusal
from workflows.service_request import contract


def failed_update(error_type: str | None, message: str = "Said to the person.", in_activity: bool = False):
    cause: BaseException = ApplicationError(message, type=error_type, non_retryable=True)
    if in_activity:  # how the workflow reports an activity that failed: the ApplicationError is its cause
        wrapper = ActivityError(
            "activity failed",
            scheduled_event_id=5,
            started_event_id=6,
            identity="worker",
            activity_type="persist_move",
            activity_id="1",
            retry_state=RetryState.NON_RETRYABLE_FAILURE,
        )
        wrapper.__cause__ = cause
        cause = wrapper
    return WorkflowUpdateFailedError(cause)


@pytest.mark.parametrize("error_type", [contract.REFUSED, contract.STEP_FAILED])
@pytest.mark.parametrize("in_activity", [False, True], ids=["from-the-workflow", "from-an-activity"])
def test_a_refusal_and_a_stuck_step_are_said_to_the_person(error_type, in_activity):
    meaning = _refusal(failed_update(error_type, in_activity=in_activity))
    assert isinstance(meaning, lifecycle.TransitionRefused) and str(meaning) == "Said to the person."


@pytest.mark.parametrize("error_type", [contract.EXPIRED, "SomethingElse", None])
def test_a_late_action_or_an_unforeseen_failure_is_not_shown_as_a_refusal(error_type):
    meaning = _refusal(failed_update(error_type, message="internal detail"))
    assert isinstance(meaning, TemporalUnavailable) and not isinstance(meaning, lifecycle.TransitionRefused)
