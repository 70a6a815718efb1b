"""The steps scenarios are made of, written once: poll until, start the scenario's own workflows, kill every worker
and restart it, collect histories, read a workflow's end state, replay, record a metric window, terminate what is
left open. Every wait here is bounded; every kill is followed by a restart, whatever happened in between."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, TypeVar

from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHistory,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
)
from temporalio.service import RPCError

from harness import replay, workload
from harness.config.models import WorkerConfig
from harness.config.scenarios import StartsItsOwnWorkflows
from harness.environment import Environment
from harness.observe import histories
from harness.observe.model import KillRecord, LiveReplay, ReplayOutcome, WorkflowRecord
from harness.replay.explain import explain
from harness.scenarios.base import ScenarioContext
from harness.workers import WorkerSupervisor

T = TypeVar("T")

POLL_INTERVAL_S = 0.5
"""How often server state is polled while a scenario waits for it."""
QUICK_POLL_S = 0.2
"""For the waits a scenario repeats many times (every burst, every timeline step) or that start its clock."""
DRAIN_POLL_S = 1.0
"""Waiting for every started workflow to close describes each open one: the costliest poll, once a second."""
CONCURRENT_CALLS = 32
FIRST_TASK_DONE = 4  # Started, WorkflowTaskScheduled, WorkflowTaskStarted, WorkflowTask{Completed|Failed}
RPC_TIMEOUT = timedelta(seconds=10)

WORKERS_KILLED = ("pollers", "worker_down")
"""Alert categories (harness.alerts.catalog.CATEGORIES) that should fire when every worker is gone."""
ACTIVITIES_FAILING = ("activity_failures",)
WORKFLOWS_FAILING = ("workflow_failures",)


async def poll_until(
    probe: Callable[[], Awaitable[T]], done: Callable[[T], bool], *, timeout: float, interval: float = POLL_INTERVAL_S
) -> T:
    """Call `probe` until `done(result)` or `timeout` passes, and return the last result (the caller judges a result
    that is not done: the deadline passed)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await probe()
        if done(result) or loop.time() >= deadline:
            return result
        await asyncio.sleep(interval)


async def repeat_every(interval: float, action: Callable[[], Awaitable[Any]], skip: tuple[type[Exception], ...] = ()) -> None:
    """Run `action` every `interval` seconds until cancelled; a failure of one of the `skip` types is skipped, not fatal."""
    while True:
        with contextlib.suppress(*skip):
            await action()
        await asyncio.sleep(interval)


async def bounded(calls: Iterable[Awaitable[T]], limit: int = CONCURRENT_CALLS) -> list[T]:
    """Await every call, at most `limit` at a time (a scenario may touch hundreds of workflows)."""
    semaphore = asyncio.Semaphore(limit)

    async def one(call: Awaitable[T]) -> T:
        async with semaphore:
            return await call

    return list(await asyncio.gather(*(one(c) for c in calls)))


async def open_workflows(client: Client, ids: Iterable[str]) -> list[str]:
    """The ids of those still running."""
    descriptions = await bounded(client.get_workflow_handle(w).describe() for w in ids)
    return [d.id for d in descriptions if d.status == WorkflowExecutionStatus.RUNNING]


async def wait_closed(ctx: ScenarioContext, ids: list[str], timeout: float, *, client: Client | None = None) -> list[str]:
    """Wait until every workflow has closed or `timeout` passes; returns the ones still open."""
    client = client or ctx.client
    still_open = list(ids)

    async def probe() -> list[str]:
        still_open[:] = await open_workflows(client, still_open) if still_open else []
        return still_open

    return list(await poll_until(probe, lambda left: not left, timeout=timeout, interval=DRAIN_POLL_S))


async def describe_all(ctx: ScenarioContext, workflow_ids: list[str], client: Client | None = None) -> list[WorkflowExecutionDescription]:
    return await bounded((client or ctx.client).get_workflow_handle(w).describe() for w in workflow_ids)


async def wait_mid_flight(ctx: ScenarioContext, ids: list[str], timeout: float, *, client: Client | None = None) -> list[str]:
    """Wait until every workflow has finished its first workflow task; return those still running."""
    descriptions = await poll_until(
        lambda: describe_all(ctx, ids, client), lambda found: all(d.history_length >= FIRST_TASK_DONE for d in found), timeout=timeout
    )
    return [d.id for d in descriptions if d.status == WorkflowExecutionStatus.RUNNING and d.history_length >= FIRST_TASK_DONE]


