"""worker-restart: start workflows, SIGKILL every worker mid-flight, restart, drain, collect, replay."""

from __future__ import annotations

import asyncio
from typing import Literal

from pydantic import Field
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.client import WorkflowExecutionDescription, WorkflowExecutionStatus

from harness.checks import determinism
from harness.config.scenarios import StartsItsOwnWorkflows
from harness.config.types import Duration
from harness.observe import histories, metrics
from harness.observe.model import RestartObservations
from harness.scenarios import steps
from harness.scenarios.base import ScenarioContext
from harness.scenarios.kind import ScenarioCheck, ScenarioKind

FIRST_TASK_DONE = 4  # Started, WorkflowTaskScheduled, WorkflowTaskStarted, WorkflowTask{Completed|Failed}


class WorkerRestartScenario(StartsItsOwnWorkflows):
    """Start workflows, SIGKILL every worker mid-flight, restart, wait, replay every history."""

    kind: Literal["worker_restart"]
    workflows: int = Field(6, ge=1, le=1000, description="How many workflows to start.")
    kill_signal: Literal["SIGKILL", "SIGTERM", "SIGINT"] = "SIGKILL"
    mid_flight_timeout: Duration = Field(
        30.0, gt=0, description="How long to wait for every workflow to have made progress before the kill."
    )
    restart_after: Duration = Field(1.0, description="Pause between the confirmed kill and the restart.")
    completion_timeout: Duration = Field(120.0, gt=0, description="Deadline for every workflow to close after restart.")


async def _describe_all(ctx: ScenarioContext, workflow_ids: list[str]) -> list[WorkflowExecutionDescription]:
    return await steps.bounded(ctx.client.get_workflow_handle(w).describe() for w in workflow_ids)


async def _wait_mid_flight(ctx: ScenarioContext, ids: list[str], timeout: float) -> list[str]:
    """Wait until every workflow has finished its first workflow task; return those still running."""
    descriptions = await steps.poll_until(
        lambda: _describe_all(ctx, ids), lambda found: all(d.history_length >= FIRST_TASK_DONE for d in found), timeout=timeout
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
        for d in await _describe_all(ctx, ids)
        if d.status == WorkflowExecutionStatus.RUNNING
    }
    retrying = [w for w, attempt in attempts.items() if attempt >= 2]
    stuck = [w for w in retrying if await _is_stuck(ctx, w, attempts[w])] if len(retrying) == len(attempts) else []
    return {"open": list(attempts), "stuck": stuck, "deadline_hit": len(stuck) < len(attempts)}


async def _drain(ctx: ScenarioContext, ids: list[str], timeout: float) -> dict:
    """Wait for every workflow to close; stop early when all open ones are stuck failing workflow tasks."""
    return await steps.poll_until(lambda: _drain_state(ctx, ids), lambda state: not state["deadline_hit"], timeout=timeout)


async def run(ctx: ScenarioContext, scenario: WorkerRestartScenario) -> RestartObservations:
    journal, name = ctx.journal, scenario.name
    with journal.step("start workflows", name, count=scenario.workflows) as step:
        ids = await steps.start_own_workflows(ctx, scenario, scenario.workflows)
        step.detail["first"] = ids[0]
    with journal.step("wait until mid-flight", name, timeout_s=scenario.mid_flight_timeout) as step:
        async with steps.metric_window(ctx, name, "baseline", "workflows in flight, workers healthy"):
            running = await _wait_mid_flight(ctx, ids, scenario.mid_flight_timeout)
        step.detail["running"] = len(running)
    samples, _ = await metrics.scrape(ctx.supervisor.metrics_endpoints(), phase="before_kill")
    async with steps.workers_down(ctx, name, scenario.kill_signal, fault=f"every worker {scenario.kill_signal}ed") as down:
        # a millisecond workflow seen running may have closed before the kill landed: it was not mid-flight
        running = [d.id for d in await _describe_all(ctx, running) if d.status == WorkflowExecutionStatus.RUNNING]
        await asyncio.sleep(scenario.restart_after)
    with journal.step("wait for workflows to close", name, timeout_s=scenario.completion_timeout) as step:
        drained = await _drain(ctx, ids, scenario.completion_timeout)
        step.detail.update(drained)
    closed_before_kill = [w for w in ids if w not in running]
    live: tuple = ()
    if closed_before_kill:
        with journal.step("replay the workflows that closed before the kill on the restarted workers", name) as step:
            live = await steps.replay_on_workers(ctx, closed_before_kill)
            step.detail.update(workflows=len(live), failed=sum(bool(r.error) for r in live))
    with journal.step("collect histories and metrics", name) as step:
        _, records = await steps.collect_histories(ctx, ids)
        after, scrape_errors = await metrics.scrape(ctx.supervisor.metrics_endpoints(), phase="after")
        step.detail.update(histories=len(records), metric_samples=len(samples) + len(after), scrape_errors=scrape_errors)
    outcomes = await steps.replay_histories(ctx, name, records)
    return RestartObservations(
        scenario=name,
        started=tuple(ids),
        running_at_kill=tuple(running),
        kills=tuple(down.kills),
        restarted_identities=tuple(down.restarted),
        workflows=records,
        replays=outcomes,
        metrics=samples + after,
        drain_deadline_hit=drained["deadline_hit"],
        live_replays=live,
    )


KIND = ScenarioKind(
    name="worker_restart",
    spec=WorkerRestartScenario,
    run=run,
    checks=(ScenarioCheck(determinism.CHECK_ID, determinism.restart_replay),),
    effect="starts workflows and kills every worker mid-flight",
)
