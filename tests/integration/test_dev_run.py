"""The newcomer's first run, exactly as the README says: a fresh clone, `./portal up` in a shell with no
virtualenv on PATH and no PYTHONPATH. Every part starts, a dead part comes back while the web keeps serving,
Ctrl-C leaves no process behind, and a second run keeps the data.

Slow on purpose: the first run creates .venv (from the package cache) and installs the front-end packages.
"""

import contextlib
import os
import re
import signal
import subprocess
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

FIRST_RUN_SECONDS = 1500  # creates .venv and runs npm ci, on a machine that may be busy
LATER_RUN_SECONDS = 300
WORK_SECONDS = 180  # a request routed and mailed, a part restarted: events, not durations


def _processes() -> dict[int, tuple[str, str, int]]:
    """pid -> (cwd, command line, process group), for every process this user can inspect."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            group = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[2])
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile, a zombie, or not ours to read
        found[int(entry.name)] = (cwd, cmdline, group)
    return found


def processes_under(folder: Path) -> dict[int, str]:
    """The processes that run from the folder or name it on their command line."""
    prefix = f"{folder}/"
    return {
        pid: cmdline
        for pid, (cwd, cmdline, _) in _processes().items()
        if cwd == str(folder) or cwd.startswith(prefix) or str(folder) in cmdline
    }


def wait_for(condition, seconds: float, what: str, log: Path | None = None):
    deadline = time.monotonic() + seconds
    while not (result := condition()):
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-4000:] if log else ""
            raise AssertionError(f"{what} (waited {seconds:.0f} s)\n{tail}")
        time.sleep(0.5)
    return result


class PortalUp:
    """`./portal up --port N` in the clone, with the environment of a fresh login shell."""

    def __init__(self, clone: Path) -> None:
        self.clone = clone
        self.web_port, self.temporal_port, self.smtp_port = free_port(), free_port(), free_port()
        # The settings the README lists for a second copy beside another one.
        self.env = {
            "HOME": os.environ["HOME"],
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": os.environ.get("LANG", "C.UTF-8"),
            "TEMPORAL_ADDRESS": f"127.0.0.1:{self.temporal_port}",
            "TEMPORAL_UI_PORT": str(free_port()),
            "SMTP_PORT": str(self.smtp_port),
        }
        self.runs = 0

    def start(self, seconds: float) -> str:
        """Waits for the banner and returns what the command printed up to it."""
        self.runs += 1
        self.log = self.clone.parent / f"portal-up-{self.runs}.log"
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                ["./portal", "up", "--port", str(self.web_port)],
                cwd=self.clone,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group, as a terminal's foreground job
            )

        def banner() -> str:
            assert self.process.poll() is None, "./portal up exited:\n" + self.log.read_text(errors="replace")
            text = self.log.read_text(errors="replace")
            return text if "Mail sent by the portal" in text else ""

        return wait_for(banner, seconds, "./portal up printed no banner", self.log)

    def client(self, slug: str | None = None) -> httpx.Client:
        headers = {"Host": f"{slug}.localhost:{self.web_port}"} if slug else {}
        return httpx.Client(base_url=f"http://127.0.0.1:{self.web_port}", headers=headers, timeout=60)

    def child(self, *words: str) -> int:
        """The pid of the one process of this run whose command line holds every word."""
        matches = [
            pid for pid, cmdline in processes_under(self.clone).items() if all(w in cmdline for w in words)
        ]
        return matches[0] if len(matches) == 1 else 0

    def ctrl_c(self) -> int:
        os.killpg(self.process.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends to the foreground job
        try:
            return self.process.wait(120)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                "Ctrl-C did not stop ./portal up:\n" + self.log.read_text()[-4000:]
            ) from None


@pytest.fixture
def clone(tmp_path):
    """The committed HEAD of this checkout, cloned as a newcomer would."""
    target = tmp_path / "citizen-portal"
    subprocess.run(["git", "clone", "--quiet", str(PROJECT_ROOT), str(target)], check=True)
    yield target
    for pid in processes_under(target):  # only a failed run leaves any
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def submit(client: httpx.Client) -> str:
    page = client.get("/").text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page).group(1)
    # The demo pothole's questions, an address of its gazetteer, and "send mine" past any open one nearby.
    answers = {
        "q_size": "smaller-than-a-hand",
        "q_where": "road",
        "address": "742 Evergreen Terrace",
        "nearby_seen": "1",
    }
    response = client.post("/requests", data={"_csrf_token": token, **valid_form(**answers)})
    assert response.status_code == 303, response.text
    return response.headers["location"].split("?")[0]


def routed(client: httpx.Client, status_path: str) -> bool:
    return "Received by the department" in client.get(status_path).text


def stops_cleanly(run: PortalUp) -> None:
    assert run.ctrl_c() == 0, run.log.read_text()[-4000:]
    deadline = time.monotonic() + 30  # the kernel's bookkeeping, not a grace period for stragglers
    while left := processes_under(run.clone):
        assert time.monotonic() < deadline, f"left behind: {left}"
        time.sleep(0.5)
    assert not any(port_open(port) for port in (run.web_port, run.temporal_port, run.smtp_port))


def test_portal_up_from_a_fresh_clone_survives_a_dead_part_stops_cleanly_and_keeps_the_data(clone):
    run = PortalUp(clone)
    try:
        banner = run.start(FIRST_RUN_SECONDS)
        # The banner comes once the web answers: its links work at once.
        with run.client("springfield") as springfield:
            home = springfield.get("/")
            assert home.status_code == 200 and "Springfield" in home.text
        assert f"http://springfield.localhost:{run.web_port}/" in banner
        assert "admin@springfield.test" in banner and "demo-password-2026" in banner
        assert f"http://localhost:{run.env['TEMPORAL_UI_PORT']}/" in banner
        assert "seeded demo data" in banner
        # The README gives a second copy exactly the settings this one runs with.
        second_copy = re.search(r"^(.*)\./portal up --port \d+$", (clone / "README.md").read_text(), re.M)
        assert second_copy, "the README shows no second copy"
        assert set(re.findall(r"(\w+)=", second_copy[1])) == set(run.env) - {"HOME", "PATH", "LANG"}

        with run.client("springfield") as springfield, run.client() as plain:
            first = submit(springfield)
            wait_for(lambda: routed(springfield, first), WORK_SECONDS, "the worker did not route", run.log)
            wait_for(
                lambda: "We received your request SPR-" in plain.get("/dev/inbox/").text,
                WORK_SECONDS,
                "the acknowledgement never reached the dev inbox",
                run.log,
            )

            # A worker that dies takes its PDF process with it, and comes back.
            worker = run.child("-m workflows.worker")
            assert worker
            worker_group = {pid for pid, (_, _, group) in _processes().items() if group == worker}
            assert len(worker_group) >= 2, worker_group  # the worker and its PDF process
            os.kill(worker, signal.SIGKILL)
            wait_for(lambda: not worker_group & set(_processes()), 60, "the dead worker's processes lingered")
            wait_for(lambda: run.child("-m workflows.worker") not in (0, worker), 60, "no new worker")

            # The Temporal dev server dies: the web keeps serving and the server comes back.
            temporal = run.child("server start-dev", f"--port {run.temporal_port}")
            web = run.child("uvicorn")
            assert temporal and web
            os.kill(temporal, signal.SIGKILL)
            # Citizens go on reading and submitting all the while the server is away: each post is taken.
            during_outage = []

            def back_after_a_submit() -> bool:
                during_outage.append(submit(springfield))
                assert springfield.get("/").status_code == 200 and routed(springfield, first)
                return run.child("server start-dev") not in (0, temporal) and port_open(run.temporal_port)

            wait_for(back_after_a_submit, WORK_SECONDS, "the Temporal dev server did not come back", run.log)
            assert run.child("uvicorn") == web, "the web was restarted with the dev server"
            for status_path in during_outage:  # the reconciler starts what intake could not
                wait_for(lambda p=status_path: routed(springfield, p), WORK_SECONDS, "not routed", run.log)
            second = submit(springfield)
            wait_for(
                lambda: routed(springfield, second), WORK_SECONDS, "no routing after the restart", run.log
            )
    finally:
        if run.process.poll() is None:
            stops_cleanly(run)

    banner = run.start(LATER_RUN_SECONDS)
    try:
        assert "seeded demo data" not in banner
        with run.client("springfield") as springfield:
            assert routed(springfield, first) and routed(springfield, second)
    finally:
        stops_cleanly(run)