async def _is_stuck(ctx: ScenarioContext, workflow_id: str, attempt: int) -> bool:
    """Stuck: its workflow task keeps failing on a live worker. A non-determinism failure cannot heal by
    retrying; any other failure counts once it has repeated (attempt 3 = two failures in a row)."""
    history = await histories.fetch(ctx.client, workflow_id)
    task_events = (EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED)
    last = next((e for e in reversed(history.events) if e.event_type in task_events), None)
    if last is None or last.event_type != EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
        return False
    cause = last.workflow_task_failed_event_attributes.cause
    return cause == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR or attempt >= 3


async def _drain_state(ctx: ScenarioContext, ids: list[str]) -> dict:
    """The open workflows, and which of them are stuck (only looked at once every open one is retrying its task)."""
    attempts = {
        d.id: d.raw_description.pending_workflow_task.attempt
        for d in await describe_all(ctx, ids)
        if d.status == WorkflowExecutionStatus.RUNNING
    }
    retrying = [w for w, attempt in attempts.items() if attempt >= 2]
    stuck = [w for w in retrying if await _is_stuck(ctx, w, attempts[w])] if len(retrying) == len(attempts) else []
    return {"open": list(attempts), "stuck": stuck, "deadline_hit": len(stuck) < len(attempts)}


async def drain(ctx: ScenarioContext, ids: list[str], timeout: float) -> dict:
    """Wait for every workflow to close; stop early when all open ones are stuck failing workflow tasks."""
    return await poll_until(lambda: _drain_state(ctx, ids), lambda state: not state["deadline_hit"], timeout=timeout)


async def terminate(client: Client, ids: Iterable[str], reason: str) -> None:
    """End workflows a scenario leaves open, so nothing keeps retrying on a shared cluster after the run."""
    async def one(workflow_id: str) -> None:
        try:
            await client.get_workflow_handle(workflow_id).terminate(reason=reason)
        except RPCError:
            pass  # closed in the meantime

    await bounded(one(w) for w in ids)


async def start_own_workflows(
    ctx: ScenarioContext, spec: StartsItsOwnWorkflows, count: int, *, client: Client | None = None,
    ids: list[str] | None = None, execution_timeout: bool = True, tag: str = "", task_queue: str | None = None,
) -> list[str]:
    """Start `count` workflows of the spec's choice (default: the config's workload, its types by share and each
    type's inputs in turn), ids `prefix-run-scenario[tag]-i` unless given, on the config's task queue unless given."""
    config = ctx.plan.config
    starts = workload.starts_of(config, spec)
    ids = ids or [f"{workload.pick(starts, i).id_prefix}-{ctx.run_tag}-{spec.name}{tag}-{i}" for i in range(count)]
    return await bounded(
        workload.start_one(
            client or ctx.client, workload.pick(starts, i), w, task_queue or config.task_queue, i, execution_timeout=execution_timeout
        )
        for i, w in enumerate(ids)
    )


async def workers_on(
    ctx: ScenarioContext, environment: Environment, stack: contextlib.AsyncExitStack, scenario: str,
    workers: list[WorkerConfig] | None = None,
) -> WorkerSupervisor:
    """A second set of the config's workers (or `workers`) on another environment, started and confirmed polling;
    stopped when `stack` closes. They get what the run's workers get, pointed at `environment`."""
    first = ctx.plan.config.workers[0]
    base = {k: v for k, v in ctx.supervisor.worker_env(first).items() if k not in first.env}  # each worker's own env comes back per worker
    supervisor = await stack.enter_async_context(
        WorkerSupervisor(
            workers or ctx.plan.config.workers, client=environment.poller_client, task_queue=ctx.plan.config.task_queue,
            base_env=environment.worker_env(base), app_path=ctx.plan.app_path, log_dir=ctx.out_dir / "logs",
            run_id=f"{ctx.run_tag}-{scenario}",
        )
    )
    with ctx.journal.step(f"start workers on the {environment.target.kind} server", scenario) as step:
        step.detail["identities"] = [w.identity for w in await supervisor.start_all()]
    return supervisor


