"""signals-concurrent: send bursts of signals and updates to idle workflows at the same moment, so several land in
one workflow task, then read the end state (queries, result, history) and evaluate the scenario's invariants.

Per burst (a combination of messages in one order) `runs` workflows are started and left idle, waiting for
signals. With `delivery: concurrent` every message of a burst is sent from its own client task at once; with
`sequential` (the control case) each message waits until the workflow task after the previous one completed.
With `restart_during_burst` every worker is SIGKILLed right after the first message of the burst was accepted,
the rest are sent while no worker runs, and the workers are restarted: the new workers rebuild each workflow
from its history and receive the rest of the burst in one task (with the first message too, when the kill
caught its workflow task in flight).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import (
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError

from harness.config.scenarios import MessageSpec, SignalsConcurrentScenario
from harness.errors import ConfigError
from harness.invariants import callable_violations, load_callable
from harness.observe import histories
from harness.observe.messages import MessageOutcome, SignalRun, SignalsObservations, Violation, delivery, invariant_names, violated
from harness.observe.model import KillRecord
from harness.scenarios import load_common
from harness.scenarios.base import ScenarioContext
from harness.workload import render_input

POLL_INTERVAL_S = 0.2
FIRST_TASK_DONE = 4  # Started, WorkflowTaskScheduled, WorkflowTaskStarted, WorkflowTaskCompleted
MESSAGE_ERRORS = (RPCError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError, TimeoutError)


@dataclass(frozen=True)
class Burst:
    """One combination of messages, sent in one order."""

    combination: str
    order: tuple[MessageSpec, ...]

    @property
    def order_label(self) -> str:
        return ", ".join(m.label for m in self.order)


def bursts(scenario: SignalsConcurrentScenario) -> list[Burst]:
    """Each combination as declared, or (orders: all) each of its distinct permutations."""
    found = []
    for combination in scenario.combinations:
        label = " + ".join(m.label for m in combination)
        orders = itertools.permutations(combination) if scenario.orders == "all" else [tuple(combination)]
        seen: set[tuple[str, ...]] = set()
        for order in orders:
            key = tuple(m.model_dump_json() for m in order)
            if key not in seen:
                seen.add(key)
                found.append(Burst(label, tuple(order)))
    return found


@dataclass
class _Run:
    burst: Burst
    workflow_id: str
    outcomes: list[MessageOutcome] = field(default_factory=list)


async def _bounded(call: Awaitable[Any], timeout: float) -> Any:
    async with asyncio.timeout(timeout):
        return await call


async def _send(ctx: ScenarioContext, workflow_id: str, message: MessageSpec, timeout: float) -> MessageOutcome:
    handle = ctx.client.get_workflow_handle(workflow_id)
    try:
        if message.signal is not None:
            await _bounded(handle.signal(message.signal, args=message.args), timeout)
        else:
            await _bounded(handle.execute_update(message.update or "", args=message.args), timeout)
    except WorkflowUpdateFailedError as exc:
        return MessageOutcome(message.label, False, f"update failed: {exc.cause}")
    except MESSAGE_ERRORS as exc:
        return MessageOutcome(message.label, False, f"{type(exc).__name__}: {exc}"[:300])
    return MessageOutcome(message.label, True)


async def _is_idle(ctx: ScenarioContext, workflow_id: str) -> bool:
    """Closed, or done with its workflow tasks (at least the first one) and waiting for something to happen."""
    description = await ctx.client.get_workflow_handle(workflow_id).describe()
    if description.status != WorkflowExecutionStatus.RUNNING:
        return True
    return description.history_length >= FIRST_TASK_DONE and not description.raw_description.HasField("pending_workflow_task")


async def _wait_idle(ctx: ScenarioContext, workflow_ids: list[str], timeout: float) -> list[str]:
    """Wait until every workflow is idle; returns those that were not by the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    pending = list(workflow_ids)
    while pending:
        idle = await load_common.bounded(_is_idle(ctx, w) for w in pending)
        pending = [w for w, ok in zip(pending, idle, strict=True) if not ok]
        if not pending or loop.time() >= deadline:
            break
        await asyncio.sleep(POLL_INTERVAL_S)
    return pending


