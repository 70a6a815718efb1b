"""schedule-to-start: load above the declared peak; how long do tasks wait for a worker?"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Literal

from pydantic import Field

from harness.checks import latency
from harness.config.references import References
from harness.config.scenarios import LatencyThresholds, StageSpec, StartsItsOwnWorkflows, resolve_rate
from harness.config.types import Duration
from harness.load.shape import Stage
from harness.observe import metrics
from harness.observe.model import BacklogSample, LoadObservations
from harness.scenarios import load_common, steps
from harness.scenarios.base import ScenarioContext
from harness.scenarios.kind import ScenarioCheck, ScenarioKind


class ScheduleToStartScenario(StartsItsOwnWorkflows):
    """Load above the declared peak; measure how long tasks wait for a worker."""

    kind: Literal["schedule_to_start"]
    load_factor: float = Field(2.0, gt=0, description="Multiple of the config's `load.peak_rate` to hold.")
    ramp: Duration = Field(5.0, ge=0, description="Time at the plain peak rate before the hold.")
    hold: Duration = Field(20.0, gt=0, description="Time at load_factor x peak.")
    stages: list[StageSpec] = Field(default_factory=list, description="Explicit load stages instead of ramp/hold.")
    signal: str | None = Field(None, min_length=1, description="Signal (no arguments) sent to each workflow right after the load starts it.")
    drain_timeout: Duration = Field(120.0, gt=0)
    thresholds: LatencyThresholds = Field(default_factory=LatencyThresholds)


def validate(scenario: ScheduleToStartScenario, refs: References) -> None:
    for i, stage in enumerate(scenario.stages):
        refs.rate(f"stages[{i}].rate", stage.rate)
    if not scenario.stages:
        refs.rate("load_factor", "peak")


def stages_of(scenario: ScheduleToStartScenario, expected: float | None, peak: float | None) -> list[Stage]:
    if scenario.stages:
        return [
            Stage(duration_s=s.duration, rate=None if s.rate is None else resolve_rate(s.rate, expected, peak), users=s.users)
            for s in scenario.stages
        ]
    peak_rate = resolve_rate("peak", expected, peak)
    ramp = [Stage(duration_s=scenario.ramp, rate=peak_rate)] if scenario.ramp else []
    return [*ramp, Stage(duration_s=scenario.hold, rate=scenario.load_factor * peak_rate)]


async def run(ctx: ScenarioContext, scenario: ScheduleToStartScenario) -> LoadObservations:
    name, journal = scenario.name, ctx.journal
    stages = stages_of(scenario, *ctx.rates())
    before, _ = await metrics.scrape(ctx.supervisor.metrics_endpoints(), phase="before")
    samples: list[BacklogSample] = []
    sampler = asyncio.create_task(load_common.sample_backlog(ctx.client, ctx.plan.config.task_queue, samples))
    try:
        shape = [f"{s.duration_s:g}s at {s.rate:g}/s" if s.rate else f"{s.duration_s:g}s x {s.users} users" for s in stages]
        with journal.step("load", name, stages=shape) as step:
            async with steps.metric_window(ctx, name, "load", "load at " + ", then ".join(shape)):
                result, started, ended = await load_common.drive(ctx, scenario, stages, scenario.signal)
            step.detail.update(workflows=len(result.workflow_ids), requests=[r.__dict__ for r in result.requests])
        return await load_common.drain_and_observe(
            ctx, name, list(result.workflow_ids), scenario.drain_timeout,
            load=load_common.summarise_load(result, stages, started, ended), backlog=samples, before=before,
        )
    finally:
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler


KIND = ScenarioKind(
    name="schedule_to_start",
    spec=ScheduleToStartScenario,
    run=run,
    checks=(ScenarioCheck(latency.CHECK_ID, latency.schedule_to_start),),
    effect="generates load above the declared peak",
    runs_alone=True,  # another lane's load or restarts would take CPU from the workers it measures
    validate=validate,
)
