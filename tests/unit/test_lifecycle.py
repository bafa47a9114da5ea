import pytest

from domain import lifecycle
from domain.lifecycle import TransitionRefused, next_status


def test_a_routed_request_can_be_assigned_started_and_closed():
    status = next_status(lifecycle.SUBMITTED, lifecycle.ROUTE)
    status = next_status(status, lifecycle.ASSIGN)
    status = next_status(status, lifecycle.START)
    assert status == lifecycle.IN_PROGRESS
    assert next_status(status, lifecycle.COMMENT) == lifecycle.IN_PROGRESS
    assert next_status(status, lifecycle.CLOSE) == lifecycle.CLOSED


@pytest.mark.parametrize("action", [lifecycle.CLOSE, lifecycle.ASSIGN, lifecycle.START, lifecycle.COMMENT])
def test_a_closed_request_refuses_every_staff_action_with_a_clear_message(action):
    with pytest.raises(TransitionRefused, match="already closed"):
        next_status(lifecycle.CLOSED, action)


def test_nothing_can_be_assigned_before_routing():
    with pytest.raises(TransitionRefused, match="not been routed"):
        next_status(lifecycle.SUBMITTED, lifecycle.ASSIGN)


def test_work_cannot_start_before_assignment():
    with pytest.raises(TransitionRefused, match="not possible"):
        next_status(lifecycle.ROUTED, lifecycle.START)


def test_every_state_maps_to_open311():
    assert {lifecycle.open311_status(s) for s in lifecycle.STATUS_LABELS} == {"open", "closed"}
    assert lifecycle.open311_status(lifecycle.CANCELLED) == "closed"
    assert lifecycle.open311_status(lifecycle.ON_HOLD) == "open"


def test_closing_needs_a_known_reason_and_a_duplicate_needs_its_original():
    assert lifecycle.CloseDetails("").problem()
    assert lifecycle.CloseDetails("because").problem()
    assert lifecycle.CloseDetails("duplicate").problem()
    assert lifecycle.CloseDetails("duplicate", "SPR-2026-000001").problem() is None
    assert lifecycle.CloseDetails("fixed").problem() is None
