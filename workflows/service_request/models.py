"""Inputs, outputs and state of the service-request workflow: plain dataclasses, safe in the sandbox."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RequestParams:
    tenant_id: int
    request_id: int
    reference: str


@dataclass
class RequestState:
    status: str = "submitted"
    department_id: int | None = None
    assignee_id: int | None = None
    close_reason: str = ""


@dataclass
class RouteResult:
    status: str
    department_id: int | None


@dataclass
class AssignCommand:
    actor_id: int
    assignee_id: int


@dataclass
class StartCommand:
    actor_id: int


@dataclass
class CommentCommand:
    actor_id: int
    body: str
    public: bool = True


@dataclass
class CloseCommand:
    actor_id: int
    reason: str
    body: str = ""
    duplicate_of: str = ""


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


@dataclass
class ReceiptInput:
    tenant_id: int
    request_id: int


@dataclass
class NoticeInput:
    tenant_id: int
    request_id: int
    # acknowledgement | update | closed
    kind: str
    # Unique per message: a retried activity finds it already sent.
    key: str
    body: str = ""
    attach_receipt: bool = False
