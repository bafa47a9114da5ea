"""What a workflow's history says it ran: each step by name, whether a scheduled or a local activity, and
whether it finished. Tests wait on it and the benchmarks count it."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

# The SDK records a local activity's outcome as a marker of this name; its "data" names the activity.
LOCAL_ACTIVITY_MARKER = "core_local_activity"


@dataclass(frozen=True)
class Step:
    name: str
    local: bool
    completed: bool


def steps(events: Iterable[HistoryEvent]) -> list[Step]:
    """Steps in the order they were scheduled; a local activity retried past its threshold shows once
    per recorded attempt, failed until the last."""
    scheduled: dict[int, str] = {}
    completed: set[int] = set()
    found: list[tuple[int, Step]] = []
    for event in events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled[event.event_id] = event.activity_task_scheduled_event_attributes.activity_type.name
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            completed.add(event.activity_task_completed_event_attributes.scheduled_event_id)
        elif event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            marker = event.marker_recorded_event_attributes
            if marker.marker_name == LOCAL_ACTIVITY_MARKER:
                step = Step(_local_activity_type(marker.details["data"].payloads[0].data), True, True)
                if marker.HasField("failure"):
                    step = Step(step.name, True, False)
                found.append((event.event_id, step))
    found += [(event_id, Step(name, False, event_id in completed)) for event_id, name in scheduled.items()]
    return [step for _, step in sorted(found, key=lambda item: item[0])]


def _local_activity_type(data: bytes) -> str:
    """The marker's data is the SDK's LocalActivityMarkerData as plain JSON with snake-case keys."""
    return json.loads(data)["activity_type"]
