"""An address stored before e-mail addresses were checked (`a@x,b@y`) cannot be mailed: its acknowledgement
fails at once as a stuck step the staff see, instead of retrying forever, and nobody is mailed."""

import pytest

from domain import timeline as request_timeline
from infra.settings import get_settings
from tests.support.factories import make_town
from tests.support.portal import PortalClient
from tests.support.services import eventually
from tests.workflows.lifecycle_helpers import commit_request, wait_status
from workflows.client import TemporalGateway
from workflows.service_request.contract import STEP_FAILED

pytestmark = pytest.mark.usefixtures("worker")


async def test_an_address_that_names_two_recipients_is_a_stuck_step_and_mails_nobody(app, inbox):
    town = await make_town()
    address = f"root@{town.slug}.example,evil@elsewhere.example"
    submitted = await commit_request(town, address, "Left from before")
    gateway = TemporalGateway(get_settings())
    assert await gateway.start_request(town.id, town.slug, submitted.request_id, submitted.reference)
    await wait_status(town, f"/status/{submitted.public_token}", "routed")

    async def stuck():
        async with town.scope.transaction():
            events = await request_timeline.timeline(town.scope, submitted.request_id, public_only=False)
        return [event for event in events if event.kind == STEP_FAILED]

    (line,) = await eventually(stuck)
    assert not line.public and "BadRecipient" in line.body
    assert not inbox.matching(lambda message: "elsewhere.example" in str(message["to"]))
    async with PortalClient(app, town.host) as clerk:
        await clerk.login(town.admin_email, town.password)
        page = (await clerk.get(f"/admin/requests/{submitted.reference}")).text
    assert "Stuck: this step's data could not be saved or sent" in page
