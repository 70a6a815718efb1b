"""worker-restart: start workflows, SIGKILL every worker mid-flight, restart, drain, collect, replay."""

from __future__ import annotations

import asyncio
from typing import Literal

from pydantic import Field

from harness.checks import determinism
from harness.config.scenarios import StartsItsOwnWorkflows
from harness.config.types import Duration
from harness.observe import metrics
from harness.observe.model import RestartObservations
from harness.scenarios import steps
from harness.scenarios.base import ScenarioContext
from harness.scenarios.kind import ScenarioCheck, ScenarioKind


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


async def run(ctx: ScenarioContext, scenario: WorkerRestartScenario) -> RestartObservations:
    journal, name = ctx.journal, scenario.name
    with journal.step("start workflows", name, count=scenario.workflows) as step:
        ids = await steps.start_own_workflows(ctx, scenario, scenario.workflows)
        step.detail["first"] = ids[0]
    with journal.step("wait until mid-flight", name, timeout_s=scenario.mid_flight_timeout) as step:
        async with steps.metric_window(ctx, name, "baseline", "workflows in flight, workers healthy"):
            running = await steps.wait_mid_flight(ctx, ids, scenario.mid_flight_timeout)
        step.detail["running"] = len(running)
    samples, _ = await metrics.scrape(ctx.supervisor.metrics_endpoints(), phase="before_kill")
    async with steps.workers_down(ctx, name, scenario.kill_signal, fault=f"every worker {scenario.kill_signal}ed") as down:
        # a millisecond workflow seen running may have closed before the kill landed: it was not mid-flight
        running = await steps.open_workflows(ctx.client, running)
        await asyncio.sleep(scenario.restart_after)
    with journal.step("wait for workflows to close", name, timeout_s=scenario.completion_timeout) as step:
        drained = await steps.drain(ctx, ids, scenario.completion_timeout)
        step.detail.update(drained)
    closed_before_kill = [w for w in ids if w not in running]
    live: tuple = ()
    if closed_before_kill:
        with journal.step("replay the workflows that closed before the kill on the restarted workers", name) as step:
            live = await steps.replay_on_workers(ctx, closed_before_kill)
            step.detail.update(workflows=len(live), failed=sum(bool(r.error) for r in live))
    with journal.step("collect histories and metrics", name) as step:
        families, records = await steps.collect_families(ctx, ids)  # a child's or an earlier run's code replays too
        fetched = [h for family in families.values() for h in family]
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
        explanations=steps.explain_stuck(fetched, records),
        family_of=steps.family_of(families),
    )


KIND = ScenarioKind(
    name="worker_restart",
    spec=WorkerRestartScenario,
    run=run,
    checks=(ScenarioCheck(determinism.CHECK_ID, determinism.restart_replay),),
    effect="starts workflows and kills every worker mid-flight",
)
