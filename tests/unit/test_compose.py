"""The production deployment, checked by reading it: Docker does not run here, so compose.yaml and the
Dockerfile are parsed and held against the code that runs inside them (settings, CLI, routes, packaging)."""

from __future__ import annotations

import ast
import ipaddress
import json
import re
import shlex
import sys
import tomllib
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
import yaml

from infra.settings import PROJECT_ROOT, Settings

COMPOSE = yaml.safe_load((PROJECT_ROOT / "compose.yaml").read_text())
SERVICES: dict[str, dict] = COMPOSE["services"]
PORTAL_ROLES = ("migrate", "web", "worker")
STACK = {"postgres", "temporal", "smtp-relay", "redis", *PORTAL_ROLES}
# What an operator must supply (compose refuses to start without them); the rest has defaults.
OPERATOR_ENV = {
    "POSTGRES_PASSWORD": "pgPass0",
    "PORTAL_APP_DB_PASSWORD": "appPass0",
    "TEMPORAL_DB_PASSWORD": "tPass0",
    "SECRET_KEY": "k" * 50,
}
# Settings (infra/settings.py) whose embedded default is wrong in production.
PRODUCTION_SETTINGS = (
    "DATABASE_URL",
    "TEMPORAL_ADDRESS",
    "SMTP_HOST",
    "SMTP_PORT",
    "MAIL_FROM",
    "SECRET_KEY",
    "DEVELOPMENT",
    "SESSION_STORE_URL",
    "BASE_DOMAIN",
    "PUBLIC_SCHEME",
    "PUBLIC_PORT",
)


class MissingVariable(Exception):
    pass


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, nested, and $$."""
    out, i = [], 0
    while i < len(text):
        if text.startswith("$$", i):
            out.append("$")
            i += 2
        elif text.startswith("${", i):
            depth, j = 1, i + 2
            while depth:
                if j >= len(text):
                    raise ValueError(f"unclosed ${{ in {text!r}")
                depth += text.startswith("${", j)
                depth -= text[j] == "}"
                j += 2 if text.startswith("${", j) else 1
            out.append(_substitute(text[i + 2 : j - 1], env))
            i = j
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _substitute(body: str, env: dict[str, str]) -> str:
    match = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])(.*))?", body, re.DOTALL)
    assert match, f"not a compose variable: ${{{body}}}"
    name, operator, argument = match.groups()
    value = env.get(name)
    missing = value is None or ((operator or "").startswith(":") and value == "")
    if operator and operator.endswith("?") and missing:
        raise MissingVariable(name)
    if operator and operator.endswith("-") and missing:
        return interpolate(argument, env)
    return value or ""


def resolved(value, env: dict[str, str] | None = None):
    """A compose value with every string interpolated as `docker compose` would, given the operator's env."""
    env = OPERATOR_ENV if env is None else env
    if isinstance(value, str):
        return interpolate(value, env)
    if isinstance(value, dict):
        return {key: resolved(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [resolved(item, env) for item in value]
    return value


def environment(service: str, env: dict[str, str] | None = None) -> dict[str, str]:
    raw = SERVICES[service].get("environment", {})
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    return {key: "" if value is None else str(value) for key, value in resolved(raw, env).items()}


def depends_on(service: str) -> dict[str, str]:
    """{target: condition}, from either the list or the mapping form."""
    raw = SERVICES[service].get("depends_on", {})
    if isinstance(raw, list):
        return dict.fromkeys(raw, "service_started")
    return {target: (spec or {}).get("condition", "service_started") for target, spec in raw.items()}


def image_of(service: str) -> tuple[str, str]:
    name = resolved(SERVICES[service]["image"])
    repository, _, tag = name.rpartition(":") if ":" in name.split("/")[-1] else (name, "", "")
    return repository, tag


def published_ports(service: str) -> list[tuple[str, str, str]]:
    """(host_ip, host_port, container_port) for each published port, short or long syntax."""
    ports = []
    for port in resolved(SERVICES[service].get("ports", [])):
        if isinstance(port, dict):
            ports.append((port.get("host_ip", ""), str(port.get("published", "")), str(port["target"])))
        else:
            parts = str(port).rsplit(":", 2)
            ports.append(tuple([""] * (3 - len(parts)) + parts))
    return ports


# --- compose.yaml ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${A}", "a"),
        ("x${UNSET}y", "xy"),
        ("${UNSET:-d}", "d"),
        ("${EMPTY:-d}|${EMPTY-d}", "d|"),
        ("${UNSET:-no-reply@${A:-b}}", "no-reply@a"),
        ("${UNSET:-${ALSO_UNSET:-deep}}", "deep"),
        ("$${A} ${A:?needed}", "${A} a"),
    ],
)
def test_the_interpolation_these_tests_use_behaves_like_compose(text, expected):
    assert interpolate(text, {"A": "a", "EMPTY": ""}) == expected
    with pytest.raises(MissingVariable, match="UNSET"):
        interpolate("${UNSET:?set it}", {})


