"""longrun-time-skip: workflows that run for days, on the time-skipping test server, meet worker restarts.

The scenario starts its own test server and a second set of the config's workers against it, starts the workflows,
runs the timeline (skip days, SIGKILL and restart every worker mid-wait, send signals), lets the remaining workflow
time elapse, reads each workflow's end state (status, result, queries), and replays every history against the
workers' code once the server and workers are stopped. Before each step the workflows are allowed to settle (no
workflow task or activity waiting), so a skip never overtakes work that the real clock would have let finish first.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, field_validator
from temporalio.client import Client
from temporalio.service import RPCError

from harness import time_skipping
from harness.checks import time_skip
from harness.config.references import References
from harness.config.scenarios import LongDuration, StartsItsOwnWorkflows, TimelineStep, TimeSkipExpect
from harness.config.types import Duration
from harness.environment import Environment
from harness.invariants import callable_violations, load_callable
from harness.observe import histories
from harness.observe.time_skip import (
    BUSY,
    CLOSED,
    IDLE,
    STUCK,
    RestartRecord,
    TimelineRecord,
    TimeSkipObservations,
    WorkflowEnd,
    duration_label,
    progress,
)
from harness.scenarios import steps
from harness.scenarios.base import ScenarioContext
from harness.scenarios.kind import ScenarioCheck, ScenarioKind
from harness.workers import WorkerSupervisor

STUCK_POLL_S = 1.0
FINISH_STEP_S = 86400.0
"""After the timeline, workflow time advances a day at a time until every workflow closed."""


class TimeSkipScenario(StartsItsOwnWorkflows):
    """Multi-day workflows on the time-skipping test server: skip days, restart the workers mid-wait, signal, run to the end."""

    kind: Literal["time_skip"]
    workflows: int = Field(3, ge=1, le=50, description="How many workflows to start.")
    timeline: list[TimelineStep] = Field(min_length=1, description="Steps run in order once the workflows started.")
    finish_within: LongDuration = Field(
        60 * 86400.0, gt=0, description="Workflow time allowed after the timeline for every workflow to close ('30d')."
    )
    timeout: Duration = Field(
        120.0, gt=0, description="Wall-clock bound of each wait: a step settling, a skip, the run to the end."
    )
    expect: TimeSkipExpect = Field(default_factory=TimeSkipExpect)

    @field_validator("timeline")
    @classmethod
    def _restarts_mid_wait(cls, value: list[TimelineStep]) -> list[TimelineStep]:
        if not any(step.restart_workers for step in value):
            raise ValueError("add a `restart_workers: true` step: worker restarts during the wait are what this scenario tests")
        if not any(step.skip for step in value):
            raise ValueError("add a `skip: DURATION` step (e.g. `skip: 10d`): without it no workflow time passes on the timeline")
        return value


def validate(scenario: TimeSkipScenario, refs: References) -> None:
    refs.callable("expect.check", scenario.expect.check)
    external = [w.name for w in refs.config.workers if w.python is None]
    if external:
        refs.fail("kind", f"the time-skipping test server runs Python workers only (it cannot list pollers), but {', '.join(external)} "
                  "is an external command: drop this scenario from the config or give the worker a `python:` spec")


async def _progress(client: Client, ids: list[str]) -> dict[str, str]:
    fetched = await steps.bounded(histories.fetch(client, w) for w in ids)
    return {h.workflow_id: progress(h.events) for h in fetched}


async def _settle(client: Client, ids: list[str], timeout: float) -> dict[str, str]:
    """Wait until no workflow has a workflow task or an activity waiting or running; returns each one's progress."""
    return await steps.poll_until(
        lambda: _progress(client, ids), lambda states: BUSY not in states.values(), timeout=timeout, interval=steps.QUICK_POLL_S
    )


