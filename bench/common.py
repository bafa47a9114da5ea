"""What the benchmarks share: a throwaway PostgreSQL database with the migrations applied, child processes
stopped with their descendants, free loopback ports, process CPU and memory read with psutil, percentiles,
and a line that says how busy the machine was."""

from __future__ import annotations

import asyncio
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psutil

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
LOOPBACK = "127.0.0.1"
APP_ROLE = "portal_app"  # as in the tests: the portal's role owns nothing and is held by row-level security


def log(bench: str, message: str) -> None:
    print(f"[{bench}] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], fraction: float) -> float:
    """Nearest rank: the smallest value that `fraction` of the values do not exceed."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))]


def cpu_seconds(pid: int, children: bool = True) -> float:
    """User and system CPU of a process and, by default, of its descendants: the living ones, and those
    that ended and were reaped (a worker replaces its PDF process every few hundred pages)."""
    processes = [psutil.Process(pid)]
    if children:
        processes += processes[0].children(recursive=True)
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
        if children:
            total += times.children_user + times.children_system
    return total


def rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


def postgres_cpu_seconds() -> float:
    """Every PostgreSQL server process on this machine (its backends serve this benchmark, and whatever
    else runs here: compare within one run)."""
    total = 0.0
    for process in psutil.process_iter(["name", "cpu_times"]):
        if process.info["name"] and process.info["name"].startswith("postgres") and process.info["cpu_times"]:
            total += process.info["cpu_times"].user + process.info["cpu_times"].system
    return total


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies from /proc/stat, all cores together."""
    with open("/proc/stat") as stat:
        values = [int(value) for value in stat.readline().split()[1:]]
    idle = values[3] + values[4]
    return float(sum(values) - idle), float(sum(values))


def machine_line() -> str:
    load = os.getloadavg()
    return (
        f"{psutil.cpu_count()} CPU, {psutil.virtual_memory().total / 2**30:.0f} GiB, "
        f"load {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}, Python {sys.version.split()[0]}"
    )


@dataclass
class Database:
    owner_url: str  # migrations run as the owner
    app_url: str  # the portal connects as its own role, as in production


async def _admin(url: str, statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextmanager
def postgres_database(admin_url: str = DEFAULT_POSTGRES, prefix: str = "portal_bench") -> Iterator[Database]:
    """A fresh database, migrated, dropped afterwards; its URLs are also set in this process's
    environment (DATABASE_URL, DATABASE_OWNER_URL) before the portal's modules read their settings."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    asyncio.run(_admin(admin_url, f'CREATE DATABASE "{name}"'))
    parts = urlsplit(admin_url)
    owner = urlunsplit(parts._replace(path=f"/{name}"))
    app = urlunsplit(
        parts._replace(netloc=f"{APP_ROLE}@{parts.hostname}:{parts.port or 5432}", path=f"/{name}")
    )
    try:
        environment = {**os.environ, "DATABASE_URL": app, "DATABASE_OWNER_URL": owner}
        subprocess.run(
            [sys.executable, "-m", "apps.cli", "migrate"],
            cwd=PROJECT_ROOT,
            env=environment,
            check=True,
            capture_output=True,
        )
        os.environ.update(DATABASE_URL=app, DATABASE_OWNER_URL=owner)
        yield Database(owner, app)
    finally:
        asyncio.run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def run_in_fresh_database(
    script: Path, database: str, admin_url: str, prefix: str, child_arguments: list[str]
) -> dict:
    """Runs `script --child <database> <child_arguments>` in its own process against a database made for
    it (a fresh PostgreSQL database, or a migrated SQLite file in a temporary folder), and returns the JSON
    its last line prints: a bench measures one size of data per process, from a cold start."""
    with tempfile.TemporaryDirectory(prefix=f"{prefix}-") as temp:
        environment = {**os.environ, "VAR_DIR": temp, "RATE_LIMITS": "off", "PYTHONPATH": str(PROJECT_ROOT)}
        if database == "postgres":
            with postgres_database(admin_url, prefix=prefix) as created:
                environment |= {"DATABASE_URL": created.app_url, "DATABASE_OWNER_URL": created.owner_url}
                return _child(script, database, child_arguments, environment)
        environment["DATABASE_URL"] = f"sqlite:///{Path(temp) / 'portal.db'}"
        environment.pop("DATABASE_OWNER_URL", None)
        subprocess.run(
            [sys.executable, "-m", "apps.cli", "migrate"],
            cwd=PROJECT_ROOT,
            env=environment,
            check=True,
            capture_output=True,
        )
        return _child(script, database, child_arguments, environment)


def _child(script: Path, database: str, arguments: list[str], environment: dict[str, str]) -> dict:
    command = [sys.executable, str(script), "--child", database, *arguments]
    done = subprocess.run(
        command, cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True, check=False
    )
    sys.stderr.write(done.stderr[-4000:] if done.returncode else "")
    if done.returncode:
        raise SystemExit(f"{script.name} on {database} ({' '.join(arguments)}) failed ({done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


class Stopwatch:
    """Wall and CPU time of this process around a block: `with Stopwatch() as watch: ...; watch.cpu`."""

    def __enter__(self) -> Stopwatch:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


def compile_bytecode(project: Path = PROJECT_ROOT) -> None:
    """Writes the measured code's bytecode first, as the production image does (`compileall` in the
    Dockerfile). Without it, a shell with PYTHONDONTWRITEBYTECODE set makes the worker compile the workflow
    module from source for every workflow it starts (the sandbox imports that module afresh each run)."""
    packages = [str(project / name) for name in ("apps", "domain", "infra", "tenants", "workflows")]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *packages], check=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


class Processes:
    """Children that each lead their own process group, so stopping one stops what it started too (uvicorn's
    worker processes, the worker's PDF process)."""

    def __init__(self, cwd: Path = PROJECT_ROOT) -> None:
        self.cwd = cwd
        self.children: list[subprocess.Popen] = []

    def spawn(self, command: list[str], env: dict[str, str], log_file: Path) -> subprocess.Popen:
        with log_file.open("ab") as output:
            child = subprocess.Popen(
                command,
                cwd=self.cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.children.append(child)
        return child

    def adopt(self, child: subprocess.Popen) -> subprocess.Popen:
        self.children.append(child)
        return child

    def stop(self, child: subprocess.Popen, timeout: float = 15) -> None:
        if child in self.children:
            self.children.remove(child)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if child.poll() is not None:
                return
            try:
                os.killpg(child.pid, sig)  # start_new_session: the child's pid is its group's id
            except ProcessLookupError:
                return
            try:
                child.wait(timeout)
                return
            except subprocess.TimeoutExpired:
                continue

    def stop_all(self) -> None:
        for child in reversed(list(self.children)):
            self.stop(child)


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its living descendants."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total / 2**20


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
