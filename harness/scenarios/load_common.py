"""What the load scenarios share: Locust load from the config's workload (or the type a scenario names), backlog sampling, drain, collection."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from dataclasses import asdict, replace

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.service import RPCError

from harness import workload
from harness.audit.call_sites import call_sites
from harness.config.scenarios import StartsItsOwnWorkflows
from harness.errors import ConfigError, ProcessError
from harness.load.driver import LoadResult, LoadSpec, run_load
from harness.load.shape import Stage
from harness.observe import activities, metrics
from harness.observe.model import BacklogSample, FaultRecord, LoadObservations, LoadSummary, MetricSample
from harness.scenarios import steps
from harness.scenarios.base import ScenarioContext

BACKLOG_INTERVAL_S = 1.0
LOAD_START_TIMEOUT_S = 60.0


async def backlog(client: Client, task_queue: str) -> BacklogSample:
    """Approximate backlog of the workflow and activity task queues (DescribeTaskQueue with stats)."""
    counts = []
    for kind in (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY):
        response = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(namespace=client.namespace, task_queue=TaskQueue(name=task_queue), task_queue_type=kind, report_stats=True)
        )
        counts.append(int(response.stats.approximate_backlog_count))
    return BacklogSample(at=time.time(), workflow=counts[0], activity=counts[1])


async def sample_backlog(client: Client, task_queue: str, into: list[BacklogSample]) -> None:
    """Sample the backlog every second until cancelled; a failed sample is skipped, not fatal."""
    async def sample() -> None:
        into.append(await backlog(client, task_queue))

    await steps.repeat_every(BACKLOG_INTERVAL_S, sample, skip=(RPCError,))


def load_spec(ctx: ScenarioContext, spec: StartsItsOwnWorkflows, stages: list[Stage], signal: str | None = None) -> LoadSpec:
    starts = tuple(
        replace(s, id_prefix=f"{s.id_prefix}-{ctx.run_tag}-{spec.name}") for s in workload.starts_of(ctx.plan.config, spec)
    )
    return LoadSpec(
        workflows=starts,
        task_queue=ctx.plan.config.task_queue,
        id_prefix=starts[0].id_prefix,
        stages=tuple(stages),
        signal=signal,
    )


async def drive(
    ctx: ScenarioContext, scenario: StartsItsOwnWorkflows, stages: list[Stage], signal: str | None = None,
) -> tuple[LoadResult, float, float]:
    """Run Locust for the stages; returns its result and the wall-clock start and end of the load."""
    spec = load_spec(ctx, scenario, stages, signal)
    work_dir = ctx.out_dir / "load" / scenario.name
    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / "spec.json").write_text(spec.to_json(), encoding="utf-8")  # to rerun the same load by hand (README)
    started = time.time()
    result = await run_load(
        spec,
        env=ctx.load_env,
        work_dir=work_dir,
        log_dir=ctx.out_dir / "logs" / f"load-{scenario.name}",  # scenarios in other lanes may run Locust meanwhile
        locust_workers=ctx.locust_workers,
    )
    return result, started, time.time()


async def wait_for_first_start(ctx: ScenarioContext, load: asyncio.Task, scenario: str) -> float:
    """Block until Locust has started its first workflow (its processes take a moment to boot); returns when
    (epoch seconds), which is when the scenario's clock starts."""
    folder = ctx.out_dir / "load" / scenario

    async def started() -> bool:
        if load.done():
            load.result()  # raises the driver's error
            raise ProcessError("the load generator stopped before starting any workflow")
        return any(p.stat().st_size for p in folder.glob("ids-*.txt"))

    if not await steps.poll_until(started, bool, timeout=LOAD_START_TIMEOUT_S, interval=steps.QUICK_POLL_S):
        raise ProcessError(f"the load generator started no workflow within {LOAD_START_TIMEOUT_S:.0f}s (see logs/load-{scenario}/locust-*.log)")
    return time.time()


