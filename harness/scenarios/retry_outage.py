"""retry-outage: steady load at the expected rate, a fault on a dependency for a window, then restored."""

from __future__ import annotations

import asyncio
import contextlib
import time

from harness.config.scenarios import RetryOutageScenario, resolve_rate
from harness.errors import ProcessError
from harness.faults.control import applied
from harness.load.shape import Stage
from harness.observe import metrics
from harness.observe.model import BacklogSample, LoadObservations
from harness.scenarios import load_common
from harness.scenarios.base import ACTIVITIES_FAILING, ScenarioContext, metric_window

LOAD_START_TIMEOUT_S = 60.0


async def wait_for_first_start(ctx: ScenarioContext, load: asyncio.Task, scenario: str) -> float:
    """Block until Locust has started its first workflow (its processes take a moment to boot); returns when
    (epoch seconds), which is when the scenario's clock starts."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LOAD_START_TIMEOUT_S
    folder = ctx.out_dir / "load" / scenario
    while loop.time() < deadline:
        if load.done():
            load.result()  # raises the driver's error
            raise ProcessError("the load generator stopped before starting any workflow")
        if any(p.stat().st_size for p in folder.glob("ids-*.txt")):
            return time.time()
        await asyncio.sleep(0.1)
    raise ProcessError(f"the load generator started no workflow within {LOAD_START_TIMEOUT_S:.0f}s (see logs/locust-*.log)")


async def run(ctx: ScenarioContext, scenario: RetryOutageScenario) -> LoadObservations:
    name, journal = scenario.name, ctx.journal
    rate = resolve_rate(scenario.rate, *ctx.rates())
    stages = [Stage(duration_s=scenario.baseline + scenario.outage + scenario.recovery, rate=rate)]
    before, _ = await metrics.scrape(ctx.supervisor.metrics_endpoints(), phase="before")
    samples: list[BacklogSample] = []
    sampler = asyncio.create_task(load_common.sample_backlog(ctx.client, ctx.plan.config.task_queue, samples))
    load = asyncio.create_task(load_common.drive(ctx, name, stages, scenario.signal))
    try:
        with journal.step("steady load before the fault", name, rate=rate, seconds=scenario.baseline):
            first_start = await wait_for_first_start(ctx, load, name)
            async with metric_window(ctx, name, "baseline", f"steady load at {rate:g}/s"):
                await asyncio.sleep(scenario.baseline)
        fault = scenario.fault
        with journal.step(f"fault {fault.model_dump(exclude_defaults=True)}", name, seconds=scenario.outage) as step:
            described = f"{fault.dependency}: network {fault.kind}" if hasattr(fault, "dependency") else f"{fault.activity}: activity fault"
            async with metric_window(ctx, name, "fault", described, ACTIVITIES_FAILING):
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
