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
from harness.scenarios.base import ScenarioContext

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
            await asyncio.sleep(scenario.baseline)
        fault = scenario.fault
        with journal.step(f"fault {fault.model_dump(exclude_defaults=True)}", name, seconds=scenario.outage) as step:
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
    ids = list(result.workflow_ids)
    with journal.step("wait for workflows to close", name, timeout_s=scenario.drain_timeout) as step:
        still_open = await load_common.wait_closed(ctx, ids, scenario.drain_timeout)
        step.detail["open"] = len(still_open)
        await load_common.terminate(ctx, still_open, f"readiness scenario {name} ended")
    with journal.step("collect histories and metrics", name) as step:
        records, activities, latencies = await load_common.collect(ctx, ids)
        after, errors = await metrics.scrape(ctx.supervisor.metrics_endpoints(), phase="after")
        step.detail.update(histories=len(records), activities=len(activities), scrape_errors=errors)
    return LoadObservations(
        scenario=name,
        workflows=records,
        activities=activities,
        latencies=latencies,
        load=load_common.summarise_load(result, stages, first_start, ended),
        backlog=tuple(samples),
        metrics=before + after,
        fault=window.record(),
        drain_deadline_hit=bool(still_open),
        workers=len(ctx.supervisor.running),
    )
