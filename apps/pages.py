"""Rendering helpers shared by the portal and the admin: one place that fills the common page context."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated, Any

from litestar import Request
from litestar.background_tasks import BackgroundTask
from litestar.params import PathParameter, QueryParameter
from litestar.response import Template

from domain import lifecycle, sla
from domain.scope import MissingTenantError, TenantScope
from domain.submissions import SubmitResult
from infra.settings import Settings
from tenants.resolve import TenantInfo, town_url
from workflows.client import TemporalGateway

LANGUAGE_NAMES = {"en": "English", "fr": "Français"}
# The largest id a table's serial column holds (PostgreSQL `integer`). A bigger number names no row, and
# handed to the database it is an error, not an empty answer: ids are checked here, at the edge.
MAX_ROW_ID = 2**31 - 1
PathId = Annotated[int, PathParameter(ge=1, le=MAX_ROW_ID)]
QueryId = Annotated[int | None, QueryParameter(ge=1, le=MAX_ROW_ID)]


def row_id(text: str) -> int | None:
    """An id typed in a form or a query string, if it can name a row."""
    number = int(text) if text.isascii() and text.isdigit() and len(text) <= 10 else 0
    return number if 0 < number <= MAX_ROW_ID else None


def tenant_of(request: Request) -> TenantInfo:
    return request.state.tenant


async def provide_scope(request: Request) -> AsyncGenerator[TenantScope, None]:
    """The `tenant_scope` dependency: the request's tenant and the transaction its queries run in.

    Litestar runs the code after `yield` once the handler has returned and its response is built, before
    the response is sent and before any background task, so intake's row is committed when the workflow
    starts. A handler that raises rolls the transaction back. While the handler waits on Temporal the
    transaction is released (workflows.client), so the worker's activity never waits on this request.
    """
    scope = TenantScope(tenant_of(request).id)
    async with scope.transaction():
        request.state.scope = scope
        yield scope


def scope_of(request: Request) -> TenantScope:
    """For helpers of a handler that takes the `tenant_scope` dependency: that scope, its transaction open."""
    scope = request.state.get("scope")
    if scope is None:
        raise MissingTenantError("this handler does not take the `tenant_scope` dependency")
    return scope


def town_link(request: Request, settings: Settings, path: str) -> str:
    """An absolute link to one of this town's pages, for mail and sign-in redirects (see `town_url`)."""
    return town_url(tenant_of(request), settings, path, via=request.url.hostname)


def workflow_start(
    temporal: TemporalGateway, tenant: TenantInfo, result: SubmitResult
) -> BackgroundTask | None:
    """A new request's workflow, started once the answer is sent (the row is committed by then): the
    citizen or the program has the reference even when Temporal is down, and the reconciler starts it
    later. Routing marks the row started, so this start does not."""
    if not result.created:
        return None
    return BackgroundTask(
        temporal.start_request, tenant.id, tenant.slug, result.request_id, result.reference, mark=False
    )


def page(
    request: Request, template: str, status_code: int = 200, headers: dict | None = None, **context: Any
) -> Template:
    context.setdefault("errors", {})
    return Template(
        template_name=template,
        status_code=status_code,
        headers=headers,
        context={
            "tenant": tenant_of(request),
            "language_names": LANGUAGE_NAMES,
            "status_labels": lifecycle.STATUS_LABELS,
            "close_reasons": lifecycle.CLOSE_REASONS,
            "timer_labels": sla.TIMER_LABELS,
            "auto_closed": lifecycle.AUTO_CLOSED,
            **context,
        },
    )
