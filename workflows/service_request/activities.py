"""Side effects of the service-request workflow: database moves, receipts and mail.

Each activity is safe to retry: moves carry a key, documents replace their earlier copy, and mail goes
through an outbox row so a retried send never reaches the citizen twice.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain import lifecycle, notifications
from domain import requests as request_service
from domain.scope import TenantScope
from infra import i18n
from infra.mail import Attachment, Mailer, OutgoingMail
from infra.pdf import qr_svg, render_pdf
from infra.settings import Settings
from infra.templating import document_environment
from tenants.resolve import tenant_by_id, tenant_host
from workflows.service_request.models import MoveInput, NoticeInput, ReceiptInput, RouteResult

TEMPLATES = Path(__file__).parent / "templates"
RECEIPT = "receipt"


class RequestActivities:
    def __init__(self, settings: Settings, mailer: Mailer, pdf_threads: int = 2) -> None:
        self.settings = settings
        self.mailer = mailer
        self.templates = document_environment(TEMPLATES)
        self._pdf_pool = ThreadPoolExecutor(max_workers=pdf_threads, thread_name_prefix="pdf")

    @activity.defn
    async def route(self, move: MoveInput) -> RouteResult:
        """Sends the request to the department its type names."""
        scope = TenantScope(move.tenant_id)
        status = await self._persist(scope, move)
        request = await request_service.get_by_id(scope, move.request_id)
        return RouteResult(status=status, department_id=request["department"])

    @activity.defn
    async def persist_move(self, move: MoveInput) -> str:
        return await self._persist(TenantScope(move.tenant_id), move)

    async def _persist(self, scope: TenantScope, move: MoveInput) -> str:
        try:
            return await request_service.apply_move(
                scope,
                request_service.Move(
                    request_id=move.request_id,
                    action=move.action,
                    action_key=move.action_key,
                    actor_id=move.actor_id,
                    body=move.body,
                    public=move.public,
                    assignee_id=move.assignee_id,
                    close_reason=move.close_reason,
                    duplicate_of=move.duplicate_of,
                ),
            )
        except lifecycle.TransitionRefused as refused:
            raise ApplicationError(str(refused), type="TransitionRefused", non_retryable=True) from None

    @activity.defn
    async def render_receipt(self, receipt: ReceiptInput) -> int:
        scope = TenantScope(receipt.tenant_id)
        context = await self._document_context(scope, receipt.request_id)
        with i18n.use_language(context["request"]["language"]):
            html = self.templates.get_template("receipt.html").render(
                **context, qr_code=qr_svg(context["status_url"])
            )
        pdf = await asyncio.get_running_loop().run_in_executor(self._pdf_pool, render_pdf, html)
        return await request_service.store_document(
            scope, receipt.request_id, RECEIPT, f"{context['request']['reference']}.pdf", pdf
        )

    @activity.defn
    async def notify_citizen(self, notice: NoticeInput) -> bool:
        """Mails the citizen; returns False when this message had already gone out."""
        scope = TenantScope(notice.tenant_id)
        context = await self._document_context(scope, notice.request_id)
        request = context["request"]
        with i18n.use_language(request["language"]):
            subject = self._subject(notice.kind, request["reference"])
            text = self.templates.get_template(f"mail_{notice.kind}.txt").render(**context, body=notice.body)
        attachments: tuple[Attachment, ...] = ()
        if notice.attach_receipt:
            document = await request_service.get_document(scope, notice.request_id, RECEIPT)
            if document:
                attachments = (Attachment(document["filename"], bytes(document["content"])),)
        mail = OutgoingMail(
            to=request["contact_email"],
            subject=subject,
            text=text,
            sender_name=context["tenant"].name,
            attachments=attachments,
            message_key=notice.key,
        )
        return await notifications.send_once(scope, notice.key, mail, self.mailer)

    @staticmethod
    def _subject(kind: str, reference: str) -> str:
        subjects = {
            "acknowledgement": i18n.gettext("We received your request %(reference)s", reference=reference),
            "update": i18n.gettext("News about your request %(reference)s", reference=reference),
            "closed": i18n.gettext("Your request %(reference)s is closed", reference=reference),
        }
        return subjects[kind]

    async def _document_context(self, scope: TenantScope, request_id: int) -> dict:
        tenant = await tenant_by_id(scope.tenant_id)
        request = await request_service.get_by_id(scope, request_id)
        if tenant is None or request is None:
            raise ApplicationError("request or tenant no longer exists", non_retryable=True)
        request = request_service.localise(request, request["language"])
        host = tenant_host(tenant, self.settings.base_domain)
        return {
            "tenant": tenant,
            "request": request,
            "status_label": lifecycle.STATUS_LABELS[request["status"]],
            "status_labels": lifecycle.STATUS_LABELS,
            "close_reason_label": lifecycle.CLOSE_REASONS.get(request["close_reason"], ""),
            "timeline": await request_service.timeline(scope, request_id, public_only=True),
            "status_url": self.settings.public_url(host, f"/status/{request['public_token']}"),
        }

    def all(self) -> list:
        return [self.route, self.persist_move, self.render_receipt, self.notify_citizen]
