"""citizen-portal: the commands that run the portal.

dev        everything on the embedded default (SQLite, Temporal dev server, SMTP sink, web, worker)
migrate    apply database migrations
seed-demo  add the Springfield and Shelbyville demo municipalities (idempotent)
web        the web process (uvicorn)      worker     the Temporal worker process
reconcile  start every workflow that intake could not start
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from infra.settings import PROJECT_ROOT, get_settings

TEMPORAL_UI_PORT = int(os.environ.get("TEMPORAL_UI_PORT", "8233"))


async def _with_database(coroutine_factory):
    from infra.database import close_pool, start_pool
    from piccolo_conf import DB

    await start_pool(DB)
    try:
        return await coroutine_factory()
    finally:
        await close_pool(DB)


def seed() -> list[str]:
    from apps.demo import seed_demo

    return asyncio.run(_with_database(seed_demo))


def reconcile() -> int:
    from workflows.client import TemporalGateway
    from workflows.reconciler import reconcile_once

    settings = get_settings()
    return asyncio.run(_with_database(lambda: reconcile_once(TemporalGateway(settings), 0)))


def web(port: int, workers: int = 1) -> None:
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "apps.web:create_app",
        "--factory",
        "--host",
        os.environ.get("WEB_HOST", "127.0.0.1"),
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-server-header",
        "--proxy-headers",
    ]
    os.execvp(command[0], command)


@dataclass
class Child:
    """One process of the development run. It leads its own process group, so stopping the group also stops
    what it started (the worker's PDF process)."""

    name: str
    command: Callable[[], list[str]]  # called at each start: the dev server picks fresh free ports
    log_file: Path | None = None
    process: subprocess.Popen | None = None
    started: float = 0.0
    failures: int = 0
    restart_at: float = 0.0

    def start(self) -> None:
        with contextlib.ExitStack() as files:
            output = files.enter_context(self.log_file.open("ab")) if self.log_file else None
            self.process = subprocess.Popen(
                self.command(),
                cwd=PROJECT_ROOT,
                stdout=output,
                stderr=subprocess.STDOUT if output else None,
                start_new_session=True,
            )
        self.started = time.monotonic()

    def stop(self, timeout: float = 15) -> None:
        """Asks the group to stop, gives it `timeout` seconds, then kills whatever of it is left."""
        if self.process is None:
            return
        _signal_group(self.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout)
        self.reap()

    def reap(self) -> None:
        if self.process is None:
            return
        _signal_group(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = None

    def schedule_restart(self) -> float:
        """Backs off when it keeps dying soon after starting; a long run resets the delay."""
        ran = time.monotonic() - self.started
        self.failures = 0 if ran > 60 else self.failures + 1
        delay = RESTART_DELAYS[min(self.failures, len(RESTART_DELAYS) - 1)]
        self.restart_at = time.monotonic() + delay
        return delay


RESTART_DELAYS = (1, 2, 5, 10, 30)


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signum)


def dev(port: int) -> None:
    """Runs every part on this machine. The web keeps serving when another part dies: that part restarts."""
    from infra.migrate import run_migrations
    from infra.temporal_dev import dev_server_command, port_open

    settings = get_settings()
    var = settings.var_dir
    var.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DEV_INBOX_DIR", str(var / "mail"))
    os.environ.setdefault("PUBLIC_PORT", str(port))
    run_migrations()
    created = seed()
    stopping = False

    def request_stop(*_):
        nonlocal stopping
        stopping = True

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, request_stop)
    children: list[Child] = []
    temporal_port = int(settings.temporal_address.rsplit(":", 1)[1])
    if port_open(temporal_port):
        print(f"Using the Temporal server already listening on {settings.temporal_address}.", flush=True)
    else:
        temporal = Child(
            "Temporal dev server",
            lambda: dev_server_command(temporal_port, var / "temporal.db", ui_port=TEMPORAL_UI_PORT),
            log_file=var / "temporal.log",
        )
        temporal.start()
        children.append(temporal)
        while not (
            stopping
            or port_open(temporal_port)
            or temporal.process is None
            or temporal.process.poll() is not None
        ):
            time.sleep(0.1)  # intake then starts its first workflows at once
    if port_open(settings.smtp_port):
        print(f"Using the SMTP server already listening on port {settings.smtp_port}.", flush=True)
    else:
        inbox = os.environ["DEV_INBOX_DIR"]
        smtp = [sys.executable, "-m", "infra.dev_smtp", "--port", str(settings.smtp_port), "--dir", inbox]
        children.append(Child("SMTP server", lambda: smtp))
    children.append(Child("worker", lambda: [sys.executable, "-m", "workflows.worker"]))
    web = Child("web", lambda: [sys.executable, "-m", "apps.cli", "web", "--port", str(port)])
    children.append(web)
    for child in children:
        if child.process is None:
            child.start()
    code = 0
    waiting_for_web = True
    try:
        while not stopping:
            for child in children:
                if child.process is None:
                    if time.monotonic() >= child.restart_at:
                        print(f"Restarting the {child.name}.", flush=True)
                        child.start()
                elif (exit_code := child.process.poll()) is not None:
                    child.reap()
                    if child is web:
                        print(f"The web stopped (exit code {exit_code}).", flush=True)
                        code, stopping = 1, True
                        break
                    delay = child.schedule_restart()
                    print(
                        f"The {child.name} stopped (exit code {exit_code}); restarting in {delay} s.",
                        flush=True,
                    )
            if waiting_for_web and not stopping and _web_answers(port):
                waiting_for_web = False
                _banner(port, created)
            time.sleep(0.3)
    finally:
        print("\nStopping…", flush=True)
        for child in reversed(children):
            child.stop()
    sys.exit(code)


