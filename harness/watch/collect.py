"""Read a live namespace for `readiness watch`, read-only: list the workflows started in the window (visibility),
describe the open ones (is their workflow task failing?) and fetch a bounded sample of histories per workflow type.
Nothing here starts, signals or changes a workflow."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TypeVar

from temporalio.client import Client, WorkflowExecution, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode

from harness.errors import ConfigError, TargetError
from harness.journal import write_atomic
from harness.observe import histories
from harness.observe.activities import activities
from harness.replay.cluster import file_name
from harness.watch.model import StuckWorkflow, VisibleRun, WatchObservations
from harness.watch.stats import NOT_COMPLETED, choose_sample, failing_task

_STATUS = {"Running": "RUNNING", "Completed": "COMPLETED", "Failed": "FAILED", "TimedOut": "TIMED_OUT", "Terminated": "TERMINATED",
           "Canceled": "CANCELED", "ContinuedAsNew": "CONTINUED_AS_NEW"}
"""ExecutionStatus as visibility groups it -> as WorkflowExecutionStatus names it."""
CONCURRENCY = 8
"""Requests in flight at once against the cluster (describe and history fetches)."""
T = TypeVar("T")


def window_query(window_start: float) -> str:
    stamp = datetime.fromtimestamp(window_start, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"StartTime > '{stamp}'"


def key(run: VisibleRun) -> tuple[str, str]:
    return run.workflow_id, run.run_id


def visible_run(execution: WorkflowExecution) -> VisibleRun:
    return VisibleRun(
        workflow_id=execution.id, run_id=execution.run_id, workflow_type=execution.workflow_type,
        status=execution.status.name if execution.status is not None else "RUNNING",
        started_at=execution.start_time.timestamp(),
        closed_at=execution.close_time.timestamp() if execution.close_time else None,
    )


async def _bounded(calls: list[Callable[[], Awaitable[T]]]) -> list[T]:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(call: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await call()

    return list(await asyncio.gather(*(one(c) for c in calls)))


def _rpc_failure(what: str, exc: RPCError) -> TargetError:
    return TargetError(f"cannot {what}: {exc.status.name}: {exc.message}")


async def list_window(client: Client, query: str, limit: int) -> tuple[list[VisibleRun], int | None]:
    """The runs the query lists (at most `limit`) and how many it matches in all (None if the server cannot count)."""
    try:
        runs = [visible_run(e) async for e in client.list_workflows(query, limit=limit)]
    except RPCError as exc:
        if exc.status == RPCStatusCode.INVALID_ARGUMENT:
            raise ConfigError(f"the server rejected the visibility query {query!r}: {exc.message}", key_path="--since") from None
        raise _rpc_failure("list workflows", exc) from None
    try:
        matching = (await client.count_workflows(query)).count
    except RPCError:
        matching = None  # counting is optional on some visibility stores; the listing alone still holds
    return runs, matching


async def status_counts(client: Client, query: str, workflow_type: str) -> dict[str, int] | None:
    """Runs of one type per status over the whole window (None when the server cannot group counts)."""
    if "'" in workflow_type or "\\" in workflow_type:
        return None  # not expressible as a visibility string literal
    try:
        counted = await client.count_workflows(f"WorkflowType = '{workflow_type}' AND {query} GROUP BY ExecutionStatus")
    except RPCError:
        return None
    return {_STATUS.get(str(g.group_values[0]), str(g.group_values[0]).upper()): g.count for g in counted.groups if g.group_values}


async def pending_task_attempt(client: Client, run: VisibleRun) -> int | None:
    """Attempt of the run's pending workflow task (1 on a healthy workflow, 0 when none is pending); None when the
    run is gone."""
    try:
        description = await client.get_workflow_handle(run.workflow_id, run_id=run.run_id).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None
        raise _rpc_failure(f"describe {run.workflow_id}", exc) from None
    raw = description.raw_description
    return raw.pending_workflow_task.attempt if raw.HasField("pending_workflow_task") else 0


async def fetch_history(client: Client, run: VisibleRun) -> WorkflowHistory | None:
    try:
        return await client.get_workflow_handle(run.workflow_id, run_id=run.run_id).fetch_history()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None
        raise _rpc_failure(f"fetch the history of {run.workflow_id}", exc) from None


def write_history(history: WorkflowHistory, run: VisibleRun, out_dir: Path) -> str:
    """Write the history as Temporal JSON under histories/ (named by workflow and run id: a workflow id can have several
    runs in the window); return its path relative to the report folder."""
    relative = f"histories/{file_name(run.workflow_id, run.run_id)}"
    write_atomic(out_dir / relative, history.to_json())
    return relative


async def collect(
    client: Client, *, address: str, window_start: float, window_end: float, limit: int, sample: int, out_dir: Path
) -> tuple[WatchObservations, list[WorkflowHistory]]:
    """Everything the watch checks read, and the sampled histories. Histories of sampled runs that did not complete
    or are stuck are written under `out_dir/histories/` (the evidence links to them); the others stay in memory."""
    query = window_query(window_start)
    runs, matching = await list_window(client, query, limit)
    open_runs = [r for r in runs if r.status == "RUNNING"]
    described = await _bounded([lambda r=r: pending_task_attempt(client, r) for r in open_runs])
    attempts = dict(zip((key(r) for r in open_runs), described, strict=True))
    stuck_keys = {k for k, attempt in attempts.items() if attempt is not None and attempt > 1}
    by_type: dict[str, list[VisibleRun]] = defaultdict(list)
    for run in runs:
        by_type[run.workflow_type].append(run)
    chosen = [r for group in by_type.values() for r in choose_sample(group, stuck_keys, sample)]
    fetched = await _bounded([lambda r=r: fetch_history(client, r) for r in chosen])

    exact: dict[str, dict[str, int]] = {}
    if len(runs) >= limit:  # the list was cut: count each listed type over the whole window instead
        counted = await _bounded([lambda t=t: status_counts(client, query, t) for t in sorted(by_type)])
        exact = {t: c for t, c in zip(sorted(by_type), counted, strict=True) if c is not None}

    sampled, found, stuck = [], [], []
    for run, history in zip(chosen, fetched, strict=True):
        if history is None:
            continue
        failure = failing_task(history) if run.status == "RUNNING" else None
        is_stuck = key(run) in stuck_keys or failure is not None
        keep = is_stuck or run.status in NOT_COMPLETED
        record = histories.summarise(history, write_history(history, run, out_dir) if keep else None)
        sampled.append(record)
        found.extend(activities(history))
        if is_stuck:
            stuck.append(StuckWorkflow(
                workflow_id=run.workflow_id, run_id=run.run_id, workflow_type=run.workflow_type,
                task_attempt=attempts.get(key(run)),
                cause=failure.cause if failure else "unknown", message=failure.message if failure else "(no failed task in the history yet)",
                failing_since=failure.at if failure else None, history_file=record.history_file,
            ))
    sampled_keys = {key(r) for r in chosen}
    stuck += [  # stuck beyond the sample: known from the describe alone
        StuckWorkflow(r.workflow_id, r.run_id, r.workflow_type, attempts[key(r)], "unknown", "(history not sampled)")
        for r in open_runs if key(r) in stuck_keys and key(r) not in sampled_keys
    ]
    obs = WatchObservations(
        address=address, namespace=client.namespace, window_start=window_start, window_end=window_end, query=query, limit=limit,
        matching=matching, runs=tuple(runs), sample_per_type=sample, sampled=tuple(sampled), activities=tuple(found),
        stuck=tuple(stuck), open_described=sum(a is not None for a in attempts.values()),
        histories_gone=sum(h is None for h in fetched), exact_counts=exact,
    )
    return obs, [h for h in fetched if h is not None]
