"""The town administrator's words in the mails citizens receive: a subject and an opening sentence per
event and language, with the variables listed and a preview. Plain forms: they work without JavaScript."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from apps.admin.settings import TOWN_ADMIN_ONLY, actor_of
from apps.pages import page, tenant_of
from domain import mail_texts
from domain.scope import TenantScope
from domain.staff import StaffMember
from infra.i18n import N_

PATH = "/admin/settings/mail"
SAVED = N_("Saved: the next mails of this kind use these words.")


class MailTextsController(Controller):
    path = PATH
    include_in_schema = False
    dependencies = TOWN_ADMIN_ONLY

    @get("/")
    async def events(
        self,
        request: Request,
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template:
        texts = await mail_texts.current(tenant_scope)
        return page(request, "pages/mail_texts.html", member=admin, events=mail_texts.EVENTS, texts=texts)

    async def _event_page(
        self,
        request: Request,
        admin: StaffMember,
        event: FromPath[str],
        values: dict[str, str],
        errors: dict[str, str] | None = None,
        preview: dict | None = None,
        status_code: int = 200,
    ) -> Template:
        return page(
            request,
            "pages/mail_text.html",
            status_code=status_code,
            member=admin,
            event=event,
            event_label=mail_texts.EVENTS[event],
            variables=mail_texts.VARIABLES,
            values=values,
            errors=errors or {},
            preview=preview,
            done=SAVED if request.query_params.get("done") == "saved" else "",
        )

    @get("/{event:str}")
    async def show(
        self,
        request: Request,
        event: FromPath[str],
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template:
        if event not in mail_texts.EVENTS:
            raise NotFoundException()
        texts = await mail_texts.current(tenant_scope)
        values = {
            f"{field}_{language}": mail_texts.chosen(texts, event, language).get(field, "")
            for language in tenant_of(request).languages
            for field in mail_texts.FIELDS
        }
        return await self._event_page(request, admin, event, values)

    @post("/{event:str}")
    async def save(
        self,
        request: Request,
        event: FromPath[str],
        admin: NamedDependency[StaffMember],
        tenant_scope: NamedDependency[TenantScope],
    ) -> Template | Redirect:
        if event not in mail_texts.EVENTS:
            raise NotFoundException()
        form = await request.form()
        tenant = tenant_of(request)
        values = {
            f"{field}_{language}": str(form.get(f"{field}_{language}", "")).strip()
            for language in tenant.languages
            for field in mail_texts.FIELDS
        }
        errors = {
            name: problem
            for name, text in values.items()
            if (problem := mail_texts.problem(name.rsplit("_", 1)[0], text))
        }
        if errors:
            return await self._event_page(request, admin, event, values, errors, status_code=422)
        if form.get("preview"):
            sample = {**mail_texts.SAMPLE, "town": tenant.name}
            preview = {
                language: {
                    name: mail_texts.render(values[f"{name}_{language}"], sample)
                    for name in mail_texts.FIELDS
                }
                for language in tenant.languages
            }
            return await self._event_page(request, admin, event, values, preview=preview)
        typed = {
            language: {field: values[f"{field}_{language}"] for field in mail_texts.FIELDS}
            for language in tenant.languages
        }
        await mail_texts.save(tenant_scope, actor_of(admin), event, typed)
        request.app.state.tenant_resolver.forget()
        return Redirect(f"{PATH}/{event}?done=saved", status_code=303)
