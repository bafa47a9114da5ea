"""The baseline for bench/submit.py: a bare Litestar app whose one endpoint inserts one ServiceRequest row.

What it does, and nothing more:
- the same Piccolo engine as the portal (piccolo_conf.DB from DATABASE_URL: SQLite in WAL mode with a 30 s
  busy timeout, or a PostgreSQL pool of 2..20 connections opened on startup);
- POST /requests runs exactly one `await ServiceRequest(...).save()` (a single INSERT, autocommit, no
  transaction block) with the same column values as the citizen's submit, a fresh public token, a fresh
  idempotency key and a unique reference;
- with BENCH_START_WORKFLOW=1, then starts the request's workflow on TEMPORAL_ADDRESS (one client made at
  startup, the same call as the portal's background task, in the response path): the "bare INSERT +
  start_workflow" floor of a submit that starts its workflow;
- answers 303 See Other with a Location header and an empty body, like the portal.

What it does not do: no tenant middleware (the tenant and request type ids are looked up once at startup),
no session, no CSRF check, no form parsing or validation (the request body is ignored), no request-type
queries, no idempotency lookup, no reference counter, no timeline event, no template, and no Temporal
unless asked for.

Run: DATABASE_URL=... python -m uvicorn bench.bare_app:create_app --factory
"""

from __future__ import annotations

import os
import secrets
import uuid
from datetime import UTC, datetime

from litestar import Litestar, get, post
from litestar.response import Response
from temporalio.client import Client

from domain import lifecycle
from domain.tables import RequestType, ServiceRequest
from infra.database import close_pool, start_pool
from tenants.tables import Tenant
from workflows.service_request import contract

TENANT_SLUG = os.environ.get("BENCH_TENANT", "springfield")
REQUEST_TYPE = "pothole"
START_WORKFLOW = os.environ.get("BENCH_START_WORKFLOW") == "1"
TASK_QUEUE = os.environ.get("TEMPORAL_TASK_QUEUE", "service-requests")
_ids: dict[str, int] = {}
_temporal: list[Client] = []


@get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@post("/requests", include_in_schema=False)
async def insert_request() -> Response[bytes]:
    now = datetime.now(UTC)
    reference = f"BENCH-{uuid.uuid4().hex[:24]}"
    row = ServiceRequest(
        tenant=_ids["tenant"],
        reference=reference,
        request_type=_ids["request_type"],
        status=lifecycle.SUBMITTED,
        description="The streetlight in front of number 12 has been out for three nights.",
        address="12 Evergreen Terrace",
        latitude=45.50169,
        longitude=-73.56725,
        contact_name="Ned Flanders",
        contact_email="ned@example.test",
        contact_phone="+1 555 0100",
        language="en",
        public_token=secrets.token_urlsafe(24),
        idempotency_key=uuid.uuid4().hex,
        created_at=now,
        updated_at=now,
    )
    await row.save()
    if _temporal:
        await _temporal[0].start_workflow(
            contract.WORKFLOW_TYPE,
            contract.RequestParams(tenant_id=_ids["tenant"], request_id=row.id, reference=reference),
            id=contract.workflow_id(TENANT_SLUG, reference),
            task_queue=TASK_QUEUE,
        )
    return Response(b"", status_code=303, headers={"Location": "/status/bench"})


def create_app() -> Litestar:
    from piccolo_conf import DB

    async def on_startup() -> None:
        await start_pool(DB)
        tenant = await Tenant.select(Tenant.id).where(Tenant.slug == TENANT_SLUG).first()
        if tenant is None:
            raise RuntimeError(f"tenant {TENANT_SLUG!r} is missing: seed the demo data first")
        request_type = (
            await RequestType.select(RequestType.id)
            .where((RequestType.tenant == tenant["id"]) & (RequestType.code == REQUEST_TYPE))
            .first()
        )
        _ids.update(tenant=tenant["id"], request_type=request_type["id"])
        if START_WORKFLOW:
            _temporal.append(await Client.connect(os.environ["TEMPORAL_ADDRESS"]))

    async def on_shutdown() -> None:
        await close_pool(DB)

    return Litestar(
        route_handlers=[healthz, insert_request],
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        debug=False,
    )
