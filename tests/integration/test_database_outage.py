"""PostgreSQL goes away under a running web process: citizens get a clear "try again" (503), not a 500, and
the portal recovers by itself when the database is back.

The web runs as its own process (uvicorn), talking to PostgreSQL through a relay this test can cut: a real
database, a real connection pool, and a real outage."""

import asyncio
import contextlib
import os
import re
import subprocess
import sys
import time
from urllib.parse import urlsplit

import httpx
import pytest

from infra.settings import PROJECT_ROOT, get_settings
from infra.temporal_dev import free_port
from tests.support.factories import make_town, valid_form
from tests.support.portal import CSRF_FIELD

pytestmark = pytest.mark.skipif(
    not get_settings().is_postgres, reason="the embedded SQLite file has no server to lose"
)


class Relay:
    """A TCP relay to PostgreSQL; `cut()` drops every connection and refuses new ones, as a stopped server."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._connect, "127.0.0.1", self.port)

    async def cut(self) -> None:
        self.server.close()
        for writer in self.writers:
            writer.transport.abort()
        self.writers.clear()
        await self.server.wait_closed()

    async def _connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        self.writers += [writer, upstream_writer]
        await asyncio.gather(
            self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer), return_exceptions=True
        )

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def web_process(database_url: str):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "TEMPORAL_ADDRESS": "127.0.0.1:9"}
    command = [sys.executable, "-m", "uvicorn", "apps.web:create_app", "--factory", "--port", str(port)]
    process = await asyncio.create_subprocess_exec(
        *command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            deadline = time.monotonic() + 90
            while True:
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/healthz")).status_code == 200:
                        break
                assert process.returncode is None and time.monotonic() < deadline, "the web did not start"
                await asyncio.sleep(0.2)
            yield client
    finally:
        process.terminate()  # the relay keeps serving while the web closes its pool
        await asyncio.wait_for(process.wait(), timeout=60)


async def test_posts_during_a_database_outage_get_a_clear_503_and_the_portal_recovers():
    town, other = await make_town(), await make_town()
    url = urlsplit(os.environ["DATABASE_URL"])
    relay = Relay((url.hostname, url.port or 5432))
    await relay.start()
    async with web_process(url._replace(netloc=f"{url.username}@127.0.0.1:{relay.port}").geturl()) as web:
        web.headers["host"] = town.host
        form = await web.get("/")
        assert form.status_code == 200
        token = CSRF_FIELD.search(form.text).group(1)

        await relay.cut()
        answer = await web.post("/requests", data={"_csrf_token": token, **valid_form()})
        assert answer.status_code == 503, answer.text
        assert answer.headers["retry-after"].isdigit()
        assert "Please try again in a minute" in answer.text and "text/html" in answer.headers["content-type"]
        assert answer.headers["x-content-type-options"] == "nosniff"
        as_json = await web.post(
            "/requests", data={"_csrf_token": token, **valid_form()}, headers={"accept": "application/json"}
        )
        assert as_json.status_code == 503 and as_json.json()["status_code"] == 503
        unknown_yet = await web.get("/", headers={"host": other.host})  # its town must be looked up
        assert unknown_yet.status_code == 503 and re.search("try again", unknown_yet.text, re.I)

        await relay.start()
        deadline = time.monotonic() + 60
        while (
            answer := await web.post("/requests", data={"_csrf_token": token, **valid_form()})
        ).status_code == 503:
            assert time.monotonic() < deadline, "the portal did not recover"
            await asyncio.sleep(0.5)
        assert answer.status_code == 303, answer.text
