"""versioning: a Worker Versioning rollout rehearsed. The config's workers run as the current version of a worker
deployment (on a task queue of its own, so the run's other workers never take its tasks) and the next version's
workers start beside them. Each ramp stage starts workflows under the ramp so far, pinned to the current version and
auto-upgrade, waits until they are mid-flight, raises the ramp, and follows them to their end: an auto-upgrade workflow
the raised ramp moves to the next version replays its history there, which is what a deploy does to running
workflows. After each stage the two versions are compared; a stage where the next version regresses is rolled back
(the ramp removed) and the rehearsal then proves the pinned workflows completed on the current version."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Literal

from pydantic import Field, field_validator
from temporalio.api.workflowservice.v1 import SetWorkerDeploymentCurrentVersionRequest, SetWorkerDeploymentRampingVersionRequest
from temporalio.client import Client
from temporalio.common import PinnedVersioningOverride, WorkerDeploymentVersion
from temporalio.service import RPCError

from harness import worker_main, workload
from harness.checks import versioning as versioning_check
from harness.config.models import WorkerConfig
from harness.config.references import References
from harness.config.scenarios import StartsItsOwnWorkflows
from harness.config.types import Duration, Identifier
from harness.observe.model import RampStage, VersionedRun, VersioningObservations
from harness.observe.versioned import versioned_run
from harness.scenarios import deploy, steps
from harness.scenarios.base import ScenarioContext
from harness.scenarios.kind import ScenarioCheck, ScenarioKind
from harness.workers import WorkerSupervisor

ACCEPT_TIMEOUT_S = 20.0
"""A version can be made current or ramping once the server has seen its workers poll."""


class NextVersion(deploy.NewVersion):
    build_id: Identifier = Field("next", description="Build id of the next version.")


class VersioningScenario(StartsItsOwnWorkflows):
    """The current and the next version side by side in one worker deployment, the next one ramped stage by stage."""

    kind: Literal["versioning"]
    next: NextVersion
    current_build_id: Identifier = Field("current", description="Build id the config's workers run as.")
    pinned: int = Field(2, ge=0, le=200, description="Workflows pinned to the current version, started at each stage.")
    auto_upgrade: int = Field(8, ge=1, le=200, description="Auto-upgrade workflows started at each stage, before its ramp is raised.")
    stages: list[int] = Field([10, 50, 100], min_length=1, description="Ramp percentages, increasing, e.g. [10, 50, 100].")
    stage_duration: Duration = Field(30.0, gt=0, description="Longest a stage waits for its workflows to close (or get stuck).")
    mid_flight_timeout: Duration = Field(30.0, gt=0)
    completion_timeout: Duration = Field(90.0, gt=0, description="After the last stage, deadline for every workflow to close.")
    thresholds: versioning_check.VersioningThresholds = Field(default_factory=versioning_check.VersioningThresholds)

    @field_validator("stages")
    @classmethod
    def _increasing(cls, stages: list[int]) -> list[int]:
        if any(not 0 < p <= 100 for p in stages) or stages != sorted(set(stages)):
            raise ValueError("expected increasing percentages between 1 and 100, e.g. [10, 50, 100]")
        return stages


def validate(spec: VersioningScenario, refs: References) -> None:
    deploy.validate_version(spec.next, refs, "next")
    for key, workers in (("workers", refs.config.workers), ("next.workers", spec.next.workers or [])):
        if any(w.python is None or w.python.factory for w in workers):
            refs.fail(key, "Worker Versioning needs Python workers built from `workflows` and `activities` (the harness sets "
                      "their deployment version), not a `factory` or an external `command`")
    if spec.next.build_id == spec.current_build_id:
        refs.fail("next.build_id", f"the next version needs another build id than the current one ({spec.current_build_id!r})")


async def _accepted(call: Callable[[], Awaitable[object]]) -> None:
    """Retry a deployment change until the server accepts it (it knows a version once its workers have polled)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ACCEPT_TIMEOUT_S
    while True:
        try:
            await call()
            return
        except RPCError:
            if loop.time() >= deadline:
                raise
            await asyncio.sleep(steps.QUICK_POLL_S)


def _set_current(client: Client, deployment: str, build_id: str):
    return lambda: client.workflow_service.set_worker_deployment_current_version(
        SetWorkerDeploymentCurrentVersionRequest(namespace=client.namespace, deployment_name=deployment, build_id=build_id)
    )


def _set_ramp(client: Client, deployment: str, build_id: str, percent: float):
    """`build_id` "" removes the ramp: every new and auto-upgrade workflow goes to the current version again."""
    return lambda: client.workflow_service.set_worker_deployment_ramping_version(
        SetWorkerDeploymentRampingVersionRequest(namespace=client.namespace, deployment_name=deployment, build_id=build_id, percentage=percent)
    )


async def _workers(
    ctx: ScenarioContext, stack: contextlib.AsyncExitStack, workers: list[WorkerConfig], app_path, queue: str, deployment: str, build_id: str,
) -> WorkerSupervisor:
    first = ctx.plan.config.workers[0]
    base = {k: v for k, v in ctx.supervisor.worker_env(first).items() if k not in first.env}
    base[worker_main.DEPLOYMENT_ENV] = json.dumps({"deployment_name": deployment, "build_id": build_id, "behavior": "AUTO_UPGRADE"})
    supervisor = await stack.enter_async_context(WorkerSupervisor(
        workers, client=ctx.client, task_queue=queue, base_env=base, app_path=app_path, log_dir=ctx.out_dir / "logs",
        run_id=f"{ctx.run_tag}-{build_id}",
    ))
    with ctx.journal.step(f"start the {build_id} version's workers", deployment=deployment, build_id=build_id) as step:
        step.detail["identities"] = [w.identity for w in await supervisor.start_all()]
    return supervisor


