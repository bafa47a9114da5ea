"""Shared steps for lifecycle tests: submit, wait for a state, read mail and timelines."""

from __future__ import annotations

from domain import requests as request_service
from tests.support.factories import TestTown, valid_form
from tests.support.portal import PortalClient, status_path
from tests.support.services import eventually

# Only what a lifecycle test needs: everything else stays off (None).
QUIET = {
    "target_seconds": None,
    "assign_within_seconds": None,
    "escalate_after_seconds": None,
    "remind_before_seconds": None,
    "overdue_escalate_seconds": None,
    "citizen_remind_seconds": None,
    "citizen_close_seconds": None,
}


def level(**values) -> dict:
    return {**QUIET, **values}


async def submit(citizen: PortalClient, **form) -> str:
    return status_path(await citizen.submit(valid_form(**form)))


async def row_of(town: TestTown, path: str) -> dict:
    return await request_service.get_by_token(town.scope, path.rsplit("/", 1)[1])


async def wait_status(town: TestTown, path: str, status: str, within: float = 30) -> dict:
    async def check():
        row = await row_of(town, path)
        return row if row.status == status else None

    return await eventually(check, within=within)


def about(address: str, words: str):
    return lambda message: message["to"] == address and words in str(message["subject"])


def text_of(message) -> str:
    """The plain-text body, whether or not the message carries attachments."""
    return message.get_body(preferencelist=("plain",)).get_content()
