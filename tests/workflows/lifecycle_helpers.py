"""Shared steps for lifecycle tests: submit, wait for a state, read mail and timelines."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import uuid

from temporalio.client import Client

from domain import requests as request_service
from domain import submissions
from domain.intake import Submission
from infra.settings import PROJECT_ROOT
from tests.support.factories import TestTown, valid_form
from tests.support.portal import PortalClient, status_path
from tests.support.services import PATIENCE, eventually
from workflows import history

# Only what a lifecycle test needs: everything else stays off (None).
QUIET = {
    "target_seconds": None,
    "assign_within_seconds": None,
    "escalate_after_seconds": None,
    "remind_before_seconds": None,
    "overdue_escalate_seconds": None,
    "citizen_remind_seconds": None,
    "citizen_close_seconds": None,
}


def level(**values) -> dict:
    return {**QUIET, **values}


async def submit(citizen: PortalClient, **form) -> str:
    return status_path(await citizen.submit(valid_form(**form)))


async def commit_request(
    town: TestTown, contact_email: str = "ned@example.com", description: str = "Nobody started this"
) -> submissions.SubmitResult:
    """A request committed as intake commits it, with no workflow started: the test starts one, or shows
    who does."""
    async with town.scope.transaction():
        return await submissions.submit(
            town.scope,
            town.prefix,
            Submission("pothole", description, "Ned", contact_email, uuid.uuid4().hex, address="1 Main"),
            "en",
        )


async def row_of(town: TestTown, path: str) -> dict:
    async with town.scope.transaction():
        return await request_service.get_by_token(town.scope, path.rsplit("/", 1)[1])


async def wait_status(town: TestTown, path: str, status: str, within: float = PATIENCE) -> dict:
    async def check():
        row = await row_of(town, path)
        return row if row.status == status else None

    return await eventually(check, within=within)


def about(address: str, words: str):
    return lambda message: message["to"] == address and words in str(message["subject"])


def text_of(message) -> str:
    """The plain-text body, whether or not the message carries attachments."""
    return message.get_body(preferencelist=("plain",)).get_content()


def start_worker_process(task_queue: str, **environment: str) -> subprocess.Popen:
    """The worker as production runs it, in its own process group with its PDF process."""
    environment = {
        **os.environ,
        "TEMPORAL_TASK_QUEUE": task_queue,
        "RECONCILE_INTERVAL": "3600",
        **environment,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "workflows.worker"],
        cwd=PROJECT_ROOT,
        env=environment,
        start_new_session=True,
    )


def kill_worker(worker: subprocess.Popen, sig: signal.Signals = signal.SIGKILL) -> None:
    """Signals the whole group, so the PDF process goes with the worker."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, sig)
    try:
        worker.wait(30)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGKILL)  # whatever outlived its parent


async def acknowledged(client: Client, workflow: str) -> bool:
    """True once the history records the routing and the acknowledgement mail as completed."""
    return (
        await activity_completions(client, workflow, "route") >= 1
        and await activity_completions(client, workflow, "notify_citizen") >= 1
    )


async def activity_completions(client: Client, workflow: str, name: str) -> int:
    """Completed runs of the activity `name`, scheduled or local."""
    events = [event async for event in client.get_workflow_handle(workflow).fetch_history_events()]
    return sum(step.name == name and step.completed for step in history.steps(events))
