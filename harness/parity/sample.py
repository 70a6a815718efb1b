"""Sample one environment for `readiness parity`, read-only: list the workflows started in the window (visibility),
fetch their histories (at most the limit), build their effective definitions, and describe the task queues (who
polls them). Nothing here starts, signals or changes anything."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from pathlib import Path

from temporalio.api.enums.v1 import TaskQueueKind, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError

from harness.errors import TargetError
from harness.observe import histories
from harness.observe.definitions import definitions
from harness.parity.compare import EnvironmentSample, TaskQueueView
from harness.watch.collect import fetch_history, list_window, window_query

CONCURRENCY = 8
"""Requests in flight at once against one cluster."""


async def _fetch_all(client: Client, runs: list) -> list[WorkflowHistory]:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(run) -> WorkflowHistory | None:
        async with gate:
            return await fetch_history(client, run)

    return [h for h in await asyncio.gather(*(one(r) for r in runs)) if h is not None]


async def _pollers(client: Client, task_queue: str, kind: int) -> tuple[str, ...]:
    request = DescribeTaskQueueRequest(
        namespace=client.namespace, task_queue=TaskQueue(name=task_queue, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
        task_queue_type=kind,
    )
    try:
        response = await client.workflow_service.describe_task_queue(request)
    except RPCError as exc:
        raise TargetError(f"cannot describe task queue {task_queue}: {exc.status.name}: {exc.message}") from None
    return tuple(sorted({p.identity for p in response.pollers}))


async def describe_task_queues(client: Client, names: Iterable[str]) -> tuple[TaskQueueView, ...]:
    views = []
    for name in sorted(set(names)):
        workflow = await _pollers(client, name, TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW)
        activity = await _pollers(client, name, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY)
        views.append(TaskQueueView(name=name, workflow_pollers=workflow, activity_pollers=activity))
    return tuple(views)


async def sample(
    client: Client, *, profile: str, address: str, since_s: float, limit: int, task_queues: Iterable[str], out_dir: Path
) -> EnvironmentSample:
    """The environment's sample. Its histories are written under `out_dir/histories/<profile>/` (replayable evidence);
    the task queues described are `task_queues` (the config's) and every one the histories name."""
    query = window_query(time.time() - since_s)
    runs, matching = await list_window(client, query, limit)
    fetched = await _fetch_all(client, runs)
    for history in fetched:
        histories.write(history, out_dir, f"histories/{profile}")
    defs = definitions(fetched)
    seen_queues = {q for w in defs.workflow_types for q in w.task_queues} | {v.task_queue for a in defs.activity_types for v in a.variants}
    return EnvironmentSample(
        profile=profile, address=address, namespace=client.namespace, query=query, listed=len(runs), matching=matching,
        definitions=defs, task_queues=await describe_task_queues(client, {*task_queues, *seen_queues}),
    )
