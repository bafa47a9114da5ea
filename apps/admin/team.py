"""The town administrator's pages for departments, staff and the audit log, and the page where an invited
member accepts their invitation. Plain forms: each works without JavaScript."""

from __future__ import annotations

import logging
import smtplib

from litestar import Controller, Request, get, post
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from apps.admin import auth
from apps.admin.settings import TOWN_ADMIN_ONLY, actor_of
from apps.pages import PathId, QueryId, page, row_id, tenant_of, town_link
from domain import audit, catalog, team
from domain import staff as staff_service
from domain.permissions import ROLE_LABELS, ROLES
from domain.scope import TenantScope
from domain.staff import StaffMember
from infra.i18n import N_, current_language, gettext
from infra.mail import Mailer, OutgoingMail
from infra.settings import Settings

log = logging.getLogger(__name__)
NOT_SENT = N_(
    "The invitation is saved, but the e-mail could not be sent just now. Use “Send the invitation again” "
    "in a minute."
)
BAD_INVITATION = N_(
    "This invitation link has expired or was already used. Ask your administrator to send a new one."
)
DONE = {
    "invited": N_("The invitation is sent."),
    "sent-again": N_("A new invitation is sent; the earlier link no longer works."),
    "saved": N_("Your changes are saved."),
    "added": N_("The department is added."),
    "deactivated": N_("The account is deactivated; its sessions end at once."),
    "reactivated": N_("The account is active again."),
}


def _department_ids(form: FormMultiDict) -> list[int] | None:
    """The departments ticked in a form; None if one of them cannot name a row."""
    ids = [row_id(str(value)) for value in form.getall("departments", [])]
    return None if None in ids else sorted({number for number in ids if number is not None})


def _invitation_mail(request: Request, settings: Settings, name: str, email: str, token: str) -> OutgoingMail:
    link = town_link(request, settings, invitation_path(token))
    return invitation_mail(tenant_of(request).name, name, email, link)


def invitation_path(token: str) -> str:
    return f"/admin/invitation/{token}"


def invitation_mail(town: str, name: str, email: str, link: str) -> OutgoingMail:
    """Also the first administrator's, sent when the platform creates the town."""
    return OutgoingMail(
        to=email,
        subject=gettext("You are invited to %(town)s's service requests", town=town),
        text=gettext(
            "Hello %(name)s,\n\n%(town)s invites you to work on its service requests. To choose your "
            "password and sign in, open this link within seven days:\n%(link)s\n\nIf you did not expect "
            "this, ignore this message: nothing happens without the link.",
            name=name,
            town=town,
            link=link,
        ),
        sender_name=town,
    )


async def send_invitation(mailer: Mailer, mail: OutgoingMail) -> bool:
    try:
        await mailer.send(mail)
    except (OSError, smtplib.SMTPException) as error:
        log.warning("invitation not sent: %s", error)
        return False
    return True


