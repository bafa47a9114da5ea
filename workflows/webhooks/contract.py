"""What the web and the steps that write deliveries share with the town's webhook dispatcher."""

# No `from __future__ import annotations`: the workflow sandbox decodes these dataclasses.
from dataclasses import dataclass, field

WORKFLOW_TYPE = "WebhookDispatchWorkflow"
WAKE = "wake"


def workflow_id(tenant_id: int) -> str:
    return f"webhooks-{tenant_id}"


@dataclass
class DispatchParams:
    tenant_id: int


@dataclass
class NextInput:
    tenant_id: int
    # Lanes with a delivery under way: their next one waits for it.
    busy: list[str] = field(default_factory=list)
    limit: int = 50


@dataclass
class DeliveryJob:
    tenant_id: int
    delivery_id: int
    lane: str


async def wake(client, tenant_id: int, task_queue: str) -> None:
    """Starts the town's dispatcher, or tells the running one that deliveries are waiting."""
    await client.start_workflow(
        WORKFLOW_TYPE,
        DispatchParams(tenant_id),
        id=workflow_id(tenant_id),
        task_queue=task_queue,
        start_signal=WAKE,
    )