def kill_report(kills: Iterable[KillRecord]) -> list[str]:
    return [f"{k.worker} pid {k.pid} -> exit {k.returncode}" for k in kills]


@dataclass
class WorkersDown:
    """What `workers_down` did: the kills, then (once the block is left) the restarted workers' identities."""

    kills: list[KillRecord] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)


@contextlib.asynccontextmanager
async def workers_down(
    ctx: ScenarioContext, scenario: str, signal: str = "SIGKILL", *, fault: str | None = None,
    supervisor: WorkerSupervisor | None = None,
) -> AsyncIterator[WorkersDown]:
    """Send `signal` to every worker; the block runs while none runs; every worker is restarted when it is left,
    whatever happened (the scenarios after this one need them). `fault`: record the workers' metrics through the
    block as a fault window in which the worker-down alerts should fire."""
    supervisor = supervisor or ctx.supervisor
    down = WorkersDown()
    try:
        async with metric_window(ctx, scenario, "fault", fault, WORKERS_KILLED) if fault else contextlib.nullcontext():
            with ctx.journal.step(f"{signal} all workers", scenario) as step:
                down.kills = await supervisor.kill_all(signal)
                step.detail.update(kills=kill_report(down.kills), confirmed=all(k.confirmed for k in down.kills))
            yield down
    finally:
        with ctx.journal.step("restart workers", scenario) as step:
            down.restarted = [w.identity for w in await supervisor.restart_all()]
            step.detail["identities"] = down.restarted


async def fetch_histories(ctx: ScenarioContext, ids: Iterable[str], *, client: Client | None = None) -> list[WorkflowHistory]:
    return await bounded(histories.fetch(client or ctx.client, w) for w in ids)


def keep_histories(ctx: ScenarioContext, fetched: Iterable[WorkflowHistory]) -> tuple[WorkflowRecord, ...]:
    """Write each history into the report folder and summarise it (a workflow id's earlier runs get their run id
    in the file name)."""
    records, written = [], set()
    for history in fetched:
        record = histories.summarise(history)
        earlier = history.workflow_id in written
        written.add(history.workflow_id)
        records.append(replace(record, history_file=histories.write(history, ctx.out_dir, run_id=record.run_id if earlier else "")))
    return tuple(records)


async def collect_histories(
    ctx: ScenarioContext, ids: Iterable[str], *, client: Client | None = None
) -> tuple[list[WorkflowHistory], tuple[WorkflowRecord, ...]]:
    """Fetch every history, keep it as a file, and summarise it."""
    fetched = await fetch_histories(ctx, ids, client=client)
    return fetched, keep_histories(ctx, fetched)


def explain_stuck(fetched: Iterable[WorkflowHistory], records: Iterable[WorkflowRecord]) -> dict[str, dict]:
    """Workflow id -> how its history and the code diverged at its first workflow-task failure on non-determinism (it
    may be stuck there, or have recovered since), by harness.replay.explain. `records` are keep_histories(`fetched`),
    in order; of several runs of one workflow id, the first listed (the latest) explains it."""
    found: dict[str, dict] = {}
    for history, record in zip(fetched, records, strict=True):
        failure = next((f for f in record.task_failures if "NON_DETERMINISTIC" in f.cause), None)
        if failure and record.workflow_id not in found and (explanation := explain(history, failure.message)):
            found[record.workflow_id] = explanation.to_dict()
    return found


async def collect_families(
    ctx: ScenarioContext, ids: Iterable[str], *, client: Client | None = None
) -> tuple[dict[str, list[WorkflowHistory]], tuple[WorkflowRecord, ...]]:
    """Like collect_histories, with every started workflow's earlier runs and child workflows (histories.fetch_family):
    started workflow id -> its family (its latest run first), and a record per history kept, in the same order."""
    ids = list(ids)
    families = dict(zip(ids, await bounded(histories.fetch_family(client or ctx.client, w) for w in ids)))
    return families, keep_histories(ctx, [h for family in families.values() for h in family])