def _web_answers(port: int) -> bool:
    """Straight to loopback (no proxy from the environment in the way)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def _banner(port: int, created: list[str]) -> None:
    from apps.demo import DEMO_PASSWORD, PLATFORM_ADMIN, TOWNS

    lines = ["", "Citizen Portal is running (Ctrl-C stops everything; data stays in var/).", ""]
    for town in TOWNS:
        lines.append(f"  {town.name:12} portal  http://{town.slug}.localhost:{port}/")
        lines.append(f"  {'':12} staff   http://{town.slug}.localhost:{port}/admin")
        for email, _name, role, _department in town.staff:
            lines.append(f"  {'':12}         {email} ({role})")
    lines += [
        "",
        f"  Staff password for every demo account: {DEMO_PASSWORD}",
        f"  Onboarding new towns:     http://localhost:{port}/platform/ ({PLATFORM_ADMIN})",
        f"  Mail sent by the portal:  http://localhost:{port}/dev/inbox",
        f"  Temporal UI:              http://localhost:{TEMPORAL_UI_PORT}/",
    ]
    if created:
        lines.append(f"  (seeded demo data for: {', '.join(created)})")
    print("\n".join(lines) + "\n", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="citizen-portal", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    dev_parser = commands.add_parser("dev")
    dev_parser.add_argument("--port", type=int, default=8000)
    web_parser = commands.add_parser("web")
    web_parser.add_argument("--port", type=int, default=8000)
    web_parser.add_argument("--workers", type=int, default=1)
    for name in ("migrate", "seed-demo", "worker", "reconcile"):
        commands.add_parser(name)
    args = parser.parse_args(argv)
    if args.command == "dev":
        dev(args.port)
    elif args.command == "web":
        web(args.port, args.workers)
    elif args.command == "migrate":
        from infra.migrate import run_migrations

        run_migrations()
    elif args.command == "seed-demo":
        print("created:", ", ".join(seed()) or "nothing (already there)")
    elif args.command == "worker":
        from workflows.worker import main as worker_main

        worker_main()
    elif args.command == "reconcile":
        print(f"started {reconcile()} workflow(s)")


if __name__ == "__main__":
    main()
