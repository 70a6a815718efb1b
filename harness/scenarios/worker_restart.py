"""worker-restart: start workflows, SIGKILL every worker mid-flight, restart, drain, collect, replay."""

from __future__ import annotations

import asyncio

from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.client import WorkflowExecutionStatus

from harness.config.models import WorkerRestartScenario
from harness.observe import histories, metrics
from harness.observe.model import RestartObservations
from harness.scenarios.base import WORKERS_KILLED, ScenarioContext, metric_window, replay_histories
from harness.workload import start_workflows

POLL_INTERVAL_S = 0.5
FIRST_TASK_DONE = 4  # Started, WorkflowTaskScheduled, WorkflowTaskStarted, WorkflowTask{Completed|Failed}


async def _describe_all(ctx: ScenarioContext, workflow_ids: list[str]):
    return await asyncio.gather(*(ctx.client.get_workflow_handle(w).describe() for w in workflow_ids))


async def _wait_mid_flight(ctx: ScenarioContext, ids: list[str], timeout: float) -> list[str]:
    """Wait until every workflow has finished its first workflow task; return those still running."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        descriptions = await _describe_all(ctx, ids)
        progressed = all(d.history_length >= FIRST_TASK_DONE for d in descriptions)
        if progressed or loop.time() >= deadline:
            return [d.id for d in descriptions if d.status == WorkflowExecutionStatus.RUNNING and d.history_length >= FIRST_TASK_DONE]
        await asyncio.sleep(POLL_INTERVAL_S)


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


async def _drain(ctx: ScenarioContext, ids: list[str], timeout: float) -> dict:
    """Wait for every workflow to close; stop early when all open ones are stuck failing workflow tasks."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        descriptions = await _describe_all(ctx, ids)
        attempts = {
            d.id: d.raw_description.pending_workflow_task.attempt
            for d in descriptions
            if d.status == WorkflowExecutionStatus.RUNNING
        }
        open_ids = list(attempts)
        retrying = [w for w, attempt in attempts.items() if attempt >= 2]
        stuck = [w for w in retrying if await _is_stuck(ctx, w, attempts[w])] if len(retrying) == len(open_ids) else []
        if len(stuck) == len(open_ids) or loop.time() >= deadline:
            return {"open": open_ids, "stuck": stuck, "deadline_hit": len(stuck) < len(open_ids)}
        await asyncio.sleep(POLL_INTERVAL_S)


async def run(ctx: ScenarioContext, scenario: WorkerRestartScenario) -> RestartObservations:
    config, journal, name = ctx.plan.config, ctx.journal, scenario.name
    with journal.step("start workflows", name, count=scenario.workflows) as step:
        ids = await start_workflows(ctx.client, config.workload, config.task_queue, f"{ctx.run_tag}-{name}", scenario.workflows)
        step.detail["first"] = ids[0]
    with journal.step("wait until mid-flight", name, timeout_s=scenario.mid_flight_timeout) as step:
        async with metric_window(ctx, name, "baseline", "workflows in flight, workers healthy"):
            running = await _wait_mid_flight(ctx, ids, scenario.mid_flight_timeout)
        step.detail["running"] = len(running)
    samples, _ = await metrics.scrape(ctx.supervisor.metrics_endpoints(), phase="before_kill")
    async with metric_window(ctx, name, "fault", f"every worker {scenario.kill_signal}ed", WORKERS_KILLED):
        with journal.step(f"{scenario.kill_signal} all workers", name) as step:
            kills = await ctx.supervisor.kill_all(scenario.kill_signal)
            step.detail["kills"] = [f"{k.worker} pid {k.pid} -> exit {k.returncode}" for k in kills]
            step.detail["confirmed"] = all(k.confirmed for k in kills)
        await asyncio.sleep(scenario.restart_after)
    with journal.step("restart workers", name) as step:
        restarted = await ctx.supervisor.restart_all()
        step.detail["identities"] = [w.identity for w in restarted]
    with journal.step("wait for workflows to close", name, timeout_s=scenario.completion_timeout) as step:
        drained = await _drain(ctx, ids, scenario.completion_timeout)
        step.detail.update(drained)
    with journal.step("collect histories and metrics", name) as step:
        fetched = await asyncio.gather(*(histories.fetch(ctx.client, w) for w in ids))
        records = tuple(histories.summarise(h, histories.write(h, ctx.out_dir)) for h in fetched)
        after, scrape_errors = await metrics.scrape(ctx.supervisor.metrics_endpoints(), phase="after")
        step.detail.update(histories=len(records), metric_samples=len(samples) + len(after), scrape_errors=scrape_errors)
    with journal.step("replay histories", name) as step:
        outcomes = await replay_histories(ctx, name, records)
        step.detail["failures"] = sum(not o.ok for o in outcomes)
    return RestartObservations(
        scenario=name,
        started=tuple(ids),
        running_at_kill=tuple(running),
        kills=tuple(kills),
        restarted_identities=tuple(w.identity for w in restarted),
        workflows=records,
        replays=outcomes,
        metrics=samples + after,
        drain_deadline_hit=drained["deadline_hit"],
    )
