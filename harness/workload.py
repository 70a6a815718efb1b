"""Start the workload's workflows: inputs from the config, ids unique per run."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio.client import Client

from harness.config.models import WorkloadConfig


def render_input(template: Any, index: int) -> Any:
    """Substitute `{i}` in every string of a (nested) input value."""
    if isinstance(template, str):
        return template.replace("{i}", str(index))
    if isinstance(template, list):
        return [render_input(v, index) for v in template]
    if isinstance(template, dict):
        return {k: render_input(v, index) for k, v in template.items()}
    return template


def workflow_id(workload: WorkloadConfig, run_tag: str, index: int) -> str:
    return f"{workload.id_prefix}-{run_tag}-{index}"


async def start_workflows(client: Client, workload: WorkloadConfig, task_queue: str, run_tag: str, count: int) -> list[str]:
    async def start(index: int) -> str:
        arg = render_input(workload.inputs[index % len(workload.inputs)], index)
        handle = await client.start_workflow(
            workload.workflow,
            *([] if arg is None else [arg]),
            id=workflow_id(workload, run_tag, index),
            task_queue=task_queue,
            execution_timeout=timedelta(seconds=workload.execution_timeout),
        )
        return handle.id

    return list(await asyncio.gather(*(start(i) for i in range(count))))