async def _start(ctx: ScenarioContext, spec: VersioningScenario, queue: str, ids: list[str], pinned_to: WorkerDeploymentVersion | None) -> None:
    starts = workload.starts_of(ctx.plan.config, spec)
    override = {"versioning_override": PinnedVersioningOverride(pinned_to)} if pinned_to else {}
    await steps.bounded(workload.start_one(ctx.client, workload.pick(starts, i), w, queue, i, **override) for i, w in enumerate(ids))


async def _snapshot(ctx: ScenarioContext, groups: dict[str, str], builds: dict[str, str]) -> tuple[VersionedRun, ...]:
    return tuple(versioned_run(h, groups[h.workflow_id], builds) for h in await steps.fetch_histories(ctx, groups))


async def run(ctx: ScenarioContext, spec: VersioningScenario) -> VersioningObservations:
    config, journal, name, client = ctx.plan.config, ctx.journal, spec.name, ctx.client
    deployment, queue = f"{config.app.name}-{ctx.run_tag}", f"{config.task_queue}-{name}-{ctx.run_tag}"
    current, upcoming = spec.current_build_id, spec.next.build_id
    prefix = f"{spec.id_prefix or workload.starts_of(config, spec)[0].id_prefix}-{ctx.run_tag}-{name}"
    groups: dict[str, str] = {}
    stages: list[RampStage] = []
    rolled_back = promoted = False
    loop = asyncio.get_running_loop()
    async with contextlib.AsyncExitStack() as stack:
        next_path = stack.enter_context(deploy.new_code(ctx.plan.app_path, spec.next))
        old = await _workers(ctx, stack, ctx.supervisor.configs, ctx.plan.app_path, queue, deployment, current)
        if ctx.recorder is not None:  # both versions' workers are recorded through the ramp, for alerts.fire
            stack.enter_context(ctx.recorder.following(old.metrics_endpoints))
        try:
            with journal.step("make the config's workers the current version", name, deployment=deployment, build_id=current):
                await _accepted(_set_current(client, deployment, current))
            new = await _workers(ctx, stack, spec.next.workers or ctx.supervisor.configs, next_path, queue, deployment, upcoming)
            if ctx.recorder is not None:
                stack.enter_context(ctx.recorder.following(new.metrics_endpoints))
            builds = {w.identity: current for w in old.running} | {w.identity: upcoming for w in new.running}
            for percent in spec.stages:
                with journal.step(f"ramp {upcoming} to {percent}%", name) as step:
                    began = loop.time()
                    pinned = [f"{prefix}-r{percent}-pinned-{i}" for i in range(spec.pinned)]
                    auto = [f"{prefix}-r{percent}-auto-{i}" for i in range(spec.auto_upgrade)]
                    await _start(ctx, spec, queue, pinned, WorkerDeploymentVersion(deployment, current))
                    await _start(ctx, spec, queue, auto, None)
                    groups.update({w: "pinned" for w in pinned} | {w: f"auto-upgrade, ramp raised to {percent}%" for w in auto})
                    await steps.wait_mid_flight(ctx, pinned + auto, spec.mid_flight_timeout)
                    described = f"ramp of {upcoming} to {percent}% beside {current}"
                    async with steps.metric_window(ctx, name, "rollout", described) as window:
                        await _accepted(_set_ramp(client, deployment, upcoming, percent))
                        drained = await steps.drain(ctx, list(groups), spec.stage_duration)
                        runs = await _snapshot(ctx, groups, builds)
                        why = versioning_check.regressions(runs, upcoming, spec.thresholds)
                        if window is not None and any(upcoming in r.nondeterminism_on for r in runs):
                            window.phase, window.expects = "fault", deploy.NON_DETERMINISM  # the NDE alert must page
                            window.description = f"{described}: workflows failed on non-determinism on {upcoming}"
                    stages.append(RampStage(percent, round(loop.time() - began, 2), runs))
                    step.detail.update(stuck=len(drained["stuck"]), regressed="; ".join(why))
                if why:
                    with journal.step(f"roll back: remove the ramp of {upcoming}", name):
                        await _accepted(_set_ramp(client, deployment, "", 0))
                    rolled_back = True
                    break
            else:
                with journal.step(f"promote {upcoming} to current", name):
                    await _accepted(_set_current(client, deployment, upcoming))
                promoted = True
            with journal.step("wait for workflows to close", name, timeout_s=spec.completion_timeout) as step:
                step.detail["open"] = await steps.wait_closed(ctx, list(groups), spec.completion_timeout)
            fetched = await steps.fetch_histories(ctx, groups)
            records = steps.keep_histories(ctx, fetched)
            files = {r.workflow_id: r.history_file for r in records}
            final = tuple(versioned_run(h, groups[h.workflow_id], builds, files.get(h.workflow_id)) for h in fetched)
        finally:
            await steps.terminate(client, await steps.open_workflows(client, groups), f"readiness {name}: rehearsal over")
    return VersioningObservations(
        scenario=name, deployment=deployment, current=current, next=upcoming, version=spec.next.label(), stages=tuple(stages),
        rolled_back=rolled_back, promoted=promoted, final=final, explanations=steps.explain_stuck(fetched, records),
    )


KIND = ScenarioKind(
    name="versioning",
    spec=VersioningScenario,
    run=run,
    checks=(ScenarioCheck(versioning_check.CHECK_ID, versioning_check.versioning),),
    effect="creates a worker deployment, starts workflows on its own task queue and ramps a second version of the code",
    validate=validate,
)
