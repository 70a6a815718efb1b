"""server-connection: a fault between the workers and the Temporal frontend. Copies of the config's workers poll a
task queue of the scenario's own through a fault proxy in front of the frontend, while the harness's own client stays
direct, so starting workflows and observing them never suffers. Workflows run before the fault, more are started
while it lasts (a backlog the workers cannot see), and after it every workflow must complete: the scenario measures
when the workers noticed (their SDK request-failure counters), the backlog during the fault and the drain after it.
With `healthy_workers`, extra copies of the first worker poll the same queue directly: only part of the fleet is cut off."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Literal

from pydantic import Field

from harness.checks import server_connection as check
from harness.config.scenarios import NetworkFaultSpec, StartsItsOwnWorkflows
from harness.config.types import Duration
from harness.faults.control import applied
from harness.faults.proxy import FaultProxy
from harness.observe import metrics
from harness.observe.model import BacklogSample, FailureCount, ServerConnectionObservations
from harness.scenarios import steps
from harness.scenarios.base import ScenarioContext
from harness.scenarios.kind import ScenarioCheck, ScenarioKind
from harness.scenarios.load_common import sample_backlog
from harness.workers import WorkerSupervisor

FRONTEND = "temporal-frontend"
PARTITION_ALERTS = ("pollers", "request_failures")
"""Alert categories that should page when the workers cannot reach the cluster (harness.alerts.catalog.CATEGORIES)."""


class ServerConnectionScenario(StartsItsOwnWorkflows):
    """A network fault on the workers' connection to the Temporal frontend, for a window."""

    kind: Literal["server_connection"]
    fault: Literal["down", "timeout", "reset_peer", "latency"] = Field(
        "down", description="down: a partition (connections refused); timeout: a black hole; reset_peer: every connection "
        "reset; latency: every byte delayed by `latency` (+/- `jitter`).",
    )
    duration: Duration = Field(10.0, gt=0, description="How long the fault lasts.")
    latency: Duration = 0.0
    jitter: Duration = 0.0
    toxicity: float = Field(1.0, ge=0, le=1, description="Share of connections affected (not for `down`).")
    healthy_workers: int = Field(
        0, ge=0, le=16, description="Copies of the first configured worker that connect directly and stay connected: the "
        "fault then cuts off only the workers behind the proxy, and these must carry on with the work.",
    )
    workflows: int = Field(6, ge=1, le=1000, description="Started before the fault, each mid-flight when it begins.")
    during_fault: int = Field(6, ge=0, le=1000, description="Started (by the harness, directly) while the fault lasts.")
    mid_flight_timeout: Duration = Field(30.0, gt=0)
    completion_timeout: Duration = Field(120.0, gt=0, description="After the fault, deadline for every workflow to close.")
    thresholds: check.ServerConnectionThresholds = Field(default_factory=check.ServerConnectionThresholds)


async def _count_failures(endpoints, into: list[FailureCount]) -> None:
    async def sample() -> None:
        found, _ = await metrics.scrape(endpoints(), phase="fault", timeout=1.0)
        into.append(FailureCount(
            at=time.time(),
            requests=metrics.total(found, "temporal_request_failure"),
            long_polls=metrics.total(found, "temporal_long_request_failure"),
        ))

    await steps.repeat_every(1.0, sample, skip=(OSError,))


def through_proxy(env: dict[str, str], proxy_address: str) -> dict[str, str]:
    """`env` with the workers pointed at the proxy. A TLS target's certificate names the real host, not the proxy's
    127.0.0.1, so TLS workers are told to verify it against that host (TEMPORAL_TLS_SERVER_NAME, which is also what
    they send as SNI), unless the profile names a server already. TLS is on as the SDK's envconfig reads it: unless
    TEMPORAL_TLS=false, TEMPORAL_TLS=true, any other TEMPORAL_TLS_* setting (mTLS certificates) or an API key."""
    tls_setting = env.get("TEMPORAL_TLS", "").lower()
    tls_settings = any(k.startswith("TEMPORAL_TLS_") and v for k, v in env.items()) or bool(env.get("TEMPORAL_API_KEY"))
    tls = tls_setting == "true" or (tls_setting != "false" and tls_settings)
    proxied = {**env, "TEMPORAL_ADDRESS": proxy_address}
    if tls and not env.get("TEMPORAL_TLS_SERVER_NAME"):
        proxied["TEMPORAL_TLS_SERVER_NAME"] = env["TEMPORAL_ADDRESS"].rpartition(":")[0].removeprefix("[").removesuffix("]")
    return proxied


