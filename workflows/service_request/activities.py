"""Side effects of the service-request workflow: database moves, receipts and mail.

Each activity is safe to retry: moves carry a key, documents replace their earlier copy, and mail goes
through an outbox row so a retried send never reaches the citizen twice.
"""

from __future__ import annotations

import functools
import sqlite3
from dataclasses import asdict
from pathlib import Path

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain import attachments as documents
from domain import citizens, followers, lifecycle, mail_texts, moves, notifications, routing, webhooks
from domain import requests as request_service
from domain import staff as staff_service
from domain import timeline as request_timeline
from domain.scope import TenantScope
from infra import i18n
from infra.i18n import N_
from infra.mail import Attachment, BadRecipient, Mailer, OutgoingMail
from infra.pdf import PdfRenderer, qr_png_data_uri
from infra.settings import Settings
from infra.storage import Storage, storage_from_settings
from infra.templating import document_environment
from tenants.resolve import tenant_by_id, town_url
from workflows.service_request.contract import REFUSED, STEP_FAILED
from workflows.service_request.models import (
    MoveInput,
    NoticeInput,
    ReceiptInput,
    RouteResult,
    StaffNoticeInput,
)
from workflows.webhooks import contract as webhooks_contract

TEMPLATES = Path(__file__).parent / "templates"
RECEIPT = "receipt"
CITIZEN_SUBJECTS = {
    "acknowledgement": N_("We received your request %(reference)s"),
    "update": N_("News about your request %(reference)s"),
    "question": N_("We need information about your request %(reference)s"),
    "waiting_reminder": N_("Reminder: we are waiting for your reply about %(reference)s"),
    "resolved": N_("Your request %(reference)s is resolved"),
    "closed": N_("Your request %(reference)s is closed"),
    "cancelled": N_("Your request %(reference)s is cancelled"),
}
# Followers (e.g. authors of duplicates) hear of progress, not of questions meant for the author.
FOLLOWER_NOTICES = frozenset({"update", "resolved", "closed"})
# What a citizen who wants closure mail only does not receive: progress, not questions or the outcome.
STEP_NOTICES = frozenset({"update", "resolved"})
# Citizen mails whose text quotes the public timeline (the receipt always does); the others skip reading it.
QUOTING_NOTICES = frozenset({"closed"})
STAFF_HEADLINES = {
    "assigned": N_("Request %(reference)s is assigned to you"),
    "assign_reminder": N_("Request %(reference)s is waiting to be assigned"),
    "assign_escalation": N_("Escalation: request %(reference)s is still not assigned"),
    "due_reminder": N_("Request %(reference)s is due soon"),
    "overdue": N_("Request %(reference)s is overdue"),
    "overdue_escalation": N_("Escalation: request %(reference)s is overdue"),
    "reopened": N_("Request %(reference)s was reopened by the citizen"),
    "citizen_replied": N_("The citizen replied about request %(reference)s"),
    "citizen_commented": N_("The citizen added a comment to request %(reference)s"),
}
# Reminders and escalations leave an internal line on the timeline, naming who was told.
TIMELINE_NOTICES = frozenset(
    {"assign_reminder", "assign_escalation", "due_reminder", "overdue", "overdue_escalation"}
)
# Data a retry cannot fix: what the database refuses for the data itself (text it cannot hold, such as NUL
# on PostgreSQL; a broken constraint), and an address stored before addresses were checked that names more
# than one recipient. The step stops at once and the request shows it to staff.
BAD_DATA = (
    asyncpg.DataError,
    asyncpg.IntegrityConstraintViolationError,
    sqlite3.DataError,
    sqlite3.IntegrityError,
    BadRecipient,
)


def bad_data_is_final(method):
    """Makes a refusal of the data a final failure, noted on the request's internal timeline."""

    @functools.wraps(method)
    async def run(self, job):
        try:
            return await method(self, job)
        except BAD_DATA as error:
            info = activity.info()
            scope = TenantScope(job.tenant_id)
            async with scope.transaction():  # the step's own transaction was rolled back
                await request_timeline.note(
                    scope,
                    job.request_id,
                    STEP_FAILED,
                    f"{STEP_FAILED}:{info.workflow_run_id}:{info.activity_id}",
                    f"{getattr(job, 'action', None) or getattr(job, 'kind', None) or info.activity_type}: "
                    f"{type(error).__name__}",
                )
            raise ApplicationError(
                f"the database refused the data: {type(error).__name__}", type=STEP_FAILED, non_retryable=True
            ) from None

    return run