def family_of(families: dict[str, list[WorkflowHistory]]) -> dict[str, str]:
    """Child workflow id -> the started workflow whose family holds it (the checks' harness.checks.families); a child
    that is itself a started workflow stays its own."""
    return {h.workflow_id: started for started, family in families.items() for h in family if h.workflow_id not in families}


@dataclass(frozen=True)
class EndState:
    status: str
    result: Any
    """The workflow's result when it completed (as plain JSON values), else None."""
    queries: dict[str, Any]
    failures: tuple[tuple[str, str], ...]
    """(what: `query NAME` or `result`, why) for each query or result that could not be read."""


async def end_state(client: Client, workflow_id: str, queries: Iterable[str], timeout: float, *, skip_queries: bool = False) -> EndState:
    """Status, result and query answers of one workflow, each read within `timeout`."""
    handle = client.get_workflow_handle(workflow_id)
    status = (await handle.describe(rpc_timeout=RPC_TIMEOUT)).status
    answers: dict[str, Any] = {}
    failures: list[tuple[str, str]] = []
    for query in queries:
        if skip_queries:
            failures.append((f"query {query}", "not sent: the workflow was stuck"))
            continue
        try:
            async with asyncio.timeout(timeout):
                answers[query] = await handle.query(query, rpc_timeout=RPC_TIMEOUT)
        except (RPCError, WorkflowQueryFailedError, TimeoutError) as exc:
            failures.append((f"query {query}", f"{type(exc).__name__}: {exc}"[:300]))
    result = None
    if status == WorkflowExecutionStatus.COMPLETED:
        try:
            async with asyncio.timeout(timeout):
                result = await handle.result(rpc_timeout=RPC_TIMEOUT)
        except (RPCError, WorkflowFailureError, TimeoutError) as exc:
            failures.append(("result", f"{type(exc).__name__}: {exc}"[:300]))
    return EndState(status.name if status else "UNKNOWN", result, answers, tuple(failures))


def metric_window(
    ctx: ScenarioContext, scenario: str, phase: str, description: str, expects: tuple[str, ...] = (), *, follow_targets: bool = False
):
    """`async with` this around a baseline, fault, load or rollout phase to record the workers' metrics through it
    (it yields the window's label, or None when nothing records)."""
    if ctx.recorder is None:
        return contextlib.nullcontext()
    return ctx.recorder.window(scenario, phase, description, expects, follow_targets=follow_targets)


REPLAY_QUERY = "__stack_trace"
"""Built into every SDK's workers, so any closed workflow can be asked it."""


async def replay_on_workers(ctx: ScenarioContext, ids: Iterable[str]) -> tuple[LiveReplay, ...]:
    """Ask each closed workflow the built-in stack-trace query: a worker that does not have it cached (a restarted one
    has nothing cached) replays its whole history to answer, and fails with a non-determinism error if its code no
    longer matches the history."""

    async def ask(workflow_id: str) -> LiveReplay:
        try:
            await ctx.client.get_workflow_handle(workflow_id).query(REPLAY_QUERY, rpc_timeout=RPC_TIMEOUT)
            return LiveReplay(workflow_id)
        except (RPCError, WorkflowQueryFailedError, WorkflowQueryRejectedError) as exc:
            return LiveReplay(workflow_id, str(exc) or type(exc).__name__)

    return tuple(await bounded(ask(w) for w in ids))


async def replay_histories(ctx: ScenarioContext, name: str, records: tuple[WorkflowRecord, ...]) -> tuple[ReplayOutcome, ...]:
    """Replay the histories a scenario wrote against the Python workers' workflow code, in child processes that get
    a worker's environment; nothing to replay against when every worker is an external command."""
    python_workers = [w for w in ctx.plan.config.workers if w.python]
    with ctx.journal.step("replay histories", name) as step:
        outcomes = () if not python_workers else await replay.replay_files(
            [ctx.out_dir / r.history_file for r in records if r.history_file],  # every run and child: one file each
            sorted({p for w in python_workers for p in w.python.workflows}),
            env=ctx.supervisor.worker_env(python_workers[0]),
            cwd=ctx.plan.app_path,
            log_dir=ctx.out_dir / "logs" / f"replay-{name}",
            jobs=min(2, len(records)),
        )
        step.detail["failures"] = sum(not o.ok for o in outcomes)
    return outcomes
