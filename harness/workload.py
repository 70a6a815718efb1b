"""What a scenario starts and how: the config's workload (its workflow types by share) or the one type the scenario
names, inputs in turn, ids unique per run. Every kind that starts workflows goes through here."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.client import Client

from harness.config.models import ReadinessConfig, WorkloadConfig
from harness.config.scenarios import StartsItsOwnWorkflows
from harness.load.spec import WorkflowStart, pick_by_share


def _as_start(entry: WorkloadConfig, id_prefix: str | None) -> WorkflowStart:
    inputs = [] if entry.inputs == [None] else list(entry.inputs)
    return WorkflowStart(entry.workflow, inputs, entry.execution_timeout, entry.share, id_prefix or entry.id_prefix)


def starts_of(config: ReadinessConfig, spec: StartsItsOwnWorkflows) -> tuple[WorkflowStart, ...]:
    """The workflow types a scenario starts: the whole workload by share, the workload entry it names, or the type it
    names with its own `input`; ids prefixed with the scenario's id_prefix, else each entry's."""
    if spec.workflow is None:
        return tuple(_as_start(w, spec.id_prefix) for w in config.workload)
    named = config.workload_of(spec.workflow)
    if "input" in spec.model_fields_set or not named:
        entry = (named or config.workload)[0]
        inputs = [] if spec.input is None else [spec.input]
        return (WorkflowStart(spec.workflow, inputs, entry.execution_timeout, 1.0, spec.id_prefix or entry.id_prefix),)
    return (_as_start(named[0], spec.id_prefix),)


def pick(starts: tuple[WorkflowStart, ...], index: int) -> WorkflowStart:
    return starts[pick_by_share([s.share for s in starts], index)]


async def start_one(
    client: Client, start: WorkflowStart, workflow_id: str, task_queue: str, index: int, *, execution_timeout: bool = True,
    **options: Any,
) -> str:
    """Start one workflow; `options` go to `Client.start_workflow` (e.g. a versioning override)."""
    timeout = {"execution_timeout": timedelta(seconds=start.execution_timeout_s)} if execution_timeout else {}
    handle = await client.start_workflow(
        start.workflow, args=start.args(index), id=workflow_id, task_queue=task_queue, **timeout, **options
    )
    return handle.id
