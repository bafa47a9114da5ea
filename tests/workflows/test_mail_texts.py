"""The town's own words reach the citizen's mail through the real worker and SMTP server, in the language
they were written for; another language keeps the portal's translated text."""

import pytest

from tenants.tables import Tenant
from tests.support.factories import make_town
from tests.support.portal import PortalClient
from tests.workflows.lifecycle_helpers import about, submit, text_of

pytestmark = pytest.mark.usefixtures("worker")


async def test_the_acknowledgement_uses_the_towns_subject_and_opening_in_its_language(app, inbox):
    town = await make_town()
    own = {
        "acknowledgement": {
            "en": {"subject": "{town} has it: {reference}", "lead": "Thank you {name}, your {type} is noted."}
        }
    }
    async with town.scope.transaction():
        await Tenant.update({Tenant.mail_texts: own}).where(Tenant.id == town.id)
    async with PortalClient(app, town.host) as citizen:
        await submit(citizen, contact_email="english@example.com")
    async with PortalClient(app, town.host) as citoyen:
        await citoyen.get("/lang/fr")
        await submit(citoyen, contact_email="francais@example.com")
    english = await inbox.wait_for(about("english@example.com", "Testville has it: TES-"))
    body = text_of(english)
    assert "Thank you Ned Flanders, your Pothole is noted." in body
    assert "received your request" not in body  # the opening it replaces
    assert "/status/" in body  # what always follows
    french = await inbox.wait_for(about("francais@example.com", "Nous avons reçu votre demande"))
    assert "Nid-de-poule" in text_of(french) and "Thank you" not in text_of(french)
