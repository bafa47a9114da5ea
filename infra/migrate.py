"""Applies Piccolo migrations (migrations/) to the configured database; safe to run on every start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from infra.settings import PROJECT_ROOT


def run_migrations(env: dict[str, str] | None = None) -> None:
    piccolo = Path(sys.executable).parent / "piccolo"
    environment = {**os.environ, **(env or {}), "PICCOLO_CONF": "piccolo_conf"}
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(PROJECT_ROOT), environment.get("PYTHONPATH")])
    )
    result = subprocess.run(
        [str(piccolo), "migrations", "forwards", "portal"],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or "Error" in result.stdout:
        raise RuntimeError(f"migrations failed:\n{result.stdout}\n{result.stderr}")