def test_compose_file_follows_the_compose_spec_without_a_version_key():
    assert "version" not in COMPOSE
    assert set(SERVICES) >= STACK, f"missing services: {STACK - set(SERVICES)}"


def test_web_worker_and_migrate_run_one_image_built_from_this_repository():
    builds = {role: json.dumps(resolved(SERVICES[role].get("build"))) for role in PORTAL_ROLES}
    images = {role: resolved(SERVICES[role].get("image")) for role in PORTAL_ROLES}
    assert len(set(builds.values())) == 1 and builds["web"] != "null", builds
    assert len(set(images.values())) == 1 and images["web"], images
    build = resolved(SERVICES["web"]["build"])
    context = build if isinstance(build, str) else build.get("context", ".")
    assert (PROJECT_ROOT / context / "Dockerfile").is_file()


def test_every_depends_on_names_a_service_with_a_valid_condition():
    conditions = {"service_started", "service_healthy", "service_completed_successfully"}
    for service in SERVICES:
        for target, condition in depends_on(service).items():
            assert target in SERVICES, f"{service} depends on unknown service {target}"
            assert condition in conditions, f"{service} -> {target}: {condition}"
            if condition == "service_healthy":
                assert "healthcheck" in SERVICES[target], f"{service} waits on {target}: no healthcheck"


def test_migrate_runs_once_before_web_and_worker_start():
    migrate = SERVICES["migrate"]
    assert str(migrate.get("restart")) == "no"
    assert migrate["command"][-1] == "migrate"
    assert depends_on("migrate").get("postgres") == "service_healthy"
    for role in ("web", "worker"):
        assert depends_on(role).get("migrate") == "service_completed_successfully", role
        assert depends_on(role).get("temporal") == "service_healthy", role
        assert "DATABASE_OWNER_URL" not in environment(role), f"{role} must not hold the owner's password"


def test_the_commands_in_compose_are_ones_the_cli_runs(monkeypatch):
    from apps import cli

    calls = []
    monkeypatch.setattr(cli, "web", lambda port, workers=1: calls.append(("web", port, workers)))
    # cli.main imports these when the command runs; stand-ins record the call instead of doing the work.
    worker = SimpleNamespace(main=lambda: calls.append(("worker",)))
    migrate = SimpleNamespace(run_migrations=lambda: calls.append(("migrate",)))
    monkeypatch.setitem(sys.modules, "workflows.worker", worker)
    monkeypatch.setitem(sys.modules, "infra.migrate", migrate)
    for role in PORTAL_ROLES:
        command = SERVICES[role]["command"]
        assert command[0] == "citizen-portal", command
        cli.main(command[1:])
    assert calls == [("migrate",), ("web", 8000, 2), ("worker",)]