class RequestActivities:
    def __init__(
        self, settings: Settings, mailer: Mailer, pdf_processes: int = 1, storage: Storage | None = None
    ) -> None:
        self.settings = settings
        self.mailer = mailer
        self.storage = storage or storage_from_settings(settings)
        self.templates = document_environment(TEMPLATES)
        # WeasyPrint is CPU-bound Python holding the GIL: in a thread it would stall the worker's event loop
        # (and every Update waiting on it), so PDFs render in their own processes.
        self.pdf = PdfRenderer(pdf_processes)

    @activity.defn
    @bad_data_is_final
    async def route(self, move: MoveInput) -> RouteResult:
        """Sends the request to its department (by rule or by type) and, when the type says so, a person."""
        scope = TenantScope(move.tenant_id)
        webhooks.start_recording()
        async with scope.transaction():
            routed = await routing.route(scope, move.request_id, move.action_key)
        await self._wake_dispatcher(scope)
        return RouteResult(
            status=routed.status,
            department_id=routed.department_id,
            assignee_id=routed.assignee_id,
            level=routed.level,
            routed_at=routed.routed_at,
        )

    @activity.defn
    @bad_data_is_final
    async def persist_move(self, move: MoveInput) -> str:
        return await self._persist(TenantScope(move.tenant_id), move)

    async def _persist(self, scope: TenantScope, move: MoveInput) -> str:
        webhooks.start_recording()
        try:
            # MoveInput is the domain's Move with the tenant added for the trip through Temporal.
            fields = {name: value for name, value in asdict(move).items() if name != "tenant_id"}
            async with scope.transaction():
                status = await moves.apply_move(scope, moves.Move(**fields))
        except lifecycle.TransitionRefused as refused:
            raise ApplicationError(str(refused), type=REFUSED, non_retryable=True) from None
        await self._wake_dispatcher(scope)
        return status

    async def _wake_dispatcher(self, scope: TenantScope) -> None:
        """After the commit: the move wrote webhook deliveries, so the town's dispatcher sends them now.
        Should the wake be lost, the reconciler's next pass makes it."""
        if webhooks.were_recorded():
            await webhooks_contract.wake(activity.client(), scope.tenant_id, self.settings.task_queue)

    @activity.defn
    @bad_data_is_final
    async def render_receipt(self, receipt: ReceiptInput) -> int:
        """The acknowledgement (on intake) or closure receipt, branded, in the citizen's language."""
        scope = TenantScope(receipt.tenant_id)
        async with scope.transaction():
            context = await self._document_context(scope, receipt.request_id)
            # Thumbnails embedded in the page: the PDF process fetches nothing.
            photos = await documents.embedded_thumbnails(scope, self.storage, receipt.request_id)
        with i18n.use_language(context["request"].language):
            html = self.templates.get_template("receipt.html").render(
                **context, kind=receipt.kind, qr_code=qr_png_data_uri(context["status_url"]), photos=photos
            )
        pdf = await self.pdf.render(html)
        suffix = "" if receipt.kind == RECEIPT else f"-{receipt.kind}"
        filename = f"{context['request'].reference}{suffix}.pdf"
        async with scope.transaction():
            return await documents.store_document(
                scope, self.storage, receipt.request_id, receipt.kind, filename, pdf
            )

    @activity.defn
    @bad_data_is_final
    async def notify_citizen(self, notice: NoticeInput) -> int:
        """Mails the citizen (and followers, for public progress); returns how many messages went out now."""
        scope = TenantScope(notice.tenant_id)
        # Reads in one transaction; each message then goes through the outbox, which commits on its own.
        async with scope.transaction():
            context = await self._document_context(
                scope, notice.request_id, timeline=notice.kind in QUOTING_NOTICES
            )
            request: request_service.RequestRecord = context["request"]
            attachments: tuple[Attachment, ...] = ()
            if notice.attach:
                document = await documents.get_document(scope, self.storage, notice.request_id, notice.attach)
                if document:
                    attachments = (Attachment(document.filename, document.content),)
            readers = [(request.contact_email, request.language, notice.key)]
            supporters: set[str] = set()
            if notice.kind in FOLLOWER_NOTICES:
                following = await followers.followers(scope, notice.request_id)
                readers += [
                    (follower["email"], follower["language"], f"{notice.key}:{follower['email']}")
                    for follower in following
                ]
                supporters = {follower["email"] for follower in following if follower["supporter"]}
            readers = await self._who_wants(scope, notice.kind, readers)
        sent = 0
        tenant = context["tenant"]
        for email, language, key in readers:
            with i18n.use_language(language):
                localised = {**context, "request": request_service.localise(request, language)}
                # The town's own subject and opening sentence where it wrote them, in this language.
                own = mail_texts.chosen(tenant.mail_texts, notice.kind, language)
                values = {
                    "reference": request.reference,
                    "name": request.contact_name,
                    "type": localised["request"].type_label,
                    "town": tenant.name,
                    "status_url": context["status_url"],
                }
                subject = i18n.gettext(CITIZEN_SUBJECTS[notice.kind], reference=request.reference)
                mail = OutgoingMail(
                    to=email,
                    subject=mail_texts.render(own["subject"], values) if "subject" in own else subject,
                    text=self.templates.get_template(f"mail_{notice.kind}.txt").render(
                        **localised,
                        body=notice.body,
                        follower=email != request.contact_email,
                        supporter=email in supporters,
                        own_lead=mail_texts.render(own["lead"], values) if "lead" in own else "",
                    ),
                    sender_name=context["tenant"].name,
                    # The receipt names the citizen who made the request: theirs alone.
                    attachments=attachments if email == request.contact_email else (),
                    message_key=key,
                )
            sent += await notifications.send_once(scope, key, mail, self.mailer)
        return sent

    @staticmethod
    async def _who_wants(scope: TenantScope, kind: str, readers: list[tuple[str, str, str]]):
        """Drops erased addresses and those who asked for closure mail only; uses each account's language."""
        wanted = []
        for email, language, key in readers:
            if not email:
                continue  # the citizen deleted their account
            preferences = await citizens.preferences(scope, email)
            if preferences and not preferences["notify_each_step"] and kind in STEP_NOTICES:
                continue
            wanted.append((email, preferences["language"] if preferences else language, key))
        return wanted

    @activity.defn
    @bad_data_is_final
    async def notify_staff(self, notice: StaffNoticeInput) -> int:
        """Mails the staff concerned and notes it on the internal timeline; never twice for one key."""
        scope = TenantScope(notice.tenant_id)
        async with scope.transaction():
            context = await self._document_context(scope, notice.request_id, timeline=False)
            request: request_service.RequestRecord = context["request"]
            people = await staff_service.notice_recipients(
                scope, notice.kind, request.department, request.assignee
            )
        admin_url = town_url(context["tenant"], self.settings, f"/admin/requests/{request.reference}")
        sent = 0
        for person in people:
            with i18n.use_language(person.language):
                localised = {
                    **context,
                    "request": request_service.localise(request, person.language),
                }
                headline = i18n.gettext(STAFF_HEADLINES[notice.kind], reference=request.reference)
                mail = OutgoingMail(
                    to=person.email,
                    subject=headline,
                    text=self.templates.get_template("mail_staff.txt").render(
                        **localised, headline=headline, body=notice.body, admin_url=admin_url, person=person
                    ),
                    sender_name=context["tenant"].name,
                    message_key=f"{notice.key}:{person.email}",
                )
            sent += await notifications.send_once(scope, f"{notice.key}:{person.email}", mail, self.mailer)
        if notice.kind in TIMELINE_NOTICES:
            async with scope.transaction():
                await request_timeline.note(
                    scope,
                    notice.request_id,
                    notice.kind,
                    notice.key,
                    ", ".join(person.name for person in people) or "-",
                )
        return sent

    async def _document_context(self, scope: TenantScope, request_id: int, timeline: bool = True) -> dict:
        tenant = await tenant_by_id(scope.tenant_id)
        request = await request_service.get_by_id(scope, request_id)
        if tenant is None or request is None:
            raise ApplicationError("request or tenant no longer exists", non_retryable=True)
        request = request_service.localise(request, request.language)
        return {
            "tenant": tenant,
            "request": request,
            "status_label": lifecycle.STATUS_LABELS[request.status],
            "status_labels": lifecycle.STATUS_LABELS,
            "auto_closed": lifecycle.AUTO_CLOSED,
            "close_reason_label": lifecycle.CLOSE_REASONS.get(request.close_reason, ""),
            "timeline": await request_timeline.timeline(scope, request_id, public_only=True)
            if timeline
            else [],
            "status_url": town_url(tenant, self.settings, f"/status/{request.public_token}"),
        }

    def all(self) -> list:
        return [self.route, self.persist_move, self.render_receipt, self.notify_citizen, self.notify_staff]
