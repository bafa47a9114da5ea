"""The states of a request and the moves between them: one table that the workflow's Update validators
and the staff pages both consult. Pure Python, so the workflow sandbox can import it.

Messages are msgids: the worker raises them in English, the admin shows them in the clerk's language.
"""

from __future__ import annotations

from dataclasses import dataclass

from infra.i18n import N_

SUBMITTED = "submitted"
ROUTED = "routed"
ASSIGNED = "assigned"
IN_PROGRESS = "in_progress"
ON_HOLD = "on_hold"
WAITING_ON_CITIZEN = "waiting_on_citizen"
RESOLVED = "resolved"
CLOSED = "closed"
REOPENED = "reopened"
CANCELLED = "cancelled"

STATUS_LABELS = {
    SUBMITTED: N_("Submitted"),
    ROUTED: N_("Received by the department"),
    ASSIGNED: N_("Assigned"),
    IN_PROGRESS: N_("In progress"),
    ON_HOLD: N_("On hold"),
    WAITING_ON_CITIZEN: N_("Waiting for your reply"),
    RESOLVED: N_("Resolved"),
    CLOSED: N_("Closed"),
    REOPENED: N_("Reopened"),
    CANCELLED: N_("Cancelled"),
}
# Staff read the same states from their side of the counter.
STAFF_STATUS_LABELS = STATUS_LABELS | {WAITING_ON_CITIZEN: N_("Waiting on citizen")}
TERMINAL = frozenset({CLOSED, CANCELLED})
OPEN_STATUSES = tuple(s for s in STATUS_LABELS if s not in TERMINAL)

CLOSE_REASONS = {
    "fixed": N_("Fixed"),
    "no_action_needed": N_("No action needed"),
    "duplicate": N_("Duplicate of another request"),
    "not_our_responsibility": N_("Not our responsibility"),
    "referred": N_("Referred elsewhere"),
}

# Action -> the states it may start from, and the state it leads to (None: the state does not change).
ROUTE, ASSIGN, START, COMMENT, CLOSE = "route", "assign", "start", "comment", "close"
HOLD, WAIT, RESOLVE, TRANSFER = "hold", "wait", "resolve", "transfer"
CANCEL, REOPEN, REPLY = "cancel", "reopen", "reply"  # the citizen's own actions
WORKABLE = frozenset({ROUTED, ASSIGNED, IN_PROGRESS, ON_HOLD, WAITING_ON_CITIZEN, RESOLVED, REOPENED})
BEING_WORKED = frozenset({ASSIGNED, IN_PROGRESS, ON_HOLD, WAITING_ON_CITIZEN, REOPENED})
TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    ROUTE: (frozenset({SUBMITTED}), ROUTED),
    ASSIGN: (WORKABLE, ASSIGNED),
    START: (frozenset({ASSIGNED, ON_HOLD, WAITING_ON_CITIZEN, REOPENED, RESOLVED}), IN_PROGRESS),
    HOLD: (frozenset({ASSIGNED, IN_PROGRESS, WAITING_ON_CITIZEN, REOPENED}), ON_HOLD),
    WAIT: (frozenset({ASSIGNED, IN_PROGRESS, ON_HOLD, REOPENED}), WAITING_ON_CITIZEN),
    RESOLVE: (BEING_WORKED, RESOLVED),
    COMMENT: (WORKABLE | {SUBMITTED}, None),
    CLOSE: (WORKABLE, CLOSED),
    TRANSFER: (WORKABLE, ROUTED),
    CANCEL: (WORKABLE | {SUBMITTED}, CANCELLED),
    REOPEN: (frozenset({CLOSED}), REOPENED),
    REPLY: (frozenset({WAITING_ON_CITIZEN}), IN_PROGRESS),
}
# The SLA clock stands still in these states.
PAUSED = frozenset({ON_HOLD, WAITING_ON_CITIZEN, RESOLVED})
# Moves that leave a request without an assignee.
UNASSIGNING = frozenset({TRANSFER})

ACTION_REFUSALS = {
    CANCEL: N_("This request can no longer be cancelled."),
    REOPEN: N_("Only a closed request can be reopened."),
    REPLY: N_("This request is not waiting for your reply."),
}
REFUSALS = {
    CLOSED: N_("This request is already closed."),
    CANCELLED: N_("This request was cancelled by the citizen."),
    SUBMITTED: N_("This request has not been routed to a department yet; try again in a moment."),
}
EMPTY_UPDATE = N_("Write the update before posting it.")
REOPEN_WINDOW_PASSED = N_("The time to reopen this request has passed; please make a new request.")
AUTO_CLOSED = N_("Closed automatically: we did not receive the information we asked for.")


class TransitionRefused(ValueError):
    """A move the current state does not allow; its message is a msgid a clerk can read."""


def allowed_actions(status: str) -> frozenset[str]:
    return frozenset(action for action, (sources, _) in TRANSITIONS.items() if status in sources)


def open311_status(status: str) -> str:
    return "closed" if status in TERMINAL else "open"


def next_status(current: str, action: str) -> str:
    """The state after `action`, or TransitionRefused with the reason in plain words."""
    allowed_from, target = TRANSITIONS[action]
    if current not in allowed_from:
        if action in ACTION_REFUSALS:
            raise TransitionRefused(ACTION_REFUSALS[action])
        if current in REFUSALS:
            raise TransitionRefused(REFUSALS[current])
        raise TransitionRefused(N_("This action is not possible while the request is in this state."))
    return target or current


@dataclass(frozen=True)
class CloseDetails:
    reason: str
    duplicate_of: str = ""

    def problem(self) -> str | None:
        if self.reason not in CLOSE_REASONS:
            return N_("Choose a reason for closing.")
        if self.reason == "duplicate" and not self.duplicate_of.strip():
            return N_("Give the reference of the request this one duplicates.")
        return None
