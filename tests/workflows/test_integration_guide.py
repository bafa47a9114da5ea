"""The integration guide's examples work as written: every `sh` block of docs/integration.md runs, in
order, in one bash with curl and jq, against the portal as a real web process with the worker behind it."""

from __future__ import annotations

import asyncio
import os
import re

import pytest

from domain import api_keys, webhooks
from domain import requests as request_service
from domain.tables import RequestType
from infra import outbound
from infra.settings import PROJECT_ROOT, get_settings
from tests.support.factories import make_town
from tests.support.services import PATIENCE, eventually
from tests.workflows.lifecycle_helpers import about, text_of

pytestmark = pytest.mark.usefixtures("worker")
GUIDE = PROJECT_ROOT / "docs" / "integration.md"


def guide_script() -> str:
    blocks = re.findall(r"```sh\n(.*?)```", GUIDE.read_text(), flags=re.S)
    assert len(blocks) >= 10, "the guide lost its examples"
    return "set -euo pipefail\n" + "\n".join(blocks)


async def test_every_example_of_the_integration_guide_runs_and_does_what_it_says(web_server, inbox):
    town = await make_town("Capitol")
    allowed = outbound.networks(get_settings().outbound_allowed_networks)
    async with town.scope.transaction():
        await town.scope.update(RequestType, {RequestType.send_to_maintenance: True}).where(
            RequestType.code == "pothole"
        )
        # A receiver that is not there: the deliveries stay pending, which the examples list and redeliver.
        await webhooks.create_subscription(
            town.scope, "Works", "http://127.0.0.1:9/hooks", list(webhooks.EVENTS), allowed
        )
        _, submit_key = await api_keys.create(town.scope, "Kiosk", [api_keys.SUBMIT], "test")
        _, work_order_key = await api_keys.create(town.scope, "Works", [api_keys.WORK_ORDERS], "test")
    shell = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        guide_script(),
        env={
            **os.environ,
            "PORTAL": f"http://{town.host}:{web_server}",
            "SUBMIT_KEY": submit_key,
            "WORK_ORDER_KEY": work_order_key,
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(shell.communicate(), PATIENCE)
    output = out.decode()
    assert shell.returncode == 0, f"{output}\n{err.decode()}"

    reference = re.search(rf"Made ({town.prefix}-\d{{4}}-\d{{6}})", output).group(1)
    assert "pothole" in output.split("Made")[0]  # the services list
    assert "<service_request_id>" + reference in output  # the XML of one request
    assert "\n404\n" in output and "\n409\n" in output, output  # the errors the guide shows
    async with town.scope.transaction():
        record = await request_service.get_by_reference(town.scope, reference)
    assert record.status == "closed" and record.work_order == "WO-2026-4471"
    assert record.contact_email == "marge@example.com"
    mail = await inbox.wait_for(about("marge@example.com", "News about your request"))
    assert "A crew is booked for Tuesday morning." in text_of(mail)
    receipt = await inbox.wait_for(about("marge@example.com", "is closed"))
    assert [part.get_filename() for part in receipt.iter_attachments()] == [f"{reference}.pdf"]
    assert "request.closed pending" in output or "request.closed failed" in output  # the deliveries list
    assert output.rstrip().endswith('{"state":"pending"}')  # the redelivery the guide ends with

    async def redelivered():
        async with town.scope.transaction():
            subscriptions = await webhooks.subscriptions(town.scope)
            found = await webhooks.deliveries(town.scope, subscriptions[0].id)
        return [item for item in found if item.attempts >= 1]

    assert await eventually(redelivered)
