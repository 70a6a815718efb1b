"""server-restart: the Temporal server itself dies mid-flight. An embedded dev server of the scenario's own keeps its
state in a SQLite file (`--db-filename`); copies of the config's workers run on it; with workflows in flight the
server is SIGKILLed and started again on the same ports and file. Every workflow must complete, nothing may be lost,
and every history must replay. The run's own target is never touched (it may be a cluster that is not ours)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import tempfile
from pathlib import Path
from typing import Literal

from pydantic import Field
from temporalio.service import RPCError, RPCStatusCode

from harness import processes
from harness.checks import server_restart as check
from harness.config.models import EmbeddedTarget
from harness.config.scenarios import StartsItsOwnWorkflows
from harness.config.types import Duration
from harness.environment import Environment
from harness.observe.model import ServerRestartObservations
from harness.scenarios import steps
from harness.scenarios.base import ScenarioContext
from harness.scenarios.kind import ScenarioCheck, ScenarioKind


class ServerRestartScenario(StartsItsOwnWorkflows):
    """SIGKILL the Temporal server with workflows in flight, start it again on the same state."""

    kind: Literal["server_restart"]
    workflows: int = Field(6, ge=1, le=1000, description="Workflows started before the kill.")
    down_for: Duration = Field(2.0, description="How long the server stays down.")
    mid_flight_timeout: Duration = Field(30.0, gt=0)
    completion_timeout: Duration = Field(120.0, gt=0, description="After the restart, deadline for every workflow to close.")


async def _known(client, workflow_id: str) -> bool:
    """The server still knows the workflow (a restart that lost state answers NOT_FOUND)."""
    try:
        await client.get_workflow_handle(workflow_id).describe()
        return True
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return False
        raise


async def run(ctx: ScenarioContext, spec: ServerRestartScenario) -> ServerRestartObservations:
    journal, name, config = ctx.journal, spec.name, ctx.plan.config
    target = config.target if isinstance(config.target, EmbeddedTarget) else EmbeddedTarget()
    logs = ctx.out_dir / "logs"
    async with contextlib.AsyncExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="readiness-server-restart-")))
        ports = (processes.free_port(), processes.free_port(), processes.free_port())
        persistent = {"db_file": folder / "temporal.db", "ports": ports}
        first_server = Environment.dev_server(target, logs / f"{name}-server-1.log", dict(os.environ), **persistent)
        with journal.step("start a dev server with its state in a file", name, grpc_port=ports[0]):
            first = await first_server.__aenter__()
        try:
            await steps.workers_on(ctx, first, stack, name)
            with journal.step("start workflows and wait until mid-flight", name, count=spec.workflows) as step:
                ids = await steps.start_own_workflows(ctx, spec, spec.workflows, client=first.client)
                running = await steps.wait_mid_flight(ctx, ids, spec.mid_flight_timeout, client=first.client)
                running = await steps.open_workflows(first.client, running)
                step.detail["running"] = len(running)
            with journal.step("SIGKILL the Temporal server", name, pid=first.pid):
                os.killpg(first.pid, signal.SIGKILL)
        finally:
            await first_server.__aexit__(None, None, None)  # reaps it (and stops it, when the kill was not reached)
        await asyncio.sleep(spec.down_for)
        with journal.step("start the server again on the same ports and state", name) as step:
            second = await stack.enter_async_context(
                Environment.dev_server(target, logs / f"{name}-server-2.log", dict(os.environ), **persistent)
            )
            step.detail["pid"] = second.pid
        client = second.client
        with journal.step("wait for workflows to close", name, timeout_s=spec.completion_timeout) as step:
            step.detail["open"] = await steps.wait_closed(ctx, ids, spec.completion_timeout, client=client)
        with journal.step("collect histories", name) as step:
            found = [w for w, known in zip(ids, await steps.bounded(_known(client, w) for w in ids), strict=True) if known]
            families, records = await steps.collect_families(ctx, found, client=client)  # continued runs, children
            step.detail.update(histories=len(records), lost=[w for w in ids if w not in found])
        with contextlib.suppress(Exception):
            await steps.terminate(client, await steps.open_workflows(client, found), f"readiness {name}: over")
    replays = await steps.replay_histories(ctx, name, records)
    return ServerRestartObservations(
        scenario=name, started=tuple(ids), running_at_kill=tuple(running),
        lost=tuple(w for w in ids if w not in found), workflows=records, replays=replays, family_of=steps.family_of(families),
    )


KIND = ScenarioKind(
    name="server_restart",
    spec=ServerRestartScenario,
    run=run,
    checks=(ScenarioCheck(check.CHECK_ID, check.server_restart),),
    effect="starts a Temporal dev server of its own and SIGKILLs it with workflows in flight",
)