class TeamController(Controller):
    path = "/admin/settings"
    include_in_schema = False
    dependencies = TOWN_ADMIN_ONLY

    # Departments

    @get("/departments")
    async def departments(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template:
        return await self._departments_page(request, admin, tenant_scope)

    async def _departments_page(
        self,
        request: Request,
        admin: StaffMember,
        scope: TenantScope,
        values: dict | None = None,
        errors: dict | None = None,
        status_code: int = 200,
    ) -> Template:
        return page(
            request,
            "pages/departments.html",
            status_code=status_code,
            member=admin,
            departments=await team.departments(scope, current_language.get()),
            values=values or {},
            errors=errors or {},
            done=DONE.get(request.query_params.get("done", ""), ""),
        )

    def _department_values(self, request: Request, form: FormMultiDict) -> tuple[dict, dict[str, str]]:
        others = tenant_of(request).languages[1:]
        email = str(form.get("email", "")).strip().lower()
        values = {"name": str(form.get("name", "")).strip(), "email": email}
        translations = {language: str(form.get(f"name_{language}", "")).strip() for language in others}
        values.update({f"name_{language}": text for language, text in translations.items()})
        return values, translations

    @post("/departments")
    async def add_department(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template | Redirect:
        values, translations = self._department_values(request, await request.form())
        if errors := await team.department_problems(tenant_scope, values["name"], values["email"]):
            return await self._departments_page(request, admin, tenant_scope, values, errors, 422)
        await team.add_department(
            tenant_scope, actor_of(admin), values["name"], values["email"], translations
        )
        return Redirect("/admin/settings/departments?done=added", status_code=303)

    async def _department(self, scope: TenantScope, department_id: int) -> team.DepartmentEntry:
        found = [
            entry
            for entry in await team.departments(scope, current_language.get())
            if entry.id == department_id
        ]
        if not found:
            raise NotFoundException()
        return found[0]

    @get("/departments/{department_id:int}")
    async def department(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        department_id: PathId,
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template:
        entry = await self._department(tenant_scope, department_id)
        values = {"name": entry.name, "email": entry.email}
        values |= {f"name_{language}": text for language, text in entry.translations.items()}
        return page(request, "pages/department.html", member=admin, department=entry, values=values)

    @post("/departments/{department_id:int}")
    async def change_department(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        department_id: PathId,
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template | Redirect:
        entry = await self._department(tenant_scope, department_id)
        values, translations = self._department_values(request, await request.form())
        if errors := await team.department_problems(tenant_scope, values["name"], values["email"], entry.id):
            return page(
                request,
                "pages/department.html",
                status_code=422,
                member=admin,
                department=entry,
                values=values,
                errors=errors,
            )
        await team.change_department(
            tenant_scope, actor_of(admin), entry, values["name"], values["email"], translations
        )
        return Redirect("/admin/settings/departments?done=saved", status_code=303)

    # Staff

    @get("/staff")
    async def staff(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template:
        return await self._staff_page(request, admin, tenant_scope)

    async def _staff_page(
        self,
        request: Request,
        admin: StaffMember,
        scope: TenantScope,
        values: dict | None = None,
        errors: dict | None = None,
        status_code: int = 200,
        notice: str = "",
    ) -> Template:
        departments = await catalog.departments(scope, current_language.get())
        return page(
            request,
            "pages/staff.html",
            status_code=status_code,
            member=admin,
            people=await team.members(scope),
            departments=departments,
            department_names={department["id"]: department["name"] for department in departments},
            roles=ROLES,
            role_labels=ROLE_LABELS,
            values=values or {"role": "agent", "departments": []},
            errors=errors or {},
            done=notice or DONE.get(request.query_params.get("done", ""), ""),
        )

    @post("/staff")
    async def invite(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
        settings: NamedDependency[Settings],
        mailer: NamedDependency[Mailer],
    ) -> Template | Redirect:
        form = await request.form()
        department_ids = _department_ids(form)
        name, role = str(form.get("name", "")).strip(), str(form.get("role", ""))
        email = str(form.get("email", "")).strip().lower()
        errors = await team.invitation_problems(tenant_scope, email, name, role, department_ids or [])
        if department_ids is None:
            errors["departments"] = team.UNKNOWN_DEPARTMENT
        if errors or department_ids is None:
            values = {"name": name, "email": email, "role": role, "departments": department_ids or []}
            return await self._staff_page(request, admin, tenant_scope, values, errors, 422)
        token = await team.invite(tenant_scope, actor_of(admin), email, name, role, department_ids)
        if not await send_invitation(mailer, _invitation_mail(request, settings, name, email, token)):
            return await self._staff_page(request, admin, tenant_scope, status_code=202, notice=NOT_SENT)
        return Redirect("/admin/settings/staff?done=invited", status_code=303)

    async def _person(self, scope: TenantScope, staff_id: int) -> team.TeamMember:
        person = await team.member(scope, staff_id)
        if person is None:
            raise NotFoundException()
        return person

    async def _person_page(
        self,
        request: Request,
        admin: StaffMember,
        scope: TenantScope,
        person: team.TeamMember,
        values: dict | None = None,
        errors: dict | None = None,
        status_code: int = 200,
    ) -> Template:
        return page(
            request,
            "pages/staff_member.html",
            status_code=status_code,
            member=admin,
            person=person,
            departments=await catalog.departments(scope, current_language.get()),
            roles=ROLES,
            role_labels=ROLE_LABELS,
            values=values or {"role": person.role, "departments": list(person.department_ids)},
            errors=errors or {},
        )

    @get("/staff/{staff_id:int}")
    async def person(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        staff_id: PathId,
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template:
        return await self._person_page(
            request, admin, tenant_scope, await self._person(tenant_scope, staff_id)
        )

    @post("/staff/{staff_id:int}")
    async def change_person(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        staff_id: PathId,
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template | Redirect:
        person = await self._person(tenant_scope, staff_id)
        form = await request.form()
        department_ids = _department_ids(form)
        role = str(form.get("role", ""))
        if department_ids is None:
            errors = {"departments": team.UNKNOWN_DEPARTMENT}
        else:
            errors = await team.change_problems(tenant_scope, actor_of(admin), person, role, department_ids)
        if errors or department_ids is None:
            values = {"role": role, "departments": department_ids or []}
            return await self._person_page(request, admin, tenant_scope, person, values, errors, 422)
        await team.change(tenant_scope, actor_of(admin), person, role, department_ids)
        return Redirect("/admin/settings/staff?done=saved", status_code=303)

    @post("/staff/{staff_id:int}/active")
    async def set_active(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        staff_id: PathId,
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template | Redirect:
        person = await self._person(tenant_scope, staff_id)
        active = (await request.form()).get("active") == "true"
        if refusal := await team.set_active(tenant_scope, actor_of(admin), person, active):
            errors = {"active": refusal}
            return await self._person_page(
                request, admin, tenant_scope, person, errors=errors, status_code=409
            )
        done = "reactivated" if active else "deactivated"
        return Redirect(f"/admin/settings/staff?done={done}", status_code=303)

    @post("/staff/{staff_id:int}/invitation")
    async def invite_again(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        staff_id: PathId,
        tenant_scope: NamedDependency[TenantScope],
        settings: NamedDependency[Settings],
        mailer: NamedDependency[Mailer],
    ) -> Template | Redirect:
        person = await self._person(tenant_scope, staff_id)
        token = await team.invite_again(tenant_scope, actor_of(admin), person.id)
        if token is None:
            return Redirect("/admin/settings/staff", status_code=303)  # joined meanwhile, or deactivated
        if not await send_invitation(
            mailer, _invitation_mail(request, settings, person.name, person.email, token)
        ):
            return await self._staff_page(request, admin, tenant_scope, status_code=202, notice=NOT_SENT)
        return Redirect("/admin/settings/staff?done=sent-again", status_code=303)

    # Audit log

    @get("/audit")
    async def audit_log(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
        older_than: QueryId = None,
    ) -> Template:
        entries = await audit.entries(tenant_scope, older_than)
        return page(
            request,
            "pages/audit.html",
            member=admin,
            entries=entries,
            action_labels=audit.ACTION_LABELS,
            field_label=audit.field_label,
            older=entries[-1].id if len(entries) == audit.PAGE_SIZE else None,
        )


def _expired(request: Request) -> Template:
    return page(request, "pages/invitation.html", status_code=410, invitation=None, problem=BAD_INVITATION)


class InvitationController(Controller):
    """No sign-in here: the link is the proof. GET only shows the form (mail scanners that fetch links do
    not use it up); the POST that sets the password does."""

    path = "/admin/invitation"
    include_in_schema = False

    @get("/{token:str}")
    async def show(
        self, request: Request, token: FromPath[str], tenant_scope: NamedDependency[TenantScope]
    ) -> Template:
        invitation = await team.invitation(tenant_scope, token)
        if invitation is None:
            return _expired(request)
        return page(request, "pages/invitation.html", invitation=invitation, token=token)

    @post("/{token:str}")
    async def accept(
        self, request: Request, token: FromPath[str], tenant_scope: NamedDependency[TenantScope]
    ) -> Template | Redirect:
        invitation = await team.invitation(tenant_scope, token)
        if invitation is None:
            return _expired(request)
        form = await request.form()
        password, confirmation = str(form.get("password", "")), str(form.get("confirmation", ""))
        if problem := staff_service.password_problem(password, confirmation):
            return page(
                request,
                "pages/invitation.html",
                status_code=422,
                invitation=invitation,
                token=token,
                errors={"password": problem},
            )
        staff_id = await team.accept(tenant_scope, token, password)
        member = await staff_service.get_active(tenant_scope, staff_id) if staff_id else None
        if member is None:
            return _expired(request)
        if tenant_of(request).require_two_factor:
            # The link came to the member's own mailbox, which is what the enrolment link proves.
            auth.begin_enrolment(request, member)
            return Redirect("/admin/login/code", status_code=303)
        auth.sign_in(request, member, auth.PASSWORD)
        return Redirect("/admin/requests", status_code=303)
