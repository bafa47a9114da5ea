"""Where a post's PostgreSQL CPU goes: the server's CPU per statement sequence, one connection, no HTTP.

bench/submit.py measures a post's PostgreSQL CPU against a bare one-row INSERT; this takes the post's
transaction apart, replaying its statements (as the portal's role, under row-level security, on a migrated
database with the demo catalogue) against the bare INSERT into a table with one index. The server's CPU is
read with psutil before and after each batch (clock ticks of 10 ms, so batches are large).

    python bench/post_statements.py                  # PostgreSQL on 127.0.0.1:5432
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg
import psutil

from bench.common import PROJECT_ROOT, machine_line, postgres_cpu_seconds, postgres_database
from domain import submissions
from domain.intake import Submission

BATCH = 1000
COLUMNS = (
    "tenant_id, reference, request_type, status, description, address, contact_name, contact_email, "
    "contact_phone, language, public_token, idempotency_key, created_at, updated_at"
)
INSERT_REQUEST = (
    f"INSERT INTO service_request ({COLUMNS}) VALUES "
    "($1, $2, $3, 'submitted', $4, '', 'A Citizen', 'a@example.org', '', 'en', $5, $6, now(), now()) "
    "RETURNING id"
)
INSERT_EVENT = (
    "INSERT INTO request_event (tenant_id, request, kind, to_status, actor_kind, created_at) "
    "VALUES ($1, $2, 'submitted', 'submitted', 'citizen', now())"
)
NEXT_REFERENCE = (
    "INSERT INTO reference_counter (tenant_id, year, last_value) VALUES ($1, 2026, 1) "
    "ON CONFLICT (tenant_id, year) DO UPDATE SET last_value = reference_counter.last_value + 1 "
    "RETURNING last_value"
)


def _numbered(statement: str) -> str:
    """Piccolo's {} placeholders as asyncpg's $1, $2, ..."""
    count = itertools.count(1)
    return re.sub(r"\{\}", lambda _: f"${next(count)}", statement)


SUBMIT = _numbered(submissions.POSTGRES_SUBMIT)
SUBMISSION = Submission(
    request_type_code="pothole",
    description="x" * 200,
    contact_name="A Citizen",
    contact_email="a@example.org",
    idempotency_key="",
)


class Post:
    """The statements of one post, as domain/submissions.py and infra/database.py send them, and (`whole`)
    the nine a post sent before its writes became one statement."""

    def __init__(self, connection: asyncpg.Connection, tenant: int, request_type: int) -> None:
        self.connection, self.tenant, self.request_type = connection, tenant, request_type

    async def bare(self) -> None:
        await self.connection.execute(
            "INSERT INTO bare (description, created_at) VALUES ($1, now())", "x" * 200
        )

    async def _request(self) -> int:
        return await self.connection.fetchval(
            INSERT_REQUEST,
            self.tenant,
            f"B-{secrets.token_hex(8)}",
            self.request_type,
            "x" * 200,
            secrets.token_urlsafe(24),
            secrets.token_hex(8),
        )

    async def _open(self):
        transaction = self.connection.transaction()
        await transaction.start()
        await self.connection.execute("SELECT set_config('app.tenant_id', $1, true)", str(self.tenant))
        return transaction

    async def transaction_only(self) -> None:
        await (await self._open()).commit()

    async def request_only(self) -> None:
        transaction = await self._open()
        await self._request()
        await transaction.commit()

    async def post(self) -> None:
        transaction = await self._open()
        await self.connection.fetchrow(
            "SELECT id FROM request_type WHERE tenant_id = $1 AND code = $2", self.tenant, "pothole"
        )
        await self.connection.execute("SAVEPOINT post")
        await self.connection.fetchrow(
            SUBMIT,
            *submissions.postgres_submit_values(
                self.tenant,
                "B",
                dataclasses.replace(SUBMISSION, idempotency_key=secrets.token_hex(8)),
                "en",
                self.request_type,
            ),
        )
        await self.connection.execute("RELEASE SAVEPOINT post")
        await transaction.commit()

    async def whole(self, savepoint: bool = True) -> None:
        transaction = await self._open()
        await self.connection.fetchrow(
            "SELECT id FROM request_type WHERE tenant_id = $1 AND code = $2", self.tenant, "pothole"
        )
        if savepoint:
            await self.connection.execute("SAVEPOINT post")
        await self.connection.fetchval(NEXT_REFERENCE, self.tenant)
        request = await self._request()
        await self.connection.execute(INSERT_EVENT, self.tenant, request)
        if savepoint:
            await self.connection.execute("RELEASE SAVEPOINT post")
        await transaction.commit()

    async def whole_without_savepoint(self) -> None:
        await self.whole(savepoint=False)


async def main(database) -> None:
    owner = await asyncpg.connect(database.owner_url)
    tenant = await owner.fetchval("SELECT id FROM tenant ORDER BY id LIMIT 1")
    request_type = await owner.fetchval("SELECT id FROM request_type WHERE tenant_id = $1 LIMIT 1", tenant)
    await owner.execute("CREATE TABLE bare (id serial PRIMARY KEY, description text, created_at timestamptz)")
    await owner.execute("GRANT ALL ON bare TO portal_app; GRANT ALL ON SEQUENCE bare_id_seq TO portal_app")
    connection = await asyncpg.connect(database.app_url)
    backend = psutil.Process(await connection.fetchval("SELECT pg_backend_pid()"))
    post = Post(connection, tenant, request_type)
    cases = {
        "bare INSERT, autocommit": post.bare,
        "BEGIN, set_config, COMMIT": post.transaction_only,
        "+ the request's INSERT": post.request_only,
        "the post (7 statements)": post.post,
        "before: 9 statements": post.whole,
        "before, without SAVEPOINT": post.whole_without_savepoint,
    }
    print(
        f"{'statements':<32}{'backend us':>12}{'all PostgreSQL us':>20}{'wall us':>10}"
        f"   per post, {BATCH} a batch"
    )
    for _ in range(2):
        for name, call in cases.items():
            for _ in range(50):
                await call()
            backend_before, all_before, wall = (
                backend.cpu_times(),
                postgres_cpu_seconds(),
                time.perf_counter(),
            )
            for _ in range(BATCH):
                await call()
            backend_after, all_after = backend.cpu_times(), postgres_cpu_seconds()
            used = sum(backend_after[:2]) - sum(backend_before[:2])
            print(
                f"{name:<32}{used / BATCH * 1e6:>12.0f}{(all_after - all_before) / BATCH * 1e6:>20.0f}"
                f"{(time.perf_counter() - wall) / BATCH * 1e6:>10.0f}"
            )
        print()
    await connection.close()
    await owner.close()


if __name__ == "__main__":
    print(machine_line())
    with postgres_database(prefix="portal_statements") as database:
        environment = {
            **os.environ,
            "DATABASE_URL": database.app_url,
            "DATABASE_OWNER_URL": database.owner_url,
        }
        subprocess.run(
            [sys.executable, "-m", "apps.cli", "seed-demo"], cwd=PROJECT_ROOT, env=environment, check=True
        )
        asyncio.run(main(database))
