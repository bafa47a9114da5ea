"""The dependency rules of DESIGN.md, checked: the web shares only the contract with the worker."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from temporalio import workflow

from workflows.service_request import contract

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Not loaded as a web process starts: the worker's PDF stack (WeasyPrint, and Pillow and qrcode, which a web
# process loads only when a member of staff enrols two-step sign-in), the activities and the workflow.
NOT_AT_WEB_START = (
    "weasyprint",
    "PIL",
    "qrcode",
    "workflows.service_request.activities",
    "workflows.service_request.workflow",
    # Loaded when needed: the OpenID client by the first sign-in with a provider, Redis when configured.
    "authlib",
    "httpx2",
    "joserfc",
    "redis",
)
# Tables are private to their package: the web and the workflows go through domain services, and the
# tenants package below the domain never reaches the domain's tables.
DOMAIN_TABLES = ("domain.tables", "domain._tables")
PRIVATE_TABLES = {
    "apps": (*DOMAIN_TABLES, "tenants.tables", "piccolo.table", "piccolo.columns"),
    "workflows": (*DOMAIN_TABLES, "tenants.tables", "piccolo.table", "piccolo.columns"),
    "tenants": DOMAIN_TABLES,
}


def test_the_web_does_not_load_the_workers_code():
    """In a fresh interpreter, as a web process starts (the app built): the modules already imported by the
    test run would hide an import otherwise."""
    script = (
        "import sys, apps.web\napps.web.create_app()\n"
        f"print(','.join(name for name in {NOT_AT_WEB_START!r} if name in sys.modules))\n"
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
    updates = named - {
        contract.WORKFLOW_TYPE,
        contract.SCHEDULE_QUERY,
        contract.REFUSED,
        contract.EXPIRED,
        contract.STEP_FAILED,
    }
    assert updates == set(definition.updates)


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, anywhere in it (imports inside functions count too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _reaches(names: set[str], forbidden: tuple[str, ...]) -> set[str]:
    return {name for name in names for prefix in forbidden if name == prefix or name.startswith(prefix + ".")}


@pytest.mark.parametrize("package", sorted(PRIVATE_TABLES))
def test_tables_are_reached_only_through_services(package):
    offences = {
        str(path.relative_to(PROJECT_ROOT)): sorted(found)
        for path in sorted((PROJECT_ROOT / package).rglob("*.py"))
        if (found := _reaches(imported_modules(path), PRIVATE_TABLES[package]))
    }
    assert offences == {}


def test_the_import_check_sees_every_form_of_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from domain import tables\nimport domain.tables as t\ndef f():\n    from domain.tables import X\n"
    )
    assert _reaches(imported_modules(sample), DOMAIN_TABLES) == {"domain.tables", "domain.tables.X"}


def test_the_workflow_takes_names_from_modules_not_modules_from_its_package():
    """`from workflows.service_request import contract` slips past the sandbox's pass-through (the sandbox
    imports the package afresh for each run), so the module would be executed again for every workflow."""
    source = (PROJECT_ROOT / "workflows" / "service_request" / "workflow.py").read_text()
    package = PROJECT_ROOT / "workflows" / "service_request"
    submodules = {path.stem for path in package.glob("*.py")}
    taken = [
        alias.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom) and node.module == "workflows.service_request"
        for alias in node.names
        if alias.name in submodules
    ]
    assert taken == [], f"import names from these modules instead: {taken}"
