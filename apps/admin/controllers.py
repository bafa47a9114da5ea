"""The staff workspace: sign-in, the queue (HTMX filters), a request with its timeline, and actions.

Every action goes to the request's workflow as a Temporal Update; this code never writes a status itself.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Response, Template

from apps import files, sign_in_flow
from apps.admin import auth
from apps.admin.auth import current_staff
from apps.admin.auth import sign_in as sign_in_staff
from apps.pages import PathId, QueryId, page, row_id, scope_of, tenant_of
from domain import attachments, catalog, lifecycle, permissions, sign_in
from domain import queue as request_queue
from domain import requests as request_service
from domain import staff as staff_service
from domain import timeline as request_timeline
from domain.requests import RequestRecord
from domain.scope import TenantScope
from domain.staff import StaffMember
from infra import oidc, ratelimit, sessions
from infra.i18n import N_, current_language, gettext
from infra.mail import Mailer
from infra.pdf import qr_svg
from infra.ratelimit import TOO_MANY_SIGN_INS, RateLimiter
from infra.settings import Settings
from infra.storage import Storage
from workflows.client import ActionPending, TemporalGateway, TemporalUnavailable
from workflows.service_request import contract
from workflows.service_request.contract import (
    AssignCommand,
    CloseCommand,
    CommentCommand,
    NoteCommand,
    StartCommand,
    TransferCommand,
)

ENROL_LINK_ELSEWHERE = N_(
    "This link works only in the browser where you entered your password, within ten minutes. "
    "Sign in again to receive a new one."
)
PROVIDER_FAILED = N_("Signing in with your organisation's account did not work. Please try again.")
UNAVAILABLE = N_("The workflow service is not answering, so nothing was changed. Try again in a minute.")
SUCCESS = {
    "assign": N_("The request is assigned."),
    "start": N_("Work has started."),
    "hold": N_("The request is on hold; its clock is paused."),
    "wait": N_("Your question was sent to the citizen; the clock is paused until they reply."),
    "resolve": N_("The request is resolved."),
    "transfer": N_("The request was sent to the other department."),
    "comment": N_("Your update is posted."),
    "close": N_("The request is closed. The citizen will receive the receipt by email."),
}
UPDATES = {
    "assign": contract.ASSIGN,
    "start": contract.START_WORK,
    "hold": contract.HOLD,
    "wait": contract.WAIT_ON_CITIZEN,
    "resolve": contract.RESOLVE,
    "transfer": contract.TRANSFER,
    "comment": contract.COMMENT,
    "close": contract.CLOSE,
}


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true" and request.headers.get("hx-boosted") != "true"


class AuthController(Controller):
    path = "/admin"
    include_in_schema = False

    @get("/")
    async def home(self) -> Redirect:
        return Redirect("/admin/requests")

    @get("/login")
    async def login_form(self, request: Request, tenant_scope: NamedDependency[TenantScope]) -> Template:
        return await self._login_page(request)

    async def _login_page(
        self, request: Request, values: dict | None = None, errors: dict | None = None, status_code: int = 200
    ) -> Template:
        return page(
            request,
            "pages/login.html",
            status_code=status_code,
            values=values or {"email": ""},
            errors=errors or {},
            providers=await sign_in.providers(scope_of(request), "staff"),
        )

    @get("/oidc/{provider_id:int}")
    async def oidc_start(
        self,
        request: Request,
        provider_id: PathId,
        settings: NamedDependency[Settings],
        tenant_scope: NamedDependency[TenantScope],
    ) -> Redirect:
        row = await sign_in.provider(tenant_scope, provider_id, "staff")
        if row is None:
            raise NotFoundException()
        return await sign_in_flow.start(request, settings, row, "/admin/oidc/callback")

    @get("/oidc/callback")
    async def oidc_callback(
        self, request: Request, tenant_scope: NamedDependency[TenantScope]
    ) -> Template | Redirect:
        """Single sign-on: the town's provider vouches for the person; their groups decide the role."""
        try:
            row, identity = await sign_in_flow.finish(request, "staff")
            member = await sign_in.staff_member(tenant_scope, row, identity)
        except (oidc.OidcError, sign_in.SignInRefused) as error:
            message = str(error) if isinstance(error, sign_in.SignInRefused) else PROVIDER_FAILED
            return await self._login_page(request, errors={"email": message}, status_code=403)
        sign_in_staff(request, member, auth.PROVIDER)
        return Redirect("/admin/requests", status_code=303)

    @post("/login")
    async def login(
        self,
        request: Request,
        limiter: NamedDependency[RateLimiter],
        tenant_scope: NamedDependency[TenantScope],
        settings: NamedDependency[Settings],
        mailer: NamedDependency[Mailer],
    ) -> Template | Redirect:
        form = await request.form()
        email, password = str(form.get("email", "")).strip(), str(form.get("password", ""))
        tenant_id = tenant_of(request).id
        if not await sign_in_flow.may_try_password(limiter, request, str(tenant_id), email):
            errors = {"email": TOO_MANY_SIGN_INS}
            return await self._login_page(request, {"email": email}, errors, status_code=429)
        member = (
            await staff_service.authenticate(tenant_scope, email, password) if email and password else None
        )
        if member is None:
            errors = {
                "email": N_("This email and password do not match an active account of this municipality.")
            }
            return await self._login_page(request, {"email": email}, errors, status_code=422)
        await sign_in_flow.password_was_right(limiter, request, str(tenant_id), email)
        return await self._after_password(request, member, settings, mailer, limiter)

    async def _after_password(
        self, request: Request, member: StaffMember, settings: Settings, mailer: Mailer, limiter: RateLimiter
    ) -> Template | Redirect:
        """The password is right; the session holds only "half signed in" until the member has chosen
        their own password (if theirs was one-time) and given the code (if two-step sign-in applies)."""
        if member.must_change_password:
            pending = {auth.PENDING_PASSWORD: member.id, auth.PENDING_TENANT: tenant_of(request).id}
            sessions.begin(request, pending)
            return Redirect("/admin/login/password", status_code=303)
        if member.totp_enabled or tenant_of(request).require_two_factor:
            if problem := await auth.begin_second_step(request, member, settings, mailer, limiter):
                status_code = 429 if problem == auth.ENROL_LINK_SENT else 503
                return await self._login_page(
                    request, {"email": member.email}, {"email": problem}, status_code
                )
            return Redirect("/admin/login/code", status_code=303)
        sign_in_staff(request, member, auth.PASSWORD)
        return Redirect("/admin/requests", status_code=303)

    @get("/login/password")
    async def password_form(
        self, request: Request, tenant_scope: NamedDependency[TenantScope]
    ) -> Template | Redirect:
        if await auth.pending_member(request, auth.PENDING_PASSWORD) is None:
            return Redirect("/admin/login", status_code=303)
        return page(request, "pages/new_password.html")

    @post("/login/password")
    async def change_password(
        self,
        request: Request,
        tenant_scope: NamedDependency[TenantScope],
        settings: NamedDependency[Settings],
        mailer: NamedDependency[Mailer],
        limiter: NamedDependency[RateLimiter],
    ) -> Template | Redirect:
        member = await auth.pending_member(request, auth.PENDING_PASSWORD)
        if member is None:
            return Redirect("/admin/login", status_code=303)
        form = await request.form()
        password, confirmation = str(form.get("password", "")), str(form.get("confirmation", ""))
        if problem := await staff_service.new_password_problem(
            tenant_scope, member.id, password, confirmation
        ):
            return page(request, "pages/new_password.html", status_code=422, errors={"password": problem})
        await staff_service.change_password(tenant_scope, member.id, password)
        changed = await staff_service.get_active(tenant_scope, member.id)
        if changed is None:
            return Redirect("/admin/login", status_code=303)
        return await self._after_password(request, changed, settings, mailer, limiter)

    @get("/login/code")
    async def code_form(
        self, request: Request, tenant_scope: NamedDependency[TenantScope]
    ) -> Template | Redirect:
        member = await auth.pending_member(request)
        if member is None:
            return Redirect("/admin/login", status_code=303)
        return await self._code_page(request, member)

    @get("/login/enrol/{token:str}")
    async def enrolment_link(
        self, request: Request, token: FromPath[str], tenant_scope: NamedDependency[TenantScope]
    ) -> Template | Redirect:
        """The link mailed to a member who has yet to set up their app: it opens the enrolment page."""
        if await auth.pending_member(request) is None or not auth.confirm_enrolment_link(request, token):
            errors = {"email": ENROL_LINK_ELSEWHERE}
            return await self._login_page(request, errors=errors, status_code=403)
        return Redirect("/admin/login/code", status_code=303)

    @post("/login/code")
    async def check_code(
        self,
        request: Request,
        limiter: NamedDependency[RateLimiter],
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template | Redirect:
        member = await auth.pending_member(request)
        if member is None:
            return Redirect("/admin/login", status_code=303)
        if not member.totp_enabled and not auth.may_enrol(request):
            return Redirect("/admin/login/code", status_code=303)  # the mailed link comes first
        code = str((await request.form()).get("code", ""))
        who = f"{tenant_of(request).id}:{member.id}"
        if not await limiter.allow(ratelimit.CODE_PER_ACCOUNT, who):
            return await self._code_page(request, member, TOO_MANY_SIGN_INS, status_code=429)
        if refusal := await staff_service.accept_code(tenant_scope, member, code):
            return await self._code_page(request, member, refusal, status_code=422)
        await limiter.forgive(ratelimit.CODE_PER_ACCOUNT, who)
        if not member.totp_enabled:
            await staff_service.enable_two_factor(tenant_scope, member.id)
        sign_in_staff(request, member, auth.PASSWORD_AND_CODE)
        return Redirect("/admin/requests", status_code=303)

    async def _code_page(
        self, request: Request, member: StaffMember, error: str = "", status_code: int = 200
    ) -> Template:
        enrolling = not member.totp_enabled
        errors = {"code": error} if error else {}
        context: dict[str, Any] = {"errors": errors, "enrolling": enrolling, "email": member.email}
        if enrolling and auth.may_enrol(request):  # the secret, only to whoever opened the mailed link
            secret = await staff_service.secret_for_enrolment(scope_of(request), member.id)
            uri = staff_service.enrolment_uri(secret, member.email, tenant_of(request).name)
            context |= {"secret": secret, "qr_code": qr_svg(uri)}
        return page(request, "pages/code.html", status_code=status_code, **context)

    @post("/logout")
    async def logout(self, request: Request) -> Redirect:
        request.clear_session()
        return Redirect("/admin/login", status_code=303)


class QueueController(Controller):
    path = "/admin/requests"
    include_in_schema = False
    dependencies = {"member": Provide(current_staff)}

    @get("/")
    async def queue(
        self,
        request: Request,
        member: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
        status: FromQuery[str] = "open",
        department: FromQuery[str] = "",
        before: QueryId = None,
    ) -> Template:
        language = current_language.get()
        department_id = row_id(department)
        access = member.access
        wanted = request_queue.QueueFilter(
            status=status,
            department_id=department_id,
            before_id=before,
            only_departments=None if access.sees_all else tuple(access.departments),
        )
        size = request_queue.QUEUE_PAGE_SIZE
        rows = await request_queue.queue(tenant_scope, wanted, language, limit=size + 1)
        context: dict[str, Any] = {
            "member": member,
            "rows": rows[:size],
            "next_before": rows[size - 1].id if len(rows) > size else None,
            "filters": {"status": status, "department": department},
            "departments": [
                d for d in await catalog.departments(tenant_scope, language) if access.may_see(d["id"])
            ],
            "open_statuses": lifecycle.OPEN_STATUSES,
            # Translated once here, not once per row in the template.
            "status_names": {code: gettext(label) for code, label in lifecycle.STAFF_STATUS_LABELS.items()},
        }
        template = "partials/queue_table.html" if is_htmx(request) else "pages/queue.html"
        return page(request, template, **context)

    @get("/{reference:str}")
    async def detail(
        self,
        request: Request,
        member: NamedDependency[StaffMember],
        reference: FromPath[str],
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template:
        return await self._detail(request, member, reference)

    @get("/{reference:str}/photos/{photo_id:int}")
    async def photo(
        self,
        member: NamedDependency[StaffMember],
        reference: FromPath[str],
        photo_id: PathId,
        tenant_scope: NamedDependency[TenantScope],
        storage: NamedDependency[Storage],
    ) -> Response:
        item = await self._visible(tenant_scope, member, reference)
        return files.inline(await attachments.photo(tenant_scope, storage, item.id, photo_id))

    @get("/{reference:str}/photos/{photo_id:int}/thumbnail")
    async def photo_thumbnail(
        self,
        member: NamedDependency[StaffMember],
        reference: FromPath[str],
        photo_id: PathId,
        tenant_scope: NamedDependency[TenantScope],
        storage: NamedDependency[Storage],
    ) -> Response:
        item = await self._visible(tenant_scope, member, reference)
        return files.inline(await attachments.photo_thumbnail(tenant_scope, storage, item.id, photo_id))

    @staticmethod
    async def _visible(scope: TenantScope, member: StaffMember, reference: str) -> RequestRecord:
        """The request, if this member may see it; the same 404 whether it is elsewhere or not theirs."""
        item = await request_service.get_by_reference(scope, reference)
        if item is None or not member.access.may_see(item.department):
            raise NotFoundException()
        return item

    @post("/{reference:str}/{action:str}")
    async def act(
        self,
        request: Request,
        member: NamedDependency[StaffMember],
        reference: FromPath[str],
        action: FromPath[str],
        temporal: NamedDependency[TemporalGateway],
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template | Redirect:
        tenant = tenant_of(request)
        item = await request_service.get_by_reference(tenant_scope, reference)
        if item is None or action not in SUCCESS or not member.access.may_see(item.department):
            raise NotFoundException()
        if refusal := member.access.refusal(item.department):
            raise PermissionDeniedException(refusal)
        form = {key: str(value).strip() for key, value in (await request.form()).items()}
        command, errors = await self._command(tenant_scope, member, item, action, form)
        if command is not None:
            try:
                await temporal.act(tenant.slug, item.reference, UPDATES[action], command)
            except (lifecycle.TransitionRefused, ActionPending) as refused:
                errors = {action: str(refused)}
            except TemporalUnavailable:
                errors = {action: UNAVAILABLE}
        if errors:
            return await self._detail(request, member, reference, errors=errors, values=form, status_code=409)
        if is_htmx(request):
            return await self._detail(request, member, reference, flash=SUCCESS[action])
        return Redirect(f"/admin/requests/{item.reference}?done={action}", status_code=303)

    async def _command(
        self, scope: TenantScope, member: StaffMember, item: RequestRecord, action: str, form: dict[str, str]
    ) -> tuple[contract.StaffCommand | None, dict[str, str]]:
        access = member.access
        me: dict[str, Any] = {
            "actor_id": member.id,
            "actor_role": access.role,
            "actor_departments": sorted(access.departments),
        }
        actor = member.id
        if action == "assign":
            assignee_id = row_id(form.get("assignee_id", "")) or actor
            eligible = {person.id: person for person in await staff_service.assignees(scope, item.department)}
            if assignee_id not in eligible:
                return None, {"assign": permissions.NOT_ASSIGNABLE}
            assignee = await staff_service.access_of(scope, eligible[assignee_id])
            return AssignCommand(
                assignee_id=assignee_id,
                assignee_role=assignee.role,
                assignee_departments=sorted(assignee.departments),
                **me,
            ), {}
        if action == "start":
            return StartCommand(**me), {}
        if action in ("hold", "resolve"):
            return NoteCommand(body=form.get("body", "")[:5000], **me), {}
        if action == "wait":
            if not form.get("body"):
                return None, {"wait": N_("Write the question the citizen should answer.")}
            return NoteCommand(body=form["body"][:5000], **me), {}
        if action == "transfer":
            department_id = row_id(form.get("department_id", "")) or 0
            known = {d["id"] for d in await catalog.departments(scope, current_language.get())}
            if department_id not in known or department_id == item.department:
                return None, {"transfer": N_("Choose another department of this municipality.")}
            return TransferCommand(**me, department_id=department_id, body=form.get("body", "")[:5000]), {}
        if action == "comment":
            if not form.get("body"):
                return None, {"comment": lifecycle.EMPTY_UPDATE}
            return CommentCommand(**me, body=form["body"][:5000], public=form.get("public") == "on"), {}
        details = lifecycle.CloseDetails(form.get("reason", ""), form.get("duplicate_of", ""))
        if problem := details.problem():
            return None, {"close": problem}
        if details.reason == "duplicate":
            original = details.duplicate_of.strip().upper()
            if original == item.reference or not await request_service.reference_exists(scope, original):
                return None, {"close": N_("There is no other request with that reference.")}
        else:
            details = lifecycle.CloseDetails(details.reason)
        return CloseCommand(
            **me,
            reason=details.reason,
            body=form.get("body", "")[:5000],
            duplicate_of=details.duplicate_of,
        ), {}

    async def _detail(
        self,
        request: Request,
        member: StaffMember,
        reference: str,
        errors: dict | None = None,
        values: dict | None = None,
        flash: str = "",
        status_code: int = 200,
    ) -> Template:
        scope, language = scope_of(request), current_language.get()
        item = await request_service.get_by_reference(scope, reference)
        if item is None or not member.access.may_see(item.department):
            raise NotFoundException()
        done = request.query_params.get("done", "")
        context: dict[str, Any] = {
            "member": member,
            "can_act": member.access.may_act(item.department),
            "item": request_service.localise(item, language),
            "timeline": await request_timeline.timeline(scope, item.id, public_only=False),
            "staff": await staff_service.assignees(scope, item.department),
            "has_receipt": await attachments.has_document(scope, item.id, "receipt"),
            "photos": await attachments.photos(scope, item.id),
            "errors": errors or {},
            "values": values or {},
            "flash": flash or SUCCESS.get(done, ""),
            "terminal": item.status in lifecycle.TERMINAL,
            "departments": await catalog.departments(scope, language),
            "upcoming": request_service.next_deadlines(item, datetime.now(UTC)),
            "paused": item.status in lifecycle.PAUSED,
            "allowed": lifecycle.allowed_actions(item.status),
            "status_labels": lifecycle.STAFF_STATUS_LABELS,
        }
        template = "partials/request_panel.html" if is_htmx(request) else "pages/request.html"
        return page(request, template, status_code=status_code, **context)