async def _workers(
    ctx: ScenarioContext, stack: contextlib.AsyncExitStack, queue: str, address: str, name: str, tag: str, count: int = 0
) -> WorkerSupervisor:
    """Copies of the config's workers polling `queue` at `address` (`count`: that many of the first worker only)."""
    first = ctx.plan.config.workers[0]
    base = {k: v for k, v in ctx.supervisor.worker_env(first).items() if k not in first.env}
    if address != base["TEMPORAL_ADDRESS"]:
        base = through_proxy(base, address)
    configs = [first.model_copy(update={"count": count})] if count else ctx.supervisor.configs
    supervisor = await stack.enter_async_context(WorkerSupervisor(
        configs, client=ctx.client, task_queue=queue, base_env=base, app_path=ctx.supervisor.app_path,
        log_dir=ctx.out_dir / "logs", run_id=f"{ctx.run_tag}-{tag}",
    ))
    with ctx.journal.step(f"start workers connecting {tag}", name, address=address) as step:
        step.detail["identities"] = [w.identity for w in await supervisor.start_all()]
    return supervisor


async def run(ctx: ScenarioContext, spec: ServerConnectionScenario) -> ServerConnectionObservations:
    journal, name, client = ctx.journal, spec.name, ctx.client
    queue = f"{ctx.plan.config.task_queue}-{name}-{ctx.run_tag}"
    host, _, port = ctx.load_env["TEMPORAL_ADDRESS"].rpartition(":")
    fault = NetworkFaultSpec(dependency=FRONTEND, kind=spec.fault, toxicity=spec.toxicity, latency=spec.latency, jitter=spec.jitter)
    failures: list[FailureCount] = []
    backlog: list[BacklogSample] = []
    ids: list[str] = []
    during: list[str] = []
    async with contextlib.AsyncExitStack() as stack:
        proxy = await stack.enter_async_context(FaultProxy(FRONTEND, host, int(port)))
        behind = await _workers(ctx, stack, queue, f"127.0.0.1:{proxy.port}", name, "through the fault proxy")
        healthy = await _workers(
            ctx, stack, queue, ctx.load_env["TEMPORAL_ADDRESS"], name, "directly", spec.healthy_workers
        ) if spec.healthy_workers else None
        healthy_ids = {w.identity for w in healthy.running} if healthy else set()
        follow = ctx.recorder.following(behind.metrics_endpoints) if ctx.recorder else contextlib.nullcontext()
        stack.enter_context(follow)
        try:
            with journal.step("start workflows and wait until mid-flight", name, count=spec.workflows) as step:
                ids = await steps.start_own_workflows(ctx, spec, spec.workflows, tag="-before", task_queue=queue)
                async with steps.metric_window(ctx, name, "baseline", "workers connected to the cluster through the proxy"):
                    step.detail["running"] = len(await steps.wait_mid_flight(ctx, ids, spec.mid_flight_timeout))
            sampling = [asyncio.create_task(_count_failures(behind.metrics_endpoints, failures)),
                        asyncio.create_task(sample_backlog(client, queue, backlog))]
            try:
                described = f"{spec.fault} between the workers and the frontend for {spec.duration:g} s"
                async with steps.metric_window(ctx, name, "fault", described, PARTITION_ALERTS):
                    with journal.step(f"{spec.fault} between the workers and Temporal", name, duration_s=spec.duration) as step:
                        async with applied(fault, {FRONTEND: proxy}, None) as window:
                            during = await steps.start_own_workflows(
                                ctx, spec, spec.during_fault, tag="-during", task_queue=queue
                            ) if spec.during_fault else []
                            await asyncio.sleep(max(0.0, spec.duration - (time.time() - window.started_at)))
                        step.detail.update(confirmed=window.confirmed, **window.evidence)
                restored = time.time()
                with journal.step("wait for every workflow to close", name, timeout_s=spec.completion_timeout) as step:
                    drained = await steps.drain(ctx, ids + during, spec.completion_timeout)
                    closed_at = time.time()
                    step.detail.update(drained)
            finally:
                for task in sampling:
                    task.cancel()
                await asyncio.gather(*sampling, return_exceptions=True)
            with journal.step("collect histories", name) as step:
                fetched, records = await steps.collect_histories(ctx, ids + during)
                step.detail["histories"] = len(records)
        finally:
            with contextlib.suppress(Exception):
                await steps.terminate(client, await steps.open_workflows(client, ids + during), f"readiness {name}: over")
    return ServerConnectionObservations(
        scenario=name, fault=window.record(), started_before=tuple(ids), started_during=tuple(during), workflows=records,
        failures=tuple(failures), backlog=tuple(backlog), restored_at=restored,
        drained_at=None if drained["open"] else closed_at, stuck=tuple(drained["stuck"]), timeouts=check.timeouts_of(fetched),
        healthy_workers=tuple(sorted(healthy_ids)), healthy_tasks=check.completed_tasks(fetched, healthy_ids),
    )


KIND = ScenarioKind(
    name="server_connection",
    spec=ServerConnectionScenario,
    run=run,
    checks=(ScenarioCheck(check.CHECK_ID, check.server_connection),),
    effect="starts workflows and cuts or slows the connection between its workers and the Temporal frontend",
)
