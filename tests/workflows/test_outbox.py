"""The mail outbox, tested where Temporal's replay cannot help: the worker dies inside the mail activity, or
the database goes away between the SMTP server's acceptance and the outbox's stamp."""

import asyncio
import dataclasses
import os
import signal
import threading
import uuid

import asyncpg
import pytest
from aiosmtpd.controller import Controller

from apps.web import create_app
from domain.tables import Notification
from infra.settings import get_settings
from infra.temporal_dev import free_port
from tests.conftest import POSTGRES_ADMIN_URL, POSTGRES_DB
from tests.support.factories import make_town
from tests.support.portal import PortalClient
from tests.support.services import Inbox, eventually
from tests.workflows.lifecycle_helpers import (
    about,
    activity_completions,
    kill_worker,
    start_worker_process,
    submit,
)
from workflows.service_request.contract import workflow_id
from workflows.worker import build_worker


class SmtpServer:
    """A real SMTP server on its own port, with a handler that can misbehave at a chosen moment."""

    def __init__(self, handler: Inbox) -> None:
        self.port = free_port()
        self.controller = Controller(handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *_) -> None:
        self.controller.stop()


class KillsTheWorkerOnGoodbye(Inbox):
    """Takes the message, then SIGKILLs the worker's process group when the client says QUIT: the mailer
    has had its "250 OK" and stamped the outbox, and the activity has not completed."""

    def __init__(self) -> None:
        super().__init__()
        self.victim = None
        self.killed = threading.Event()  # set in the SMTP server's thread

    async def handle_QUIT(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        if self.victim is not None:
            os.killpg(self.victim.pid, signal.SIGKILL)
            self.victim = None
            self.killed.set()
        return "221 Bye"


async def happened(event: threading.Event) -> bool:
    return event.is_set()


async def test_a_worker_killed_inside_the_mail_activity_sends_the_mail_once(temporal_server, temporal_client):
    queue = f"outbox-{uuid.uuid4().hex[:8]}"
    handler = KillsTheWorkerOnGoodbye()
    town = await make_town()
    email = f"outbox@{town.slug}.example"
    with SmtpServer(handler) as smtp:
        worker = start_worker_process(queue, SMTP_PORT=str(smtp.port))
        handler.victim = worker
        try:
            app = create_app(dataclasses.replace(get_settings(), task_queue=queue))
            async with PortalClient(app, town.host) as citizen:
                await submit(citizen, contact_email=email)
            await eventually(lambda: happened(handler.killed), within=180)
            kill_worker(worker)
            assert len(handler.matching(about(email, "We received"))) == 1
            reference = handler.messages[0]["subject"].split()[-1]
            workflow = workflow_id(town.slug, reference)
            assert await activity_completions(temporal_client, workflow, "notify_citizen") == 0
            # A fresh worker takes the activity over once its first attempt times out (30 s).
            worker = start_worker_process(queue, SMTP_PORT=str(smtp.port))
            await eventually(
                lambda: activity_completions(temporal_client, workflow, "notify_citizen"), within=240
            )
        finally:
            kill_worker(worker, signal.SIGTERM)
    assert len(handler.matching(about(email, "We received"))) == 1


class CutsTheDatabaseOnData(Inbox):
    """Takes the message and, before answering "250 OK", shuts the worker's database away for a few
    seconds (existing connections ended, new ones refused), as a PostgreSQL restart does."""

    def __init__(self, outage: float) -> None:
        super().__init__()
        self.outage = outage
        self.restored = threading.Event()
        self.cut = False

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        answer = await super().handle_DATA(server, session, envelope)
        if not self.cut:
            self.cut = True
            await allow_connections(False)
            asyncio.get_running_loop().call_later(self.outage, lambda: asyncio.ensure_future(self._restore()))
        return answer

    async def _restore(self) -> None:
        await allow_connections(True)
        self.restored.set()


async def allow_connections(allowed: bool) -> None:
    admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await admin.execute(f'ALTER DATABASE "{POSTGRES_DB}" ALLOW_CONNECTIONS {str(allowed).lower()}')
        if not allowed:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", POSTGRES_DB
            )
    finally:
        await admin.close()


@pytest.mark.skipif(os.environ.get("TEST_DB") != "postgres", reason="a PostgreSQL restart")
async def test_a_database_outage_between_acceptance_and_stamp_does_not_send_twice(temporal_client):
    handler = CutsTheDatabaseOnData(outage=3)
    town = await make_town()
    email = f"restart@{town.slug}.example"
    with SmtpServer(handler) as smtp:
        settings = dataclasses.replace(
            get_settings(), task_queue=f"outbox-{uuid.uuid4().hex[:8]}", smtp_port=smtp.port
        )
        worker = build_worker(temporal_client, settings)
        running = asyncio.create_task(worker.run())
        try:
            async with PortalClient(create_app(settings), town.host) as citizen:
                await submit(citizen, contact_email=email)
            await eventually(lambda: happened(handler.restored))
            reference = handler.messages[0]["subject"].split()[-1]
            workflow = workflow_id(town.slug, reference)
            await eventually(lambda: activity_completions(temporal_client, workflow, "notify_citizen"))
        finally:
            await allow_connections(True)
            await worker.shutdown()
            await asyncio.gather(running, return_exceptions=True)
    assert len(handler.matching(about(email, "We received"))) == 1
    async with town.scope.transaction():
        stamped = await Notification.select(Notification.sent_at).where(Notification.recipient == email)
    assert len(stamped) == 1 and stamped[0]["sent_at"] is not None