def test_database_url_is_postgresql_on_the_postgres_service_with_its_credentials():
    owner = urlsplit(environment("migrate")["DATABASE_OWNER_URL"])
    database = environment("postgres")
    assert owner.username == database["POSTGRES_USER"]
    assert owner.password == database["POSTGRES_PASSWORD"] == OPERATOR_ENV["POSTGRES_PASSWORD"]
    for role in PORTAL_ROLES:
        url = urlsplit(environment(role)["DATABASE_URL"])
        assert url.scheme in ("postgresql", "postgres")
        assert url.hostname == "postgres" and image_of("postgres")[0] == "postgres"
        assert (url.hostname, url.port, url.path) == (owner.hostname, owner.port, owner.path)
        assert url.path == "/" + database.get("POSTGRES_DB", database["POSTGRES_USER"])
        # The portal's own role, not the owner: row-level security applies to it.
        assert url.username != owner.username
        assert url.password == OPERATOR_ENV["PORTAL_APP_DB_PASSWORD"]
    volumes = [str(volume) for volume in SERVICES["postgres"].get("volumes", [])]
    assert any(volume.endswith(":/var/lib/postgresql/data") for volume in volumes), volumes


def test_temporal_persists_to_its_own_postgresql():
    temporal = environment("temporal")
    assert temporal["DB"] in ("postgres12", "postgres12_pgx")
    seed = temporal["POSTGRES_SEEDS"]
    assert seed in SERVICES and image_of(seed)[0] == "postgres"
    assert depends_on("temporal").get(seed) == "service_healthy"
    database = environment(seed)
    assert temporal["POSTGRES_USER"] == database["POSTGRES_USER"]
    assert temporal["POSTGRES_PWD"] == database["POSTGRES_PASSWORD"]
    named_volumes = set(COMPOSE.get("volumes") or {})
    assert any(str(volume).split(":")[0] in named_volumes for volume in SERVICES[seed].get("volumes", []))


def test_images_are_pinned_and_postgresql_is_16():
    for service, spec in SERVICES.items():
        if "image" in spec:
            repository, tag = image_of(service)
            assert tag and tag != "latest", f"{service} uses {repository}:{tag or '(no tag)'}"
            if repository == "postgres":
                assert tag.split(".")[0].split("-")[0] == "16", f"{service}: postgres:{tag}"


def test_web_healthcheck_requests_healthz_on_the_port_web_listens_on():
    command = SERVICES["web"]["command"]
    port = command[command.index("--port") + 1]
    check = " ".join(SERVICES["web"]["healthcheck"]["test"])
    assert f"127.0.0.1:{port}/healthz" in check or f"localhost:{port}/healthz" in check, check
    # apps/web.py, read rather than imported: the route exists, and answers without a tenant's host name.
    module = ast.parse((PROJECT_ROOT / "apps" / "web.py").read_text())
    routes = [
        decorator.args[0].value
        for node in ast.walk(module)
        if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef)
        for decorator in node.decorator_list
        if isinstance(decorator, ast.Call) and getattr(decorator.func, "id", "") == "get" and decorator.args
    ]
    assert "/healthz" in routes, routes
    exempt = next(
        ast.literal_eval(node.value)
        for node in module.body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "EXEMPT_FROM_TENANT"
    )
    assert any("/healthz".startswith(prefix) for prefix in exempt), exempt
    assert environment("web")["WEB_HOST"] == "0.0.0.0"  # else uvicorn listens on the container's loopback


def test_every_production_setting_is_set_for_web_and_worker_and_read_by_the_portal():
    source = (PROJECT_ROOT / "infra" / "settings.py").read_text()
    read = set(re.findall(r'_env(?:_bool)?\("([A-Z_]+)"', source))
    assert read >= set(PRODUCTION_SETTINGS), f"infra/settings.py ignores {set(PRODUCTION_SETTINGS) - read}"
    for role in PORTAL_ROLES:
        missing = set(PRODUCTION_SETTINGS) - set(environment(role))
        assert not missing, f"{role} lacks {missing}"


