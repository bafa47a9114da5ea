"""Workflows already running in production must keep replaying after every change of the workflow code."""

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from workflows.service_request.workflow import ServiceRequestWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


@pytest.mark.parametrize("history_file", HISTORIES, ids=[path.stem for path in HISTORIES])
async def test_saved_histories_replay_on_the_current_code(history_file):
    history = WorkflowHistory.from_json(history_file.stem, history_file.read_text())
    result = await Replayer(workflows=[ServiceRequestWorkflow]).replay_workflow(
        history, raise_on_replay_failure=False
    )
    assert result.replay_failure is None, result.replay_failure


def test_there_are_histories_to_replay():
    assert len(HISTORIES) >= 2
