"""Inputs, outputs and state of the service-request workflow: plain dataclasses, safe in the sandbox.

New fields always get defaults, so results recorded by older runs still decode when histories replay.
"""

# No `from __future__ import annotations` here: the workflow sandbox cannot resolve string annotations
# of these dataclasses when it decodes a continued run's input.
from dataclasses import dataclass, field
from datetime import datetime

from domain.sla import Clock, ServiceLevel

# Long-lived requests (months of reminders) start a fresh run before the history grows large.
HISTORY_LIMIT = 5000


@dataclass
class RequestState:
    status: str = "submitted"
    department_id: int | None = None
    assignee_id: int | None = None
    close_reason: str = ""
    clock: Clock = field(default_factory=Clock)
    due_at: datetime | None = None
    closed_at: datetime | None = None
    reopen_until: datetime | None = None
    # Counts closures, so each round of closure mail (after a reopening) has its own outbox key.
    closures: int = 0
    # Closures whose receipt and mail have gone out.
    closures_handled: int = 0


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
class RouteResult:
    status: str
    department_id: int | None
    assignee_id: int | None = None
    level: ServiceLevel | None = None
    routed_at: datetime | None = None


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


@dataclass
class StartCommand:
    actor_id: int
    # Who acts, so the workflow itself refuses a viewer or another department's agent.
    actor_role: str = ""
    actor_departments: list[int] = field(default_factory=list)


@dataclass
class CommentCommand:
    actor_id: int
    body: str
    public: bool = True
    # Who acts, so the workflow itself refuses a viewer or another department's agent.
    actor_role: str = ""
    actor_departments: list[int] = field(default_factory=list)


@dataclass
class CloseCommand:
    actor_id: int
    reason: str
    body: str = ""
    duplicate_of: str = ""
    # Who acts, so the workflow itself refuses a viewer or another department's agent.
    actor_role: str = ""
    actor_departments: list[int] = field(default_factory=list)


@dataclass
class NoteCommand:
    """Hold, wait on the citizen (the note is the question), resolve: a move with a message."""

    actor_id: int
    body: str = ""
    # Who acts, so the workflow itself refuses a viewer or another department's agent.
    actor_role: str = ""
    actor_departments: list[int] = field(default_factory=list)


@dataclass
class TransferCommand:
    actor_id: int
    department_id: int
    body: str = ""
    # Who acts, so the workflow itself refuses a viewer or another department's agent.
    actor_role: str = ""
    actor_departments: list[int] = field(default_factory=list)


@dataclass
class CitizenCommand:
    """Cancel, reopen ("not fixed") or reply, sent from the citizen's status page."""

    body: str = ""


@dataclass
class MoveInput:
    tenant_id: int
    request_id: int
    action: str
    action_key: str
    actor_id: int | None = None
    body: str = ""
    public: bool = True
    assignee_id: int | None = None
    close_reason: str = ""
    duplicate_of: str = ""
    department_id: int | None = None
    actor_kind: str = ""
    due_at: datetime | None = None
    reopen_until: datetime | None = None


@dataclass
class ReceiptInput:
    tenant_id: int
    request_id: int
    kind: str = "receipt"


@dataclass
class NoticeInput:
    tenant_id: int
    request_id: int
    # acknowledgement | update | question | waiting_reminder | resolved | closed | cancelled | reopened
    kind: str
    # Unique per message: a retried activity finds it already sent.
    key: str
    body: str = ""
    # Kind of stored document to attach (receipt, acknowledgement), if any.
    attach: str = ""


@dataclass
class StaffNoticeInput:
    tenant_id: int
    request_id: int
    # assigned | assign_reminder | assign_escalation | due_reminder | overdue | overdue_escalation
    # | reopened | citizen_replied
    kind: str
    key: str
    body: str = ""


@dataclass
class Schedule:
    """What the admin shows: the state, the due time and what fires next."""

    status: str
    due_at: datetime | None
    upcoming: list[tuple[str, datetime]] = field(default_factory=list)
    paused: bool = False