@pytest.mark.parametrize("role", ["web", "worker"])
def test_the_portal_reads_the_compose_environment_as_a_production_setup(role, monkeypatch):
    env = environment(role)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert settings.is_postgres and not settings.development
    assert settings.secret_key == OPERATOR_ENV["SECRET_KEY"]
    assert settings.session_store_url.startswith("redis://")
    assert urlsplit(settings.session_store_url).hostname in SERVICES
    temporal_host, temporal_port = settings.temporal_address.rsplit(":", 1)
    assert temporal_host in SERVICES and temporal_port == "7233"
    assert settings.smtp_host in SERVICES and settings.smtp_port > 0
    assert settings.base_domain == "portal.example.org"
    assert settings.public_url(f"springfield.{settings.base_domain}", "/r/1") == (
        "https://springfield.portal.example.org/r/1"
    )
    allowed = environment(settings.smtp_host).get("ALLOWED_SENDER_DOMAINS", "").split()
    assert settings.mail_from.rsplit("@", 1)[1] in allowed, (settings.mail_from, allowed)


def test_secrets_come_from_the_operator_and_compose_refuses_to_start_without_them():
    for service in SERVICES:
        raw = SERVICES[service].get("environment") or {}
        for key, value in raw.items() if isinstance(raw, dict) else []:
            if re.search(r"PASSWORD|PWD|SECRET", key):
                from_operator = re.fullmatch(r"\$\{[A-Z_]+(:\?[^}]*|:-)?\}", str(value))
                assert from_operator, f"{service}.{key} = {value!r}"
    for variable in OPERATOR_ENV:
        incomplete = {key: value for key, value in OPERATOR_ENV.items() if key != variable}
        with pytest.raises(MissingVariable, match=variable):
            resolved(COMPOSE, incomplete)


def test_web_and_worker_scale_out_and_web_replicas_sit_behind_one_published_port():
    for role in ("web", "worker"):
        assert SERVICES[role].get("deploy", {}).get("replicas", 1) >= 2, role
    # Replicas cannot share a fixed host port; the load balancer publishes it and finds them in Docker's DNS.
    assert not [port for port in published_ports("web") if port[1]], "web publishes a fixed host port"
    assert "8000" in [str(port) for port in SERVICES["web"].get("expose", [])]
    assert [port[1:] for port in published_ports("lb")] == [("8000", "8000")]
    caddyfile = COMPOSE["configs"][SERVICES["lb"]["configs"][0]["source"]]["content"]
    assert re.search(r"name\s+web\b", caddyfile) and re.search(r"port\s+8000\b", caddyfile), caddyfile
    assert "header_up Host" not in caddyfile  # the Host header chooses the tenant: pass it through untouched


def test_the_web_believes_forwarded_addresses_only_from_its_proxies():
    """uvicorn takes the client's address from X-Forwarded-For only when the connection comes from one of
    these; with "*" it takes the header's first address, which the client writes itself."""
    trusted = environment("web")["FORWARDED_ALLOW_IPS"].split(",")
    assert "*" not in trusted
    for entry in trusted:
        network = ipaddress.ip_network(entry.strip(), strict=False)
        assert network.is_private, f"{entry}: a public network is not the load balancer's"


def test_published_ports_listen_on_localhost_by_default():
    for service in SERVICES:
        for host_ip, host_port, container_port in published_ports(service):
            assert host_ip == "127.0.0.1", f"{service} publishes {host_port}->{container_port} on {host_ip!r}"


