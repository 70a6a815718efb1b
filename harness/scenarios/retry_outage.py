"""retry-outage: steady load at the expected rate, a fault on a dependency for a window, then restored."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
from typing import Literal

from pydantic import Field

from harness.checks import retry
from harness.config.references import References
from harness.config.scenarios import FaultSpec, OutageThresholds, Rate, StartsItsOwnWorkflows, resolve_rate
from harness.config.types import Duration
from harness.faults.control import applied
from harness.load.shape import Stage
from harness.observe import attempt_counters, metrics
from harness.observe.model import BacklogSample, LoadObservations
from harness.scenarios import load_common, steps
from harness.scenarios.base import ScenarioContext
from harness.scenarios.kind import ScenarioCheck, ScenarioKind


class RetryOutageScenario(StartsItsOwnWorkflows):
    """Steady load at the expected rate, a dependency down for a window, then restored."""

    kind: Literal["retry_outage"]
    fault: FaultSpec
    rate: Rate = "expected"
    signal: str | None = Field(None, min_length=1, description="Signal (no arguments) sent to each workflow right after the load starts it.")
    baseline: Duration = Field(10.0, gt=0, description="Load before the fault.")
    outage: Duration = Field(15.0, gt=0, description="How long the fault stays on.")
    recovery: Duration = Field(15.0, ge=0, description="Load after the fault is removed.")
    drain_timeout: Duration = Field(120.0, gt=0, description="Deadline for the started workflows to close after the load.")
    thresholds: OutageThresholds = Field(default_factory=OutageThresholds)


def validate(scenario: RetryOutageScenario, refs: References) -> None:
    refs.dependency("fault.dependency", scenario.fault)
    refs.rate("rate", scenario.rate)


async def run(ctx: ScenarioContext, scenario: RetryOutageScenario) -> LoadObservations:
    async with attempt_counters.counting(ctx.supervisor.metrics_endpoints) as counted:  # through the drain: every attempt
        observed = await _load_through_the_fault(ctx, scenario)
    return replace(observed, attempt_scrapes=tuple(counted))


async def _load_through_the_fault(ctx: ScenarioContext, scenario: RetryOutageScenario) -> LoadObservations:
    name, journal = scenario.name, ctx.journal
    rate = resolve_rate(scenario.rate, *ctx.rates())
    stages = [Stage(duration_s=scenario.baseline + scenario.outage + scenario.recovery, rate=rate)]
    before, _ = await metrics.scrape(ctx.supervisor.metrics_endpoints(), phase="before")
    samples: list[BacklogSample] = []
    sampler = asyncio.create_task(load_common.sample_backlog(ctx.client, ctx.plan.config.task_queue, samples))
    load = asyncio.create_task(load_common.drive(ctx, scenario, stages, scenario.signal))
    try:
        with journal.step("steady load before the fault", name, rate=rate, seconds=scenario.baseline):
            first_start = await load_common.wait_for_first_start(ctx, load, name)
            async with steps.metric_window(ctx, name, "baseline", f"steady load at {rate:g}/s"):
                await asyncio.sleep(scenario.baseline)
        fault = scenario.fault
        with journal.step(f"fault {fault.model_dump(exclude_defaults=True)}", name, seconds=scenario.outage) as step:
            described = f"{fault.dependency}: network {fault.kind}" if hasattr(fault, "dependency") else f"{fault.activity}: activity fault"
            async with steps.metric_window(ctx, name, "fault", described, steps.ACTIVITIES_FAILING):
                async with applied(fault, ctx.dependencies.proxies, ctx.faults) as window:
                    await asyncio.sleep(scenario.outage)
            step.detail.update(confirmed=window.confirmed, **window.evidence)
        with journal.step("load after restore", name, seconds=scenario.recovery) as step:
            result, _, ended = await load
            step.detail.update(workflows=len(result.workflow_ids))
    finally:
        sampler.cancel()
        if not load.done():
            load.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.gather(sampler, load, return_exceptions=True)
    return await load_common.drain_and_observe(
        ctx, name, list(result.workflow_ids), scenario.drain_timeout,
        load=load_common.summarise_load(result, stages, first_start, ended), backlog=samples, before=before,
        fault=window.record(),
    )


KIND = ScenarioKind(
    name="retry_outage",
    spec=RetryOutageScenario,
    run=run,
    checks=(ScenarioCheck(retry.OUTAGE_ID, retry.retry_outage),),
    effect="takes a dependency down and generates load",
    validate=validate,
)
