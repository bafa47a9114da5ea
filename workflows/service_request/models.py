"""The service-request workflow's state and its activities' inputs and outputs: plain dataclasses, safe in
the sandbox. What the web sends and reads is in `contract`.

New fields always get defaults, so results recorded by older runs still decode when histories replay.
"""

# No `from __future__ import annotations` here: the workflow sandbox cannot resolve string annotations
# of these dataclasses when it decodes a continued run's input.
from dataclasses import dataclass, field
from datetime import datetime

from domain.sla import Clock, ServiceLevel


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
class RouteResult:
    status: str
    department_id: int | None
    assignee_id: int | None = None
    level: ServiceLevel | None = None
    routed_at: datetime | None = None


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
    work_order: str = ""
    due_at: datetime | None = None
    reopen_until: datetime | None = None
    upcoming: dict[str, datetime] | None = None


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
