"""Scenario lanes: on a local target the scenarios run side by side.

Each lane has its own dev server, its own copy of the config's workers and its own fault proxies in front of the
same dependency processes, so a kill, an outage or a burst of load in one lane never reaches another lane's
workflows, workers or metrics. A free lane takes the next scenario in the declared order; results keep that order.
What lanes share is the CPU: a kind that measures how fast the workers are (`runs_alone`, e.g. schedule-to-start)
runs first, with the machine to itself.
On an existing cluster there is one lane: the run never adds servers to a cluster that is not ours.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from harness.config.models import EmbeddedTarget, ExistingTarget
from harness.config.scenarios import ScenarioSpec
from harness.dependencies import Dependencies, behind_proxies
from harness.environment import Environment
from harness.faults.activity import FAULTS_FILE_ENV, ActivityFaultSwitch
from harness.journal import Journal
from harness.observe.recorder import MetricRecorder
from harness.plan import RunPlan
from harness.profiles import Profile
from harness.scenarios.base import ScenarioContext
from harness.workers import WorkerSupervisor

MAX_LANES = 3
"""Three lanes keep the default run's longest scenario the critical path on two cores without crowding them."""

T = TypeVar("T")


@dataclass(frozen=True)
class LaneSetup:
    """What every lane is built from."""

    plan: RunPlan
    journal: Journal
    out_dir: Path
    run_id: str
    base_env: dict[str, str]
    """The harness's environment with the profile's secrets: for child processes only."""
    profile: Profile
    locust_workers: int


def lane_count(requested: int | None, target: EmbeddedTarget | ExistingTarget, scenarios: int) -> int:
    """`requested` (None: MAX_LANES) on a local target, never more than there are scenarios; 1 on an existing cluster."""
    if isinstance(target, ExistingTarget):
        return 1
    return max(1, min(MAX_LANES if requested is None else requested, scenarios))


async def open_lane(
    setup: LaneSetup, number: int, environment: Environment, dependencies: Dependencies, stack: AsyncExitStack
) -> ScenarioContext:
    """Start the lane's workers on `environment` (entered into `stack`) and return what its scenarios get."""
    plan, target, suffix = setup.plan, environment.target, f"-lane{number}" if number else ""
    fault_switch = ActivityFaultSwitch(setup.out_dir / "faults" / f"activity-faults{suffix}.json")
    supervisor = await stack.enter_async_context(
        WorkerSupervisor(
            plan.config.workers, client=environment.client, task_queue=plan.config.task_queue,
            base_env={**target.worker_env(setup.base_env), **dependencies.env, FAULTS_FILE_ENV: str(fault_switch.path)},
            app_path=plan.app_path, log_dir=setup.out_dir / "logs", run_id=setup.run_id + suffix, profile=setup.profile,
            scrape_job=plan.config.alerts.scrape_job if plan.config.alerts else "temporal-workers",
        )
    )
    with setup.journal.step("start workers" + (f" (lane {number})" if number else "")) as step:
        step.detail["identities"] = [w.identity for w in await supervisor.start_all()]
    return ScenarioContext(
        environment.client, supervisor, plan, setup.journal, setup.out_dir, setup.run_id, dependencies=dependencies,
        faults=fault_switch, load_env=target.worker_env(setup.base_env), locust_workers=setup.locust_workers,
        recorder=MetricRecorder(supervisor.metrics_endpoints),
    )


async def extra_lane(
    setup: LaneSetup, number: int, target: EmbeddedTarget, first: Dependencies, stack: AsyncExitStack
) -> ScenarioContext:
    """Lane `number` (1, 2, ...): a dev server of its own and proxies of its own in front of `first`'s dependencies."""
    with setup.journal.step(f"start lane {number}: dev server and dependency proxies") as step:
        log = setup.out_dir / "logs" / f"temporal-server-lane{number}.log"
        environment = await stack.enter_async_context(Environment.dev_server(target, log, setup.base_env))
        dependencies = await behind_proxies(setup.plan.config.dependencies, first.upstreams, stack)
        step.detail.update(address=environment.address, env=dependencies.env)
    return await open_lane(setup, number, environment, dependencies, stack)


async def open_lanes(openers: list[Callable[[], Awaitable[ScenarioContext]]]) -> list[ScenarioContext]:
    """The first lane, then the others side by side (an app whose workers cannot start fails once, in the first
    lane). Every lane is up before any scenario starts, so no scenario's measurements share the machine with the
    start of servers and workers."""
    first = await openers[0]()
    return [first, *await _all(openers[1:])]


async def run_in_lanes(
    lanes: list[ScenarioContext], scenarios: list[ScenarioSpec], run_one: Callable[[ScenarioContext, ScenarioSpec], Awaitable[T]],
    *, alone: Callable[[ScenarioSpec], bool] = lambda _: False,
) -> list[T]:
    """Run every scenario in the first free lane; results in the order of `scenarios`. The scenarios `alone` picks
    run first, one at a time in the first lane, while the others wait (the machine is theirs). An exception in one
    lane cancels the others and is raised as itself."""
    results: list[T | None] = [None] * len(scenarios)
    for index, scenario in enumerate(scenarios):
        if alone(scenario):
            results[index] = await run_one(lanes[0], scenario)
    queue = iter((i, s) for i, s in enumerate(scenarios) if not alone(s))

    async def lane(ctx: ScenarioContext) -> None:
        for index, scenario in queue:  # one iterator for all lanes: each takes the next scenario when it is free
            results[index] = await run_one(ctx, scenario)

    await _all([functools.partial(lane, ctx) for ctx in lanes])
    return results  # type: ignore[return-value]


async def _all(calls: list[Callable[[], Awaitable[T]]]) -> list[T]:
    """Await every call concurrently; the first exception cancels the rest and is raised as itself."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(call()) for call in calls]
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None
    return [task.result() for task in tasks]