# --- Dockerfile -------------------------------------------------------------------------------------------


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile's instructions (continuations joined, comments dropped), one list per FROM."""
    text = (PROJECT_ROOT / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    stages: list[list[tuple[str, str]]] = []
    for instruction in re.split(r"\n(?=\S)", re.sub(r"\\\n", " ", "\n".join(lines)).strip()):
        keyword, _, arguments = instruction.strip().partition(" ")
        if keyword.upper() == "FROM":
            stages.append([])
        if keyword:
            stages[-1].append((keyword.upper(), " ".join(arguments.split())))
    return stages


def instructions(stage: list[tuple[str, str]], keyword: str) -> list[str]:
    return [arguments for name, arguments in stage if name == keyword]


def test_dockerfile_runtime_is_python_311_slim_bookworm_and_multi_stage():
    stages = dockerfile_stages()
    assert len(stages) >= 2
    assert re.match(r"python:3\.11(\.\d+)?-slim-bookworm\b", stages[-1][0][1]), stages[-1][0]


def test_dockerfile_keeps_node_in_a_build_stage_that_installs_htmx_without_dev_packages():
    stages = dockerfile_stages()
    *builders, runtime = stages
    npm = [run for stage in builders for run in instructions(stage, "RUN") if "npm ci" in run]
    assert npm and "--omit=dev" in npm[0]
    assert not re.match(r"node\b", runtime[0][1])
    assert not any(re.search(r"\b(nodejs|npm)\b", run) for run in instructions(runtime, "RUN"))
    copies = instructions(runtime, "COPY")
    htmx = " /app/node_modules/htmx.org/dist"
    assert any(copy.startswith("--from=") and copy.endswith(htmx) for copy in copies), copies


def test_dockerfile_installs_what_weasyprint_and_time_zones_need_at_run_time():
    runs = " ".join(instructions(dockerfile_stages()[-1], "RUN"))
    for package in ("libpango-1.0-0", "libpangoft2-1.0-0", "fonts-dejavu-core", "tzdata"):
        assert re.search(rf"apt-get install[^&]*\b{re.escape(package)}\b", runs), package


def test_dockerfile_runs_as_a_non_root_user():
    runtime = dockerfile_stages()[-1]
    users = instructions(runtime, "USER")
    assert users, "no USER: the portal would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    created = " ".join(instructions(runtime, "RUN"))
    assert re.search(rf"useradd\b[^&]*\b{re.escape(user)}\b", created), created


def copied_sources(stage: list[tuple[str, str]]) -> set[str]:
    """What a stage copies from the build context (not from other stages), as written, without the slash."""
    copied = set()
    for arguments in instructions(stage, "COPY"):
        *sources, _ = arguments.split()
        if not sources[0].startswith("--from="):
            copied |= {source.rstrip("/") for source in sources}
    return copied


def test_dockerfile_installs_the_project_with_its_code_and_ships_the_source_tree_it_reads():
    packaging = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = {pattern.rstrip("*") for pattern in packaging["packages"]["find"]["include"]}
    stages = dockerfile_stages()
    installed = False
    for stage in stages[:-1]:
        for position, (keyword, arguments) in enumerate(stage):
            if keyword == "RUN" and re.search(r"pip install[^&]* \.(\s|$)", arguments):
                installed |= packages <= copied_sources(stage[:position])
    assert installed, "no `pip install .` after the packages are copied into a build stage"
    runtime = stages[-1]
    assert instructions(runtime, "WORKDIR")[-1] == "/app"
    for arguments in instructions(runtime, "COPY"):
        if not arguments.startswith("--from="):
            destination = arguments.split()[-1]
            assert not destination.startswith("/") or destination.startswith("/app"), arguments
    needed = packages | {"locales", "piccolo_conf.py", "piccolo_app.py"}
    assert needed <= copied_sources(runtime), f"not copied into /app: {needed - copied_sources(runtime)}"
    # PROJECT_ROOT (templates, locales/, migrations/, node_modules/) must be /app, not site-packages.
    env = dict(item.split("=", 1) for args in instructions(runtime, "ENV") for item in shlex.split(args))
    assert env.get("PYTHONPATH", "").split(":")[0] == "/app"


def test_dockerfile_default_command_is_the_web_process():
    runtime = dockerfile_stages()[-1]
    command = json.loads(instructions(runtime, "CMD")[-1])
    assert command[:2] == ["citizen-portal", "web"]
    assert command == SERVICES["web"]["command"]
