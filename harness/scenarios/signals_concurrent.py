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
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, field_validator
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowExecutionStatus, WorkflowHistory, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError

from harness import workload
from harness.checks import signals
from harness.checks.families import latest_runs
from harness.config.references import References
from harness.config.scenarios import MESSAGE_NAME, SIGNALS_RESERVED_NAMES, MessageSpec, StartsItsOwnWorkflows
from harness.config.types import Duration, ImportPath
from harness.errors import ConfigError
from harness.invariants import Expression, callable_violations, load_callable
from harness.observe import histories
from harness.observe.messages import (
    MessageOutcome,
    SignalRun,
    SignalsObservations,
    Violation,
    delivery,
    delivery_of_runs,
    invariant_names,
    violated,
)
from harness.observe.model import KillRecord
from harness.scenarios import steps
from harness.scenarios.base import ScenarioContext
from harness.scenarios.kind import ScenarioCheck, ScenarioKind

FIRST_TASK_DONE = 4  # Started, WorkflowTaskScheduled, WorkflowTaskStarted, WorkflowTaskCompleted
MESSAGE_ERRORS = (RPCError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError, TimeoutError)


class SignalsConcurrentScenario(StartsItsOwnWorkflows):
    """Bursts of signals and updates sent at once to idle workflows: the invariants must hold however they land."""

    kind: Literal["signals_concurrent"]
    combinations: list[Annotated[list[MessageSpec], Field(min_length=2)]] = Field(
        min_length=1, description="Bursts to send, e.g. `[[approve, cancel], [cancel, \"update:amend\"]]`."
    )
    orders: Literal["as_declared", "all"] = Field("as_declared", description="`all`: every distinct permutation of each burst.")
    runs: int = Field(5, ge=1, le=200, description="Workflows per burst and order.")
    delivery: Literal["concurrent", "sequential"] = Field(
        "concurrent", description="`sequential`: one message at a time, each after the previous one's workflow task completed."
    )
    restart_during_burst: bool = Field(False, description="SIGKILL every worker right after the first message of each burst, restart after the rest.")
    queries: list[Annotated[str, Field(pattern=MESSAGE_NAME)]] = Field(default_factory=list, description="Queries to call at the end.")
    invariants: list[Expression] = Field(default_factory=list, description="Expressions that must hold for every workflow.")
    check: ImportPath | None = Field(
        None, validate_default=True, description="module:function called with the names; returns True/None, False or messages."
    )
    settle: Duration = Field(10.0, gt=0, description="After the bursts, how long to wait for the workflows to close.")
    timeout: Duration = Field(30.0, gt=0, description="Deadline for a workflow to become idle, a message call, a query or a result.")

    @field_validator("restart_during_burst")
    @classmethod
    def _restart_needs_bursts(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("delivery") == "sequential":
            raise ValueError("a restart in the middle of a burst needs `delivery: concurrent`")
        if value and any(len(c) < 3 for c in info.data.get("combinations", [])):
            raise ValueError("a restart in the middle of a burst needs 3 or more messages per combination: one before the kill, "
                             "and at least two after it to land together")
        return value

    @field_validator("queries")
    @classmethod
    def _not_reserved(cls, value: list[str]) -> list[str]:
        clashing = sorted(set(value) & set(SIGNALS_RESERVED_NAMES))
        if clashing:
            raise ValueError(f"query names {', '.join(clashing)} clash with the names the scenario provides")
        return value

    @field_validator("check")
    @classmethod
    def _something_to_check(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and not info.data.get("invariants"):
            raise ValueError("give `invariants` or a `check` callable: without them nothing can be violated")
        return value


def validate(scenario: SignalsConcurrentScenario, refs: References) -> None:
    refs.callable("check", scenario.check)


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
    pending = list(workflow_ids)

    async def probe() -> list[str]:
        idle = await steps.bounded(_is_idle(ctx, w) for w in pending)
        pending[:] = [w for w, ok in zip(pending, idle, strict=True) if not ok]
        return pending

    return list(await steps.poll_until(probe, lambda left: not left, timeout=timeout, interval=steps.QUICK_POLL_S))


async def _start(ctx: ScenarioContext, scenario: SignalsConcurrentScenario, ids: list[str]) -> None:
    """Every run's workflow: the scenario's, or the config's first workload entry (a burst targets one workflow
    type: its signals and updates are that type's)."""
    if scenario.workflow is None:
        scenario = scenario.model_copy(update={"workflow": ctx.plan.config.workload[0].workflow})
    await steps.start_own_workflows(ctx, scenario, len(ids), ids=ids)


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


async def _send_around_restart(ctx: ScenarioContext, name: str, runs: list[_Run], timeout: float) -> list[KillRecord]:
    """The first message of each run; SIGKILL every worker; the rest while none runs; restart. Updates cannot
    complete without a worker, so they are awaited after the restart."""
    firsts = await asyncio.gather(*(_send(ctx, run.workflow_id, run.burst.order[0], timeout) for run in runs))
    for run, outcome in zip(runs, firsts, strict=True):
        run.outcomes.append(outcome)
    rest: asyncio.Future | None = None
    try:
        async with steps.workers_down(ctx, name) as down:
            rest = asyncio.ensure_future(_send_at_once(ctx, runs, timeout, first=1))
            await _wait_signals_recorded(ctx, runs, timeout)
        await rest
    finally:
        if rest is not None and not rest.done():
            rest.cancel()
            await asyncio.gather(rest, return_exceptions=True)
    return down.kills


async def _signals_recorded(ctx: ScenarioContext, run: _Run) -> bool:
    wanted = sum(m.signal is not None for m in run.burst.order)
    try:
        return sum(delivery((await histories.fetch(ctx.client, run.workflow_id)).events).signals.values()) >= wanted
    except RPCError:
        return False  # try again: the workers must be restarted whatever happens here


async def _wait_signals_recorded(ctx: ScenarioContext, runs: list[_Run], timeout: float) -> None:
    """Until each run's history holds every signal of its burst (sent while the workers are down)."""
    waiting = list(runs)

    async def probe() -> list[_Run]:
        recorded = await steps.bounded(_signals_recorded(ctx, run) for run in waiting)
        waiting[:] = [run for run, ok in zip(waiting, recorded, strict=True) if not ok]
        return waiting

    await steps.poll_until(probe, lambda left: not left, timeout=timeout, interval=steps.QUICK_POLL_S)


def _end_state(state: steps.EndState) -> tuple[str, Any, dict, list[Violation]]:
    """Workflow status, result (when completed, as plain JSON values), query results and the queries that failed."""
    return state.status, state.result, state.queries, [Violation(what, why) for what, why in state.failures]


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
    prefix = workload.starts_of(ctx.plan.config, scenario)[0].id_prefix
    groups = [
        [_Run(burst, f"{prefix}-{ctx.run_tag}-{name}-b{b}-{r}") for r in range(scenario.runs)]
        for b, burst in enumerate(bursts(scenario))
    ]
    runs = [run for group in groups for run in group]
    ids = [run.workflow_id for run in runs]
    kills: list[KillRecord] = []
    try:
        with journal.step("start workflows and wait until idle", name, workflows=len(ids), bursts=len(groups)) as step:
            await _start(ctx, scenario, ids)
            not_idle = await _wait_idle(ctx, ids, scenario.timeout)
            step.detail["not_idle"] = len(not_idle)
        for group in groups:
            burst = group[0].burst
            with journal.step(f"send {burst.order_label} ({scenario.delivery})", name, runs=len(group)) as step:
                if scenario.delivery == "sequential":
                    await asyncio.gather(*(_send_sequentially(ctx, run, scenario.timeout) for run in group))
                elif scenario.restart_during_burst:
                    new_kills = await _send_around_restart(ctx, name, group, scenario.timeout)
                    kills += new_kills
                    step.detail["kills"] = steps.kill_report(new_kills)
                else:
                    await _send_at_once(ctx, group, scenario.timeout)
                step.detail["refused"] = sum(not o.accepted for run in group for o in run.outcomes)
        with journal.step("let the bursts settle", name, timeout_s=scenario.settle) as step:
            still_open = await steps.wait_closed(ctx, ids, scenario.settle)
            step.detail["open"] = len(still_open)
        with journal.step("query the end state", name, queries=scenario.queries) as step:
            states = [_end_state(s) for s in await steps.bounded(steps.end_state(ctx.client, w, scenario.queries, scenario.timeout) for w in ids)]
            step.detail["failed_queries"] = sum(len(s[3]) for s in states)
    finally:
        await steps.terminate(ctx.client, ids, f"readiness scenario {name} ended")
    with journal.step("collect histories and evaluate invariants", name) as step:
        families, records = await steps.collect_families(ctx, ids)  # a workflow may continue as new mid-burst
        latest = latest_runs(records)
        observed = tuple(
            _observe(run, state, _chain(families[run.workflow_id]), latest[run.workflow_id].history_file, scenario, check)
            for run, state in zip(runs, states, strict=True)
        )
        step.detail.update(
            histories=len(records), co_delivered=sum(r.delivery.co_delivered for r in observed),
            violated=sum(bool(r.violations) for r in observed),
        )
    return SignalsObservations(
        scenario=name, delivery_mode=scenario.delivery, runs=observed, workflows=records,
        restart_during_burst=scenario.restart_during_burst, kills=tuple(kills), not_idle=tuple(not_idle),
    )


def _chain(family: list[WorkflowHistory]) -> list[Sequence[HistoryEvent]]:
    """The events of each run of the started workflow, oldest first (its family lists the latest run first, then the
    earlier runs, among its children)."""
    return [h.events for h in reversed(family) if h.workflow_id == family[0].workflow_id]


def _observe(
    run: _Run, state: tuple[str, Any, dict, list[Violation]], runs: list[Sequence[HistoryEvent]], history_file: str | None,
    scenario: SignalsConcurrentScenario, check: Callable[[Mapping[str, Any]], Any] | None,
) -> SignalRun:
    status, result, queries, failed = state
    found = delivery_of_runs(runs)
    names = invariant_names(run.outcomes, found, status, result, queries)
    problems = failed + violated(scenario.invariants, names)
    if check is not None:
        problems += [Violation(scenario.check or "", message) for message in callable_violations(check, names)]
    return SignalRun(
        combination=run.burst.combination, order=run.burst.order_label, workflow_id=run.workflow_id, workflow_status=status,
        messages=tuple(run.outcomes), delivery=found, violations=tuple(problems), history_file=history_file,
    )


KIND = ScenarioKind(
    name="signals_concurrent",
    spec=SignalsConcurrentScenario,
    run=run,
    checks=(ScenarioCheck(signals.CHECK_ID, signals.signals_concurrent),),
    effect="starts workflows and sends them bursts of signals and updates",
    validate=validate,
)