async def _start(ctx: ScenarioContext, scenario: SignalsConcurrentScenario, workflow_id: str, index: int) -> None:
    workload = ctx.plan.config.workload
    workflow, arg = (workload.workflow, workload.inputs[0]) if scenario.workflow is None else (scenario.workflow, scenario.input)
    arg = render_input(arg, index)
    await ctx.client.start_workflow(
        workflow, *([] if arg is None else [arg]), id=workflow_id, task_queue=ctx.plan.config.task_queue,
        execution_timeout=timedelta(seconds=workload.execution_timeout),
    )


async def _send_sequentially(ctx: ScenarioContext, run: _Run, timeout: float) -> None:
    for message in run.burst.order:
        run.outcomes.append(await _send(ctx, run.workflow_id, message, timeout))
        await _wait_idle(ctx, [run.workflow_id], timeout)


async def _send_at_once(ctx: ScenarioContext, runs: list[_Run], timeout: float, first: int = 0) -> None:
    """Every message (from index `first` on) of every run from its own task, started in order."""
    calls = [(run, _send(ctx, run.workflow_id, m, timeout)) for run in runs for m in run.burst.order[first:]]
    outcomes = await asyncio.gather(*(call for _, call in calls))
    for (run, _), outcome in zip(calls, outcomes, strict=True):
        run.outcomes.append(outcome)


async def _send_around_restart(ctx: ScenarioContext, runs: list[_Run], timeout: float) -> list[KillRecord]:
    """The first message of each run; SIGKILL every worker; the rest while none runs; restart. Updates cannot
    complete without a worker, so they are awaited after the restart."""
    firsts = await asyncio.gather(*(_send(ctx, run.workflow_id, run.burst.order[0], timeout) for run in runs))
    for run, outcome in zip(runs, firsts, strict=True):
        run.outcomes.append(outcome)
    rest: asyncio.Future | None = None
    restarted = False
    try:
        kills = await ctx.supervisor.kill_all("SIGKILL")
        rest = asyncio.ensure_future(_send_at_once(ctx, runs, timeout, first=1))
        await _wait_signals_recorded(ctx, runs, timeout)
        await ctx.supervisor.restart_all()
        restarted = True
        await rest
    finally:
        if not restarted:  # the scenarios after this one need workers, whatever happened here
            await ctx.supervisor.restart_all()
        if rest is not None and not rest.done():
            rest.cancel()
            await asyncio.gather(rest, return_exceptions=True)
    return kills


