"""Replay histories against the app's workflow code with the SDK Replayer."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from harness.errors import ConfigError
from harness.observe.model import ReplayOutcome
from harness.worker_main import resolve_all


def load_workflows(import_paths: list[str], app_path: Path) -> list[type]:
    """Import the workflow classes the workers run, with the app's folder on sys.path."""
    if str(app_path) not in sys.path:
        sys.path.insert(0, str(app_path))
    try:
        return resolve_all(import_paths)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"cannot import workflow code: {exc}", key_path="workers[].python.workflows") from exc


async def replay_all(histories: Iterable[WorkflowHistory], workflows: list[type]) -> tuple[ReplayOutcome, ...]:
    """Replay each history; a failure is recorded as an outcome, never raised."""
    histories = list(histories)
    run_ids = {h.workflow_id: _run_id(h) for h in histories}
    replayer = Replayer(workflows=workflows)
    outcomes = []

    async def source():
        for history in histories:
            yield history

    async with replayer.workflow_replay_iterator(source()) as results:
        async for result in results:
            failure = result.replay_failure
            outcomes.append(
                ReplayOutcome(
                    workflow_id=result.history.workflow_id,
                    run_id=run_ids[result.history.workflow_id],
                    ok=failure is None,
                    error_class=type(failure).__name__ if failure else None,
                    error_message=str(failure) if failure else None,
                )
            )
    return tuple(outcomes)


def _run_id(history: WorkflowHistory) -> str:
    if not history.events:
        return ""
    return history.events[0].workflow_execution_started_event_attributes.original_execution_run_id
