"""Rendering helpers shared by the portal and the admin: one place that fills the common page context."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.response import Template

from domain import lifecycle, sla
from domain.scope import TenantScope
from tenants.resolve import TenantInfo

LANGUAGE_NAMES = {"en": "English", "fr": "Français"}


def tenant_of(request: Request) -> TenantInfo:
    return request.state.tenant


def scope_of(request: Request) -> TenantScope:
    return TenantScope(tenant_of(request).id)


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