class _Timeline:
    """Runs the steps against the test server and the workers, recording each one."""

    def __init__(
        self, ctx: ScenarioContext, scenario: TimeSkipScenario, server: Environment,
        supervisor: WorkerSupervisor, ids: list[str], started_at: datetime,
    ) -> None:
        self.ctx, self.scenario, self.server, self.supervisor, self.ids = ctx, scenario, server, supervisor, ids
        self.started_at = started_at
        self.records: list[TimelineRecord] = []
        self.restarts: list[RestartRecord] = []
        self.errors: dict[str, list[str]] = {w: [] for w in ids}

    async def workflow_time(self) -> float:
        return (await self.server.now() - self.started_at).total_seconds()

    async def run(self, step: TimelineStep) -> None:
        label = self._label(step)
        began = time.monotonic()
        with self.ctx.journal.step(f"timeline: {label}", self.scenario.name) as journal_step:
            states = await _settle(self.server.client, self.ids, self.scenario.timeout)
            note = ""
            if step.skip is not None:
                note = await self.skip(step.skip, self.scenario.timeout)
            elif step.restart_workers:
                await self._restart([w for w, state in states.items() if state != CLOSED])
            elif step.signal is not None:
                await self._signal(step)
            record = TimelineRecord(label, round(await self.workflow_time(), 1), round(time.monotonic() - began, 2), note)
            journal_step.detail.update(workflow_days=round(record.workflow_time_s / 86400, 2), note=note)
        self.records.append(record)

    async def skip(self, seconds: float, timeout: float) -> str:
        """Advance workflow time; returns why it stopped short ('' when it did not). The server holds its clock while
        a workflow task is outstanding, and the task of a stuck workflow is retried for ever (terminating the workflow
        does not release the clock either): the skip is abandoned as soon as a workflow is seen stuck."""
        skipping = asyncio.ensure_future(self.server.skip(seconds, timeout))

        async def stuck_while_skipping() -> list[str]:
            if (await asyncio.wait({skipping}, timeout=STUCK_POLL_S))[0]:
                return []
            states = await _progress(self.server.client, self.ids)
            return sorted(w for w, state in states.items() if state == STUCK)

        try:
            stuck = await steps.poll_until(
                stuck_while_skipping, lambda found: bool(found) or skipping.done(), timeout=timeout + STUCK_POLL_S, interval=0
            )
            if stuck:
                return f"workflow time stopped: the workflow task of {', '.join(stuck)} keeps failing and holds the clock"
            advanced = skipping.done() and skipping.result()
            return "" if advanced else "workflow time did not advance within the timeout: a workflow task held the clock"
        finally:
            skipping.cancel()
            await asyncio.gather(skipping, return_exceptions=True)

    def _label(self, step: TimelineStep) -> str:
        if step.skip is not None:
            return f"skip {duration_label(step.skip)}"
        return "restart workers" if step.restart_workers else f"signal {step.signal}"

    async def _restart(self, open_ids: list[str]) -> None:
        async with steps.workers_down(self.ctx, self.scenario.name, supervisor=self.supervisor) as down:
            pass  # restarted at once: what matters is that the restart lands in the middle of the waits
        self.restarts.append(
            RestartRecord(tuple(down.kills), tuple(open_ids), tuple(down.restarted), round(await self.workflow_time(), 1))
        )

    async def _signal(self, step: TimelineStep) -> None:
        async def send(workflow_id: str) -> None:
            try:
                await self.server.client.get_workflow_handle(workflow_id).signal(step.signal, *step.args, rpc_timeout=steps.RPC_TIMEOUT)
            except RPCError as exc:
                self.errors[workflow_id].append(f"signal {step.signal} was not delivered: {exc.message}")

        await steps.bounded(send(w) for w in self.ids)

    async def finish(self) -> dict[str, str]:
        """Let workflow time pass a day at a time until every workflow closed, within `finish_within` of workflow time
        and `timeout` of wall-clock time, or until one is stuck; returns each workflow's progress."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.scenario.timeout
        began, skipped, note = time.monotonic(), 0.0, ""
        with self.ctx.journal.step("run to the end", self.scenario.name) as journal_step:
            for _ in range(math.ceil(self.scenario.finish_within / FINISH_STEP_S) + 1):
                states = await _settle(self.server.client, self.ids, max(0.0, deadline - loop.time()))
                waiting = [w for w, state in states.items() if state in (IDLE, BUSY)]
                stuck = sorted(w for w, state in states.items() if state == STUCK)
                if stuck:
                    note = f"workflow time stopped: the workflow task of {', '.join(stuck)} keeps failing and holds the clock"
                if not waiting or stuck or skipped >= self.scenario.finish_within or loop.time() >= deadline:
                    break
                step = min(FINISH_STEP_S, self.scenario.finish_within - skipped)
                note = await self.skip(step, max(1.0, deadline - loop.time()))
                if note:
                    states = await _progress(self.server.client, self.ids)
                    break
                skipped += step
            journal_step.detail.update(states=states, skipped_days=round(skipped / 86400, 2), note=note)
        self.records.append(
            TimelineRecord("run to the end", round(await self.workflow_time(), 1), round(time.monotonic() - began, 2), note)
        )
        return states


async def _end_state(
    client: Client, workflow_id: str, state: str, scenario: TimeSkipScenario, errors: list[str],
    check: Callable[[Mapping[str, Any]], Any] | None,
) -> WorkflowEnd:
    end = await steps.end_state(client, workflow_id, scenario.expect.queries, scenario.timeout, skip_queries=state == STUCK)
    for what, why in end.failures:
        errors.append(f"result could not be read: {why}" if what == "result" else f"{what} {why}" if why.startswith("not sent") else f"{what} failed: {why}")
    if check is not None:
        names = {"result": end.result, "queries": end.queries, "workflow_status": end.status}
        errors.extend(f"check: {v}" for v in callable_violations(check, names))
    return WorkflowEnd(workflow_id, end.status, state, end.result, end.queries, tuple(errors))


async def run(ctx: ScenarioContext, scenario: TimeSkipScenario) -> TimeSkipObservations:
    config, journal, name = ctx.plan.config, ctx.journal, scenario.name
    check = load_callable(scenario.expect.check, ctx.plan.app_path) if scenario.expect.check else None
    workers = [time_skipping.uncached(w) for w in config.workers]
    async with AsyncExitStack() as stack:
        with journal.step("start the time-skipping test server", name) as step:
            log_path = ctx.out_dir / "logs" / f"{name}-test-server.log"
            server = await stack.enter_async_context(Environment.time_skipping(log_path, ctx.load_env))
            step.detail.update(address=server.address, pid=server.pid, log=str(log_path))
        supervisor = await steps.workers_on(ctx, server, stack, name, workers)
        started_at, began = await server.now(), time.monotonic()
        with journal.step("start workflows", name, count=scenario.workflows) as step:
            ids = await steps.start_own_workflows(ctx, scenario, scenario.workflows, client=server.client, execution_timeout=False)
            step.detail["first"] = ids[0]
        timeline = _Timeline(ctx, scenario, server, supervisor, ids, started_at)
        for timeline_step in scenario.timeline:
            await timeline.run(timeline_step)
        states = await timeline.finish()
        workflow_time = await timeline.workflow_time()
        with journal.step("read end states and histories", name) as step:
            ends = [await _end_state(server.client, w, states[w], scenario, list(timeline.errors[w]), check) for w in ids]
            families, records = await steps.collect_families(ctx, ids, client=server.client)  # continued runs, children
            fetched = [h for family in families.values() for h in family]
            await steps.terminate(server.client, [e.workflow_id for e in ends if e.status == "RUNNING"], f"readiness scenario {name} ended")
            step.detail.update(statuses={e.workflow_id: e.status for e in ends})
        wall_time = time.monotonic() - began
    replays = await steps.replay_histories(ctx, name, records)
    return TimeSkipObservations(
        scenario=name,
        started=tuple(ids),
        ends=tuple(ends),
        workflows=records,
        replays=replays,
        restarts=tuple(timeline.restarts),
        timeline=tuple(timeline.records),
        workflow_time_s=round(workflow_time, 1),
        wall_time_s=round(wall_time, 2),
        explanations=steps.explain_stuck(fetched, records),
        family_of=steps.family_of(families),
    )


KIND = ScenarioKind(
    name="time_skip",
    spec=TimeSkipScenario,
    run=run,
    checks=(ScenarioCheck(time_skip.CHECK_ID, time_skip.longrun_time_skip),),
    effect="starts workflows and kills and restarts workers mid-wait",
    clock="workflow",
    validate=validate,
)
