"""A town administrator writes the subject and opening sentence of its mails to citizens, per event and
language: variables other than those listed are refused beside the field, a preview fills them in with an
example request, and saving is audited."""

from __future__ import annotations

from apps.web import create_app
from domain.tables import AuditEntry
from tenants.tables import Tenant
from tests.integration.test_team_settings import signed_in_admin
from tests.support.factories import make_town
from tests.support.services import offline_settings

OFFLINE = offline_settings()
PATH = "/admin/settings/mail"
EMPTY = {"subject_en": "", "lead_en": "", "subject_fr": "", "lead_fr": ""}


async def test_a_town_writes_its_own_words_with_the_listed_variables_only():
    town = await make_town()
    app = create_app(OFFLINE)
    async with await signed_in_admin(app, town) as admin:
        listing = await admin.get(PATH)
        assert listing.status_code == 200 and "Request received" in listing.text
        assert (await admin.get(f"{PATH}/no-such-mail")).status_code == 404
        assert (await admin.get(f"{PATH}/acknowledgement")).status_code == 200
        typed = {
            **EMPTY,
            "subject_en": "We have it: {reference} {email}",
            "lead_en": "Thanks {name} for the {type",
            "subject_fr": "Ligne\nsuivante",
        }
        refused = await admin.post(f"{PATH}/acknowledgement", typed)
        assert refused.status_code == 422
        assert refused.text.count("Use only the variables listed") == 2 * 2  # summary and field, twice
        assert "A subject is one line." in refused.text
        assert "{reference} {email}" in refused.text  # what was typed stays

        good = {
            **EMPTY,
            "subject_en": "{town} has your request {reference}",
            "lead_en": "Thanks {name}: {{ok}}",
        }
        preview = await admin.post(f"{PATH}/acknowledgement", {**good, "preview": "1"})
        assert preview.status_code == 200
        assert "Testville has your request SPR-2026-000123" in preview.text
        assert "Thanks Ned Flanders: {ok}" in preview.text
        assert "(the portal's subject)" in preview.text  # French left empty
        saved = await admin.post(f"{PATH}/acknowledgement", good)
        assert saved.headers["location"] == f"{PATH}/acknowledgement?done=saved"
        assert (
            "The municipality&#39;s own" in (await admin.get(PATH)).text
            or "own" in (await admin.get(PATH)).text
        )
    async with town.scope.transaction():
        row = (
            await Tenant.select(Tenant.mail_texts).where(Tenant.id == town.id).output(load_json=True).first()
        )
        entry = await town.scope.select(AuditEntry).where(AuditEntry.action == "mail.changed").first()
    assert row["mail_texts"] == {
        "acknowledgement": {"en": {"subject": good["subject_en"], "lead": good["lead_en"]}}
    }
    assert entry["subject"] == "acknowledgement" and entry["after"]["subject_en"] == good["subject_en"]

    async with await signed_in_admin(app, town) as admin:
        await admin.get(f"{PATH}/acknowledgement")
        assert (await admin.post(f"{PATH}/acknowledgement", EMPTY)).status_code == 303  # back to the portal's
    async with town.scope.transaction():
        row = (
            await Tenant.select(Tenant.mail_texts).where(Tenant.id == town.id).output(load_json=True).first()
        )
    assert row["mail_texts"] == {}
