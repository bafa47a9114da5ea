"""Typed settings, read once from the environment (12-factor).

Every default is the embedded one: a laptop with no Docker, no PostgreSQL and no Redis runs the whole
portal. Production overrides them in compose.yaml.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEVELOPMENT_SECRET_KEY = "dev-only-secret-change-me"
MIN_SECRET_KEY_LENGTH = 32


class SettingsError(ValueError):
    """A configuration the portal refuses to run with; the message says what to change."""


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def _env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    var_dir: Path = field(default_factory=lambda: Path(_env("VAR_DIR", str(PROJECT_ROOT / "var"))))
    # sqlite:///relative/or/absolute.db or postgresql://user@host:port/db. On PostgreSQL, the application's
    # role: it owns nothing and is subject to row-level security (docs/tenancy.md).
    database_url: str = field(default_factory=lambda: _env("DATABASE_URL", ""))
    # PostgreSQL only: the role that owns the tables. Migrations run as it, create DATABASE_URL's role if
    # missing and grant it DML; web and worker never see it. Empty: migrations run as DATABASE_URL.
    database_owner_url: str = field(default_factory=lambda: _env("DATABASE_OWNER_URL", ""))
    temporal_address: str = field(default_factory=lambda: _env("TEMPORAL_ADDRESS", "127.0.0.1:7233"))
    temporal_namespace: str = field(default_factory=lambda: _env("TEMPORAL_NAMESPACE", "default"))
    task_queue: str = field(default_factory=lambda: _env("TEMPORAL_TASK_QUEUE", "service-requests"))
    smtp_host: str = field(default_factory=lambda: _env("SMTP_HOST", "127.0.0.1"))
    smtp_port: int = field(default_factory=lambda: int(_env("SMTP_PORT", "8025")))
    mail_from: str = field(default_factory=lambda: _env("MAIL_FROM", "no-reply@citizen-portal.localhost"))
    # Tenants answer on <slug>.<base_domain>; custom domains come from the tenant's data.
    base_domain: str = field(default_factory=lambda: _env("BASE_DOMAIN", "localhost"))
    # How links in mail and PDFs reach the portal: scheme and port appended to the tenant host.
    public_scheme: str = field(default_factory=lambda: _env("PUBLIC_SCHEME", "http"))
    public_port: str = field(default_factory=lambda: _env("PUBLIC_PORT", "8000"))
    # Signs the CSRF tokens; outside development it must be a long random value of the operator's own.
    secret_key: str = field(default_factory=lambda: _env("SECRET_KEY", DEVELOPMENT_SECRET_KEY))
    # redis://... shares sessions and rate-limit counts between web processes; empty means one web
    # process: sessions in files under var/, counts in its memory.
    session_store_url: str = field(default_factory=lambda: _env("SESSION_STORE_URL", ""))
    # Staff sessions end after this long without a request, and in any case after the absolute time.
    session_idle_seconds: int = field(default_factory=lambda: int(_env("SESSION_IDLE_SECONDS", "1800")))
    session_absolute_seconds: int = field(
        default_factory=lambda: int(_env("SESSION_ABSOLUTE_SECONDS", "28800"))
    )
    # Citizens stay signed in this long (they come back to follow a request).
    citizen_session_seconds: int = field(
        default_factory=lambda: int(_env("CITIZEN_SESSION_SECONDS", str(30 * 24 * 3600)))
    )
    # Public writes per client address and per e-mail address; "off" only for load tests.
    rate_limits: str = field(default_factory=lambda: _env("RATE_LIMITS", "on"))
    # The most photos a citizen may add to one request.
    photos_per_request: int = field(default_factory=lambda: int(_env("PHOTOS_PER_REQUEST", "10")))
    # Where photos and receipts are kept (infra/storage.py): "local", a folder that every process on this
    # machine shares, or "s3", a bucket of any S3-compatible store, for web and worker on several machines.
    file_storage: str = field(default_factory=lambda: _env("FILE_STORAGE", "local"))
    # The local folder; empty: var/files.
    file_storage_dir: str = field(default_factory=lambda: _env("FILE_STORAGE_DIR", ""))
    # The S3-compatible store: its address (empty: AWS itself), bucket and region, and the access key; with
    # no key, the usual AWS ways (environment, instance role) supply the credentials.
    s3_endpoint_url: str = field(default_factory=lambda: _env("S3_ENDPOINT_URL", ""))
    s3_bucket: str = field(default_factory=lambda: _env("S3_BUCKET", ""))
    s3_region: str = field(default_factory=lambda: _env("S3_REGION", "us-east-1"))
    s3_access_key_id: str = field(default_factory=lambda: _env("S3_ACCESS_KEY_ID", ""))
    s3_secret_access_key: str = field(default_factory=lambda: _env("S3_SECRET_ACCESS_KEY", ""), repr=False)
    # Comma-separated networks (e.g. 10.0.0.0/8) where a town's OpenID provider may be although they are
    # private, loopback or link-local; by default the server calls only public addresses for providers.
    oidc_allowed_networks: str = field(default_factory=lambda: _env("OIDC_ALLOWED_NETWORKS", ""))
    # The same, for the server's other calls out on a town's behalf (checking a custom domain).
    outbound_allowed_networks: str = field(default_factory=lambda: _env("OUTBOUND_ALLOWED_NETWORKS", ""))
    # host:port to connect to when checking a town's custom domain, instead of resolving its name (split
    # DNS, or tests on loopback). Empty: the name is resolved and called on port 80.
    domain_check_address: str = field(default_factory=lambda: _env("DOMAIN_CHECK_ADDRESS", ""))
    development: bool = field(default_factory=lambda: _env_bool("DEVELOPMENT", True))
    # Directory the development SMTP sink writes to; the web shows it at /dev/inbox when set.
    dev_inbox_dir: str = field(default_factory=lambda: _env("DEV_INBOX_DIR", ""))
    # How often the worker looks for requests whose workflow never started (seconds).
    reconcile_interval: float = field(default_factory=lambda: float(_env("RECONCILE_INTERVAL", "15")))
    # A request younger than this is left to the web process that created it (seconds).
    reconcile_grace: float = field(default_factory=lambda: float(_env("RECONCILE_GRACE", "10")))
    # Open workflows a worker keeps in memory between their tasks. Each holds its own sandboxed copy of the
    # workflow module (0.2-0.3 MB); one evicted replays its short history when it next wakes.
    worker_cached_workflows: int = field(default_factory=lambda: int(_env("WORKER_CACHED_WORKFLOWS", "200")))

    def __post_init__(self) -> None:
        if not self.development and (
            self.secret_key == DEVELOPMENT_SECRET_KEY or len(self.secret_key) < MIN_SECRET_KEY_LENGTH
        ):
            raise SettingsError(
                f"SECRET_KEY must be a random value of at least {MIN_SECRET_KEY_LENGTH} characters when "
                "DEVELOPMENT=false (it is the development value or too short). Set SECRET_KEY, e.g. to the "
                "output of `openssl rand -hex 32`."
            )
        self._check_file_storage()

    def _check_file_storage(self) -> None:
        if self.file_storage not in ("local", "s3"):
            raise SettingsError(f"FILE_STORAGE must be local or s3, not {self.file_storage!r}.")
        if self.file_storage == "s3" and not self.s3_bucket:
            raise SettingsError("FILE_STORAGE=s3 needs S3_BUCKET, the bucket the files go to.")
        if self.file_storage == "local" and self.s3_bucket:
            raise SettingsError(
                "S3_BUCKET is set but FILE_STORAGE is local: set FILE_STORAGE=s3 to keep files in the "
                "bucket, or remove S3_BUCKET."
            )
        if self.file_storage == "s3" and self.file_storage_dir:
            raise SettingsError("FILE_STORAGE_DIR is for FILE_STORAGE=local; remove it, or set that.")
        if bool(self.s3_access_key_id) != bool(self.s3_secret_access_key):
            raise SettingsError("Set S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY together, or neither.")
        if self.s3_endpoint_url and not self.s3_endpoint_url.startswith(("https://", "http://")):
            raise SettingsError(
                f"S3_ENDPOINT_URL must be an http:// or https:// address, not {self.s3_endpoint_url!r}."
            )

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'portal.db'}"

    @property
    def file_storage_root(self) -> Path:
        return Path(self.file_storage_dir) if self.file_storage_dir else self.var_dir / "files"

    @property
    def is_postgres(self) -> bool:
        return self.resolved_database_url.startswith(("postgres://", "postgresql://"))

    def public_url(self, host: str, path: str = "/") -> str:
        """An absolute link on `host`; a town's links come from `tenants.resolve.town_url`, which picks
        the host from the town's configuration."""
        default_port = {"http": "80", "https": "443"}[self.public_scheme]
        port = "" if self.public_port in ("", default_port) else f":{self.public_port}"
        return f"{self.public_scheme}://{host}{port}{path}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
