"""The newcomer's command: `citizen-portal dev` starts every part with demo data, Ctrl-C stops all of it,
and a second run keeps the data."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from infra.settings import PROJECT_ROOT
from infra.temporal_dev import free_port, port_open
from tests.support.factories import valid_form

pytestmark = pytest.mark.skipif(
    os.environ.get("TEST_DB") == "postgres", reason="the one-command run is the embedded SQLite default"
)


class DevRun:
    def __init__(self, var_dir: Path) -> None:
        self.web_port, self.temporal_port, self.smtp_port = free_port(), free_port(), free_port()
        self.env = {
            key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "DEV_INBOX_DIR"}
        } | {
            "VAR_DIR": str(var_dir),
            "TEMPORAL_ADDRESS": f"127.0.0.1:{self.temporal_port}",
            "TEMPORAL_UI_PORT": str(free_port()),
            "SMTP_PORT": str(self.smtp_port),
            "PUBLIC_PORT": str(self.web_port),
            "RECONCILE_INTERVAL": "2",
        }

    def start(self) -> str:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "apps.cli", "dev", "--port", str(self.web_port)],
            cwd=PROJECT_ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        banner = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            assert line, "the dev command exited early:\n" + "".join(banner)
            banner.append(line)
            if "Mail sent by the portal" in line:
                break
        while not port_open(self.web_port):
            assert time.monotonic() < deadline, "the web process did not listen"
            time.sleep(0.1)
        return "".join(banner)

    def http(self, slug: str) -> httpx.Client:
        return httpx.Client(
            base_url=f"http://127.0.0.1:{self.web_port}",
            headers={"Host": f"{slug}.localhost:{self.web_port}"},
        )

    def interrupt(self) -> int:
        os.killpg(self.process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        code = self.process.wait(60)
        self.process.stdout.close()
        return code


def _submit(client: httpx.Client) -> str:
    page = client.get("/").text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/requests", data={"_csrf_token": token, **valid_form()})
    assert response.status_code == 303
    return response.headers["location"].split("?")[0]


def test_one_command_runs_everything_stops_cleanly_and_keeps_the_data(tmp_path):
    run = DevRun(tmp_path)
    banner = run.start()
    try:
        assert f"http://springfield.localhost:{run.web_port}/" in banner
        assert "admin@springfield.test" in banner and "demo-password-2026" in banner
        with run.http("springfield") as springfield:
            assert "Springfield" in springfield.get("/").text
            status_path = _submit(springfield)
            deadline = time.monotonic() + 60
            while "Received by the department" not in springfield.get(status_path).text:
                assert time.monotonic() < deadline, "the worker did not route the request"
                time.sleep(0.3)
        with httpx.Client(base_url=f"http://127.0.0.1:{run.web_port}") as plain:
            while "We received your request SPR-" not in plain.get("/dev/inbox/").text:
                assert time.monotonic() < deadline, "the acknowledgement never reached the dev inbox"
                time.sleep(0.3)
    finally:
        code = run.interrupt()
    assert code == 0
    assert not any(port_open(port) for port in (run.web_port, run.temporal_port, run.smtp_port))

    banner = run.start()
    try:
        assert "seeded demo data" not in banner
        with run.http("springfield") as springfield:
            assert "Received by the department" in springfield.get(status_path).text
    finally:
        assert run.interrupt() == 0
