"""Session fixtures that start the real parts: database pool, SMTP server, Temporal dev server, worker."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
import time
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from temporalio.client import Client

from infra.settings import PROJECT_ROOT, Settings, get_settings
from infra.temporal_dev import free_port, port_open, start_dev_server, stop


def offline_settings() -> Settings:
    """Settings whose Temporal address is a closed port: for tests of the web alone (a refused connection
    fails at once, and the reconciler would start the workflow later)."""
    return dataclasses.replace(get_settings(), temporal_address="127.0.0.1:9")


# Deadlines are generous: a busy machine (a test suite beside another, a cold worker importing) is slow, and
# a test that waits on an event costs only what the event takes.
PATIENCE = 90.0


class Inbox:
    """Collects every message the SMTP server receives; tests wait on it."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(
            message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        )
        return "250 OK"

    def matching(self, predicate: Callable[[EmailMessage], bool]) -> list[EmailMessage]:
        return [message for message in self.messages if predicate(message)]

    async def wait_for(
        self, predicate: Callable[[EmailMessage], bool], within: float = PATIENCE
    ) -> EmailMessage:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if found := self.matching(predicate):
                return found[0]
            await asyncio.sleep(0.1)
        subjects = [str(message["subject"]) for message in self.messages]
        raise AssertionError(f"no such mail within {within}s; received: {subjects}")


async def eventually(check: Callable, within: float = PATIENCE, interval: float = 0.1):
    """Awaits `check()` until it returns something truthy; returns it, or fails after `within`."""
    deadline = time.monotonic() + within
    last = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {within}s (last value: {last!r})")


@pytest.fixture(scope="session", autouse=True)
async def database():
    from infra.database import close_pool, start_pool
    from piccolo_conf import DB

    await start_pool(DB)
    yield DB
    await close_pool(DB)


@pytest.fixture(scope="session")
def inbox():
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=get_settings().smtp_port)
    controller.start()
    yield handler
    controller.stop()


@pytest.fixture(scope="session")
def temporal_server(tmp_path_factory):
    port = int(get_settings().temporal_address.rsplit(":", 1)[1])
    process = start_dev_server(port, tmp_path_factory.mktemp("temporal") / "temporal.db")
    yield get_settings().temporal_address
    stop(process)


async def connect(address: str, attempts: int = 50) -> Client:
    for attempt in range(attempts):
        try:
            client = await Client.connect(address)
            await client.count_workflows()
            return client
        except Exception:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(0.2)
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
async def temporal_client(temporal_server) -> Client:
    return await connect(temporal_server)


@pytest.fixture(scope="session")
async def worker(temporal_client, inbox, app):
    from workflows.worker import build_worker

    running = build_worker(temporal_client, get_settings())
    task = asyncio.create_task(running.run())
    # Posts made before any Temporal server ran (the tests without a worker) left the session's app backing
    # off from it for a few seconds, which leaves the next post's workflow to a reconciler that tests do
    # not run: the server is up now.
    app.dependencies["temporal"].dependency()._down_until = 0.0
    yield running
    await running.shutdown()
    await asyncio.gather(task, return_exceptions=True)


@pytest.fixture(scope="session")
def app():
    from apps.web import create_app

    return create_app()


@pytest.fixture(scope="session")
def web_server(temporal_server, inbox):
    """The web app as a real uvicorn process on loopback: for the browser, and for curl."""
    port = free_port()
    environment = {**os.environ, "PUBLIC_PORT": str(port)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "apps.web:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=PROJECT_ROOT,
        env=environment,
    )
    deadline = time.monotonic() + 30
    while not port_open(port):
        assert process.poll() is None, "the web process exited"
        assert time.monotonic() < deadline, "the web process did not listen in time"
        time.sleep(0.1)
    yield port
    process.terminate()
    process.wait(10)
