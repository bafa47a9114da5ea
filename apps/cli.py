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
import os
import signal
import subprocess
import sys
import time

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


def dev(port: int) -> None:
    from infra.migrate import run_migrations
    from infra.temporal_dev import port_open, start_dev_server, stop

    settings = get_settings()
    var = settings.var_dir
    var.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DEV_INBOX_DIR", str(var / "mail"))
    os.environ.setdefault("PUBLIC_PORT", str(port))
    run_migrations()
    created = seed()
    children: list[subprocess.Popen] = []
    temporal_port = int(settings.temporal_address.rsplit(":", 1)[1])
    if not port_open(temporal_port):
        children.append(
            start_dev_server(
                temporal_port, var / "temporal.db", ui_port=TEMPORAL_UI_PORT, log_file=var / "temporal.log"
            )
        )
    if not port_open(settings.smtp_port):
        children.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "infra.dev_smtp",
                    "--port",
                    str(settings.smtp_port),
                    "--dir",
                    os.environ["DEV_INBOX_DIR"],
                ],
                cwd=PROJECT_ROOT,
            )
        )
    children.append(subprocess.Popen([sys.executable, "-m", "workflows.worker"], cwd=PROJECT_ROOT))
    children.append(
        subprocess.Popen([sys.executable, "-m", "apps.cli", "web", "--port", str(port)], cwd=PROJECT_ROOT)
    )
    _banner(port, created)
    stopping = False

    def request_stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.3)
    finally:
        print("\nStopping…", flush=True)
        for child in reversed(children):
            stop(child)
    sys.exit(0 if stopping else 1)


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