async def _wait_signals_recorded(ctx: ScenarioContext, runs: list[_Run], timeout: float) -> None:
    """Until each run's history holds every signal of its burst (sent while the workers are down)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    for run in runs:
        wanted = sum(m.signal is not None for m in run.burst.order)
        while loop.time() < deadline:
            try:
                if sum(delivery((await histories.fetch(ctx.client, run.workflow_id)).events).signals.values()) >= wanted:
                    break
            except RPCError:
                pass  # try again: the workers must be restarted whatever happens here
            await asyncio.sleep(POLL_INTERVAL_S)


async def _end_state(ctx: ScenarioContext, workflow_id: str, queries: list[str], timeout: float) -> tuple[str, Any, dict, list[Violation]]:
    """Workflow status, result (when completed, as plain JSON values), query results and the queries that failed."""
    handle = ctx.client.get_workflow_handle(workflow_id)
    status = (await handle.describe()).status
    results, failed = {}, []
    for query in queries:
        try:
            results[query] = await _bounded(handle.query(query), timeout)
        except (RPCError, WorkflowQueryFailedError, TimeoutError) as exc:
            failed.append(Violation(f"query {query}", f"{type(exc).__name__}: {exc}"[:300]))
    result = None
    if status == WorkflowExecutionStatus.COMPLETED:
        try:
            result = await _bounded(handle.result(), timeout)
        except (RPCError, WorkflowFailureError, TimeoutError) as exc:
            failed.append(Violation("result", f"{type(exc).__name__}: {exc}"[:300]))
    return (status.name if status else "UNKNOWN"), result, results, failed


def _check_callable(ctx: ScenarioContext, scenario: SignalsConcurrentScenario) -> Callable[[Mapping[str, Any]], Any] | None:
    if scenario.check is None:
        return None
    try:
        return load_callable(scenario.check, ctx.plan.app_path)
    except ConfigError as exc:
        file = str(ctx.plan.config_path.parent / ctx.plan.config.scenarios_dir / f"{scenario.name}.yaml")
        raise ConfigError(exc.detail, file=file, key_path="check") from None


async def run(ctx: ScenarioContext, scenario: SignalsConcurrentScenario) -> SignalsObservations:
    name, journal = scenario.name, ctx.journal
    check = _check_callable(ctx, scenario)
    prefix = scenario.id_prefix or ctx.plan.config.workload.id_prefix
    groups = [
        [_Run(burst, f"{prefix}-{ctx.run_tag}-{name}-b{b}-{r}") for r in range(scenario.runs)]
        for b, burst in enumerate(bursts(scenario))
    ]
    runs = [run for group in groups for run in group]
    ids = [run.workflow_id for run in runs]
    kills: list[KillRecord] = []
    try:
        with journal.step("start workflows and wait until idle", name, workflows=len(ids), bursts=len(groups)) as step:
            await load_common.bounded(_start(ctx, scenario, w, i) for i, w in enumerate(ids))
            not_idle = await _wait_idle(ctx, ids, scenario.timeout)
            step.detail["not_idle"] = len(not_idle)
        for group in groups:
            burst = group[0].burst
            with journal.step(f"send {burst.order_label} ({scenario.delivery})", name, runs=len(group)) as step:
                if scenario.delivery == "sequential":
                    await asyncio.gather(*(_send_sequentially(ctx, run, scenario.timeout) for run in group))
                elif scenario.restart_during_burst:
                    new_kills = await _send_around_restart(ctx, group, scenario.timeout)
                    kills += new_kills
                    step.detail["kills"] = [f"{k.worker} pid {k.pid} -> exit {k.returncode}" for k in new_kills]
                else:
                    await _send_at_once(ctx, group, scenario.timeout)
                step.detail["refused"] = sum(not o.accepted for run in group for o in run.outcomes)
        with journal.step("let the bursts settle", name, timeout_s=scenario.settle) as step:
            still_open = await load_common.wait_closed(ctx, ids, scenario.settle)
            step.detail["open"] = len(still_open)
        with journal.step("query the end state", name, queries=scenario.queries) as step:
            states = await load_common.bounded(_end_state(ctx, w, scenario.queries, scenario.timeout) for w in ids)
            step.detail["failed_queries"] = sum(len(s[3]) for s in states)
    finally:
        await load_common.terminate(ctx.client, ids, f"readiness scenario {name} ended")
    with journal.step("collect histories and evaluate invariants", name) as step:
        fetched = await load_common.bounded(histories.fetch(ctx.client, w) for w in ids)
        records = tuple(histories.summarise(h, histories.write(h, ctx.out_dir)) for h in fetched)
        observed = tuple(
            _observe(run, state, history.events, record.history_file, scenario, check)
            for run, state, history, record in zip(runs, states, fetched, records, strict=True)
        )
        step.detail.update(
            histories=len(records), co_delivered=sum(r.delivery.co_delivered for r in observed),
            violated=sum(bool(r.violations) for r in observed),
        )
    return SignalsObservations(
        scenario=name, delivery_mode=scenario.delivery, runs=observed, workflows=records,
        restart_during_burst=scenario.restart_during_burst, kills=tuple(kills), not_idle=tuple(not_idle),
    )


def _observe(
    run: _Run, state: tuple[str, Any, dict, list[Violation]], events: Sequence[HistoryEvent], history_file: str | None,
    scenario: SignalsConcurrentScenario, check: Callable[[Mapping[str, Any]], Any] | None,
) -> SignalRun:
    status, result, queries, failed = state
    found = delivery(events)
    names = invariant_names(run.outcomes, found, status, result, queries)
    problems = failed + violated(scenario.invariants, names)
    if check is not None:
        problems += [Violation(scenario.check or "", message) for message in callable_violations(check, names)]
    return SignalRun(
        combination=run.burst.combination, order=run.burst.order_label, workflow_id=run.workflow_id, workflow_status=status,
        messages=tuple(run.outcomes), delivery=found, violations=tuple(problems), history_file=history_file,
    )
