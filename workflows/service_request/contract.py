"""What the web and the service-request workflow share: names, inputs, the workflow id and error types.

The web imports this module only, never the workflow or its activities (they pull in WeasyPrint and the
worker's machinery). Plain dataclasses, safe in the workflow sandbox; new fields always get defaults, so
commands recorded by older runs still decode when histories replay.
"""

# No `from __future__ import annotations` here: the workflow sandbox cannot resolve string annotations
# of these dataclasses when it decodes a continued run's input.
from dataclasses import dataclass, field
from datetime import datetime

from domain import lifecycle
from domain.sla import ServiceLevel
from workflows.service_request.models import RequestState

WORKFLOW_TYPE = "ServiceRequestWorkflow"
SCHEDULE_QUERY = "schedule"

# Updates, by the name the workflow registers them under.
ASSIGN = "assign"
START_WORK = "start_work"
HOLD = "hold"
WAIT_ON_CITIZEN = "wait_on_citizen"
RESOLVE = "resolve"
TRANSFER = "transfer"
COMMENT = "comment"
CLOSE = "close"
CANCEL = "cancel"
REOPEN = "reopen"
REPLY = "reply"
CITIZEN_COMMENT = "citizen_comment"
APPLY_SERVICE_LEVEL = "apply_service_level"
LINK_WORK_ORDER = "link_work_order"
# The actor id of a command from the town's maintenance system (an API key with the work-order scope):
# no person, so its lines on the timeline name the maintenance system instead.
INTEGRATION_ACTOR = 0

# Long-lived requests (months of reminders) start a fresh run before the history grows large.
HISTORY_LIMIT = 5000

# The `type` of the ApplicationError a refused move comes back as. A validator raising the domain's
# TransitionRefused is sent under its class name; the handlers raise this type themselves.
REFUSED = lifecycle.TransitionRefused.__name__
# A command that reaches the workflow after this is refused: the web told the person it was not done.
EXPIRED = "CommandExpired"
# A step whose data the database refused (noted on the request's internal timeline): the message says so.
STEP_FAILED = "step_failed"


def workflow_id(tenant_slug: str, reference: str) -> str:
    return f"{tenant_slug}-{reference}"


@dataclass
class RequestParams:
    tenant_id: int
    request_id: int
    reference: str
    # Set when a run continues as new: the state and service level carried over.
    carried: RequestState | None = None
    level: ServiceLevel | None = None
    history_limit: int = HISTORY_LIMIT


@dataclass
class AssignCommand:
    actor_id: int
    assignee_id: int
    # Who acts, so the workflow itself refuses a viewer or another department's agent.
    actor_role: str = ""
    actor_departments: list[int] = field(default_factory=list)
    # Who is given the request, so the workflow refuses someone who could not open it.
    assignee_role: str = ""
    assignee_departments: list[int] = field(default_factory=list)
    # Past this moment (the web gave up waiting) the workflow refuses the command.
    expires_at: datetime | None = None


@dataclass
class StartCommand:
    actor_id: int
    actor_role: str = ""
    actor_departments: list[int] = field(default_factory=list)
    expires_at: datetime | None = None


@dataclass
class CommentCommand:
    actor_id: int
    body: str
    public: bool = True
    actor_role: str = ""
    actor_departments: list[int] = field(default_factory=list)
    expires_at: datetime | None = None


@dataclass
class CloseCommand:
    actor_id: int
    reason: str
    body: str = ""
    duplicate_of: str = ""
    actor_role: str = ""
    actor_departments: list[int] = field(default_factory=list)
    expires_at: datetime | None = None


@dataclass
class NoteCommand:
    """Hold, wait on the citizen (the note is the question), resolve: a move with a message."""

    actor_id: int
    body: str = ""
    actor_role: str = ""
    actor_departments: list[int] = field(default_factory=list)
    expires_at: datetime | None = None


@dataclass
class TransferCommand:
    actor_id: int
    department_id: int
    body: str = ""
    actor_role: str = ""
    actor_departments: list[int] = field(default_factory=list)
    expires_at: datetime | None = None


@dataclass
class CitizenCommand:
    """Cancel, reopen ("not fixed") or reply, sent from the citizen's status page."""

    body: str = ""
    expires_at: datetime | None = None


@dataclass
class LevelCommand:
    """A town administrator applies the type's current service level to a request accepted under an
    earlier one; `body` is the internal note that says so."""

    actor_id: int
    level: ServiceLevel
    body: str = ""
    actor_role: str = ""
    actor_departments: list[int] = field(default_factory=list)
    expires_at: datetime | None = None


@dataclass
class WorkOrderCommand:
    """The maintenance system opened a work order for the request: its number, and an internal note."""

    actor_id: int
    number: str
    body: str = ""
    actor_role: str = ""
    actor_departments: list[int] = field(default_factory=list)
    expires_at: datetime | None = None


StaffCommand = (
    AssignCommand
    | StartCommand
    | CommentCommand
    | CloseCommand
    | NoteCommand
    | TransferCommand
    | LevelCommand
    | WorkOrderCommand
)
Command = StaffCommand | CitizenCommand


@dataclass
class Schedule:
    """What the admin shows: the state, the due time and what fires next."""

    status: str
    due_at: datetime | None
    upcoming: list[tuple[str, datetime]] = field(default_factory=list)
    paused: bool = False
