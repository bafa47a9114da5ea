"""A worker process that ends, stopped by its supervisor (SIGTERM) or killed outright (SIGKILL), takes its PDF
process with it instead of leaving it under PID 1."""

import asyncio
import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from apps.web import create_app
from infra.settings import PROJECT_ROOT, get_settings
from tests.support.factories import make_town
from tests.support.portal import PortalClient
from tests.workflows.lifecycle_helpers import about, submit


def group_members(group: int) -> set[int]:
    members = set()
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[2]) == group:
                members.add(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
    return members


def start_worker_process(task_queue: str) -> subprocess.Popen:
    """In a process group of its own, so the test can find (and finally sweep) what the worker started."""
    environment = {**os.environ, "TEMPORAL_TASK_QUEUE": task_queue, "RECONCILE_INTERVAL": "3600"}
    return subprocess.Popen(
        [sys.executable, "-m", "workflows.worker"], cwd=PROJECT_ROOT, env=environment, start_new_session=True
    )


@pytest.mark.parametrize(
    ("signum", "exit_code"),
    [(signal.SIGTERM, 0), (signal.SIGKILL, -signal.SIGKILL)],
    ids=["sigterm", "sigkill"],
)
async def test_a_worker_that_ends_takes_its_pdf_process_along(
    signum, exit_code, temporal_server, temporal_client, inbox
):
    queue = f"worker-process-{uuid.uuid4().hex[:8]}"
    app = create_app(dataclasses.replace(get_settings(), task_queue=queue))
    town = await make_town()
    email = f"worker-{signum.name.lower()}@{town.slug}.example"
    worker = start_worker_process(queue)
    try:
        async with PortalClient(app, town.host) as citizen:
            await submit(citizen, contact_email=email)
            await inbox.wait_for(about(email, "We received"), within=120)  # the worker is at work
        helpers = group_members(worker.pid) - {worker.pid}
        assert len(helpers) == 1, helpers  # the PDF process, started warm with the worker
        worker.send_signal(signum)  # to the worker alone, as a supervisor that knows one pid does
        assert await asyncio.to_thread(worker.wait, 60) == exit_code
        for _ in range(600):  # a generous minute: the PDF process ends as soon as its pipe closes
            if not helpers & group_members(worker.pid):
                break
            await asyncio.sleep(0.1)
        assert not helpers & group_members(worker.pid), "left behind after the worker exited"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(15)
