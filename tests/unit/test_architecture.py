"""The dependency rules of DESIGN.md, checked: the web shares only the contract with the worker."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from temporalio import workflow

from workflows.service_request import contract

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Loaded by the worker only: the PDF renderer, the activities and the workflow definition.
WORKER_ONLY = ("weasyprint", "workflows.service_request.activities", "workflows.service_request.workflow")


def test_the_web_does_not_load_the_workers_code():
    """In a fresh interpreter, as a web process starts: the modules already imported by the test run
    would hide an import otherwise."""
    script = (
        f"import sys, apps.web\nprint(','.join(name for name in {WORKER_ONLY!r} if name in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"importing apps.web loaded {result.stdout.strip()}"


def test_the_contract_names_what_the_workflow_registers():
    from workflows.service_request.workflow import ServiceRequestWorkflow

    definition = workflow._Definition.must_from_class(ServiceRequestWorkflow)
    assert definition.name == contract.WORKFLOW_TYPE
    assert contract.SCHEDULE_QUERY in definition.queries
    named = {value for name, value in vars(contract).items() if name.isupper() and isinstance(value, str)}
    updates = named - {contract.WORKFLOW_TYPE, contract.SCHEDULE_QUERY, contract.REFUSED, contract.EXPIRED}
    assert updates == set(definition.updates)