def summarise_load(result: LoadResult, stages: list[Stage], started: float, ended: float) -> LoadSummary:
    total = next((r for r in result.requests if r.name == "Aggregated"), None)
    starts = [r for r in result.requests if r.name.startswith("start ")] or ([total] if total else [])
    started_requests = sum(r.requests for r in starts)
    duration = sum(s.duration_s for s in stages)
    asked = sum(s.duration_s * s.rate for s in stages if s.rate) if all(s.rate for s in stages) else 0.0
    return LoadSummary(
        target_rate=max((s.rate or 0.0 for s in stages), default=0.0),
        mean_target_rate=asked / duration if duration else 0.0,
        started=len(result.workflow_ids),
        requests=total.requests if total else 0,
        failures=total.failures if total else 0,
        achieved_rate=len(result.workflow_ids) / duration if duration else 0.0,
        # one row per workflow type of a mix: p50 weighted by requests, p99 the worst type's (rows hold no samples to merge)
        start_p50_ms=sum(r.p50_ms * r.requests for r in starts) / started_requests if started_requests else 0.0,
        start_p99_ms=max((r.p99_ms for r in starts), default=0.0),
        duration_s=round(result.duration_s, 2),
        locust_workers=result.locust_workers,
        started_at=started,
        ended_at=ended,
        stages=tuple(stages),
    )


def local_activity_policies(ctx: ScenarioContext) -> dict[str, activities.RetryPolicyView]:
    """The retry policy each local activity's call site writes (history records none), for reconstructing when its
    attempts happened; types whose call sites write none, disagree or cannot be read get Temporal's default."""
    specs = sorted({spec for worker in ctx.plan.config.workers if worker.python for spec in worker.python.workflows})
    try:
        sites = [s for s in call_sites(specs, ctx.plan.app_path) if s.kind == "local_activity"] if specs else []
    except ConfigError:
        return {}
    written = defaultdict(set)
    for site in sites:
        written[site.name].add(None if "retry_policy" in site.unresolved else site.policy)
    return {
        name: activities.RetryPolicyView(**asdict(policy))
        for name, policies in written.items() if len(policies) == 1 and (policy := next(iter(policies))) is not None
    }


async def drain_and_observe(
    ctx: ScenarioContext, name: str, ids: list[str], drain_timeout: float, *, load: LoadSummary,
    backlog: list[BacklogSample], before: tuple[MetricSample, ...], fault: FaultRecord | None = None,
) -> LoadObservations:
    """The end of every load scenario: wait for the started workflows (terminating stragglers), fetch their
    histories, scrape the workers once more, and freeze it all into observations."""
    with ctx.journal.step("wait for workflows to close", name, timeout_s=drain_timeout) as step:
        still_open = await steps.wait_closed(ctx, ids, drain_timeout)
        step.detail["open"] = len(still_open)
        await steps.terminate(ctx.client, still_open, f"readiness scenario {name} ended")
    with ctx.journal.step("collect histories and metrics", name) as step:
        families, records = await steps.collect_families(ctx, ids)  # a fan-out's activities are in its children
        fetched = [h for family in families.values() for h in family]
        local_policies = local_activity_policies(ctx)
        found_activities = tuple(a for h in fetched for a in (*activities.activities(h), *activities.local_activities(h, local_policies)))
        latencies = tuple(t for h in fetched for t in activities.task_latencies(h))
        after, errors = await metrics.scrape(ctx.supervisor.metrics_endpoints(), phase="after")
        step.detail.update(histories=len(records), activities=len(found_activities), task_latencies=len(latencies), scrape_errors=errors)
    return LoadObservations(
        scenario=name, workflows=records, activities=found_activities, latencies=latencies, load=load, backlog=tuple(backlog),
        metrics=before + after, fault=fault, drain_deadline_hit=bool(still_open), workers=len(ctx.supervisor.running),
    )
